package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blang/semver/v4"
	"gopkg.in/yaml.v3"
)

// DefaultWindow is how many of the newest driver versions are built.
const DefaultWindow = 2

// DefaultSource is where driver sources come from: the falcosecurity/libs
// archive of the tag. {version} is replaced by the driver version.
const DefaultSource = "https://github.com/falcosecurity/libs/archive/{version}.tar.gz"

// DriverVersion is one driver version and the artifact kinds it has.
type DriverVersion struct {
	Version string `yaml:"version"`
	Kinds   []Kind `yaml:"kinds"`
	// Prerelease opts a pre-release (10.2.0-rc1+driver) into the window.
	Prerelease bool `yaml:"prerelease,omitempty"`
	// SHA256 pins the digest of the version's source tarball (64 lowercase
	// hex); empty: not pinned.
	SHA256 string `yaml:"sha256,omitempty"`

	semver semver.Version
	line   int
	col    int
}

// Has tells whether the driver version has the kind.
func (d DriverVersion) Has(kind Kind) bool {
	for _, k := range d.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// DriverVersions is the driverversions.yaml file.
type DriverVersions struct {
	Window   int             `yaml:"window"`
	Source   string          `yaml:"source"`
	Versions []DriverVersion `yaml:"versions"`
	// Registries are those kernel configs may take their builderimage
	// from (image.go), each a host with an optional port and path prefix
	// (ghcr.io/falcosecurity); none by default.
	Registries []string `yaml:"registries,omitempty"`
}

// SourceURL is the driver source tarball URL of version.
func (dv *DriverVersions) SourceURL(version string) string {
	return strings.ReplaceAll(dv.Source, "{version}", version)
}

// Newest returns the build window: the newest Window versions by semver
// precedence, pre-releases only when they opt in.
func (dv *DriverVersions) Newest() []DriverVersion {
	var out []DriverVersion
	for _, v := range dv.Sorted() {
		if len(v.semver.Pre) > 0 && !v.Prerelease {
			continue
		}
		if len(out) == dv.Window {
			break
		}
		out = append(out, v)
	}
	return out
}

// Sorted returns every listed version, newest first.
func (dv *DriverVersions) Sorted() []DriverVersion {
	out := append([]DriverVersion(nil), dv.Versions...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].semver.GT(out[j].semver) })
	return out
}

// LoadDriverVersions reads and validates path. Problems are returned as an
// error wrapping ErrInvalid that lists them all.
func (o LoadOptions) LoadDriverVersions(path string) (*DriverVersions, error) {
	dv, probs := o.ReadDriverVersions(path)
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return dv, nil
}

// ReadDriverVersions reads path and returns the file and all its problems
// (a missing or unreadable file is a problem too). A path that is a
// symbolic link, or whose folder (the config dir) is one, is refused and
// not read.
func (o LoadOptions) ReadDriverVersions(path string) (*DriverVersions, Problems) {
	for _, p := range []string{filepath.Dir(path), path} {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, Problems{{Path: p, Msg: symlinkRefused}}
		}
	}
	data, err := readLimited(path)
	if err != nil {
		return nil, Problems{{Path: path, Msg: err.Error()}}
	}
	return o.DecodeDriverVersions(path, data)
}

// DecodeDriverVersions parses a driverversions.yaml strictly and validates it.
func (o LoadOptions) DecodeDriverVersions(path string, data []byte) (*DriverVersions, Problems) {
	root, p := parseMapping(path, data)
	if p != nil {
		return nil, Problems{*p}
	}
	dv := &DriverVersions{Window: DefaultWindow, Source: DefaultSource}
	probs := strictKeys(path, root, "window", "source", "versions", "registries")
	if err := root.Decode(dv); err != nil {
		return nil, append(probs, Problem{Path: path, Msg: "invalid value: " + strings.TrimPrefix(err.Error(), "yaml: ")})
	}
	probs = append(probs, versionKeys(path, root)...)
	probs = append(probs, registryProblems(path, root)...)
	probs = append(probs, dv.validate(path, o)...)
	probs.Sort()
	return dv, probs
}

// UnmarshalYAML records the line of each version entry for messages.
func (d *DriverVersion) UnmarshalYAML(n *yaml.Node) error {
	type plain DriverVersion
	d.line, d.col = n.Line, n.Column
	return n.Decode((*plain)(d))
}

// strictKeys reports keys of the mapping n that are not allowed.
func strictKeys(path string, n *yaml.Node, allowed ...string) Problems {
	var ps Problems
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		switch {
		case seen[key.Value]:
			ps = append(ps, Problem{Path: path, Line: key.Line, Col: key.Column, Field: shownField(key.Value), Msg: "key defined twice"})
		case !contains(allowed, key.Value):
			ps = append(ps, Problem{Path: path, Line: key.Line, Col: key.Column, Field: shownField(key.Value), Msg: "unknown key (known keys: " + strings.Join(allowed, ", ") + ")"})
		}
		seen[key.Value] = true
	}
	return ps
}

// versionKeys applies strictKeys to every entry of the versions list.
func versionKeys(path string, root *yaml.Node) Problems {
	var ps Problems
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "versions" {
			continue
		}
		for _, item := range root.Content[i+1].Content {
			if item.Kind == yaml.MappingNode {
				ps = append(ps, strictKeys(path, item, "version", "kinds", "prerelease", "sha256")...)
			}
		}
	}
	return ps
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
