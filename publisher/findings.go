package publisher

import (
	"context"
	"fmt"
)

// RebuildDiffers is the outcome of an artifact rebuilt by a run (because
// another target lacked it) that a target already holds with other bytes:
// the same inputs gave other bytes, or the published object changed. It is
// left alone (replaced only with --force, as a Replace) and reported.
const RebuildDiffers Action = "rebuild_differs"

// ErrRebuildDiffers marks such findings (exit code 1).
var ErrRebuildDiffers = ErrConflict

// rebuildFindings compares the artifacts rebuilt in this run that t already
// held (and so was not given) with what t holds: one Digests listing per
// prefix concerned. Outcomes only for those that differ.
func rebuildFindings(ctx context.Context, t Target, arts []Artifact, held Holding) ([]Outcome, error) {
	var have []Artifact
	for _, a := range arts {
		if held.has(a.Prefix, a.File) {
			have = append(have, a)
		}
	}
	if len(have) == 0 {
		return nil, nil
	}
	digests, err := listHolding(ctx, t, prefixesOf(have), Digests)
	if err != nil {
		return nil, err
	}
	var outs []Outcome
	var keys []string
	for _, a := range have {
		o, ok := digests[a.Prefix][a.File]
		if !ok || o.SHA256 == "" || o.SHA256 == a.SHA256 {
			continue
		}
		outs = append(outs, Outcome{Target: t.String(), Key: a.Key(), Action: RebuildDiffers, SHA256: a.SHA256, Existing: o.SHA256,
			Error: "a rebuild gave other bytes than the published object; left alone (--force replaces it)"})
		keys = append(keys, a.Key())
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return outs, fmt.Errorf("%s: %w: rebuilt with other bytes than published, left alone: %v", t, ErrRebuildDiffers, keys)
}
