package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/blang/semver/v4"
)

func (dv *DriverVersions) validate(path string, o LoadOptions) Problems {
	var ps Problems
	if dv.Window < 1 {
		ps = append(ps, Problem{Path: path, Field: "window", Msg: fmt.Sprintf("must be at least 1, got %d", dv.Window)})
	}
	if msg := o.checkSource(dv.Source); msg != "" {
		ps = append(ps, Problem{Path: path, Field: "source", Msg: msg})
	}
	if len(dv.Versions) == 0 {
		ps = append(ps, Problem{Path: path, Field: "versions", Msg: "lists no driver version"})
	}
	seen := map[string]int{}
	for i := range dv.Versions {
		v := &dv.Versions[i]
		ps = append(ps, v.validate(path)...)
		key := precedenceKey(v.semver)
		if prev, dup := seen[key]; dup && v.Version != "" {
			ps = append(ps, Problem{Path: path, Line: v.line, Col: v.col, Field: "version",
				Msg: fmt.Sprintf("%s has the same precedence as the version at line %d", v.Version, prev)})
		}
		seen[key] = v.line
	}
	return ps
}

// precedenceKey is equal for versions that semver orders as equal (build
// metadata does not count).
func precedenceKey(v semver.Version) string {
	v.Build = nil
	return v.String()
}

func (v *DriverVersion) validate(path string) Problems {
	var ps Problems
	add := func(field, msg string) {
		ps = append(ps, Problem{Path: path, Line: v.line, Col: v.col, Field: field, Msg: msg})
	}
	if !driverVersionChars.MatchString(v.Version) {
		add("version", fmt.Sprintf("%q must be a semver like 10.0.0+driver", v.Version))
		return ps
	}
	sv, err := semver.Parse(v.Version)
	if err != nil {
		add("version", fmt.Sprintf("%q is not a semantic version: %v", v.Version, err))
		return ps
	}
	v.semver = sv
	if v.Prerelease && len(sv.Pre) == 0 {
		add("prerelease", fmt.Sprintf("%s is not a pre-release", v.Version))
	}
	if len(v.Kinds) == 0 {
		add("kinds", "lists no artifact kind (module, probe)")
	}
	if v.SHA256 != "" && !sha256Hex.MatchString(v.SHA256) {
		add("sha256", fmt.Sprintf("%q must be 64 lowercase hex digits (the sha256 of the source tarball)", v.SHA256))
	}
	seen := map[Kind]bool{}
	for _, k := range v.Kinds {
		if _, err := ParseKind(string(k)); err != nil {
			add("kinds", err.Error())
		} else if seen[k] {
			add("kinds", fmt.Sprintf("%s is listed twice", k))
		}
		seen[k] = true
	}
	return ps
}

// Warnings returns what is allowed but worth a look in a valid file read
// from path: each version of the window without a sha256 (its source
// tarball is not checked). Warnings never make the file invalid; they are
// kept apart from the problems DecodeDriverVersions returns.
func (dv *DriverVersions) Warnings(path string) Problems {
	var ps Problems
	for _, v := range dv.Newest() {
		if v.SHA256 == "" {
			ps = append(ps, Problem{Path: path, Line: v.line, Col: v.col, Field: "sha256", Severity: SeverityWarning,
				Msg: v.Version + " is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)"})
		}
	}
	ps.Sort()
	return ps
}

func (o LoadOptions) checkSource(src string) string {
	if !strings.Contains(src, "{version}") {
		return fmt.Sprintf("%q must contain {version}", src)
	}
	u, err := url.Parse(strings.ReplaceAll(src, "{version}", "0.0.0"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return fmt.Sprintf("%q must be an absolute http(s) URL", src)
	}
	if msg := o.checkHost(u.Hostname()); msg != "" {
		return fmt.Sprintf("%q: %s", src, msg)
	}
	return ""
}
