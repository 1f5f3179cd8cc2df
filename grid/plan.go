package grid

import (
	"fmt"

	"github.com/falcosecurity/dbg/config"
)

// Entry is one planned build: one kernel, one driver version, one kind.
type Entry struct {
	DriverVersion string      `json:"driver_version"`
	Arch          string      `json:"arch"`
	Target        string      `json:"target"`
	KernelRelease string      `json:"kernelrelease"`
	KernelVersion string      `json:"kernelversion"`
	Kind          config.Kind `json:"kind"`
	File          string      `json:"file"`
	Key           string      `json:"key"`
	Config        string      `json:"config"`

	Kernel  *config.Kernel       `json:"-"`
	Version config.DriverVersion `json:"-"` // the driver version DriverVersion names
}

// ErrNoDriverVersion is returned when the driver-version filter matches no
// listed driver version.
var ErrNoDriverVersion = config.Classed(config.ErrUsage, "no driver version selected")

// Options select what to plan.
type Options struct {
	Filter Filter
	Shard  Shard
	// Only, when not nil, keeps the kernels whose config path it holds
	// (--changed-since).
	Only map[string]bool
	// AllKernels are driver versions planned for every kernel, whatever
	// Only says (--changed-since: versions whose source changed). A kernel
	// Only leaves out gets the entries of those of them that are selected
	// (window or driver-version filter), and no other.
	AllKernels map[string]bool
}

// Plan crosses kernels with the selected driver versions and their kinds.
// Without a driver-version filter the versions are the window (the newest
// N); with one, every listed version that matches. Kernels too old for the
// probe get no probe entry, and Oracle Linux UEK kernels no module entry
// (falcoctl never asks for one). Entries follow kernel order (kernels sorted by
// config path), then driver version (newest first), then kind.
//
// A kernel is selected when it matches the filter and is kept by Only, or,
// when Only leaves it out, when some selected driver version is in
// AllKernels. The selected kernels, in order, are dealt round-robin to the
// shards.
func Plan(kernels []*config.Kernel, dv *config.DriverVersions, opts Options) ([]Entry, error) {
	var plan []Entry
	err := eachSelected(kernels, dv, opts, func(k *config.Kernel, vs []config.DriverVersion) {
		plan = append(plan, kernelEntries(k, vs)...)
	})
	return plan, err
}

// NotBuildableOf is what Plan leaves out of the same selection (same
// kernels, versions and shard) because dbg cannot build it: the probe of
// a kernel too old for it. Each is a result with status NotBuildable and
// the reason, never an entry to build, so that plan counts and shard
// dealing stay what they are; a run records them in its status. (Oracle
// UEK modules are not among them: no consumer ever asks for one.)
func NotBuildableOf(kernels []*config.Kernel, dv *config.DriverVersions, opts Options) ([]BuildResult, error) {
	var out []BuildResult
	err := eachSelected(kernels, dv, opts, func(k *config.Kernel, vs []config.DriverVersion) {
		for _, v := range vs {
			if v.Has(config.Probe) && !k.SupportsProbe() {
				out = append(out, BuildResult{Entry: newEntry(k, v, config.Probe), Status: NotBuildable, Reason: probeTooOld})
			}
		}
	})
	return out, err
}

const probeTooOld = "kernel too old for the legacy eBPF probe (driverkit builds it from 4.14 on x86_64, 4.17 on aarch64)"

// eachSelected calls f with each kernel of the selection and its shard,
// in order, with the driver versions it gets.
func eachSelected(kernels []*config.Kernel, dv *config.DriverVersions, opts Options, f func(*config.Kernel, []config.DriverVersion)) error {
	versions := selectVersions(dv, opts.Filter.DriverVersion)
	if len(versions) == 0 {
		return fmt.Errorf("plan: %w: --driver-version %q matches none of %d listed", ErrNoDriverVersion, opts.Filter.DriverVersion, len(dv.Versions))
	}
	var forAll []config.DriverVersion // the selected versions every kernel gets
	for _, v := range versions {
		if opts.AllKernels[v.Version] {
			forAll = append(forAll, v)
		}
	}
	n := 0
	for _, k := range kernels {
		if !opts.Filter.matchKernel(k) {
			continue
		}
		vs := versions
		if opts.Only != nil && !opts.Only[k.Path] {
			vs = forAll
		}
		if len(vs) == 0 {
			continue
		}
		if opts.Shard.Has(n) {
			f(k, vs)
		}
		n++
	}
	return nil
}

func selectVersions(dv *config.DriverVersions, p Pattern) []config.DriverVersion {
	if len(p) == 0 {
		return dv.Newest()
	}
	var out []config.DriverVersion
	for _, v := range dv.Sorted() {
		if p.Match(v.Version) {
			out = append(out, v)
		}
	}
	return out
}

func (f Filter) matchKernel(k *config.Kernel) bool {
	return f.Arch.MatchAny(string(k.Architecture), k.Architecture.Machine()) &&
		f.Target.Match(k.Target) &&
		f.KernelRelease.Match(k.KernelRelease)
}

func kernelEntries(k *config.Kernel, versions []config.DriverVersion) []Entry {
	var out []Entry
	for _, v := range versions {
		for _, kind := range config.Kinds {
			if v.Has(kind) && k.Wants(kind) {
				out = append(out, newEntry(k, v, kind))
			}
		}
	}
	return out
}

func newEntry(k *config.Kernel, v config.DriverVersion, kind config.Kind) Entry {
	file := config.FileName(k, kind)
	return Entry{
		DriverVersion: v.Version,
		Arch:          k.Architecture.Machine(),
		Target:        k.Target,
		KernelRelease: k.KernelRelease,
		KernelVersion: k.KernelVersion,
		Kind:          kind,
		File:          file,
		Key:           config.ObjectKey(v.Version, k.Architecture, file),
		Config:        k.Path,
		Kernel:        k,
		Version:       v,
	}
}
