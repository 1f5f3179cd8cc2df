package publisher

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// OpenOptions carry the target settings that URLs do not.
type OpenOptions struct {
	S3     S3Options
	GitHub GitHubOptions // Token defaults to $GITHUB_TOKEN
}

// Open returns the target for a URL: file://DIR, s3://BUCKET[/PREFIX] or
// github://OWNER/REPO.
func Open(ctx context.Context, raw string, opts OpenOptions) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		dir := u.Host + u.Path
		if dir == "" {
			return nil, fmt.Errorf("target %q: file:// needs a folder", raw)
		}
		return NewDir(dir), nil
	case "s3":
		if u.Host == "" {
			return nil, fmt.Errorf("target %q: s3:// needs a bucket", raw)
		}
		return NewS3(ctx, u.Host, strings.Trim(u.Path, "/"), opts.S3)
	case "github":
		repo := strings.Trim(u.Path, "/")
		if u.Host == "" || repo == "" || strings.Contains(repo, "/") {
			return nil, fmt.Errorf("target %q: want github://OWNER/REPO", raw)
		}
		gh := opts.GitHub
		if gh.Token == "" {
			gh.Token = os.Getenv("GITHUB_TOKEN")
		}
		return NewGitHub(u.Host, repo, gh)
	}
	return nil, fmt.Errorf("target %q: unknown scheme (want file://, s3:// or github://)", raw)
}

// OpenAll opens every URL and runs each target's preflight, so that a bad
// credential or a missing bucket stops the run before any build.
func OpenAll(ctx context.Context, raws []string, opts OpenOptions) ([]Target, error) {
	var targets []Target
	for _, raw := range raws {
		t, err := Open(ctx, raw, opts)
		if err != nil {
			return nil, err
		}
		if err := t.Preflight(ctx); err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	return targets, nil
}
