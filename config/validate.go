package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/falcosecurity/driverkit/pkg/driverbuilder/builder"
	"github.com/falcosecurity/driverkit/pkg/kernelrelease"
)

// moduleMin is the oldest kernel a kernel module can be built for, per arch.
var moduleMin = map[Arch]semver.Version{
	AMD64: {Major: 3, Minor: 10},
	ARM64: {Major: 3, Minor: 16},
}

// targetsNeedingConfig cannot be built without the kernel's .config.
var targetsNeedingConfig = map[string]bool{"vanilla": true, "minikube": true, "flatcar": true}

// Validate checks every value of the kernel, whatever made it (Decode, the
// crawler conversion, code), and returns all problems: a required field
// without a value is missing. What Decode recorded only makes messages
// better: the line and column of each value, and "missing" said once, by
// Decode, for a key the file lacks. A key Decode reported (missing, or a
// value of the wrong shape) is not reported again; a key the file gives
// with an empty value has that value checked.
//
// registries are those the builder image may come from (image.go): none
// by default, so that only local names pass unless a caller says which
// registries are allowed (Load: driverversions.yaml's and --allow-registry).
// o says which URL hosts are allowed (LoadOptions).
func (k *Kernel) validate(o LoadOptions, registries []string) Problems {
	var ps Problems
	add := func(field, msg string) { ps = append(ps, k.problem(field, msg)) }
	if k.check("architecture", k.Architecture == "", add) && k.Architecture.Machine() == "" {
		add("architecture", fmt.Sprintf("%q is not a supported architecture (want amd64 or arm64)", k.Architecture))
	}
	k.validateTarget(add)
	k.validateRelease(add)
	if k.check("kernelversion", k.KernelVersion == "", add) && !versionChars.MatchString(k.KernelVersion) {
		add("kernelversion", fmt.Sprintf("%q has characters outside [A-Za-z0-9._+~-] or is longer than 64", k.KernelVersion))
	}
	k.validateURLs(add, o)
	k.validateImageURLs(add, o)
	k.validateConfigData(add)
	if k.BuilderImage != "" {
		if msg := checkImage(k.BuilderImage, registries); msg != "" {
			add("builderimage", msg)
		}
	}
	if k.GCCVersion != "" && !gccChars.MatchString(k.GCCVersion) {
		add("gccversion", fmt.Sprintf("%q is not a gcc version like 12 or 12.2.0", k.GCCVersion))
	}
	return ps
}

// check tells whether the value of a required field is to be checked: not
// when Decode already reported the field, nor when the value is missing,
// which check reports.
func (k *Kernel) check(field string, empty bool, add func(field, msg string)) bool {
	switch {
	case k.reported[field]:
		return false
	case empty && !k.given(field):
		add(field, missingKey)
		return false
	}
	return true
}

func (k *Kernel) validateTarget(add func(field, msg string)) {
	if !k.check("target", k.Target == "", add) {
		return
	}
	switch {
	case !targetChars.MatchString(k.Target) || len(k.Target) > 64:
		add("target", fmt.Sprintf("%q must be lowercase letters and digits joined by single dashes or dots", k.Target))
	case !KnownTarget(k.Target):
		add("target", fmt.Sprintf("%q is not a driverkit target (known: %s; ubuntu takes a flavour: ubuntu-generic, ubuntu-aws, ...)", k.Target, strings.Join(Targets(), ", ")))
	}
}

func (k *Kernel) validateRelease(add func(field, msg string)) {
	if !k.check("kernelrelease", k.KernelRelease == "", add) {
		return
	}
	if !releaseChars.MatchString(k.KernelRelease) {
		add("kernelrelease", fmt.Sprintf("%q must start with a digit and use only [A-Za-z0-9._+~-] (at most 128)", k.KernelRelease))
		return
	}
	if longDigits.MatchString(k.KernelRelease) {
		add("kernelrelease", fmt.Sprintf("%q has a number of 10 or more digits", k.KernelRelease))
		return
	}
	kr := kernelrelease.FromString(k.KernelRelease)
	if kr.Fullversion == "" {
		add("kernelrelease", fmt.Sprintf("%q does not parse as a kernel release (like 6.1.0-47-amd64)", k.KernelRelease))
		return
	}
	if min, ok := moduleMin[k.Architecture]; ok && kr.LT(min) {
		add("kernelrelease", fmt.Sprintf("kernel %s is older than %d.%d, the oldest supported on %s", kr.Fullversion, min.Major, min.Minor, k.Architecture))
	}
}

func (k *Kernel) validateURLs(add func(field, msg string), o LoadOptions) {
	if !k.check("kernelurls", len(k.KernelURLs) == 0, add) {
		return
	}
	if len(k.KernelURLs) > MaxKernelURLs {
		add("kernelurls", fmt.Sprintf("lists %d header URLs, more than the %d allowed", len(k.KernelURLs), MaxKernelURLs))
		return
	}
	if min := MinimumURLs(k.Target); len(k.KernelURLs) < min {
		add("kernelurls", fmt.Sprintf("target %s needs at least %d header URLs, got %d", k.Target, min, len(k.KernelURLs)))
	}
	seen := map[string]bool{}
	for i, u := range k.KernelURLs {
		if msg := o.checkURL(u); msg != "" {
			add(urlField(i), msg)
		} else if seen[u] {
			add(urlField(i), fmt.Sprintf("%q is listed twice", u))
		}
		seen[u] = true
	}
}

// checkURL says what is wrong with a header URL ("" when nothing is): its
// characters, its host (checkHost), a last path segment "." or ".." (it
// names the file in the build container), a segment that is "." or ".."
// once percent-decoded (%2e, %2f: never in a real package URL). A plain
// ".." inside the path is allowed: kernel-crawler's Amazon Linux URLs
// climb from the repository to its blobstore that way.
func (o LoadOptions) checkURL(u string) string {
	if len(u) > maxURLLen || !urlChars.MatchString(u) {
		return fmt.Sprintf("%q must be an absolute http(s) URL of at most %d characters from [A-Za-z0-9._~:/%%+-] (no spaces, quotes, query or credentials)", u, maxURLLen)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" || parsed.Hostname() == "" {
		return fmt.Sprintf("%q has no host", u)
	}
	if msg := o.checkHost(parsed.Hostname()); msg != "" {
		return fmt.Sprintf("%q: %s", u, msg)
	}
	// path.Base, as grid names the file, skips trailing slashes.
	if seg := path.Base(parsed.Path); parsed.Path != "" && isDotSegment(seg) {
		return fmt.Sprintf("%q ends in a %q path segment: a header URL must name a file", u, seg)
	}
	for _, raw := range strings.Split(parsed.EscapedPath(), "/") {
		if !strings.Contains(raw, "%") {
			continue
		}
		decoded, err := url.PathUnescape(raw)
		if err != nil {
			return fmt.Sprintf("%q has an invalid percent-encoding", u)
		}
		for _, seg := range strings.Split(decoded, "/") {
			if isDotSegment(seg) {
				return fmt.Sprintf("%q has a percent-encoded %q path segment (%s)", u, seg, raw)
			}
		}
	}
	return ""
}

func isDotSegment(s string) bool { return s == "." || s == ".." }

func (k *Kernel) validateConfigData(add func(field, msg string)) {
	if k.KernelConfigData == "" {
		if targetsNeedingConfig[k.Target] {
			add("kernelconfigdata", fmt.Sprintf("target %s requires kernelconfigdata (the base64 of the kernel's .config)", k.Target))
		}
		return
	}
	if _, err := base64.StdEncoding.DecodeString(k.KernelConfigData); err != nil {
		add("kernelconfigdata", "is not valid base64: "+err.Error())
	}
}

// KnownTarget tells whether driverkit v0.22.1 can build for target. Ubuntu
// targets name their flavour (ubuntu-generic); "local" is not a grid target.
func KnownTarget(target string) bool {
	if target == "local" || target == "ubuntu" || (strings.HasPrefix(target, "ubuntu") && !strings.HasPrefix(target, "ubuntu-")) {
		return false
	}
	_, err := builder.Factory(builder.Type(target))
	return err == nil
}

// MinimumURLs is the number of header URLs driverkit needs for target.
func MinimumURLs(target string) int {
	b, err := builder.Factory(builder.Type(target))
	if err != nil {
		return 1
	}
	if m, ok := b.(builder.MinimumURLsBuilder); ok && m.MinimumURLs() > 1 {
		return m.MinimumURLs()
	}
	return 1
}
