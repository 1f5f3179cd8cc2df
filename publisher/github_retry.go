package publisher

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v56/github"

	"github.com/falcosecurity/dbg/grid/retry"
)

// retry is the GitHub target's one retry layer: op (attempt counts from 1)
// runs by g.policy, dbg's shared retry policy (waits doubling from Backoff
// with jitter, or the server's Retry-After, capped) until it succeeds,
// fails for good, or retries run out. What is retried is ghVerdict's call.
func (g *GitHub) retry(ctx context.Context, what string, op func(attempt int) error) error {
	return g.policy.Do(ctx, op, ghVerdict, "target", g.String(), "what", what)
}

// ghTransient marks an error known to be worth retrying (a download cut short).
type ghTransient struct{ err error }

func (e *ghTransient) Error() string { return e.err.Error() }
func (e *ghTransient) Unwrap() error { return e.err }

// ghVerdict classifies an error of go-github: an HTTP answer as the shared
// policy does (5xx, 408, 429, with Retry-After), plus GitHub's own: a 403 is
// retried when it is a secondary rate limit (by its message or documentation
// link, or an AbuseRateLimitError) or asks to wait (Retry-After). Network
// errors are retried as the shared policy says; errors that are not the
// exchange's (a file that cannot be read) are final.
func ghVerdict(err error) retry.Verdict {
	var abuse *github.AbuseRateLimitError
	var transient *ghTransient
	var uerr *url.Error
	var nerr net.Error
	switch {
	case errors.As(err, &abuse):
		return ghAbuseVerdict(abuse)
	case errors.As(err, &transient), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &uerr), errors.As(err, &nerr):
		return retry.Check(nil, err)
	}
	resp := ghResponse(err)
	if resp == nil {
		return retry.Verdict{}
	}
	if resp.StatusCode != http.StatusForbidden {
		return retry.Check(resp, nil)
	}
	after, ok := retry.RetryAfter(resp)
	return retry.Verdict{Retry: ok || ghSecondaryLimit(err), After: after, HasAfter: ok}
}

// ghAbuseVerdict retries a secondary rate limit after the server's
// Retry-After, read from the answer (both forms), else go-github's reading
// of it (seconds, x-ratelimit-reset, or the rest of a limit already hit).
func ghAbuseVerdict(abuse *github.AbuseRateLimitError) retry.Verdict {
	v := retry.Verdict{Retry: true}
	v.After, v.HasAfter = retry.RetryAfter(abuse.Response)
	if !v.HasAfter && abuse.RetryAfter != nil {
		v.After, v.HasAfter = *abuse.RetryAfter, true
	}
	return v
}

// ghResponse is the HTTP answer behind a go-github error, if any.
func ghResponse(err error) *http.Response {
	var rerr *github.ErrorResponse
	var rate *github.RateLimitError
	switch {
	case errors.As(err, &rerr):
		return rerr.Response
	case errors.As(err, &rate):
		return rate.Response
	}
	return nil
}

// ghStatus is the HTTP status of a go-github error, 0 when it has none.
func ghStatus(err error) int {
	if resp := ghResponse(err); resp != nil {
		return resp.StatusCode
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) && abuse.Response != nil {
		return abuse.Response.StatusCode
	}
	return 0
}

// ghSecondaryLimit tells GitHub's secondary rate limit from other 403s: it
// has no status or error code of its own, only its message and documentation link.
func ghSecondaryLimit(err error) bool {
	var rerr *github.ErrorResponse
	if !errors.As(err, &rerr) {
		return false
	}
	return strings.Contains(strings.ToLower(rerr.Message), "secondary rate limit") ||
		strings.Contains(rerr.DocumentationURL, "secondary-rate-limits")
}
