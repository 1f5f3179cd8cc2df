package config

import (
	"fmt"
	"regexp"
	"strings"

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

// AssetName is the name an artifact file gets as a GitHub Release asset
// (the publisher's GitHub target uploads it so): every character outside
// [A-Za-z0-9._-] becomes '.', as GitHub itself would rename it
// (falco_cos_6.1.58+_1.ko is uploaded as falco_cos_6.1.58._1.ko). Two
// files of one release with the same asset name cannot both keep it, so
// Load refuses configs whose artifacts would share one.
func AssetName(file string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			return c
		}
		return '.'
	}, file)
}

// assetCollisions adds a problem to the file of every kernel whose artifact
// of some kind would get the GitHub asset name (AssetName) of another
// kernel's artifact of that kind and architecture (one release holds one
// <driver version>/<arch>), naming every file of the set: publishing one
// would squat the other's name. Exact duplicates (the same file name) are
// dropInvalid's. Kernels whose name fields or architecture are invalid
// have no artifact name and do not take part. kernels and probs are
// indexed alike (Load's per-file results, in path order).
func assetCollisions(kernels []*Kernel, probs []Problems) {
	type key struct {
		arch Arch
		name string
	}
	groups := map[key][]int{}
	var order []key
	for i, k := range kernels {
		if k == nil || !nameFieldsOK(probs[i]) || k.Architecture.Machine() == "" {
			continue
		}
		for _, kind := range Kinds {
			g := key{k.Architecture, AssetName(FileName(k, kind))}
			if groups[g] == nil {
				order = append(order, g)
			}
			groups[g] = append(groups[g], i)
		}
	}
	reported := map[string]bool{} // the sets already reported, by their files
	for _, g := range order {
		members := groups[g]
		files, names := make([]string, len(members)), map[string]bool{}
		for j, i := range members {
			files[j] = kernels[i].Path
			names[FileName(kernels[i], Module)] = true
		}
		set := strings.Join(files, ", ")
		if len(names) < 2 || reported[set] {
			continue
		}
		reported[set] = true
		for _, i := range members {
			probs[i] = append(probs[i], Problem{Path: kernels[i].Path, Msg: fmt.Sprintf(
				"GitHub asset name %s (every character outside [A-Za-z0-9._-] becomes '.') is that of the artifacts of %d configs, which cannot all be published: %s",
				g.name, len(members), set)})
		}
	}
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
