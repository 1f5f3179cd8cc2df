package publisher

import (
	"bytes"
	"context"
	"fmt"
)

// ReadPrefixFiles returns the asset called name of each release of p that
// has one, Where being the release's tag: each release has its own
// SHA256SUMS (over its own assets). The prefix's releases are listed once
// per target (not once per file: a token has 1000 requests an hour).
func (g *GitHub) ReadPrefixFiles(ctx context.Context, p Prefix, name string) ([]PrefixFile, error) {
	st, err := g.lockPrefix(ctx, p, false)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s in %s: %w", name, p, g, err)
	}
	defer st.mu.Unlock()
	var out []PrefixFile
	for _, rel := range st.releases {
		a := rel.named(name)
		if a == nil || !a.complete() {
			continue
		}
		var buf bytes.Buffer
		if _, err := g.downloadAsset(ctx, a.id, &buf); err != nil {
			return nil, fmt.Errorf("download %s of release %s: %w", name, rel.tag, err)
		}
		out = append(out, PrefixFile{Where: rel.tag, Data: buf.Bytes()})
	}
	return out, nil
}

// WritePrefixFile makes the asset name of the release tagged where hold
// data (left alone when it already does).
func (g *GitHub) WritePrefixFile(ctx context.Context, p Prefix, where, name string, data []byte, contentType string) error {
	st, err := g.lockPrefix(ctx, p, false)
	if err != nil {
		return fmt.Errorf("write %s of %s in %s: %w", name, p, g, err)
	}
	defer st.mu.Unlock()
	for _, rel := range st.releases {
		if rel.tag == where {
			if err := g.replaceMeta(ctx, rel, name, data, contentType); err != nil {
				return fmt.Errorf("write %s of release %s in %s: %w", name, where, g, err)
			}
			return nil
		}
	}
	return fmt.Errorf("write %s of %s in %s: no release %q", name, p, g, where)
}
