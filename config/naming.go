package config

import (
	"fmt"

	"github.com/falcosecurity/driverkit/pkg/kernelrelease"
)

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

// ObjectKey is where an artifact lives in the bucket and in dbg's output
// folder: driver/<driver version>/<arch>/<file>, with a literal "+".
func ObjectKey(driverVersion string, arch Arch, file string) string {
	return "driver/" + driverVersion + "/" + arch.Machine() + "/" + file
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
