package grid

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/falcosecurity/dbg/grid/netpolicy"
	"github.com/falcosecurity/dbg/grid/retry"
)

// A Fetcher is a content-addressed download cache for build inputs (kernel
// header packages, driver source tarballs): each URL is downloaded on the
// host once, then reused by every build of this run and of later runs.
//
// Layout under the cache root:
//
//	blobs/sha256/<hex>           content, named by its SHA-256
//	urls/<sha256 of url>.json    {url, sha256, size, fetched_at}
//	tmp/                         downloads in progress
//
// A URL whose record names a blob of the recorded size is a hit, with no
// network request. Package URLs are versioned and immutable, so this is the
// trade-off we take: a file changed on the server at the same URL is not
// detected. Downloads go to tmp/ and are renamed into blobs/ once complete,
// so a killed run never leaves a truncated blob under its final name.
type Fetcher struct {
	dir    string
	opts   FetchOptions
	policy retry.Policy // from opts: Attempts, Backoff, and the shared cap
	group  singleflight.Group

	mu    sync.Mutex
	stats FetchStats
}

// FetchOptions configure a Fetcher; zero values take the defaults.
type FetchOptions struct {
	// Client, when set, is used as it is: the address policy is its
	// maker's (netpolicy.Policy.Client). Default: the download address
	// policy (see AllowPrivate, Allow), dial, TLS and response-header
	// timeouts (30s), no overall timeout.
	Client   *http.Client
	MaxSize  int64         // largest download accepted; default 4 GiB
	Attempts int           // tries per URL for transient failures; default retry.Default's (4)
	Timeout  time.Duration // per attempt; default 15 min
	Backoff  time.Duration // first retry delay, doubling, with jitter; default retry.Default's (1s)
	// AllowPrivate lifts the download address policy: every address may be
	// fetched, loopback and private ones too (labs and tests whose servers
	// listen on 127.0.0.1; dbg's --allow-private-urls). By default only
	// public addresses are (netpolicy.Public), checked when connecting and
	// on every redirect; a refusal is a permanent *FetchError wrapping
	// netpolicy.ErrRefused.
	AllowPrivate bool
	// Allow, when set, decides which addresses may be fetched instead
	// (tests: 127.0.0.1 but not 127.0.0.2); it overrides AllowPrivate.
	Allow func(netip.Addr) bool
}

// Blob is a cached download.
type Blob struct {
	URL    string
	Path   string // file in the cache
	SHA256 string // hex
	Size   int64
}

// FetchStats reports what a Fetcher did since it was made. Every Fetch call
// counts once: as a download, a hit (from the cache, or by sharing another
// call's download) or a failure. BytesDownloaded sums the downloaded blobs.
type FetchStats struct {
	Downloads       int
	BytesDownloaded int64
	Hits            int
	Failures        int
}

const (
	connectTimeout = 30 * time.Second
	staleTempAge   = 24 * time.Hour // older temp files are leftovers of killed runs
)

func (o FetchOptions) withDefaults() FetchOptions {
	if o.Client == nil {
		o.Client = defaultClient(o.policy())
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 4 << 30
	}
	if o.Attempts <= 0 {
		o.Attempts = retry.Default().Attempts
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = retry.Default().Base
	}
	return o
}

// policy is the download address policy the options ask for.
func (o FetchOptions) policy() netpolicy.Policy {
	switch {
	case o.Allow != nil:
		return netpolicy.Policy{Allow: o.Allow}
	case o.AllowPrivate:
		return netpolicy.Policy{Allow: netpolicy.Any}
	}
	return netpolicy.Policy{Allow: netpolicy.Public}
}

// NewFetcher creates dir (the cache root) if needed and checks that it is
// writable; an error here is an infrastructure failure.
func NewFetcher(dir string, opts FetchOptions) (*Fetcher, error) {
	opts = opts.withDefaults()
	policy := retry.Policy{Attempts: opts.Attempts, Base: opts.Backoff, Cap: retry.Default().Cap}
	f := &Fetcher{dir: dir, opts: opts, policy: policy}
	for _, d := range []string{f.blobDir(), f.urlDir(), f.tmpDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create fetch cache: %w", err)
		}
	}
	if err := checkWritable(f.tmpDir()); err != nil {
		return nil, fmt.Errorf("fetch cache %s not writable: %w", dir, err)
	}
	f.removeStaleTemps()
	return f, nil
}

// Stats reports what this Fetcher did since it was made.
func (f *Fetcher) Stats() FetchStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *Fetcher) count(b Blob, downloaded bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil:
		f.stats.Failures++
	case downloaded:
		f.stats.Downloads++
		f.stats.BytesDownloaded += b.Size
	default:
		f.stats.Hits++
	}
}

// Fetch returns the cached blob for rawURL, downloading it if the cache does
// not have it. Concurrent calls for the same URL share one download. Errors
// about the download are *FetchError (see Permanent); other errors are
// failures of the cache itself.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Blob, error) {
	b, downloaded, err := f.fetch(ctx, rawURL)
	f.count(b, downloaded, err)
	return b, err
}

func (f *Fetcher) fetch(ctx context.Context, rawURL string) (Blob, bool, error) {
	if err := checkFetchURL(rawURL); err != nil {
		return Blob{}, false, err
	}
	return f.share(ctx, rawURL)
}

// loaded is what one shared load hands to every caller waiting on it.
type loaded struct {
	blob       Blob
	downloaded bool
	canceled   bool // the caller running the load was cancelled
}

// share runs one load per URL at a time, under the context of the caller
// that started it. A caller waiting on a load whose starter was cancelled
// starts again rather than inherit the cancellation; a caller cancelled
// while waiting returns at once.
func (f *Fetcher) share(ctx context.Context, rawURL string) (Blob, bool, error) {
	for {
		var led bool
		ch := f.group.DoChan(rawURL, func() (any, error) {
			led = true
			b, downloaded, err := f.load(ctx, rawURL)
			return loaded{b, downloaded, ctx.Err() != nil}, err
		})
		select {
		case <-ctx.Done():
			return Blob{}, false, &FetchError{URL: rawURL, Err: ctx.Err()}
		case r := <-ch:
			l := r.Val.(loaded)
			if r.Err != nil && l.canceled && !led {
				continue
			}
			return l.blob, l.downloaded && led, r.Err
		}
	}
}

// load returns the blob from the cache or downloads it.
func (f *Fetcher) load(ctx context.Context, rawURL string) (Blob, bool, error) {
	if b, ok := f.lookup(rawURL); ok {
		slog.DebugContext(ctx, "fetch cache hit", "url", rawURL, "sha256", b.SHA256)
		return b, false, nil
	}
	start := time.Now()
	b, err := f.download(ctx, rawURL)
	if err != nil {
		return Blob{}, false, err
	}
	slog.InfoContext(ctx, "downloaded", "url", rawURL, "size", b.Size,
		"duration", time.Since(start).Round(time.Millisecond))
	return b, true, nil
}
