package publisher

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Progress lines of the digest reads: one when a listing starts reading at
// least progressStart objects one by one, then one every progressEvery
// objects or progressInterval, whichever comes first, and one at the end.
const (
	progressStart    = 100
	progressEvery    = 1000
	progressInterval = 10 * time.Second
)

// digestProgress logs how far a listing is in reading digests object by
// object (S3: HeadObject, and GetObject plus hashing for the objects with no
// stored sha256; GitHub: downloads). Safe for concurrent use.
type digestProgress struct {
	ctx    context.Context
	args   []any
	total  int
	start  time.Time
	loud   bool
	mu     sync.Mutex
	done   int
	hashed int
	last   time.Time
	lastN  int
}

// newDigestProgress starts the progress of reading total digests of p on
// target (what: how they are read, for the first line).
func newDigestProgress(ctx context.Context, target string, p Prefix, total int, what string) *digestProgress {
	pr := &digestProgress{ctx: ctx, args: []any{"target", target, "prefix", p.String()}, total: total, start: time.Now(), loud: total >= progressStart}
	pr.last = pr.start
	if pr.loud {
		slog.InfoContext(ctx, "reading digests: "+what, append(append([]any{}, pr.args...), "objects", total)...)
	}
	return pr
}

// add counts one digest read; hashed tells that its bytes were read.
func (pr *digestProgress) add(hashed bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.done++
	if hashed {
		pr.hashed++
	}
	now := time.Now()
	if pr.done-pr.lastN >= progressEvery || now.Sub(pr.last) >= progressInterval {
		pr.last, pr.lastN, pr.loud = now, pr.done, true
		slog.InfoContext(pr.ctx, "reading digests", pr.fields(now)...)
	}
}

// finish logs the last line, if any line was logged.
func (pr *digestProgress) finish() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.loud {
		slog.InfoContext(pr.ctx, "digests read", pr.fields(time.Now())...)
	}
}

func (pr *digestProgress) fields(now time.Time) []any {
	return append(append([]any{}, pr.args...), "done", pr.done, "of", pr.total, "hashed", pr.hashed,
		"elapsed", now.Sub(pr.start).Round(100*time.Millisecond).String())
}

// fillFromIndex gives the objects without a digest the one the prefix's
// index vouches for (vouch), and leaves out, with a warning, those it does
// not vouch for: `dbg index` reads their digests.
func fillFromIndex(ctx context.Context, t Target, p Prefix, objects []Object, vouch func(Object) (string, bool)) []Object {
	out := make([]Object, 0, len(objects))
	left := 0
	for _, o := range objects {
		if o.SHA256 == "" {
			sum, ok := vouch(o)
			if !ok {
				left++
				continue
			}
			o.SHA256 = sum
		}
		out = append(out, o)
	}
	if left > 0 {
		slog.WarnContext(ctx, "artifacts with no known sha256 left out of the index; dbg index reads their digests",
			"target", t.String(), "prefix", p.String(), "count", left)
	}
	return out
}

// needDigests tells whether some object has no digest.
func needDigests(objects []Object) bool {
	for _, o := range objects {
		if o.SHA256 == "" {
			return true
		}
	}
	return false
}
