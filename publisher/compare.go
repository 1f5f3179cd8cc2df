package publisher

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// MissingFirst is how many missing keys a Comparison names.
const MissingFirst = 10

// Comparison is what one target holds of a plan.
type Comparison struct {
	Target  string     `json:"target"`
	Held    grid.Stats `json:"held"`    // planned builds the target holds
	Missing Missing    `json:"missing"` // planned builds it does not hold
	Extra   Extra      `json:"extra"`   // artifacts it holds that are not planned
	// Status is what the target's status says of every folder it has
	// (status.json and the parts not merged yet, settled against what it
	// holds): failed and not buildable entries, and the artifacts held.
	Status StatusCounts `json:"status"`
}

// Missing counts the planned builds a target does not hold.
type Missing struct {
	grid.Stats
	First []string `json:"first"` // the first MissingFirst keys, in plan order
}

// Extra counts the artifacts a target holds that the plan does not have.
type Extra struct {
	Total  int          `json:"total"`
	Prefix []grid.Count `json:"prefix"` // by <driver version>/<arch>
	Kind   []grid.Count `json:"kind"`   // module (.ko) or probe (.o)
	Keys   []string     `json:"keys"`   // sorted
}

// Compare learns what t holds in the plan's prefixes and in every other
// prefix it has (one Presence listing per prefix), and sorts it against the plan:
// held objects are matched to plan entries by key, never by parsing file
// names. Errors wrap config.ErrInfra or ErrUploadFailed.
func Compare(ctx context.Context, t Target, plan []grid.Entry) (*Comparison, error) {
	prefixes, err := comparePrefixes(ctx, t, plan)
	if err != nil {
		return nil, err
	}
	holdings, err := Holdings(ctx, []Target{t}, prefixes, Presence)
	if err != nil {
		return nil, err
	}
	held := holdings[t].byKey()
	var have, lack []grid.Entry
	planned := make(map[string]bool, len(plan))
	for _, e := range plan {
		planned[e.Key] = true
		if _, ok := held[e.Key]; ok {
			have = append(have, e)
		} else {
			lack = append(lack, e)
		}
	}
	status, err := statusCounts(ctx, t, prefixes, holdings[t])
	if err != nil {
		return nil, err
	}
	return &Comparison{
		Target:  t.String(),
		Held:    grid.Summarize(have),
		Missing: missingOf(lack),
		Extra:   extraOf(held, planned, prefixes),
		Status:  status,
	}, nil
}

// statusCounts counts the status of every prefix (ReadStatus).
func statusCounts(ctx context.Context, t Target, prefixes []Prefix, h Holding) (StatusCounts, error) {
	var c StatusCounts
	for _, p := range prefixes {
		objs := make([]Object, 0, len(h[p]))
		for _, o := range h[p] {
			objs = append(objs, o)
		}
		ps, err := ReadStatus(ctx, t, p, objs)
		if err != nil {
			return c, fmt.Errorf("%w: compare %s: %w", config.ErrInfra, t, err)
		}
		c.Add(ps)
		c.Published += len(objs)
	}
	return c, nil
}

// comparePrefixes is the plan's prefixes and the target's, sorted.
func comparePrefixes(ctx context.Context, t Target, plan []grid.Entry) ([]Prefix, error) {
	held, err := t.Prefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: compare %s: %w", config.ErrInfra, t, err)
	}
	seen := map[Prefix]bool{}
	var out []Prefix
	for _, p := range append(planPrefixes(plan), held...) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func missingOf(lack []grid.Entry) Missing {
	m := Missing{Stats: grid.Summarize(lack), First: []string{}}
	for _, e := range lack[:min(MissingFirst, len(lack))] {
		m.First = append(m.First, e.Key)
	}
	return m
}

// extraOf counts the held keys that are not planned, by prefix (the key's
// folder) and by kind (the file's extension).
func extraOf(held map[string]Object, planned map[string]bool, prefixes []Prefix) Extra {
	folders := map[string]Prefix{}
	for _, p := range prefixes {
		folders[p.Key("")] = p
	}
	x := Extra{Keys: []string{}}
	byPrefix, byKind := map[string]int{}, map[string]int{}
	for key := range held {
		if planned[key] {
			continue
		}
		folder, file := path.Split(key)
		x.Keys = append(x.Keys, key)
		byPrefix[folders[folder].String()]++
		byKind[kindOf(file)]++
	}
	sort.Strings(x.Keys)
	x.Total = len(x.Keys)
	x.Prefix, x.Kind = countsOf(byPrefix), countsOf(byKind)
	return x
}

// kindOf tells a module from a probe by the extension alone (the only
// thing a file name says for sure).
func kindOf(file string) string {
	for _, k := range config.Kinds {
		if strings.HasSuffix(file, k.Ext()) {
			return string(k)
		}
	}
	return "other"
}

func countsOf(m map[string]int) []grid.Count {
	out := make([]grid.Count, 0, len(m))
	for v, n := range m {
		out = append(out, grid.Count{Value: v, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}
