package grid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
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
	dir   string
	opts  FetchOptions
	group singleflight.Group

	mu    sync.Mutex
	stats FetchStats
}

// FetchOptions configure a Fetcher; zero values take the defaults.
type FetchOptions struct {
	Client   *http.Client  // default: dial, TLS and response-header timeouts (30s), no overall timeout
	MaxSize  int64         // largest download accepted; default 4 GiB
	Attempts int           // tries per URL for transient failures; default 4
	Timeout  time.Duration // per attempt; default 15 min
	Backoff  time.Duration // first retry delay, doubling, with jitter; default 1s
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
		o.Client = defaultClient()
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 4 << 30
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	return o
}

// defaultClient bounds each step of a request but not the transfer itself:
// large packages on slow mirrors take long, and Timeout bounds an attempt.
func defaultClient() *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: connectTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
	}}
}

// NewFetcher creates dir (the cache root) if needed and checks that it is
// writable; an error here is an infrastructure failure.
func NewFetcher(dir string, opts FetchOptions) (*Fetcher, error) {
	f := &Fetcher{dir: dir, opts: opts.withDefaults()}
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

func checkWritable(dir string) error {
	probe, err := os.CreateTemp(dir, "probe-*")
	if err != nil {
		return err
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// removeStaleTemps deletes temp files left by killed runs. Recent ones may
// belong to another run sharing the cache, and are left alone.
func (f *Fetcher) removeStaleTemps() {
	entries, err := os.ReadDir(f.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleTempAge {
			continue
		}
		if err := os.Remove(filepath.Join(f.tmpDir(), e.Name())); err == nil {
			slog.Debug("removed stale download", "file", e.Name())
		}
	}
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

// checkFetchURL accepts absolute http(s) URLs without credentials.
func checkFetchURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: %v", ErrUnsupportedURL, errors.Unwrap(err))}
	case u.User != nil:
		u.User = nil
		return &FetchError{URL: u.String(), Err: fmt.Errorf("%w: credentials in URL", ErrUnsupportedURL)}
	case u.Scheme != "http" && u.Scheme != "https":
		return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: scheme %q, want http or https", ErrUnsupportedURL, u.Scheme)}
	case u.Host == "":
		return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: no host", ErrUnsupportedURL)}
	}
	return nil
}

// download tries rawURL up to Attempts times, backing off between transient
// failures; only *FetchError that are not Permanent are retried.
func (f *Fetcher) download(ctx context.Context, rawURL string) (Blob, error) {
	for attempt := 1; ; attempt++ {
		b, err := f.attempt(ctx, rawURL)
		var fe *FetchError
		switch {
		case err == nil:
			return b, nil
		case ctx.Err() != nil:
			return Blob{}, &FetchError{URL: rawURL, Err: ctx.Err()}
		case !errors.As(err, &fe) || fe.Permanent() || attempt >= f.opts.Attempts:
			return Blob{}, err
		}
		delay := f.delay(attempt, fe)
		slog.WarnContext(ctx, "fetch failed, will retry", "err", err, "attempt", attempt, "delay", delay)
		if err := sleepCtx(ctx, delay); err != nil {
			return Blob{}, &FetchError{URL: rawURL, Err: err}
		}
	}
}

// delay is the server's Retry-After if it sent one, or else Backoff doubled
// per attempt (capped at a minute) with equal jitter.
func (f *Fetcher) delay(attempt int, fe *FetchError) time.Duration {
	if fe.hasRetryAfter {
		return fe.retryAfter
	}
	d := f.opts.Backoff
	for i := 1; i < attempt && d < maxRetryAfter; i++ {
		d *= 2
	}
	d = min(d, maxRetryAfter)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt downloads rawURL once into the cache.
func (f *Fetcher) attempt(ctx context.Context, rawURL string) (Blob, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	resp, err := f.get(ctx, rawURL)
	if err != nil {
		return Blob{}, err
	}
	defer resp.Body.Close()
	tmp, b, err := f.receive(rawURL, resp.Body)
	if err != nil {
		return Blob{}, err
	}
	return f.store(tmp, b)
}

// get sends the request and checks the answer is a 200 within the size cap.
func (f *Fetcher) get(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &FetchError{URL: rawURL, Err: fmt.Errorf("%w: %v", ErrUnsupportedURL, err)}
	}
	// The bytes as served: no transparent gunzip of a .gz the server compressed.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return nil, &FetchError{URL: rawURL, Err: withoutURL(err)}
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		discardBody(resp.Body)
		return nil, statusError(rawURL, resp)
	case resp.ContentLength > f.opts.MaxSize:
		discardBody(resp.Body)
		return nil, f.tooLarge(rawURL)
	}
	return resp, nil
}

// withoutURL drops the *url.Error wrapper, whose message repeats the URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// discardBody reads a little of an unwanted body so the connection can be
// reused, and closes it. The body is never shown.
func discardBody(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

func (f *Fetcher) tooLarge(rawURL string) *FetchError {
	return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: over the %d-byte limit", ErrTooLarge, f.opts.MaxSize)}
}

// receive streams body into a temp file in the cache while hashing and
// counting it. It returns the temp file and the blob it will become; on
// error the temp file is removed.
func (f *Fetcher) receive(rawURL string, body io.Reader) (tmp string, b Blob, err error) {
	file, err := os.CreateTemp(f.tmpDir(), "download-*")
	if err != nil {
		return "", Blob{}, fmt.Errorf("fetch %s: create temp file: %w", rawURL, err)
	}
	defer func() {
		if err != nil {
			os.Remove(file.Name())
		}
	}()
	b, err = f.copyBody(rawURL, file, body)
	if cerr := file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("fetch %s: save to cache: %w", rawURL, cerr)
	}
	return file.Name(), b, err
}

func (f *Fetcher) copyBody(rawURL string, file *os.File, body io.Reader) (Blob, error) {
	h := sha256.New()
	src := &bodyReader{r: io.LimitReader(body, f.opts.MaxSize+1)}
	n, err := io.Copy(io.MultiWriter(file, h), src)
	switch {
	case src.err != nil:
		return Blob{}, &FetchError{URL: rawURL, Err: fmt.Errorf("read body: %w", src.err)}
	case err != nil:
		return Blob{}, fmt.Errorf("fetch %s: save to cache: %w", rawURL, err)
	case n > f.opts.MaxSize:
		return Blob{}, f.tooLarge(rawURL)
	}
	if err := errors.Join(file.Chmod(0o644), file.Sync()); err != nil {
		return Blob{}, fmt.Errorf("fetch %s: save to cache: %w", rawURL, err)
	}
	return Blob{URL: rawURL, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// bodyReader remembers a read error, to tell the network's failures
// (transient) from the disk's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// store moves a complete download into place and records its URL. A blob
// with the same content may already be there (another URL): renaming over
// it is atomic and changes nothing.
func (f *Fetcher) store(tmp string, b Blob) (Blob, error) {
	b.Path = f.blobPath(b.SHA256)
	if err := os.Rename(tmp, b.Path); err != nil {
		os.Remove(tmp)
		return Blob{}, fmt.Errorf("fetch %s: store blob: %w", b.URL, err)
	}
	if err := f.writeRecord(b); err != nil {
		return Blob{}, fmt.Errorf("fetch %s: record URL: %w", b.URL, err)
	}
	return b, nil
}

// urlRecord is the JSON kept for each URL under urls/.
type urlRecord struct {
	URL       string    `json:"url"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	FetchedAt time.Time `json:"fetched_at"`
}

func (f *Fetcher) writeRecord(b Blob) error {
	data, err := json.Marshal(urlRecord{URL: b.URL, SHA256: b.SHA256, Size: b.Size, FetchedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	return writeFileAtomic(f.tmpDir(), f.recordPath(b.URL), data)
}

func writeFileAtomic(tmpDir, path string, data []byte) error {
	tmp, err := os.CreateTemp(tmpDir, "record-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// lookup finds rawURL's blob in the cache: a record for the URL and a blob
// of the recorded size. Anything missing or damaged is a miss.
func (f *Fetcher) lookup(rawURL string) (Blob, bool) {
	data, err := os.ReadFile(f.recordPath(rawURL))
	if err != nil {
		return Blob{}, false
	}
	var rec urlRecord
	if json.Unmarshal(data, &rec) != nil || rec.URL != rawURL || !isSHA256(rec.SHA256) {
		return Blob{}, false
	}
	path := f.blobPath(rec.SHA256)
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != rec.Size {
		return Blob{}, false
	}
	return Blob{URL: rawURL, Path: path, SHA256: rec.SHA256, Size: rec.Size}, true
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

func (f *Fetcher) blobDir() string { return filepath.Join(f.dir, "blobs", "sha256") }
func (f *Fetcher) urlDir() string  { return filepath.Join(f.dir, "urls") }
func (f *Fetcher) tmpDir() string  { return filepath.Join(f.dir, "tmp") }

func (f *Fetcher) blobPath(sum string) string { return filepath.Join(f.blobDir(), sum) }

func (f *Fetcher) recordPath(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return filepath.Join(f.urlDir(), hex.EncodeToString(sum[:])+".json")
}
