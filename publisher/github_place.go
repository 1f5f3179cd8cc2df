package publisher

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-github/v56/github"
)

// ghSlot is the place reserved for one upload.
type ghSlot struct {
	rel   *ghRelease
	name  string
	stale []*ghAsset // to delete first: the replaced asset, leftovers of failed uploads
}

// Plan places, in file name order, those of as that are not published yet,
// and reserves their places, so that Put, called for them concurrently in
// any order, uploads each where the release scheme says. Without Plan, Put
// places artifacts in the order it is called. Plans Put does not use are
// dropped by WriteIndex.
func (g *GitHub) Plan(ctx context.Context, as []Artifact) error {
	sorted := append([]Artifact(nil), as...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].File < sorted[j].File })
	for _, a := range sorted {
		if err := g.plan(ctx, a); err != nil {
			return fmt.Errorf("plan %s in %s: %w", a.Key(), g, err)
		}
	}
	return nil
}

func (g *GitHub) plan(ctx context.Context, a Artifact) error {
	st, err := g.lockPrefix(ctx, a.Prefix, false)
	if err != nil {
		return err
	}
	defer st.mu.Unlock()
	if _, old := st.find(a.File); old != nil || st.planned[a.File] != nil {
		return nil
	}
	slot, err := g.reserve(ctx, st, a, false)
	if err != nil {
		return err
	}
	if st.planned == nil {
		st.planned = map[string]*ghSlot{}
	}
	st.planned[a.File] = slot
	return nil
}

// reserve takes a's planned place, or picks its release and asset name and
// marks them taken; the caller holds st.mu.
func (g *GitHub) reserve(ctx context.Context, st *ghPrefixState, a Artifact, replace bool) (*ghSlot, error) {
	if slot := st.planned[a.File]; slot != nil {
		delete(st.planned, a.File)
		return slot, nil
	}
	for _, rel := range st.releases {
		for _, file := range rel.pending {
			if file == a.File {
				return nil, fmt.Errorf("%s is already being uploaded", a.File)
			}
		}
	}
	slot, err := g.place(ctx, st, a, replace)
	if err != nil {
		return nil, err
	}
	for _, old := range slot.stale {
		slot.rel.remove(old.id)
	}
	slot.rel.pending[slot.name] = a.File
	return slot, nil
}

// dropPlans releases the places planned for artifacts never put.
func (st *ghPrefixState) dropPlans() {
	for _, slot := range st.planned {
		delete(slot.rel.pending, slot.name)
	}
	st.planned = nil
}

// place applies the release scheme: where the file is, else where a failed
// upload of it left an asset, else the lowest-numbered release with room,
// else a new release.
func (g *GitHub) place(ctx context.Context, st *ghPrefixState, a Artifact, replace bool) (*ghSlot, error) {
	if rel, old := st.find(a.File); old != nil {
		if !replace {
			return nil, ErrExists
		}
		return &ghSlot{rel: rel, name: old.name, stale: rel.assetsOf(a.File)}, nil
	}
	for _, rel := range st.releases {
		if stale := rel.incomplete(a.File); len(stale) > 0 {
			return g.slotIn(rel, a.File, stale)
		}
	}
	for _, rel := range st.releases {
		if rel.used() < g.maxAssets-ghMetaAssets {
			return g.slotIn(rel, a.File, nil)
		}
	}
	num := 1
	if n := len(st.releases); n > 0 {
		num = st.releases[n-1].num + 1
	}
	rel, err := g.createRelease(ctx, a.Prefix, num)
	if err != nil {
		return nil, err
	}
	st.releases = append(st.releases, rel)
	return g.slotIn(rel, a.File, nil)
}

func (g *GitHub) slotIn(rel *ghRelease, file string, stale []*ghAsset) (*ghSlot, error) {
	for _, old := range stale {
		rel.remove(old.id) // frees the name they hold
	}
	name, ok := rel.nameFor(file)
	if !ok {
		return nil, fmt.Errorf("release %s: no free asset name for %s", rel.tag, file)
	}
	return &ghSlot{rel: rel, name: name, stale: stale}, nil
}

// createRelease creates release num of p as a draft. A retry first looks for
// the release the failed attempt may have created.
func (g *GitHub) createRelease(ctx context.Context, p Prefix, num int) (*ghRelease, error) {
	tag := ghTag(p, num)
	var got *github.RepositoryRelease
	err := g.retry(ctx, "create release "+tag, func(attempt int) error {
		if attempt > 1 {
			all, err := g.listReleases(ctx)
			if err != nil {
				return err
			}
			for _, r := range all {
				if r.GetTagName() == tag {
					got = r
					return nil
				}
			}
		}
		var err error
		got, _, err = g.client.Repositories.CreateRelease(ctx, g.owner, g.repo, &github.RepositoryRelease{
			TagName: github.String(tag), Name: github.String(tag), Draft: github.Bool(true),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create release %s: %w", tag, err)
	}
	return &ghRelease{num: num, id: got.GetID(), tag: tag, draft: got.GetDraft(), pending: map[string]string{}}, nil
}
