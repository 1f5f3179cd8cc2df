package publisher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// The statuses of status.json.
const (
	StatusBuilt        = string(grid.Built)
	StatusFailed       = string(grid.Failed)
	StatusNotBuildable = string(grid.NotBuildable)
)

// StatusStore is implemented by targets that keep, beside a prefix's
// artifacts, its status.json and the status parts runs wrote (see
// PartName). Names are StatusFile or part names, never artifact names.
type StatusStore interface {
	// PutStatus writes (or replaces) the status file name of p.
	PutStatus(ctx context.Context, p Prefix, name string, data []byte) error
	// GetStatus reads it; a missing file is (nil, nil).
	GetStatus(ctx context.Context, p Prefix, name string) ([]byte, error)
	// StatusFiles lists the status files p has, sorted: its StatusFile
	// and its unmerged parts (one listing).
	StatusFiles(ctx context.Context, p Prefix) ([]string, error)
	// DeleteStatus removes the status file name of p (a missing one is no error).
	DeleteStatus(ctx context.Context, p Prefix, name string) error
}

// Parts are named status-<run id>.json, in the prefix (on GitHub: assets
// of the prefix's status release).
const (
	partPrefix = "status-"
	partSuffix = ".json"
)

// runIDPattern allowlists run ids: they become object keys and asset names.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// PartName is the name of the status part of run id.
func PartName(run string) string { return partPrefix + run + partSuffix }

// IsPartName tells status part names from other files.
func IsPartName(name string) bool {
	run, ok := strings.CutPrefix(name, partPrefix)
	run, ok2 := strings.CutSuffix(run, partSuffix)
	return ok && ok2 && runIDPattern.MatchString(run)
}

// CheckRunID refuses run ids outside [A-Za-z0-9._-] (100 at most).
func CheckRunID(run string) error {
	if !runIDPattern.MatchString(run) {
		return fmt.Errorf("run id %q: want 1 to 100 of [A-Za-z0-9._-], starting with a letter or digit", run)
	}
	return nil
}

// NewRunID is a run id unique per run and shard: in GitHub Actions
// gh-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>, else the UTC time; then 8 random
// hex digits (the jobs of one workflow run share its id), and
// -shard-<i>of<n> when the run is a shard. getenv reads the environment
// (os.Getenv).
func NewRunID(getenv func(string) string, shard grid.Shard, now time.Time) string {
	id := now.UTC().Format("20060102T150405Z")
	if run, attempt := getenv("GITHUB_RUN_ID"), getenv("GITHUB_RUN_ATTEMPT"); run != "" && CheckRunID(run) == nil {
		if attempt == "" || CheckRunID(attempt) != nil {
			attempt = "1"
		}
		id = "gh-" + run + "-" + attempt
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	id += "-" + hex.EncodeToString(b[:])
	if shard.Count > 1 {
		id += fmt.Sprintf("-shard-%dof%d", shard.Index, shard.Count)
	}
	return id
}

// StatusOf is what a run records of one result, and whether it records
// it: built, failed (with the reason and the neutralised log tail) and not
// buildable; a result skipped (already published, interrupted) records
// nothing, so a no-op run writes no part.
func StatusOf(r grid.BuildResult, run string, at time.Time) (KernelStatus, bool) {
	s := KernelStatus{
		File: r.File, Target: r.Target, KernelRelease: r.KernelRelease, KernelVersion: r.KernelVersion,
		Kind: string(r.Kind), UnameR: r.UnameR, Status: string(r.Status), Run: run, Time: at.UTC(),
	}
	if r.Boot != nil {
		s.Boot = r.Boot.Status
		if r.Boot.Reason != "" {
			s.Boot += ": " + neutralReason(r.Boot.Reason)
		}
	}
	switch r.Status {
	case grid.Built:
	case grid.Failed:
		s.Reason = neutralReason(r.Reason)
		s.LogTail = config.NeutralTail(r.LogTail)
	case grid.NotBuildable:
		s.Reason = neutralReason(r.Reason)
	default:
		return KernelStatus{}, false
	}
	return s, true
}

// neutralReason is a reason on one neutralised line.
func neutralReason(reason string) string {
	return config.NeutralTail(strings.Join(strings.Fields(reason), " "))
}

// checkStatusEntry refuses a result whose folder or file name is not one
// dbg makes (publish --from reads results from a manifest a build runner
// wrote): it must not reach a key or a path outside the prefix.
func checkStatusEntry(r grid.BuildResult) error {
	if !config.ValidDriverVersion(r.DriverVersion) || !slices.Contains(config.Machines(), r.Arch) ||
		!IsArtifact(r.File) || strings.ContainsAny(r.File, "/\\") {
		return fmt.Errorf("entry %q in %s/%s is no artifact of a driver folder", r.File, r.DriverVersion, r.Arch)
	}
	return nil
}

// news tells whether a part says more than what the plan alone knows:
// some build was tried (built or failed). A prefix's not buildable entries
// are recorded only with it, so that a run that builds nothing writes
// nothing, however many old kernels the configs hold.
func news(ps *PrefixStatus) bool {
	for _, k := range ps.Kernels {
		if k.Status != StatusNotBuildable {
			return true
		}
	}
	return false
}

// runParts groups what a run records by prefix.
func runParts(results []grid.BuildResult, run string, at time.Time) map[Prefix]*PrefixStatus {
	out := map[Prefix]*PrefixStatus{}
	for _, r := range results {
		s, ok := StatusOf(r, run, at)
		if !ok {
			continue
		}
		p := Prefix{r.DriverVersion, r.Arch}
		if out[p] == nil {
			out[p] = &PrefixStatus{DriverVersion: p.DriverVersion, Arch: p.Arch}
		}
		out[p].Kernels = append(out[p].Kernels, s)
	}
	return out
}

// WriteStatus writes, to every target that keeps status, one part per
// prefix of what the run recorded of results (StatusOf; infrastructure
// failures record nothing: they say nothing of the kernel), named after
// the run id, all entries at time at. A prefix where nothing was built or
// failed gets no part (news). Errors wrap config.ErrInfra.
func WriteStatus(ctx context.Context, targets []Target, results []grid.BuildResult, run string, at time.Time) error {
	if err := CheckRunID(run); err != nil {
		return fmt.Errorf("%w: %w", config.ErrUsage, err)
	}
	var kept []grid.BuildResult
	for _, r := range results {
		if err := checkStatusEntry(r); err != nil {
			return fmt.Errorf("%w: status: %w", config.ErrData, err)
		}
		if !r.Infra {
			kept = append(kept, r)
		}
	}
	parts := runParts(kept, run, at)
	prefixes := make([]Prefix, 0, len(parts))
	for p, ps := range parts {
		if news(ps) {
			prefixes = append(prefixes, p)
		}
	}
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].String() < prefixes[j].String() })
	for _, t := range targets {
		st, ok := t.(StatusStore)
		if !ok {
			continue
		}
		for _, p := range prefixes {
			if err := putPart(ctx, st, run, parts[p]); err != nil {
				return fmt.Errorf("%w: status to %s: %w", config.ErrInfra, t, err)
			}
		}
	}
	return nil
}

// RunCounts are a run's status counts, for its job summary: its failed
// and not buildable plan entries, and the planned artifacts on the targets
// after it (those every target already held, and those it published or
// found already there).
func RunCounts(r *grid.Report, outs []Outcome) StatusCounts {
	var c StatusCounts
	published := map[string]bool{}
	for _, b := range r.Builds {
		switch {
		case b.Status == grid.Failed:
			c.Failed++
		case b.Status == grid.NotBuildable:
			c.NotBuildable++
		case b.Status == grid.Skipped && b.Reason == alreadyPublished:
			published[b.Key] = true
		}
	}
	for _, o := range outs {
		if o.Action == Upload || o.Action == Replace || o.Action == Skip {
			published[o.Key] = true
		}
	}
	c.Published = len(published)
	return c
}
