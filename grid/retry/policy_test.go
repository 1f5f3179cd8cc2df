package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/grid/netpolicy"
)

func TestCheck(t *testing.T) {
	answer := func(code int, retryAfter string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if retryAfter != "" {
			r.Header.Set("Retry-After", retryAfter)
		}
		return r
	}
	netErr := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name string
		resp *http.Response
		err  error
		want Verdict
	}{
		{"200", answer(200, ""), nil, Verdict{}},
		{"301 unfollowed", answer(301, ""), nil, Verdict{}},
		{"400", answer(400, ""), nil, Verdict{}},
		{"401", answer(401, ""), nil, Verdict{}},
		{"403", answer(403, ""), nil, Verdict{}},
		{"403 with Retry-After (not ours to retry)", answer(403, "5"), nil, Verdict{}},
		{"404", answer(404, ""), nil, Verdict{}},
		{"410", answer(410, ""), nil, Verdict{}},
		{"422", answer(422, ""), nil, Verdict{}},
		{"408", answer(408, ""), nil, Verdict{Retry: true}},
		{"429", answer(429, ""), nil, Verdict{Retry: true}},
		{"429 with Retry-After", answer(429, "7"), nil, Verdict{Retry: true, After: 7 * time.Second, HasAfter: true}},
		{"500", answer(500, ""), nil, Verdict{Retry: true}},
		{"501", answer(501, ""), nil, Verdict{Retry: true}},
		{"502", answer(502, ""), nil, Verdict{Retry: true}},
		{"503 with Retry-After 0", answer(503, "0"), nil, Verdict{Retry: true, HasAfter: true}},
		{"503 with unreadable Retry-After", answer(503, "soon"), nil, Verdict{Retry: true}},
		{"504", answer(504, ""), nil, Verdict{Retry: true}},
		{"connection refused", nil, netErr, Verdict{Retry: true}},
		{"connection reset", nil, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, Verdict{Retry: true}},
		{"body cut short", nil, fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), Verdict{Retry: true}},
		{"attempt timeout", nil, &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}, Verdict{Retry: true}},
		{"cancelled", nil, &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, Verdict{}},
		{"unknown authority", nil, &url.Error{Op: "Get", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, Verdict{}},
		{"wrong host", nil, &url.Error{Op: "Get", URL: "https://x", Err: x509.HostnameError{Host: "x"}}, Verdict{}},
		{"expired", nil, x509.CertificateInvalidError{Reason: x509.Expired}, Verdict{}},
		{"HTTP answer to HTTPS", nil, &url.Error{Op: "Get", URL: "https://x", Err: http.ErrSchemeMismatch}, Verdict{}},
		{"address refused by the policy", nil, &url.Error{Op: "Get", URL: "http://169.254.169.254/", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &netpolicy.AddrError{Addr: netip.MustParseAddr("169.254.169.254"), Reason: "a link-local address"}}}, Verdict{}},
		{"redirect refused by the policy", nil, &url.Error{Op: "Get", URL: "http://x", Err: fmt.Errorf("%w: stopped after 5 redirects", netpolicy.ErrRefused)}, Verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.resp, tt.err); got != tt.want {
				t.Errorf("Check = %+v, want %+v", got, tt.want)
			}
			if tt.resp != nil {
				if got := Status(tt.resp.StatusCode); got != tt.want.Retry {
					t.Errorf("Status(%d) = %v, want %v", tt.resp.StatusCode, got, tt.want.Retry)
				}
			} else if got := Transient(tt.err); got != tt.want.Retry {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want.Retry)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"3600", time.Hour, true}, // not capped here: Policy.Wait caps
		{"99999999999999999", maxDuration, true},
		{"999999999999999999999999", maxDuration, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},
		{now.Add(3 * time.Second).Format(time.ANSIC), 3 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true}, // in the past: at once
		{"-1", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Wed, 32 Foo 2025 99:00:00 GMT", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := RetryAfter(nil); ok {
		t.Error("RetryAfter(nil) found a Retry-After")
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		n    int
		d    time.Duration // the wait is within [d/2, d]
	}{
		{"first retry", Policy{Base: time.Second, Cap: time.Minute}, 1, time.Second},
		{"doubles", Policy{Base: time.Second, Cap: time.Minute}, 3, 4 * time.Second},
		{"capped", Policy{Base: time.Second, Cap: time.Minute}, 7, time.Minute},
		{"capped long after", Policy{Base: time.Second, Cap: time.Minute}, 1000, time.Minute},
		{"no cap, no overflow", Policy{Base: time.Second}, 1000, maxDuration},
		{"tiny", Policy{Base: time.Nanosecond, Cap: time.Minute}, 1, time.Nanosecond},
		{"no base: at once", Policy{Cap: time.Minute}, 3, 0},
		{"default, last retry", Default(), Default().Attempts - 1, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 1000 {
				got := tt.p.Backoff(tt.n)
				if got < tt.d/2 || got > tt.d {
					t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", tt.n, got, tt.d/2, tt.d)
				}
				if w := tt.p.Wait(tt.n, 0, false); w < tt.d/2 || w > tt.d {
					t.Fatalf("Wait(%d) without Retry-After = %v, want within [%v, %v]", tt.n, w, tt.d/2, tt.d)
				}
				seen[got] = true
			}
			if tt.d >= time.Millisecond && len(seen) < 10 {
				t.Errorf("Backoff(%d) took %d values in 1000 draws: no jitter", tt.n, len(seen))
			}
		})
	}
}

func TestWaitHonoursRetryAfter(t *testing.T) {
	p := Policy{Attempts: 4, Base: time.Hour, Cap: time.Minute}
	tests := []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"Retry-After 0 overrides the backoff", 0, 0},
		{"as asked", 7 * time.Second, 7 * time.Second},
		{"capped", 10 * time.Minute, time.Minute},
		{"from a far date", maxDuration, time.Minute},
		{"negative is at once", -time.Second, 0},
	}
	for _, tt := range tests {
		if got := p.Wait(1, tt.after, true); got != tt.want {
			t.Errorf("%s: Wait(1, %v) = %v, want %v", tt.name, tt.after, got, tt.want)
		}
	}
	if got := (Policy{Base: time.Second}).Wait(1, time.Hour, true); got != time.Hour {
		t.Errorf("no cap: Wait = %v, want the Retry-After", got)
	}
}

var errFinal, errAgain = errors.New("final"), errors.New("again")

// classifyTest retries errAgain, with Retry-After if after >= 0.
func classifyTest(after time.Duration) func(error) Verdict {
	return func(err error) Verdict {
		return Verdict{Retry: errors.Is(err, errAgain), After: after, HasAfter: after >= 0}
	}
}

func TestDo(t *testing.T) {
	fast := Policy{Attempts: 4, Base: time.Millisecond, Cap: time.Second}
	tests := []struct {
		name         string
		p            Policy
		errs         []error // op's answers, the last repeating
		after        time.Duration
		wantAttempts int
		wantErr      error
		minElapsed   time.Duration
	}{
		{"success at once", fast, []error{nil}, -1, 1, nil, 0},
		{"retried twice then success", fast, []error{errAgain, errAgain, nil}, -1, 3, nil, 0},
		{"final at once", fast, []error{errFinal}, -1, 1, errFinal, 0},
		{"retried then final", fast, []error{errAgain, errFinal}, -1, 2, errFinal, 0},
		{"attempts spent", fast, []error{errAgain}, -1, 4, errAgain, 0},
		{"one attempt", Policy{Base: time.Hour}, []error{errAgain}, -1, 1, errAgain, 0},
		{"Retry-After over a long backoff", Policy{Attempts: 2, Base: time.Hour, Cap: time.Hour}, []error{errAgain, nil}, 50 * time.Millisecond, 2, nil, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			attempts := 0
			start := time.Now()
			err := tt.p.Do(ctx, func(attempt int) error {
				attempts++
				if attempt != attempts {
					t.Errorf("attempt %d, want %d", attempt, attempts)
				}
				return tt.errs[min(attempt, len(tt.errs))-1]
			}, classifyTest(tt.after))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Do = %v, want %v", err, tt.wantErr)
			}
			if attempts != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, tt.wantAttempts)
			}
			if d := time.Since(start); d < tt.minElapsed || ctx.Err() != nil {
				t.Errorf("took %v, want at least %v and no timeout", d, tt.minElapsed)
			}
		})
	}
}

func TestDoCancelStopsWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := Policy{Attempts: 4, Base: time.Hour, Cap: time.Hour}
	attempts := 0
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err := p.Do(ctx, func(int) error { attempts++; return errAgain }, classifyTest(-1))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Do took %v after cancellation", d)
	}
	if !errors.Is(err, errAgain) || ctx.Err() == nil || attempts != 1 {
		t.Errorf("Do = %v after %d attempts (ctx %v), want the last error after 1", err, attempts, ctx.Err())
	}
}
