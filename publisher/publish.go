package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Action is what Publish did, or would do, with one artifact on one target.
type Action string

// The actions.
const (
	Upload   Action = "upload"   // missing: uploaded
	Skip     Action = "skip"     // present with the same sha256
	Replace  Action = "replace"  // present with other bytes, replaced (--force)
	Conflict Action = "conflict" // present with other bytes, left alone
	Failed   Action = "failed"   // the upload failed
)

// Outcome is one artifact on one target.
type Outcome struct {
	Target   string `json:"target"`
	Key      string `json:"key"`
	Action   Action `json:"action"`
	SHA256   string `json:"sha256"`
	Existing string `json:"existing_sha256,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Options tune Publish.
type Options struct {
	Force  bool // replace artifacts published with other bytes
	DryRun bool // decide, change nothing
	Jobs   int  // uploads at once per target; default 4
}

// Publish puts the artifacts on every target: what a target holds with the
// same digest is skipped, what it holds with other bytes is a conflict
// (replaced only with Force), the rest is uploaded; then each touched
// prefix's index is rewritten. What a target holds is learned with one
// listing per prefix, with digests (Digests: the conflict check needs
// them). The error reports conflicts (wrapping ErrConflict)
// and failures; the outcomes say what happened to every artifact.
func Publish(ctx context.Context, targets []Target, arts []Artifact, opts Options) ([]Outcome, error) {
	var all []Outcome
	var errs []error
	for _, t := range targets {
		held, err := listHolding(ctx, t, prefixesOf(arts), Digests)
		if err != nil {
			errs = append(errs, fmt.Errorf("publish to %s: %w", t, err))
			continue
		}
		outs, err := publishHeld(ctx, t, arts, held, opts)
		all = append(all, outs...)
		errs = append(errs, err)
	}
	return all, errors.Join(errs...)
}

// publishHeld publishes arts to t, which holds held (listed once by the
// caller), prefix by prefix. An artifact held without a digest (a Presence
// holding) is a conflict, or replaced with Force: callers give such a
// holding only the artifacts t misses.
func publishHeld(ctx context.Context, t Target, arts []Artifact, held Holding, opts Options) ([]Outcome, error) {
	var outs []Outcome
	var errs []error
	for _, p := range prefixesOf(arts) {
		if held[p] == nil {
			held[p] = map[string]Object{}
		}
		o, err := publishPrefix(ctx, t, p, artifactsIn(arts, p), held[p], opts)
		outs = append(outs, o...)
		errs = append(errs, err)
	}
	return outs, errors.Join(errs...)
}

// publishPrefix decides, uploads and rewrites p's index; held is what t
// holds in p, and is updated with what was uploaded.
func publishPrefix(ctx context.Context, t Target, p Prefix, arts []Artifact, held map[string]Object, opts Options) ([]Outcome, error) {
	outs := decide(t, arts, held, opts.Force)
	if opts.DryRun {
		return outs, conflicts(t, outs)
	}
	if err := plan(ctx, t, arts, outs); err != nil {
		return outs, fmt.Errorf("publish to %s: %w: plan %s: %w", t, ErrUploadFailed, p, err)
	}
	upload(ctx, t, arts, outs, opts.Jobs)
	for i, o := range outs {
		if o.Action == Upload || o.Action == Replace {
			held[arts[i].File] = Object{File: arts[i].File, SHA256: arts[i].SHA256, Size: arts[i].Size, Location: p.Key(arts[i].File)}
		}
	}
	var indexErr error
	if err := writeProvenance(ctx, t, p, arts, outs, held); err != nil {
		indexErr = fmt.Errorf("publish to %s: %w: %w", t, ErrUploadFailed, err)
	}
	if touched(outs) {
		if err := t.WriteIndex(ctx, p, sortedObjects(held)); err != nil {
			indexErr = errors.Join(indexErr, fmt.Errorf("publish to %s: %w: index %s: %w", t, ErrUploadFailed, p, err))
		}
	}
	return outs, errors.Join(conflicts(t, outs), failures(t, outs), indexErr)
}

func decide(t Target, arts []Artifact, held map[string]Object, force bool) []Outcome {
	outs := make([]Outcome, len(arts))
	for i, a := range arts {
		o := Outcome{Target: t.String(), Key: a.Key(), SHA256: a.SHA256, Action: Upload}
		if h, ok := held[a.File]; ok {
			o.Existing = h.SHA256
			switch {
			case h.SHA256 == a.SHA256:
				o.Action = Skip
			case force:
				o.Action = Replace
			default:
				o.Action = Conflict
			}
		}
		outs[i] = o
	}
	return outs
}

// upload runs the uploads and replacements, jobs at a time, recording
// failures in outs.
func upload(ctx context.Context, t Target, arts []Artifact, outs []Outcome, jobs int) {
	var g errgroup.Group
	g.SetLimit(max(jobs, 1))
	var mu sync.Mutex
	for i := range outs {
		if outs[i].Action != Upload && outs[i].Action != Replace {
			continue
		}
		g.Go(func() error {
			err := t.Put(ctx, arts[i], outs[i].Action == Replace)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				outs[i].Action, outs[i].Error = Failed, err.Error()
				slog.Error("upload failed", "target", t.String(), "key", arts[i].Key(), "err", err)
				return nil
			}
			slog.Info("published", "target", t.String(), "key", arts[i].Key(), "action", outs[i].Action)
			return nil
		})
	}
	_ = g.Wait()
}

// plan lets a Planner place the artifacts about to be uploaded.
func plan(ctx context.Context, t Target, arts []Artifact, outs []Outcome) error {
	pl, ok := t.(Planner)
	if !ok {
		return nil
	}
	var todo []Artifact
	for i, o := range outs {
		if o.Action == Upload || o.Action == Replace {
			todo = append(todo, arts[i])
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return pl.Plan(ctx, todo)
}

func conflicts(t Target, outs []Outcome) error {
	var keys []string
	for _, o := range outs {
		if o.Action == Conflict {
			keys = append(keys, o.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w (use --force to replace): %v", t, ErrConflict, keys)
}

func failures(t Target, outs []Outcome) error {
	n := 0
	for _, o := range outs {
		if o.Action == Failed {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w: %d upload(s)", t, ErrUploadFailed, n)
}

func touched(outs []Outcome) bool {
	for _, o := range outs {
		if o.Action == Upload || o.Action == Replace {
			return true
		}
	}
	return false
}

func prefixesOf(arts []Artifact) []Prefix {
	seen := map[Prefix]bool{}
	var out []Prefix
	for _, a := range arts {
		if !seen[a.Prefix] {
			seen[a.Prefix] = true
			out = append(out, a.Prefix)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func artifactsIn(arts []Artifact, p Prefix) []Artifact {
	var out []Artifact
	for _, a := range arts {
		if a.Prefix == p {
			out = append(out, a)
		}
	}
	return out
}

func sortedObjects(m map[string]Object) []Object {
	out := make([]Object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}
