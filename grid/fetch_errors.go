package grid

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

var (
	// ErrTooLarge is wrapped by a FetchError whose download went past
	// FetchOptions.MaxSize. It is permanent.
	ErrTooLarge = errors.New("download too large")
	// ErrUnsupportedURL is wrapped by a FetchError for a URL that is not
	// plain http(s). It is permanent.
	ErrUnsupportedURL = errors.New("unsupported URL")
)

// maxRetryAfter caps how long a server's Retry-After (and the backoff) may
// make us wait between attempts.
const maxRetryAfter = 60 * time.Second

// FetchError is a failed download of URL. Status is the HTTP status when the
// server answered with one (0 otherwise); Err is the underlying cause, if any.
// Neither carries the response body.
type FetchError struct {
	URL    string
	Status int
	Err    error

	retryAfter    time.Duration // from the Retry-After header,
	hasRetryAfter bool          // when there was a readable one
}

func (e *FetchError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("fetch %s: %v", e.URL, e.Err)
	}
	return fmt.Sprintf("fetch %s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

func (e *FetchError) Unwrap() error { return e.Err }

// Permanent reports whether trying again cannot help: the server refused or
// does not have the file (4xx other than 408 and 429), the file is over the
// size cap, or the URL is not http(s). Network errors, timeouts, 5xx, 408,
// 429 and context cancellation are not permanent.
func (e *FetchError) Permanent() bool {
	if e.Status != 0 {
		return permanentStatus(e.Status)
	}
	return errors.Is(e.Err, ErrTooLarge) || errors.Is(e.Err, ErrUnsupportedURL)
}

// permanentStatus: 4xx but 408 and 429 (and any other non-200 answer below
// 500, such as an unfollowed redirect) will not change if asked again.
func permanentStatus(code int) bool {
	return code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}

// statusError describes a non-200 answer, keeping Retry-After on 429 and 503.
func statusError(url string, resp *http.Response) *FetchError {
	e := &FetchError{URL: url, Status: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.retryAfter, e.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date, capped at
// maxRetryAfter; false when absent or unreadable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}
