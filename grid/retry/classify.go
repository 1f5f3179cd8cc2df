package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/falcosecurity/dbg/grid/netpolicy"
)

// Verdict is what a failed attempt says about the next one.
type Verdict struct {
	Retry    bool          // another attempt may succeed
	After    time.Duration // the wait the server asked for (Retry-After),
	HasAfter bool          // when it asked for one
}

// Check classifies one HTTP exchange: err when sending the request or
// reading its answer failed (see Transient), else resp's status (see
// Status), with the Retry-After of a retried answer.
func Check(resp *http.Response, err error) Verdict {
	if err != nil {
		return Verdict{Retry: Transient(err)}
	}
	if resp == nil || !Status(resp.StatusCode) {
		return Verdict{}
	}
	after, ok := RetryAfter(resp)
	return Verdict{Retry: true, After: after, HasAfter: ok}
}

// Status reports whether an answer with this status may change if asked
// again: 5xx, 408 Request Timeout and 429 Too Many Requests. Every other
// answer (4xx, an unfollowed redirect) is final.
func Status(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// Transient reports whether err, met while sending a request or reading its
// answer (a refused or reset connection, a timeout, a body cut short), may
// go away on another attempt. Final: a cancelled context, a certificate the
// client refuses, a plain-HTTP answer to HTTPS, and a connection or redirect
// the download address policy refuses (netpolicy.ErrRefused). Errors that
// are not the exchange's (a local file that cannot be read) are the
// caller's to keep out.
func Transient(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, http.ErrSchemeMismatch), errors.Is(err, netpolicy.ErrRefused):
		return false
	case errors.As(err, &verify), errors.As(err, &authority), errors.As(err, &hostname), errors.As(err, &invalid):
		return false
	}
	return true
}

// RetryAfter reads resp's Retry-After header (see ParseRetryAfter); false
// when resp is nil or has none it can read.
func RetryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	return ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
}

// ParseRetryAfter reads a Retry-After value, delta-seconds ("120") or an
// HTTP date, as the wait from now: a date in the past is 0. False when v is
// empty or neither form. The wait is not capped here (Policy.Wait caps it).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || s > math.MaxInt64/uint64(time.Second) {
			return maxDuration, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
