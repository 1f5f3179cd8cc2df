package grid

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/falcosecurity/dbg/grid/netpolicy"
	"github.com/falcosecurity/dbg/grid/retry"
)

var (
	// ErrTooLarge is wrapped by a FetchError whose download went past
	// FetchOptions.MaxSize. It is permanent.
	ErrTooLarge = errors.New("download too large")
	// ErrUnsupportedURL is wrapped by a FetchError for a URL that is not
	// plain http(s). It is permanent.
	ErrUnsupportedURL = errors.New("unsupported URL")
)

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
// does not have the file (an answer retry.Status does not retry: 4xx other
// than 408 and 429), the file is over the size cap, the URL is not
// http(s), or the download address policy refused the address or a
// redirect (netpolicy.ErrRefused: the config's fault, never retried).
// Network errors, timeouts, 5xx, 408, 429 and context cancellation are not
// permanent.
func (e *FetchError) Permanent() bool {
	if e.Status != 0 {
		return !retry.Status(e.Status)
	}
	return errors.Is(e.Err, ErrTooLarge) || errors.Is(e.Err, ErrUnsupportedURL) || errors.Is(e.Err, netpolicy.ErrRefused)
}

// verdict is the shared policy's word on another attempt: by status, with
// the server's Retry-After; else by the transport error (retry.Transient:
// a refused certificate, say, is not permanent, but not retried either).
func (e *FetchError) verdict() retry.Verdict {
	if e.Status != 0 {
		return retry.Verdict{Retry: retry.Status(e.Status), After: e.retryAfter, HasAfter: e.hasRetryAfter}
	}
	return retry.Verdict{Retry: !e.Permanent() && retry.Transient(e.Err)}
}

// statusError describes a non-200 answer, keeping the Retry-After of one
// that is retried.
func statusError(url string, resp *http.Response) *FetchError {
	e := &FetchError{URL: url, Status: resp.StatusCode}
	if retry.Status(resp.StatusCode) {
		e.retryAfter, e.hasRetryAfter = retry.RetryAfter(resp)
	}
	return e
}
