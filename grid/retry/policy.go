package retry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"
)

// Policy is how many times to try and how long to wait between tries.
type Policy struct {
	Attempts int           // tries in all, the first included; below 1 means 1
	Base     time.Duration // the wait before the first retry, doubled for each next one
	Cap      time.Duration // the longest wait, the server's Retry-After included; 0: none
}

// Default is dbg's policy: 4 attempts, waits from 1s doubling, at most a minute.
func Default() Policy {
	return Policy{Attempts: 4, Base: time.Second, Cap: time.Minute}
}

// Backoff is the wait before retry n (1 after the first failed attempt)
// when the server asked for none: d = Base·2^(n-1), capped at Cap, with
// equal jitter, uniform in [d/2, d].
func (p Policy) Backoff(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d > 0 && (p.Cap <= 0 || d < p.Cap); i++ {
		if d > maxDuration/2 {
			d = maxDuration
			break
		}
		d *= 2
	}
	if p.Cap > 0 {
		d = min(d, p.Cap)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d-d/2+1)
}

// Wait is the wait before retry n: the server's Retry-After when it sent
// one (hasAfter), capped at Cap, else Backoff(n).
func (p Policy) Wait(n int, after time.Duration, hasAfter bool) time.Duration {
	if !hasAfter {
		return p.Backoff(n)
	}
	after = max(after, 0)
	if p.Cap > 0 {
		after = min(after, p.Cap)
	}
	return after
}

// Do runs op (attempt counts from 1) until it succeeds, fails with an error
// classify does not retry, or the attempts are spent, waiting Wait between
// attempts and logging each retry (with logAttrs) to slog. It returns op's
// last error. It stops when ctx is done, returning op's last error without
// waiting further; the caller tells an interruption by ctx.Err().
func (p Policy) Do(ctx context.Context, op func(attempt int) error, classify func(error) Verdict, logAttrs ...any) error {
	for attempt := 1; ; attempt++ {
		err := op(attempt)
		if err == nil || ctx.Err() != nil || attempt >= p.Attempts {
			return err
		}
		v := classify(err)
		if !v.Retry {
			return err
		}
		d := p.Wait(attempt, v.After, v.HasAfter)
		slog.WarnContext(ctx, "retrying", slices.Concat(logAttrs, []any{"attempt", attempt, "wait", d, "err", err})...)
		if sleep(ctx, d) != nil {
			return err
		}
	}
}

const maxDuration = time.Duration(1<<63 - 1)

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
