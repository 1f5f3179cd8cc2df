package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/google/go-github/v56/github"
)

// Put uploads a into its release (see github_layout.go), as an
// application/octet-stream asset labelled with its file name. GitHub takes
// no digest: the bytes sent are hashed against a.SHA256 on each attempt and
// the size GitHub stored is checked; List(verify) re-hashes what it serves.
func (g *GitHub) Put(ctx context.Context, a Artifact, replace bool) error {
	if err := g.put(ctx, a, replace); err != nil {
		return fmt.Errorf("put %s to %s: %w", a.Key(), g, err)
	}
	return nil
}

func (g *GitHub) put(ctx context.Context, a Artifact, replace bool) error {
	if !IsArtifact(a.File) {
		return fmt.Errorf("%q is not an artifact file name", a.File)
	}
	st, err := g.lockPrefix(ctx, a.Prefix, false)
	if err != nil {
		return err
	}
	slot, err := g.reserve(ctx, st, a, replace)
	st.mu.Unlock()
	if err != nil {
		return err
	}
	asset, err := g.fill(ctx, slot, a)
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(slot.rel.pending, slot.name)
	if err != nil {
		st.loaded = false // what GitHub holds is unknown: read it again next time
		return err
	}
	for _, old := range slot.stale {
		slot.rel.remove(old.id)
	}
	slot.rel.put(asset)
	return nil
}

// fill deletes what the slot replaces and uploads the artifact.
func (g *GitHub) fill(ctx context.Context, slot *ghSlot, a Artifact) (*ghAsset, error) {
	for _, old := range slot.stale {
		if err := g.deleteAsset(ctx, old.id); err != nil {
			return nil, fmt.Errorf("delete asset %s of release %s: %w", old.name, slot.rel.tag, err)
		}
	}
	return g.upload(ctx, slot.rel, slot.name, a.File, a.Path, "application/octet-stream", a.Size, a.SHA256)
}

// upload uploads the file at path as asset name of rel. The file is reopened
// for each attempt, and a retry first clears what a failed attempt left (or
// takes the asset it completed).
func (g *GitHub) upload(ctx context.Context, rel *ghRelease, name, label, path, mediaType string, size int64, sum string) (*ghAsset, error) {
	select {
	case g.transfers <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-g.transfers }()
	var got *github.ReleaseAsset
	err := g.retry(ctx, "upload "+name, func(attempt int) (err error) {
		if attempt > 1 {
			if got, err = g.recoverUpload(ctx, rel.id, name, label, size); got != nil || err != nil {
				return err
			}
		}
		got, err = g.uploadOnce(ctx, rel.id, name, label, path, mediaType, size, sum)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upload %s to release %s: %w", name, rel.tag, err)
	}
	if int64(got.GetSize()) != size {
		_ = g.deleteAsset(ctx, got.GetID())
		return nil, fmt.Errorf("upload %s to release %s: GitHub stored %d bytes, want %d", name, rel.tag, got.GetSize(), size)
	}
	return newGHAsset(got), nil
}

func (g *GitHub) uploadOnce(ctx context.Context, id int64, name, label, path, mediaType string, size int64, sum string) (*github.ReleaseAsset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); (sum != "" && got != sum) || n != size {
		return nil, fmt.Errorf("%s has changed: %d bytes with sha256 %s, want %d bytes with %s", path, n, got, size, sum)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	opts := &github.UploadOptions{Name: name, Label: label, MediaType: mediaType}
	asset, _, err := g.client.Repositories.UploadReleaseAsset(ctx, g.owner, g.repo, id, opts, f)
	return asset, err
}

// recoverUpload looks at what a failed upload left: an incomplete asset is
// deleted (nil, nil: upload again); a complete one of the same label and
// size means the upload went through and only its answer was lost.
func (g *GitHub) recoverUpload(ctx context.Context, id int64, name, label string, size int64) (*github.ReleaseAsset, error) {
	assets, err := g.listAssets(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, a := range assets {
		if a.GetName() != name && a.GetLabel() != label {
			continue
		}
		if a.GetState() == "uploaded" && a.GetLabel() == label && int64(a.GetSize()) == size {
			return a, nil
		}
		if a.GetState() != "uploaded" {
			if err := g.deleteAsset(ctx, a.GetID()); err != nil {
				return nil, fmt.Errorf("clear a failed upload: %w", err)
			}
		}
	}
	return nil, nil
}
