package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// Builder builds plan entries into the output folder, each artifact
// checked before it is installed, and returns one result per entry
// (grid.Builder, wired by cmd).
type Builder interface {
	Build(ctx context.Context, plan []grid.Entry) (*grid.Report, error)
}

// RunOptions tune Run.
type RunOptions struct {
	Out    string // the build's output folder
	Force  bool   // rebuild everything and replace what differs (holdings then list digests)
	DryRun bool   // list what would be built and published; change nothing
	Jobs   int    // uploads at once per target
	// RunID names the status parts the run writes (NewRunID; default: a
	// time and random one).
	RunID string
	// NotBuildable are the results of what the plan's selection cannot
	// build (grid.NotBuildableOf): recorded in the manifest and the status,
	// never built.
	NotBuildable []grid.BuildResult
}

// RunReport is what Run did.
type RunReport struct {
	Build    *grid.Report // every plan entry; nil when the run stopped before building
	ToBuild  []grid.Entry // what was (or, dry run: would be) built
	Outcomes []Outcome
}

// alreadyPublished is the reason of the plan entries every target holds.
const alreadyPublished = "already published on every target"

// Run is one whole dbg run, and with no targets one `dbg build`:
//
//  1. what each target holds: one listing per target and prefix (Holdings),
//     names and sizes only (Presence): with digests (Digests) only with
//     Force, whose skip-or-replace decision needs them;
//  2. what is missing from some target (everything with Force, or without
//     targets) is built, each artifact checked before it reaches the output
//     folder (grid.Builder);
//  3. the SHA256SUMS of the folders built into, from the build's digests
//     (grid.WriteSums);
//  4. each built artifact is published to the targets that miss it (to
//     all with Force: skipped where the same bytes are there, replaced
//     where others are), from what step 1 listed (publishHeld); the index
//     of each prefix uploaded to keeps the digests it had for the objects
//     already there (WriteIndex);
//  5. per target and prefix, the run's status part: what became of each
//     entry built, failed or not buildable (WriteStatus; `dbg index`
//     merges the parts into status.json);
//  6. the manifest (every plan entry) and publish.json, once (record).
//
// A target that already holds an artifact is left alone.
func Run(ctx context.Context, plan []grid.Entry, b Builder, targets []Target, opts RunOptions) (*RunReport, error) {
	start := time.Now()
	if len(plan) == 0 {
		slog.Warn("nothing to build: the plan is empty")
	}
	how := Presence
	if opts.Force {
		how = Digests
	}
	held, err := Holdings(ctx, targets, planPrefixes(plan), how)
	if err != nil {
		return nil, err
	}
	rep := &RunReport{ToBuild: missing(plan, targets, held, opts.Force)}
	if opts.DryRun {
		return rep, nil
	}
	built := grid.NewReport(start, nil)
	if len(rep.ToBuild) > 0 {
		if built, err = b.Build(ctx, rep.ToBuild); err != nil {
			return rep, err
		}
	}
	rep.Build = wholePlan(plan, built, opts.NotBuildable)
	err = WriteLocalProvenance(opts.Out, built)
	if err == nil {
		err = grid.WriteSums(opts.Out, built.Builds)
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", config.ErrInfra, err)
	} else if ctx.Err() == nil {
		err = rep.publish(ctx, targets, held, opts)
		err = errors.Join(err, rep.writeStatus(ctx, targets, opts.RunID))
	}
	return rep, errors.Join(err, rep.record(opts.Out, len(targets) > 0))
}

// wholePlan is the report over every plan entry: the build's results, the
// entries not built because every target holds them, then what the plan
// cannot build.
func wholePlan(plan []grid.Entry, built *grid.Report, notBuildable []grid.BuildResult) *grid.Report {
	byKey := map[string]grid.BuildResult{}
	for _, r := range built.Builds {
		byKey[r.Key] = r
	}
	all := make([]grid.BuildResult, len(plan))
	for i, e := range plan {
		r, ok := byKey[e.Key]
		if !ok {
			r = grid.Skip(e, alreadyPublished)
		}
		all[i] = r
	}
	return grid.NewReport(built.Started, append(all, notBuildable...))
}

// publish sends each built artifact to the targets that miss it.
func (rep *RunReport) publish(ctx context.Context, targets []Target, held map[Target]Holding, opts RunOptions) error {
	arts := localStatements(builtArtifacts(opts.Out, rep.Build.Builds))
	var errs []error
	for _, t := range targets {
		if !opts.Force {
			outs, err := rebuildFindings(ctx, t, arts, held[t])
			rep.Outcomes = append(rep.Outcomes, outs...)
			errs = append(errs, err)
		}
		outs, err := publishHeld(ctx, t, forTarget(arts, held[t], opts.Force), held[t], Options{Force: opts.Force, Jobs: opts.Jobs})
		rep.Outcomes = append(rep.Outcomes, outs...)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeStatus writes the run's status parts (WriteStatus) to the targets.
func (rep *RunReport) writeStatus(ctx context.Context, targets []Target, run string) error {
	if len(targets) == 0 {
		return nil
	}
	if run == "" {
		run = NewRunID(func(string) string { return "" }, grid.Shard{}, rep.Build.Started)
	}
	return WriteStatus(ctx, targets, rep.Build.Builds, run, rep.Build.Started)
}

// record writes the run's manifest (every plan entry) and, when it had
// targets, what was published (publish.json) into the output folder.
func (rep *RunReport) record(out string, published bool) error {
	if err := grid.WriteManifest(filepath.Join(out, grid.ManifestFile), rep.Build); err != nil {
		return fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	if !published {
		return nil
	}
	data, err := json.MarshalIndent(rep.Outcomes, "", "  ")
	if err == nil {
		err = config.WriteFile(filepath.Join(out, PublishFile), append(data, '\n'))
	}
	if err != nil {
		return fmt.Errorf("%w: write %s: %w", config.ErrInfra, PublishFile, err)
	}
	return nil
}

// PublishFile lists, in the output folder, what a run published.
const PublishFile = "publish.json"

// Holding is what one target holds: per prefix, its objects by file name
// (with their digests only when listed with Digests).
type Holding map[Prefix]map[string]Object

// has tells whether the holding has the artifact's file in its prefix.
func (h Holding) has(p Prefix, file string) bool {
	_, ok := h[p][file]
	return ok
}

// byKey is the holding's objects by object key.
func (h Holding) byKey() map[string]Object {
	out := map[string]Object{}
	for p, objs := range h {
		for file, o := range objs {
			out[p.Key(file)] = o
		}
	}
	return out
}

// Holdings lists, for every target, what it holds in the prefixes: one
// listing per target and prefix, as how says (Presence: what is there;
// Digests: with the digests).
func Holdings(ctx context.Context, targets []Target, prefixes []Prefix, how Listing) (map[Target]Holding, error) {
	out := map[Target]Holding{}
	for _, t := range targets {
		h, err := listHolding(ctx, t, prefixes, how)
		if err != nil {
			return nil, err
		}
		out[t] = h
	}
	return out, nil
}

func listHolding(ctx context.Context, t Target, prefixes []Prefix, how Listing) (Holding, error) {
	h := Holding{}
	for _, p := range prefixes {
		objs, err := t.List(ctx, p, how)
		if err != nil {
			return nil, fmt.Errorf("%w: list %s on %s: %w", config.ErrInfra, p, t, err)
		}
		h[p] = map[string]Object{}
		for _, o := range objs {
			h[p][o.File] = o
		}
	}
	return h, nil
}

func planPrefixes(plan []grid.Entry) []Prefix {
	seen := map[Prefix]bool{}
	var out []Prefix
	for _, e := range plan {
		p := Prefix{e.DriverVersion, e.Arch}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// missing keeps the entries some target lacks: all of them with force, or
// without targets.
func missing(plan []grid.Entry, targets []Target, held map[Target]Holding, force bool) []grid.Entry {
	if force || len(targets) == 0 {
		return plan
	}
	var out []grid.Entry
	for _, e := range plan {
		for _, t := range targets {
			if !held[t].has(Prefix{e.DriverVersion, e.Arch}, e.File) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func forTarget(arts []Artifact, held Holding, force bool) []Artifact {
	var out []Artifact
	for _, a := range arts {
		if force || !held.has(a.Prefix, a.File) {
			out = append(out, a)
		}
	}
	return out
}
