package publisher

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-github/v56/github"
)

// The status of a prefix on GitHub lives in a release of its own, tagged
// "<driver version>_<arch>_status" (ghStatusTag), published (never a
// draft, never marked latest): its status.json asset, and the
// status-<run id>.json parts runs add and `dbg index` merges and deletes.
// It keeps the artifact releases' 1000 assets for artifacts, and the
// artifact releases' scheme (parseGHTag) does not read its tag.
const ghStatusSuffix = "_status"

var _ StatusStore = (*GitHub)(nil)

func ghStatusTag(p Prefix) string { return ghTag(p, 1) + ghStatusSuffix }

// parseGHStatusTag inverts ghStatusTag.
func parseGHStatusTag(tag string) (Prefix, bool) {
	s, ok := strings.CutSuffix(tag, ghStatusSuffix)
	if !ok {
		return Prefix{}, false
	}
	return ghSplitArch(s)
}

// PutStatus uploads a status file as an asset of p's status release
// (created when missing), replacing the asset of that name.
func (g *GitHub) PutStatus(ctx context.Context, p Prefix, name string, data []byte) error {
	if err := checkStatusName(name); err != nil {
		return err
	}
	rel, err := g.statusRelease(ctx, p, true)
	if err == nil {
		err = g.replaceMeta(ctx, rel, name, data, "application/json")
	}
	if err != nil {
		return fmt.Errorf("put %s of %s to %s: %w", name, p, g, err)
	}
	return nil
}

// GetStatus downloads a status asset; missing is (nil, nil).
func (g *GitHub) GetStatus(ctx context.Context, p Prefix, name string) ([]byte, error) {
	if err := checkStatusName(name); err != nil {
		return nil, err
	}
	rel, err := g.statusRelease(ctx, p, false)
	if err != nil || rel == nil {
		return nil, err
	}
	a := rel.named(name)
	if a == nil || !a.complete() {
		return nil, nil
	}
	var buf bytes.Buffer
	if _, err := g.downloadAsset(ctx, a.id, &buf); err != nil {
		return nil, fmt.Errorf("download %s of release %s: %w", name, rel.tag, err)
	}
	return buf.Bytes(), nil
}

// StatusFiles lists the status assets of p's status release, afresh (the
// other calls use what it, or the last of them, listed).
func (g *GitHub) StatusFiles(ctx context.Context, p Prefix) ([]string, error) {
	g.mu.Lock()
	delete(g.status, p)
	g.mu.Unlock()
	rel, err := g.statusRelease(ctx, p, false)
	if err != nil || rel == nil {
		return nil, err
	}
	var out []string
	for _, a := range rel.assets {
		if a.complete() && checkStatusName(a.name) == nil {
			out = append(out, a.name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// DeleteStatus deletes a status asset (and what a failed upload of it left).
func (g *GitHub) DeleteStatus(ctx context.Context, p Prefix, name string) error {
	if err := checkStatusName(name); err != nil {
		return err
	}
	rel, err := g.statusRelease(ctx, p, false)
	if err != nil || rel == nil {
		return err
	}
	for _, a := range rel.assetsNamed(name) {
		if err := g.deleteAsset(ctx, a.id); err != nil {
			return fmt.Errorf("delete %s of release %s: %w", name, rel.tag, err)
		}
		rel.remove(a.id)
	}
	return nil
}

func (r *ghRelease) assetsNamed(name string) []*ghAsset {
	var out []*ghAsset
	for _, a := range r.assets {
		if a.name == name {
			out = append(out, a)
		}
	}
	return out
}

// statusRelease finds p's status release with its assets (listed once,
// then kept up to date by PutStatus and DeleteStatus); with create it
// makes it when missing (another shard creating it meanwhile is fine: the
// release is looked up again), else a missing one is nil. Status calls of
// one prefix are not concurrent (a run writes one part per prefix, an
// index merges prefix by prefix).
func (g *GitHub) statusRelease(ctx context.Context, p Prefix, create bool) (*ghRelease, error) {
	if err := ghCheckPrefix(p); err != nil {
		return nil, err
	}
	g.mu.Lock()
	rel := g.status[p]
	g.mu.Unlock()
	if rel != nil {
		return rel, nil
	}
	rel, err := g.loadStatusRelease(ctx, p, create)
	if err == nil && rel != nil {
		g.mu.Lock()
		g.status[p] = rel
		g.mu.Unlock()
	}
	return rel, err
}

func (g *GitHub) loadStatusRelease(ctx context.Context, p Prefix, create bool) (*ghRelease, error) {
	tag := ghStatusTag(p)
	found, err := g.findRelease(ctx, tag)
	if err != nil || (found == nil && !create) {
		return nil, err
	}
	if found == nil {
		var cerr error
		found, _, cerr = g.client.Repositories.CreateRelease(ctx, g.owner, g.repo, &github.RepositoryRelease{
			TagName: github.String(tag), Name: github.String(tag), Draft: github.Bool(false), MakeLatest: github.String("false"),
			Body: github.String("Build status of " + p.String() + " (status.json), written by dbg."),
		})
		if cerr != nil {
			if found, err = g.findRelease(ctx, tag); err != nil || found == nil {
				return nil, fmt.Errorf("create release %s: %w", tag, cerr)
			}
		}
	}
	rel := &ghRelease{id: found.GetID(), tag: tag, draft: found.GetDraft(), pending: map[string]string{}}
	assets, err := g.listAssets(ctx, rel.id)
	if err != nil {
		return nil, fmt.Errorf("list the assets of release %s: %w", tag, err)
	}
	for _, a := range assets {
		rel.assets = append(rel.assets, newGHAsset(a))
	}
	return rel, nil
}

// findRelease is the release tagged tag (the oldest of several), or nil.
func (g *GitHub) findRelease(ctx context.Context, tag string) (*github.RepositoryRelease, error) {
	all, err := g.listReleases(ctx)
	if err != nil {
		return nil, err
	}
	var found *github.RepositoryRelease
	for _, r := range all {
		if r.GetTagName() == tag && (found == nil || r.GetID() < found.GetID()) {
			found = r
		}
	}
	return found, nil
}
