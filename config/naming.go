package config

import (
	"fmt"
	"regexp"

	"github.com/falcosecurity/driverkit/pkg/kernelrelease"
)

// The naming contract with consumers (falcoctl, the legacy driver loader):
// what a file is called and where it lives. Architectures are spelt in
// arch.go. Nothing else in dbg builds these names.

// DriverName is the name of the driver in artifact file names.
const DriverName = "falco"

// Kind is an artifact kind: the kernel module or the legacy eBPF probe.
type Kind string

// The artifact kinds.
const (
	Module Kind = "module"
	Probe  Kind = "probe"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{Module, Probe}

// Ext is the file extension consumers expect for the kind.
func (k Kind) Ext() string {
	if k == Probe {
		return ".o"
	}
	return ".ko"
}

// ParseKind accepts "module" or "probe".
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown artifact kind %q (want module or probe)", s)
}

// FileName is the artifact name falcoctl computes:
// falco_<target>_<kernelrelease>_<kernelversion>.ko (or .o for the probe).
// The fields are taken verbatim; never parse a file name back into fields.
func FileName(k *Kernel, kind Kind) string {
	return DriverName + "_" + k.Target + "_" + k.KernelRelease + "_" + k.KernelVersion + kind.Ext()
}

// keyRoot is the folder every object key starts in, in the bucket and in
// dbg's output folder (consumers' default repo is
// https://download.falco.org/driver).
const keyRoot = "driver"

// SumsFile is the digest file of each <driver version>/<arch> folder, in
// the format of sha256sum, so that `sha256sum -c SHA256SUMS` checks it.
const SumsFile = "SHA256SUMS"

// RootKey is the key of name directly in the root folder of every key:
// driver/<name> (the site's index.json and index.html). RootKey("") is
// "driver/", the prefix of every key.
func RootKey(name string) string {
	return keyRoot + "/" + name
}

// VersionKey is the prefix of one driver version's folder:
// driver/<driver version>/.
func VersionKey(driverVersion string) string {
	return RootKey(driverVersion + "/")
}

// PrefixKey is the prefix of one <driver version>/<arch> folder:
// driver/<driver version>/<machine>/, machine spelt as in keys
// (Arch.Machine: x86_64, aarch64). It takes the folder's name as a string
// because a target may hold folders dbg does not build for.
func PrefixKey(driverVersion, machine string) string {
	return VersionKey(driverVersion) + machine + "/"
}

// ObjectKey is where an artifact lives in the bucket and in dbg's output
// folder: driver/<driver version>/<arch>/<file>, with a literal "+" and the
// arch spelt as Arch.Machine.
func ObjectKey(driverVersion string, arch Arch, file string) string {
	return PrefixKey(driverVersion, arch.Machine()) + file
}

// debianFlavour is falcoctl's Debian release flavour regex,
// -?(rt-|cloud-|)(amd64|arm64), anchored at the end of the release.
var debianFlavour = regexp.MustCompile(`-?(rt-|cloud-|)(amd64|arm64)$`)

// DebianFlavour reads the flavour and architecture at the end of a Debian
// kernel release (or header package name) as falcoctl does:
// 6.1.0-47-cloud-amd64 gives "cloud-" and amd64, 6.1.170-3-amd64 gives ""
// and amd64. flavour is falcoctl's first group: "rt-", "cloud-" or "" (the
// plain flavour). falcoctl asks for <package version>-<flavour><arch>, so
// "-" + flavour + arch ends every consumer-visible Debian release. ok is
// false when release ends in no Debian flavour.
func DebianFlavour(release string) (flavour string, arch Arch, ok bool) {
	m := debianFlavour.FindStringSubmatch(release)
	if m == nil {
		return "", "", false
	}
	return m[1], Arch(m[2]), true
}

// ConfigPath is where a kernel's config file belongs below the config dir.
func ConfigPath(k *Kernel) string {
	return k.Architecture.Machine() + "/" + k.ID() + ".yaml"
}

// SupportsProbe tells whether the legacy eBPF probe can be built for the
// kernel (4.14 on amd64, 4.17 on arm64, per driverkit).
func (k *Kernel) SupportsProbe() bool {
	if longDigits.MatchString(k.KernelRelease) {
		return false
	}
	kr := kernelrelease.FromString(k.KernelRelease)
	kr.Architecture = kernelrelease.Architecture(k.Architecture)
	return kr.Fullversion != "" && kr.SupportsProbe()
}
