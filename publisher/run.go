package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// BuildFunc builds plan entries (grid.Builder.Build).
type BuildFunc func(ctx context.Context, plan []grid.Entry) (*grid.Report, error)

// RunOptions tune Run.
type RunOptions struct {
	Out    string // the build's output folder
	Force  bool   // rebuild everything and replace what differs
	DryRun bool   // list what would be built and published; change nothing
	Jobs   int    // uploads at once per target
}

// RunReport is what Run did.
type RunReport struct {
	Build    *grid.Report // nil when nothing was built
	ToBuild  []grid.Entry // what was (or, dry run: would be) built
	Outcomes []Outcome
}

// Run asks each target what it holds (one listing per prefix), builds only
// what some target misses (everything with Force), and publishes each
// built artifact to the targets that miss it (to all with Force). A
// target that already holds an artifact is left alone: builds are not
// byte-reproducible, so a rebuild differing from what is published is not
// a conflict to report.
func Run(ctx context.Context, plan []grid.Entry, build BuildFunc, targets []Target, opts RunOptions) (*RunReport, error) {
	held, err := Holdings(ctx, targets, planPrefixes(plan))
	if err != nil {
		return nil, err
	}
	rep := &RunReport{ToBuild: missing(plan, targets, held, opts.Force)}
	if opts.DryRun {
		return rep, nil
	}
	var errs []error
	if len(rep.ToBuild) > 0 {
		rep.Build, err = build(ctx, rep.ToBuild)
		if err != nil {
			return rep, err
		}
		errs = append(errs, rep.publish(ctx, targets, held, opts))
	}
	rep.Build = grid.Complete(plan, rep.Build, "already published on every target")
	errs = append(errs, rep.write(opts.Out))
	return rep, errors.Join(errs...)
}

// publish sends each built artifact to the targets that miss it.
func (rep *RunReport) publish(ctx context.Context, targets []Target, held map[Target]map[string]Object, opts RunOptions) error {
	arts, err := FromResults(opts.Out, rep.Build.Builds)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range targets {
		outs, err := Publish(ctx, []Target{t}, forTarget(arts, held[t], opts.Force), Options{Force: opts.Force, Jobs: opts.Jobs})
		rep.Outcomes = append(rep.Outcomes, outs...)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// write puts the run's manifest (every plan entry) and what was published
// (publish.json) into the output folder.
func (rep *RunReport) write(out string) error {
	if err := grid.WriteManifest(filepath.Join(out, grid.ManifestFile), rep.Build); err != nil {
		return fmt.Errorf("%w: %v", grid.ErrInfra, err)
	}
	data, err := json.MarshalIndent(rep.Outcomes, "", "  ")
	if err == nil {
		err = config.WriteFile(filepath.Join(out, PublishFile), append(data, '\n'))
	}
	if err != nil {
		return fmt.Errorf("%w: write %s: %v", grid.ErrInfra, PublishFile, err)
	}
	return nil
}

// PublishFile lists, in the output folder, what a run published.
const PublishFile = "publish.json"

// Holdings lists, for every target, what it holds in the prefixes: the
// digests by key. One listing per target and prefix.
func Holdings(ctx context.Context, targets []Target, prefixes []Prefix) (map[Target]map[string]Object, error) {
	out := map[Target]map[string]Object{}
	for _, t := range targets {
		out[t] = map[string]Object{}
		for _, p := range prefixes {
			objs, err := t.List(ctx, p, false)
			if err != nil {
				return nil, fmt.Errorf("%w: list %s: %v", ErrUploadFailed, t, err)
			}
			for _, o := range objs {
				out[t][p.Key(o.File)] = o
			}
		}
	}
	return out, nil
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

// missing keeps the entries some target lacks (all of them with force).
func missing(plan []grid.Entry, targets []Target, held map[Target]map[string]Object, force bool) []grid.Entry {
	var out []grid.Entry
	for _, e := range plan {
		for _, t := range targets {
			if _, ok := held[t][e.Key]; force || !ok {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func forTarget(arts []Artifact, held map[string]Object, force bool) []Artifact {
	var out []Artifact
	for _, a := range arts {
		if _, ok := held[a.Key()]; force || !ok {
			out = append(out, a)
		}
	}
	return out
}
