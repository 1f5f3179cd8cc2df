package publisher

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// PrefixIndex is what a target holds in one prefix, with verified digests.
type PrefixIndex struct {
	DriverVersion string   `json:"driver_version"`
	Arch          string   `json:"arch"`
	Artifacts     []Object `json:"artifacts"`
}

// SiteIndex is driver/index.json: every prefix of a target.
type SiteIndex struct {
	Generated time.Time     `json:"generated"`
	Target    string        `json:"target"`
	Prefixes  []PrefixIndex `json:"prefixes"`
	Total     int           `json:"total"`
	// Status counts the merged status.json entries of every prefix
	// (published: Total).
	Status StatusCounts `json:"status"`
}

// Index rewrites the target's indexes from what it actually holds: each
// prefix is listed with its digests (how: Digests or Verify), its
// SHA256SUMS is rewritten, and, where the target can hold them, a
// driver/index.json and driver/index.html list every artifact, and each
// prefix's status parts are merged into its status.json (MergeStatus). This is
// also what reconciles shards that published in parallel, and what adopts
// objects published without dbg: with Digests, the SHA256SUMS it writes is
// trusted afterwards for every object not written since, so only new
// objects cost a request of their own (S3: HeadObject, and GetObject when
// the object has no stored sha256).
func Index(ctx context.Context, t Target, how Listing) (*SiteIndex, error) {
	if how != Digests && how != Verify {
		return nil, fmt.Errorf("index %s: listing %s has no digests", t, how)
	}
	prefixes, err := t.Prefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", t, err)
	}
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].String() < prefixes[j].String() })
	site := &SiteIndex{Generated: time.Now().UTC(), Target: t.String()}
	status := map[Prefix][]KernelStatus{}
	for _, p := range prefixes {
		objs, err := t.List(ctx, p, how)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", t, err)
		}
		if err := t.WriteIndex(ctx, p, objs); err != nil {
			return nil, fmt.Errorf("index %s %s: %w", t, p, err)
		}
		ps, err := MergeStatus(ctx, t, p, objs)
		if err != nil {
			return nil, fmt.Errorf("index %s %s: %w", t, p, err)
		}
		if ps != nil {
			status[p] = ps.Kernels
			site.Status.Add(ps)
		}
		site.Prefixes = append(site.Prefixes, PrefixIndex{p.DriverVersion, p.Arch, objs})
		site.Total += len(objs)
	}
	site.Status.Published = site.Total
	if sw, ok := t.(SiteWriter); ok {
		if err := writeSite(ctx, sw, site, status); err != nil {
			return nil, fmt.Errorf("index %s: %w", t, err)
		}
	}
	return site, nil
}
