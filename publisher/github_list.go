package publisher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"golang.org/x/sync/errgroup"
)

// ghListed is one complete artifact asset, copied out of the prefix state.
type ghListed struct {
	Object
	release, name string
	id            int64
}

// List returns the complete artifact assets of p's releases (assets left by
// failed uploads are not published), from the releases' asset listing
// (Presence stops there). Digests come from each release's index.json when
// its entry still matches the asset's release, name and size, and from
// downloading and hashing the asset otherwise, or always with Verify.
func (g *GitHub) List(ctx context.Context, p Prefix, how Listing) ([]Object, error) {
	out, err := g.list(ctx, p, how)
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", p, g, err)
	}
	return out, nil
}

func (g *GitHub) list(ctx context.Context, p Prefix, how Listing) ([]Object, error) {
	listed, indexes, err := g.snapshot(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Object, len(listed))
	for i, l := range listed {
		out[i] = l.Object
	}
	if how == Presence {
		sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
		return out, nil
	}
	known := map[string]ghIndexEntry{}
	for _, id := range indexes {
		if how == Verify {
			break
		}
		if err := g.readIndex(ctx, id, known); err != nil {
			return nil, err
		}
	}
	var todo []int
	for i, l := range listed {
		if sum, ok := ghVouched(known, l); ok {
			out[i].SHA256 = sum
			continue
		}
		todo = append(todo, i)
	}
	pr := newDigestProgress(ctx, g.String(), p, len(todo), "downloading and hashing the assets")
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(g.concurrency)
	for _, i := range todo {
		l := listed[i]
		eg.Go(func() error {
			defer pr.add(true)
			h := sha256.New()
			n, err := g.downloadAsset(ctx, l.id, h)
			if err != nil {
				return fmt.Errorf("download %s of release %s: %w", l.name, l.release, err)
			}
			if n != l.Size {
				return fmt.Errorf("asset %s of release %s: downloaded %d bytes, GitHub lists %d", l.name, l.release, n, l.Size)
			}
			out[i].SHA256 = hex.EncodeToString(h.Sum(nil))
			return nil
		})
	}
	err = eg.Wait()
	pr.finish()
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

// ghVouched is the digest index.json entries (known) give the listed asset:
// only an entry of the same release, asset name and size.
func ghVouched(known map[string]ghIndexEntry, l ghListed) (string, bool) {
	e, ok := known[l.File]
	if ok && e.Release == l.release && e.Asset == l.name && e.Size == l.Size && ghIsDigest(e.SHA256) {
		return e.SHA256, true
	}
	return "", false
}

// snapshot reads p's releases afresh and copies out its artifacts (a file
// in two releases counts once, in the lower) and its index.json assets.
func (g *GitHub) snapshot(ctx context.Context, p Prefix) ([]ghListed, []int64, error) {
	st, err := g.lockPrefix(ctx, p, true)
	if err != nil {
		return nil, nil, err
	}
	defer st.mu.Unlock()
	var listed []ghListed
	var indexes []int64
	seen := map[string]bool{}
	for _, rel := range st.releases {
		for _, a := range rel.assets {
			switch {
			case a.complete() && a.name == ghIndexAsset:
				indexes = append(indexes, a.id)
			case !a.complete() || a.meta() || !IsArtifact(a.file()):
			case seen[a.file()]:
				g.logf("github: file in two releases, listing the first", "file", a.file(), "release", rel.tag)
			default:
				seen[a.file()] = true
				listed = append(listed, ghListed{
					Object:  Object{File: a.file(), Size: a.size, Location: ghLocation(a.browserURL, rel.tag, a.name)},
					release: rel.tag, name: a.name, id: a.id,
				})
			}
		}
	}
	return listed, indexes, nil
}

// readIndex adds the entries of an index.json asset to known. An index that
// does not parse is ignored (its files get hashed), not fatal.
func (g *GitHub) readIndex(ctx context.Context, id int64, known map[string]ghIndexEntry) error {
	var buf bytes.Buffer
	if _, err := g.downloadAsset(ctx, id, &buf); err != nil {
		return fmt.Errorf("download %s: %w", ghIndexAsset, err)
	}
	var entries map[string]ghIndexEntry
	if err := json.Unmarshal(buf.Bytes(), &entries); err != nil {
		g.logf("github: ignoring an index that does not parse", "asset", id, "err", err)
		return nil
	}
	for file, e := range entries {
		known[file] = e
	}
	return nil
}

// downloadAsset writes asset id's bytes to w (reset on each attempt if it
// is a hash or a buffer). Downloads follow GitHub's redirect to its storage
// host with a client that does not carry the token.
func (g *GitHub) downloadAsset(ctx context.Context, id int64, w io.Writer) (int64, error) {
	select {
	case g.transfers <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-g.transfers }()
	var n int64
	err := g.retry(ctx, "download asset", func(int) error {
		if r, ok := w.(interface{ Reset() }); ok {
			r.Reset()
		}
		rc, _, err := g.client.Repositories.DownloadReleaseAsset(ctx, g.owner, g.repo, id, g.download)
		if err != nil {
			return err
		}
		defer rc.Close()
		if n, err = io.Copy(w, rc); err != nil {
			return &ghTransient{err}
		}
		return nil
	})
	return n, err
}

func ghIsDigest(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}
