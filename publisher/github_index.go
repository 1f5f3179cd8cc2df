package publisher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/go-github/v56/github"

	"github.com/falcosecurity/dbg/config"
)

// WriteIndex rewrites, in each release of p, the SHA256SUMS and index.json
// assets for the release's share of objects (see github_layout.go), deletes
// what failed uploads left, then publishes the draft releases. objects must
// be files the releases hold, with the sizes they hold; one without a digest
// keeps the entry of its release's current index.json that matches its
// asset name and size (the index.json assets are read only then).
func (g *GitHub) WriteIndex(ctx context.Context, p Prefix, objects []Object) error {
	if err := g.writeIndex(ctx, p, objects); err != nil {
		return fmt.Errorf("write index of %s to %s: %w", p, g, err)
	}
	return nil
}

func (g *GitHub) writeIndex(ctx context.Context, p Prefix, objects []Object) error {
	st, err := g.lockPrefix(ctx, p, true)
	if err != nil {
		return err
	}
	defer st.mu.Unlock()
	st.dropPlans()
	if needDigests(objects) {
		if objects, err = g.fillFromIndexes(ctx, st, p, objects); err != nil {
			return err
		}
	}
	sums, indexes, err := ghIndexes(st, objects)
	if err != nil {
		return err
	}
	for i, rel := range st.releases {
		if len(rel.pending) > 0 {
			return fmt.Errorf("release %s has uploads in flight", rel.tag)
		}
		for _, a := range rel.assets {
			if !a.complete() {
				if err := g.deleteAsset(ctx, a.id); err != nil {
					return fmt.Errorf("delete failed upload %s of release %s: %w", a.name, rel.tag, err)
				}
				rel.remove(a.id)
			}
		}
		index, err := json.MarshalIndent(indexes[i], "", "  ")
		if err != nil {
			return err
		}
		if err := g.replaceMeta(ctx, rel, config.SumsFile, SHA256SUMS(sums[i]), "text/plain; charset=utf-8"); err != nil {
			return err
		}
		if err := g.replaceMeta(ctx, rel, ghIndexAsset, append(index, '\n'), "application/json"); err != nil {
			return err
		}
	}
	for _, rel := range st.releases {
		if err := g.publish(ctx, rel); err != nil {
			return err
		}
	}
	return nil
}

// fillFromIndexes gives the objects without a digest the one their
// release's index.json vouches for; the caller holds st.mu.
func (g *GitHub) fillFromIndexes(ctx context.Context, st *ghPrefixState, p Prefix, objects []Object) ([]Object, error) {
	known := map[string]ghIndexEntry{}
	for _, rel := range st.releases {
		for _, a := range rel.assets {
			if a.complete() && a.name == ghIndexAsset {
				if err := g.readIndex(ctx, a.id, known); err != nil {
					return nil, err
				}
			}
		}
	}
	return fillFromIndex(ctx, g, p, objects, func(o Object) (string, bool) {
		rel, a := st.find(o.File)
		if a == nil {
			return "", false
		}
		return ghVouched(known, ghListed{Object: Object{File: o.File, Size: a.size}, release: rel.tag, name: a.name})
	}), nil
}

// ghIndexes splits objects by release: SHA256SUMS lines under asset names,
// index.json entries under file names.
func ghIndexes(st *ghPrefixState, objects []Object) ([][]Object, []map[string]ghIndexEntry, error) {
	num := map[*ghRelease]int{}
	sums := make([][]Object, len(st.releases))
	indexes := make([]map[string]ghIndexEntry, len(st.releases))
	for i, rel := range st.releases {
		num[rel] = i
		indexes[i] = map[string]ghIndexEntry{}
	}
	for _, o := range objects {
		rel, a := st.find(o.File)
		switch {
		case a == nil:
			return nil, nil, fmt.Errorf("%s is in no release", o.File)
		case a.size != o.Size:
			return nil, nil, fmt.Errorf("%s: release %s holds %d bytes, index says %d", o.File, rel.tag, a.size, o.Size)
		case !ghIsDigest(o.SHA256):
			return nil, nil, fmt.Errorf("%s: bad sha256 %q", o.File, o.SHA256)
		}
		i := num[rel]
		if _, dup := indexes[i][o.File]; dup {
			return nil, nil, fmt.Errorf("%s is listed twice", o.File)
		}
		sums[i] = append(sums[i], Object{File: a.name, SHA256: o.SHA256, Size: o.Size})
		indexes[i][o.File] = ghIndexEntry{Release: rel.tag, Asset: a.name, SHA256: o.SHA256, Size: o.Size}
	}
	return sums, indexes, nil
}

// replaceMeta makes asset name of rel hold data, leaving it alone when it
// already does. Empty data means no asset (an empty SHA256SUMS fails
// sha256sum -c, and GitHub takes no empty upload).
func (g *GitHub) replaceMeta(ctx context.Context, rel *ghRelease, name string, data []byte, mediaType string) error {
	if old := rel.named(name); old != nil {
		if old.complete() && old.size == int64(len(data)) {
			var buf bytes.Buffer
			if _, err := g.downloadAsset(ctx, old.id, &buf); err != nil {
				return fmt.Errorf("download %s of release %s: %w", name, rel.tag, err)
			}
			if bytes.Equal(buf.Bytes(), data) {
				return nil
			}
		}
		if err := g.deleteAsset(ctx, old.id); err != nil {
			return fmt.Errorf("delete %s of release %s: %w", name, rel.tag, err)
		}
		rel.remove(old.id)
	}
	if len(data) == 0 {
		return nil
	}
	tmp, err := os.CreateTemp("", "dbg-github-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	a, err := g.upload(ctx, rel, name, name, tmp.Name(), mediaType, int64(len(data)), hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	rel.put(a)
	return nil
}

// publish turns a draft release into a published one (not marked latest).
func (g *GitHub) publish(ctx context.Context, rel *ghRelease) error {
	if !rel.draft {
		return nil
	}
	err := g.retry(ctx, "publish release "+rel.tag, func(int) error {
		_, _, err := g.client.Repositories.EditRelease(ctx, g.owner, g.repo, rel.id, &github.RepositoryRelease{
			Draft: github.Bool(false), MakeLatest: github.String("false"),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("publish release %s: %w", rel.tag, err)
	}
	rel.draft = false
	return nil
}
