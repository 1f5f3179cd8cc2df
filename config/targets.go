package config

import (
	"sort"
	"strings"

	"github.com/falcosecurity/driverkit/pkg/driverbuilder/builder"
)

// Targets lists driverkit's targets, sorted (driverkit returns them unsorted).
func Targets() []string {
	ts := builder.Targets()
	sort.Strings(ts)
	return ts
}

// crawlerTargets maps the targets of older kernel-crawler output to the
// target driverkit and falcoctl call the distro: Oracle Linux is "ol" (its
// /etc/os-release ID, which falcoctl puts in the file name), but the
// crawler wrote oracle6, oracle7 and oracle8 until 2023.
var crawlerTargets = map[string]string{
	"oracle6": "ol",
	"oracle7": "ol",
	"oracle8": "ol",
}

// CrawlerTarget is the target of a kernel-crawler target name: t itself,
// or the name falcoctl uses for a distro the crawler spelt otherwise
// (oracle6, oracle7, oracle8: ol).
func CrawlerTarget(t string) string {
	if ol, ok := crawlerTargets[t]; ok {
		return ol
	}
	return t
}

// IsUEK tells whether the kernel is an Oracle Linux Unbreakable Enterprise
// Kernel, as falcoctl decides it: target ol and "uek" anywhere in the
// release (5.4.17-2136.300.7.el8uek.x86_64).
func (k *Kernel) IsUEK() bool {
	return k.Target == "ol" && strings.Contains(k.KernelRelease, "uek")
}

// Wants tells whether a consumer ever asks for the kernel's artifact of
// kind, so that it is worth building:
//   - the probe only for kernels it can be built for (SupportsProbe);
//   - no module for an Oracle Linux UEK kernel: falcoctl (v0.11,
//     pkg/driver/distro/oracle.go, PreferredDriver) never picks the kmod
//     driver type on an ol host whose release contains "uek", so it never
//     downloads a module there (with the default types it takes
//     modern_ebpf, else the probe; with kmod alone it finds no driver).
func (k *Kernel) Wants(kind Kind) bool {
	switch kind {
	case Probe:
		return k.SupportsProbe()
	case Module:
		return !k.IsUEK()
	}
	return false
}
