package publisher

import (
	"bytes"
	"context"
	"fmt"

	"github.com/falcosecurity/dbg/grid"
)

// On GitHub, each release of a prefix carries the provenance of its own
// artifacts as one more asset, grid.ProvenanceFile, as it carries their
// SHA256SUMS: a download of a release's assets holds all a user needs to
// check them.

var _ ProvenanceStore = (*GitHub)(nil)

// ReadProvenance joins the provenance assets of p's releases (nil when
// there are none).
func (g *GitHub) ReadProvenance(ctx context.Context, p Prefix) ([]byte, error) {
	st, err := g.lockPrefix(ctx, p, false)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	var out bytes.Buffer
	for _, rel := range st.releases {
		a := rel.named(grid.ProvenanceFile)
		if a == nil || !a.complete() {
			continue
		}
		if _, err := g.downloadAsset(ctx, a.id, &out); err != nil {
			return nil, fmt.Errorf("download %s of release %s: %w", grid.ProvenanceFile, rel.tag, err)
		}
		if out.Len() > 0 && out.Bytes()[out.Len()-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	if out.Len() == 0 {
		return nil, nil
	}
	return out.Bytes(), nil
}

// WriteProvenance gives each release of p the statements of the artifacts
// it holds; statements of files in no release are dropped.
func (g *GitHub) WriteProvenance(ctx context.Context, p Prefix, data []byte) error {
	list, err := grid.ParseProvenance(data)
	if err != nil {
		return err
	}
	st, err := g.lockPrefix(ctx, p, false)
	if err != nil {
		return err
	}
	defer st.mu.Unlock()
	byRelease := map[*ghRelease][]grid.Statement{}
	for _, s := range list {
		if rel, a := st.find(s.SubjectName()); a != nil {
			byRelease[rel] = append(byRelease[rel], s)
		}
	}
	for _, rel := range st.releases {
		part, err := grid.MergeProvenance(nil, byRelease[rel], nil)
		if err != nil {
			return err
		}
		if err := g.replaceMeta(ctx, rel, grid.ProvenanceFile, part, provenanceType); err != nil {
			return fmt.Errorf("write %s of release %s: %w", grid.ProvenanceFile, rel.tag, err)
		}
	}
	return nil
}
