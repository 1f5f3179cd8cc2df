package retry

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Client returns a plain HTTP client that retries by p: each request is
// sent up to p.Attempts times while Check retries its outcome, waiting
// p.Wait between sends (go-retryablehttp runs the loop). After the last
// attempt the last answer is returned as it is (a 503, say) for the caller
// to report; a network error is returned as the error. A request body must
// be replayable. base sends each attempt and its Timeout bounds one attempt
// (nil: a client on http.DefaultTransport). Retries are logged to slog at
// Warn; the library's own messages go to slog too, at Debug (its failed
// requests at Warn).
func (p Policy) Client(base *http.Client) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	c := &retryablehttp.Client{
		HTTPClient:   base,
		Logger:       slogLogger{},
		RetryMax:     max(p.Attempts-1, 0),
		CheckRetry:   checkRetry,
		Backoff:      p.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c.StandardClient()
}

// checkRetry is Check as go-retryablehttp asks it; a done context is final.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	return Check(resp, err).Retry, nil
}

// backoff is Wait as go-retryablehttp asks it (n counts retries from 0).
func (p Policy) backoff(_, _ time.Duration, n int, resp *http.Response) time.Duration {
	after, ok := RetryAfter(resp)
	d := p.Wait(n+1, after, ok)
	args := []any{"attempt", n + 1, "wait", d}
	if resp != nil {
		args = append(args, "status", resp.StatusCode)
		if resp.Request != nil {
			args = append(args, "url", resp.Request.URL.Redacted())
		}
	}
	slog.Warn("retrying", args...)
	return d
}

// slogLogger routes go-retryablehttp's messages to slog: its failed
// requests (network errors, with the reason) at Warn, the rest at Debug.
type slogLogger struct{}

var _ retryablehttp.LeveledLogger = slogLogger{}

func (slogLogger) Error(msg string, kv ...any) { slog.Warn(msg, kv...) }
func (slogLogger) Warn(msg string, kv ...any)  { slog.Warn(msg, kv...) }
func (slogLogger) Info(msg string, kv ...any)  { slog.Debug(msg, kv...) }
func (slogLogger) Debug(msg string, kv ...any) { slog.Debug(msg, kv...) }
