package publisher

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v56/github"
)

// retry is the GitHub target's one retry layer. It runs op (attempt counts
// from 1) until it succeeds, fails for good, or retries run out. Retried:
// network errors, 5xx, 429, and 403 secondary rate limits (the message says
// so, or the answer has Retry-After). Everything else is final. The wait
// doubles from Backoff up to maxWait and is at least the Retry-After asked
// for (capped at maxWait too).
func (g *GitHub) retry(ctx context.Context, what string, op func(attempt int) error) error {
	wait := g.backoff
	for attempt := 1; ; attempt++ {
		err := op(attempt)
		if err == nil || ctx.Err() != nil || attempt > g.retries {
			return err
		}
		again, after := ghRetryable(err)
		if !again {
			return err
		}
		d := min(max(wait, after), g.maxWait)
		g.logf("github: retrying", "what", what, "attempt", attempt, "wait", d, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		wait = min(2*wait, g.maxWait)
	}
}

// ghTransient marks an error known to be worth retrying (a download cut short).
type ghTransient struct{ err error }

func (e *ghTransient) Error() string { return e.err.Error() }
func (e *ghTransient) Unwrap() error { return e.err }

// ghRetryable classifies err and returns the wait the server asked for.
func ghRetryable(err error) (bool, time.Duration) {
	var abuse *github.AbuseRateLimitError
	var transient *ghTransient
	var uerr *url.Error
	var nerr net.Error
	switch {
	case errors.As(err, &abuse):
		return true, abuse.GetRetryAfter()
	case errors.As(err, &transient), errors.Is(err, io.ErrUnexpectedEOF):
		return true, 0
	}
	if resp := ghResponse(err); resp != nil {
		after, hasAfter := ghRetryAfter(resp)
		switch code := resp.StatusCode; {
		case code >= 500, code == http.StatusTooManyRequests:
			return true, after
		case code == http.StatusForbidden:
			return hasAfter || ghSecondaryLimit(err), after
		}
		return false, 0
	}
	if errors.As(err, &uerr) || errors.As(err, &nerr) {
		return true, 0
	}
	return false, 0
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

// ghRetryAfter reads Retry-After in seconds (the form GitHub sends).
func ghRetryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 0 {
		return 0, true
	}
	return time.Duration(s) * time.Second, true
}
