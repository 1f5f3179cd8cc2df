package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/google/go-github/v56/github"

	"github.com/falcosecurity/dbg/grid/retry"
)

// GitHubOptions configure the GitHub Releases target.
type GitHubOptions struct {
	// APIURL and UploadURL point at a GitHub Enterprise server (go-github
	// appends api/v3/ and api/uploads/); empty means github.com. An empty
	// UploadURL with an APIURL uses the APIURL's host.
	APIURL, UploadURL string
	// Token authenticates every request (the caller reads GITHUB_TOKEN).
	Token string
	// Concurrency bounds uploads and downloads in flight (default 4).
	Concurrency int
	// Retries is how many times a failed request is retried (default 5;
	// negative: never). Backoff is the first wait (default 1s), doubled each
	// retry with jitter and capped (ghMaxWait); a Retry-After answer is
	// honoured up to the cap. They make the target's retry.Policy.
	Retries int
	Backoff time.Duration
}

// GitHub publishes artifacts as assets of GitHub releases; the release
// scheme is in github_layout.go.
type GitHub struct {
	owner, repo string
	client      *github.Client
	download    *http.Client // follows asset redirects to storage, without the token
	hasToken    bool
	concurrency int
	policy      retry.Policy  // from Retries and Backoff, capped at ghMaxWait
	maxAssets   int           // ghMaxAssets; tests lower it
	transfers   chan struct{} // bounds uploads and downloads in flight

	mu       sync.Mutex
	prefixes map[Prefix]*ghPrefixState
	status   map[Prefix]*ghRelease // status releases, as last listed (github_status.go)
}

var _ Target = (*GitHub)(nil)

// ghMaxWait caps one wait between attempts, Retry-After included: GitHub's
// secondary rate limits ask for a minute or more.
const ghMaxWait = 2 * time.Minute

// NewGitHub returns the target publishing to the releases of owner/repo.
func NewGitHub(owner, repo string, opts GitHubOptions) (*GitHub, error) {
	if owner == "" || repo == "" {
		return nil, errors.New("github target: owner and repository are required")
	}
	client := github.NewClient(&http.Client{})
	if opts.Token != "" {
		client = client.WithAuthToken(opts.Token)
	}
	if opts.APIURL != "" || opts.UploadURL != "" {
		upload := opts.UploadURL
		if upload == "" {
			upload = opts.APIURL
		}
		var err error
		if client, err = client.WithEnterpriseURLs(opts.APIURL, upload); err != nil {
			return nil, fmt.Errorf("github target: %w", err)
		}
	}
	g := &GitHub{
		owner: owner, repo: repo, client: client, download: &http.Client{},
		hasToken: opts.Token != "", concurrency: opts.Concurrency,
		policy:    ghPolicy(opts.Retries, opts.Backoff),
		maxAssets: ghMaxAssets, prefixes: map[Prefix]*ghPrefixState{}, status: map[Prefix]*ghRelease{},
	}
	if g.concurrency <= 0 {
		g.concurrency = 4
	}
	g.transfers = make(chan struct{}, g.concurrency)
	return g, nil
}

// ghPolicy maps GitHubOptions' Retries and Backoff onto the shared policy.
func ghPolicy(retries int, backoff time.Duration) retry.Policy {
	switch {
	case retries == 0:
		retries = 5
	case retries < 0:
		retries = 0
	}
	if backoff <= 0 {
		backoff = retry.Default().Base
	}
	return retry.Policy{Attempts: retries + 1, Base: backoff, Cap: ghMaxWait}
}

func (g *GitHub) String() string { return "github://" + g.owner + "/" + g.repo }

// Preflight checks that the token works and may push to the repository.
func (g *GitHub) Preflight(ctx context.Context) error {
	if !g.hasToken {
		return fmt.Errorf("preflight %s: no token (set GITHUB_TOKEN)", g)
	}
	var repo *github.Repository
	err := g.retry(ctx, "get repository", func(int) (err error) {
		repo, _, err = g.client.Repositories.Get(ctx, g.owner, g.repo)
		return err
	})
	switch status := ghStatus(err); {
	case status == http.StatusUnauthorized:
		return fmt.Errorf("preflight %s: the token was rejected (401 Bad credentials): %w", g, err)
	case status == http.StatusNotFound:
		return fmt.Errorf("preflight %s: repository not found, or not visible to the token (404): %w", g, err)
	case err != nil:
		return fmt.Errorf("preflight %s: %w", g, err)
	}
	if push, ok := repo.GetPermissions()["push"]; ok && !push {
		return fmt.Errorf("preflight %s: the token has no push permission on the repository", g)
	}
	return nil
}

// Prefixes lists the prefixes that have at least one release (artifacts
// or status).
func (g *GitHub) Prefixes(ctx context.Context) ([]Prefix, error) {
	releases, err := g.listReleases(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", g, err)
	}
	seen := map[Prefix]bool{}
	var out []Prefix
	for _, r := range releases {
		p, _, ok := parseGHTag(r.GetTagName())
		if !ok {
			p, ok = parseGHStatusTag(r.GetTagName()) // a prefix with nothing but its status
		}
		if ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// Delete removes the file's assets (leftovers of failed uploads included).
func (g *GitHub) Delete(ctx context.Context, p Prefix, file string) error {
	st, err := g.lockPrefix(ctx, p, false)
	if err != nil {
		return fmt.Errorf("delete %s from %s: %w", p.Key(file), g, err)
	}
	defer st.mu.Unlock()
	for _, rel := range st.releases {
		for _, a := range rel.assetsOf(file) {
			if err := g.deleteAsset(ctx, a.id); err != nil {
				st.loaded = false
				return fmt.Errorf("delete %s from %s: %w", p.Key(file), g, err)
			}
			rel.remove(a.id)
		}
	}
	return nil
}

// deleteAsset deletes one asset; one already gone is deleted.
func (g *GitHub) deleteAsset(ctx context.Context, id int64) error {
	err := g.retry(ctx, "delete asset", func(int) error {
		_, err := g.client.Repositories.DeleteReleaseAsset(ctx, g.owner, g.repo, id)
		return err
	})
	if ghStatus(err) == http.StatusNotFound {
		return nil
	}
	return err
}

func (g *GitHub) logf(msg string, args ...any) {
	slog.Warn(msg, append([]any{"target", g.String()}, args...)...)
}
