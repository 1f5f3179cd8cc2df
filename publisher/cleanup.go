package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"

	"github.com/blang/semver/v4"

	"github.com/falcosecurity/dbg/config"
)

// Retention says which driver versions a cleanup keeps on a target:
//
//   - every Window version, whatever else happens;
//   - the newest Keep versions by semver precedence among Listed and the
//     versions the target holds (so a pre-release that did not opt in
//     counts only when the target holds it, and then takes a place);
//   - every version with precedence at or above the oldest Window version
//     (a newer pre-release, say);
//   - every version that is not semver (with a warning: a folder dbg did not
//     write is never deleted).
//
// Every other version the target holds is deleted.
type Retention struct {
	Window []string // the build window (DriverVersions.Newest)
	Listed []string // listed versions that count: releases and opted-in pre-releases
	Keep   int      // how many of the newest versions are kept; at least len(Window)
}

// Why a version is kept or deleted.
const (
	KeptWindow     = "window"
	KeptNewest     = "newest"
	KeptAboveFloor = "not older than the window"
	KeptNotSemver  = "not semver"
	DeleteOutside  = "outside the retention"
)

// DefaultRetention is the window plus one: the previous driver version stays
// for the users not yet upgraded.
func DefaultRetention(dv *config.DriverVersions) int { return len(dv.Newest()) + 1 }

// NewRetention is the retention of driverversions.yaml keeping its keep
// newest versions; keep must be at least the window's size.
func NewRetention(dv *config.DriverVersions, keep int) (Retention, error) {
	r := Retention{Keep: keep}
	for _, v := range dv.Newest() {
		r.Window = append(r.Window, v.Version)
	}
	for _, v := range dv.Versions {
		if sv, err := semver.Parse(v.Version); err == nil && (len(sv.Pre) == 0 || v.Prerelease) {
			r.Listed = append(r.Listed, v.Version)
		}
	}
	return r, r.check()
}

func (r Retention) check() error {
	if r.Keep < len(r.Window) {
		return fmt.Errorf("retention %d: must be at least the window's %d versions %v", r.Keep, len(r.Window), r.Window)
	}
	for _, v := range r.Window {
		if _, err := semver.Parse(v); err != nil {
			return fmt.Errorf("window version %q: %w", v, err)
		}
	}
	return nil
}

// Decision is what a cleanup does with one held driver version.
type Decision struct {
	Keep   bool
	Reason string // KeptWindow, KeptNewest, KeptAboveFloor, KeptNotSemver or DeleteOutside
}

// Decide says, for every held version, whether it is kept and why.
func (r Retention) Decide(held []string) map[string]Decision {
	newest := r.newest(held)
	floor, hasFloor := r.floor()
	out := map[string]Decision{}
	for _, v := range held {
		sv, err := semver.Parse(v)
		switch {
		case err != nil:
			out[v] = Decision{true, KeptNotSemver}
		case slices.Contains(r.Window, v):
			out[v] = Decision{true, KeptWindow}
		case newest[v]:
			out[v] = Decision{true, KeptNewest}
		case hasFloor && sv.GTE(floor):
			out[v] = Decision{true, KeptAboveFloor}
		default:
			out[v] = Decision{false, DeleteOutside}
		}
	}
	return out
}

// newest is the set of the Keep newest semver versions among Listed and
// held. A held pre-release takes no place: one newer than the window is
// kept by the floor rule, an older one is not worth a release's place.
func (r Retention) newest(held []string) map[string]bool {
	var releases []string
	for _, v := range held {
		if sv, err := semver.Parse(v); err == nil && len(sv.Pre) == 0 {
			releases = append(releases, v)
		}
	}
	all := parseVersions(slices.Concat(r.Listed, r.Window, releases))
	out := map[string]bool{}
	for _, v := range all[:min(r.Keep, len(all))] {
		out[v.name] = true
	}
	return out
}

// floor is the oldest window version.
func (r Retention) floor() (semver.Version, bool) {
	vs := parseVersions(r.Window)
	if len(vs) == 0 {
		return semver.Version{}, false
	}
	return vs[len(vs)-1].sv, true
}

type namedVersion struct {
	name string
	sv   semver.Version
}

// parseVersions keeps the distinct semver names, newest first (equal
// precedence: by name).
func parseVersions(names []string) []namedVersion {
	var out []namedVersion
	seen := map[string]bool{}
	for _, n := range names {
		if sv, err := semver.Parse(n); err == nil && !seen[n] {
			seen[n] = true
			out = append(out, namedVersion{n, sv})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].sv.Compare(out[j].sv); c != 0 {
			return c > 0
		}
		return out[i].name < out[j].name
	})
	return out
}

// CleanupVersion is what a cleanup did (or, dry run, would do) with one
// driver version of a target.
type CleanupVersion struct {
	DriverVersion string   `json:"driver_version"`
	Kept          bool     `json:"kept"`
	Reason        string   `json:"reason"`
	Arches        []string `json:"arches"`
	Artifacts     int      `json:"artifacts"`         // held (kept) or deleted (or to delete)
	Deleted       []string `json:"deleted,omitempty"` // keys deleted (or, dry run, to delete)
}

// CleanupReport is a cleanup of one target, newest version first.
type CleanupReport struct {
	Target   string           `json:"target"`
	DryRun   bool             `json:"dry_run"`
	Versions []CleanupVersion `json:"versions"`
}

// Cleanup deletes from t every artifact of the driver versions r does not
// keep (see Retention): for each prefix of such a version, it lists the
// artifacts, deletes them, then rewrites the prefix's index to list
// nothing. Kept versions are listed to be counted, never touched. With
// dryRun it reports what it would delete and changes nothing. Errors wrap
// config.ErrInfra; the report then holds what was done before.
func Cleanup(ctx context.Context, t Target, r Retention, dryRun bool) (*CleanupReport, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	prefixes, err := t.Prefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: cleanup %s: %w", config.ErrInfra, t, err)
	}
	byVersion := groupByVersion(prefixes)
	versions := versionsNewestFirst(byVersion)
	decisions := r.Decide(versions)
	rep := &CleanupReport{Target: t.String(), DryRun: dryRun}
	for _, v := range versions {
		d := decisions[v]
		if d.Reason == KeptNotSemver {
			slog.Warn("cleanup: keeping a driver version that is not semver", "target", t.String(), "driver_version", v)
		}
		cv, err := cleanupVersion(ctx, t, byVersion[v], d, dryRun)
		rep.Versions = append(rep.Versions, cv)
		if err != nil {
			return rep, fmt.Errorf("%w: cleanup %s %s: %w", config.ErrInfra, t, v, err)
		}
	}
	return rep, nil
}

// cleanupVersion counts (kept) or deletes the artifacts of one version's prefixes.
func cleanupVersion(ctx context.Context, t Target, prefixes []Prefix, d Decision, dryRun bool) (CleanupVersion, error) {
	cv := CleanupVersion{DriverVersion: prefixes[0].DriverVersion, Kept: d.Keep, Reason: d.Reason}
	for _, p := range prefixes {
		cv.Arches = append(cv.Arches, p.Arch)
		objs, err := t.List(ctx, p, Presence)
		if err != nil {
			return cv, err
		}
		cv.Artifacts += len(objs)
		if d.Keep {
			continue
		}
		for _, o := range objs {
			cv.Deleted = append(cv.Deleted, p.Key(o.File))
		}
		if !dryRun {
			if err := deletePrefix(ctx, t, p, objs); err != nil {
				return cv, err
			}
		}
	}
	return cv, nil
}

// deletePrefix deletes objs and the status files from p, then rewrites p's
// index to list nothing.
func deletePrefix(ctx context.Context, t Target, p Prefix, objs []Object) error {
	for _, o := range objs {
		if err := t.Delete(ctx, p, o.File); err != nil {
			return err
		}
		slog.Debug("cleanup: deleted", "target", t.String(), "key", p.Key(o.File))
	}
	if err := deleteStatus(ctx, t, p); err != nil {
		return err
	}
	if err := t.WriteIndex(ctx, p, nil); err != nil {
		return err
	}
	if ps, ok := t.(ProvenanceStore); ok {
		return ps.WriteProvenance(ctx, p, nil)
	}
	return nil
}

// groupByVersion groups prefixes by driver version, arches sorted.
func groupByVersion(prefixes []Prefix) map[string][]Prefix {
	out := map[string][]Prefix{}
	for _, p := range prefixes {
		out[p.DriverVersion] = append(out[p.DriverVersion], p)
	}
	for _, ps := range out {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Arch < ps[j].Arch })
	}
	return out
}

// versionsNewestFirst orders the versions newest first, those that are
// not semver last, by name.
func versionsNewestFirst(byVersion map[string][]Prefix) []string {
	var names, other []string
	for v := range byVersion {
		names = append(names, v)
	}
	var out []string
	for _, v := range parseVersions(names) {
		out = append(out, v.name)
	}
	for _, v := range names {
		if !slices.Contains(out, v) {
			other = append(other, v)
		}
	}
	sort.Strings(other)
	return append(out, other...)
}
