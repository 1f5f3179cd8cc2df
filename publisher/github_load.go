package publisher

import (
	"context"
	"sort"

	"github.com/google/go-github/v56/github"
)

// lockPrefix locks p's state and loads it when not loaded or refresh; the
// caller unlocks st.mu (not on error).
func (g *GitHub) lockPrefix(ctx context.Context, p Prefix, refresh bool) (*ghPrefixState, error) {
	if err := ghCheckPrefix(p); err != nil {
		return nil, err
	}
	g.mu.Lock()
	st := g.prefixes[p]
	if st == nil {
		st = &ghPrefixState{}
		g.prefixes[p] = st
	}
	g.mu.Unlock()
	st.mu.Lock()
	if st.loaded && !refresh {
		return st, nil
	}
	if err := g.load(ctx, p, st); err != nil {
		st.mu.Unlock()
		return nil, err
	}
	return st, nil
}

// load reads p's releases and their assets. Releases already known are
// updated in place, keeping their uploads in flight.
func (g *GitHub) load(ctx context.Context, p Prefix, st *ghPrefixState) error {
	all, err := g.listReleases(ctx)
	if err != nil {
		return err
	}
	known := map[int64]*ghRelease{}
	for _, r := range st.releases {
		known[r.id] = r
	}
	byNum := map[int]*ghRelease{}
	for _, gr := range all {
		q, n, ok := parseGHTag(gr.GetTagName())
		if !ok || q != p {
			continue
		}
		if other := byNum[n]; other != nil {
			g.logf("github: two releases with one tag, using the older", "tag", gr.GetTagName())
			if other.id < gr.GetID() {
				continue
			}
		}
		r := known[gr.GetID()]
		if r == nil {
			r = &ghRelease{id: gr.GetID(), pending: map[string]string{}}
		}
		r.num, r.tag, r.draft = n, gr.GetTagName(), gr.GetDraft()
		byNum[n] = r
	}
	rels := make([]*ghRelease, 0, len(byNum))
	for _, r := range byNum {
		assets, err := g.listAssets(ctx, r.id)
		if err != nil {
			return err
		}
		r.assets = r.assets[:0]
		for _, a := range assets {
			r.assets = append(r.assets, newGHAsset(a))
		}
		rels = append(rels, r)
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].num < rels[j].num })
	st.releases, st.loaded = rels, true
	return nil
}

func (g *GitHub) listReleases(ctx context.Context) ([]*github.RepositoryRelease, error) {
	return ghPages(ctx, g, "list releases", func(o *github.ListOptions) ([]*github.RepositoryRelease, *github.Response, error) {
		return g.client.Repositories.ListReleases(ctx, g.owner, g.repo, o)
	})
}

func (g *GitHub) listAssets(ctx context.Context, id int64) ([]*github.ReleaseAsset, error) {
	return ghPages(ctx, g, "list assets", func(o *github.ListOptions) ([]*github.ReleaseAsset, *github.Response, error) {
		return g.client.Repositories.ListReleaseAssets(ctx, g.owner, g.repo, id, o)
	})
}

// ghPages collects every page of a list, 100 items a page.
func ghPages[T any](ctx context.Context, g *GitHub, what string, list func(*github.ListOptions) ([]T, *github.Response, error)) ([]T, error) {
	opts := &github.ListOptions{PerPage: 100}
	var all []T
	for {
		var page []T
		var resp *github.Response
		err := g.retry(ctx, what, func(int) (err error) {
			page, resp, err = list(opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}
