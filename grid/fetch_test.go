package grid

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reply answers the n-th request (from 1) to a test server.
type reply func(n int, w http.ResponseWriter, r *http.Request)

// testServer is a real HTTP server that counts the requests it gets.
type testServer struct {
	*httptest.Server
	requests atomic.Int32
}

func newTestServer(t *testing.T, answer reply) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(int(s.requests.Add(1)), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) count() int { return int(s.requests.Load()) }

// checkRequests fails t unless the server got exactly want requests.
func (s *testServer) checkRequests(t *testing.T, want int) {
	t.Helper()
	if n := s.count(); n != want {
		t.Errorf("server got %d requests, want %d", n, want)
	}
}

func serveBody(body []byte) reply {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write(body) }
}

// answer is one scripted response: 200 carries the body, others a body that
// must never show up in errors.
type answer struct {
	status     int
	retryAfter string
}

const secretBody = "body-that-must-not-leak"

// script answers request n with steps[n-1], the last step repeating.
func script(body []byte, steps ...answer) reply {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		a := steps[min(n, len(steps))-1]
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.status == http.StatusOK {
			w.Write(body)
			return
		}
		w.WriteHeader(a.status)
		io.WriteString(w, secretBody)
	}
}

// newTestFetcher makes a fetcher of the test servers, which listen on
// 127.0.0.1: the address policy is lifted (AllowPrivate) unless opts
// brings its own Allow.
func newTestFetcher(t *testing.T, dir string, opts FetchOptions) *Fetcher {
	t.Helper()
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	opts.AllowPrivate = opts.Allow == nil
	f, err := NewFetcher(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fetchOK fetches url with f and stops t if that fails.
func fetchOK(t *testing.T, f *Fetcher, url string) Blob {
	t.Helper()
	b, err := f.Fetch(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkBlob fails t unless b is content, by its digest, size and file.
func checkBlob(t *testing.T, b Blob, content []byte) {
	t.Helper()
	if b.SHA256 != sha256Hex(content) || b.Size != int64(len(content)) {
		t.Errorf("blob %s, %d bytes; want %s, %d bytes", b.SHA256, b.Size, sha256Hex(content), len(content))
	}
	got, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("blob file %s holds %q, want %q", b.Path, got, content)
	}
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

func TestFetchDownloadThenHit(t *testing.T) {
	content := []byte("linux-headers-6.1.0 contents")
	srv := newTestServer(t, serveBody(content))
	dir := t.TempDir()
	url := srv.URL + "/pool/linux-headers_6.1.0_amd64.deb"

	f := newTestFetcher(t, dir, FetchOptions{})
	first := fetchOK(t, f, url)
	checkBlob(t, first, content)
	if want := filepath.Join(dir, "blobs", "sha256", sha256Hex(content)); first.Path != want {
		t.Errorf("path %s, want %s", first.Path, want)
	}
	again, err := f.Fetch(t.Context(), url)
	if err != nil || again != first {
		t.Errorf("second fetch: %+v, %v; want %+v", again, err, first)
	}

	laterRun := newTestFetcher(t, dir, FetchOptions{})
	later, err := laterRun.Fetch(t.Context(), url)
	if err != nil || later != first {
		t.Errorf("later run: %+v, %v; want %+v", later, err, first)
	}

	srv.checkRequests(t, 1)
	if got, want := f.Stats(), (FetchStats{Downloads: 1, BytesDownloaded: int64(len(content)), Hits: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if got, want := laterRun.Stats(), (FetchStats{Hits: 1}); got != want {
		t.Errorf("later run stats %+v, want %+v", got, want)
	}
}

func TestFetchRedownloadsDamagedBlob(t *testing.T) {
	content := []byte("driver source tarball")
	srv := newTestServer(t, serveBody(content))
	dir := t.TempDir()
	url := srv.URL + "/driver.tar.gz"

	b := fetchOK(t, newTestFetcher(t, dir, FetchOptions{}), url)
	if err := os.WriteFile(b.Path, content[:3], 0o644); err != nil {
		t.Fatal(err)
	}
	b = fetchOK(t, newTestFetcher(t, dir, FetchOptions{}), url)
	checkBlob(t, b, content)
	srv.checkRequests(t, 2)
}

func TestFetchConcurrentCallsShareOneDownload(t *testing.T) {
	content := bytes.Repeat([]byte("k"), 100_000)
	srv := newTestServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(200 * time.Millisecond)
		w.Write(content)
	})
	f := newTestFetcher(t, t.TempDir(), FetchOptions{})

	const callers = 20
	blobs := make([]Blob, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { blobs[i], errs[i] = f.Fetch(t.Context(), srv.URL+"/headers.rpm") })
	}
	wg.Wait()

	for i := range callers {
		if errs[i] != nil || blobs[i] != blobs[0] {
			t.Errorf("caller %d: %+v, %v; want %+v", i, blobs[i], errs[i], blobs[0])
		}
	}
	checkBlob(t, blobs[0], content)
	srv.checkRequests(t, 1)
	if got, want := f.Stats(), (FetchStats{Downloads: 1, BytesDownloaded: int64(len(content)), Hits: callers - 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestFetchRetries(t *testing.T) {
	content := []byte("content")
	tests := []struct {
		name          string
		steps         []answer
		backoff       time.Duration // default 1ms
		wantRequests  int
		wantStatus    int // 0: success
		wantPermanent bool
	}{
		{name: "404 not retried", steps: []answer{{status: 404}}, wantRequests: 1, wantStatus: 404, wantPermanent: true},
		{name: "410 not retried", steps: []answer{{status: 410}}, wantRequests: 1, wantStatus: 410, wantPermanent: true},
		{name: "403 not retried", steps: []answer{{status: 403}}, wantRequests: 1, wantStatus: 403, wantPermanent: true},
		{name: "401 not retried", steps: []answer{{status: 401}}, wantRequests: 1, wantStatus: 401, wantPermanent: true},
		{name: "400 not retried", steps: []answer{{status: 400}}, wantRequests: 1, wantStatus: 400, wantPermanent: true},
		{name: "500 twice then 200", steps: []answer{{status: 500}, {status: 500}, {status: 200}}, wantRequests: 3},
		{name: "408 then 200", steps: []answer{{status: 408}, {status: 200}}, wantRequests: 2},
		{
			name:  "429 with Retry-After 0 overrides backoff",
			steps: []answer{{status: 429, retryAfter: "0"}, {status: 200}}, backoff: time.Hour, wantRequests: 2,
		},
		{name: "503 on every attempt", steps: []answer{{status: 503}}, wantRequests: 4, wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, script(content, tt.steps...))
			f := newTestFetcher(t, t.TempDir(), FetchOptions{Attempts: 4, Backoff: tt.backoff})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			url := srv.URL + "/x.deb"

			b, err := f.Fetch(ctx, url)
			srv.checkRequests(t, tt.wantRequests)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatal(err)
				}
				checkBlob(t, b, content)
				return
			}
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want *FetchError", err, err)
			}
			if fe.Status != tt.wantStatus || fe.Permanent() != tt.wantPermanent {
				t.Errorf("status %d, permanent %v; want %d, %v", fe.Status, fe.Permanent(), tt.wantStatus, tt.wantPermanent)
			}
			want := fmt.Sprintf("fetch %s: HTTP %d %s", url, tt.wantStatus, http.StatusText(tt.wantStatus))
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if got := f.Stats(); got != (FetchStats{Failures: 1}) {
				t.Errorf("stats %+v, want one failure", got)
			}
		})
	}
}

func TestFetchRetriesTruncatedBody(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 1000)
	srv := newTestServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n > 1 {
			w.Write(content)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(content))
		buf.Write(content[:100])
		buf.Flush()
	})
	f := newTestFetcher(t, t.TempDir(), FetchOptions{})

	b := fetchOK(t, f, srv.URL+"/x.deb")
	checkBlob(t, b, content)
	srv.checkRequests(t, 2)
}

func TestFetchSizeCap(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 5000)
	tests := []struct {
		name  string
		reply reply
	}{
		{"declared length", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}},
		{"streamed", func(_ int, w http.ResponseWriter, _ *http.Request) {
			for chunk := range slices.Chunk(body, 500) {
				w.Write(chunk)
				w.(http.Flusher).Flush()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, tt.reply)
			dir := t.TempDir()
			f := newTestFetcher(t, dir, FetchOptions{MaxSize: 1000})

			_, err := f.Fetch(t.Context(), srv.URL+"/big.deb")
			var fe *FetchError
			if !errors.As(err, &fe) || !fe.Permanent() || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want a permanent *FetchError wrapping ErrTooLarge", err)
			}
			srv.checkRequests(t, 1)
			for _, sub := range []string{"blobs/sha256", "urls", "tmp"} {
				if left := dirEntries(t, filepath.Join(dir, sub)); len(left) > 0 {
					t.Errorf("%s holds %v, want nothing", sub, left)
				}
			}
		})
	}
}

func TestFetchCancelDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := newTestServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		time.AfterFunc(50*time.Millisecond, cancel)
	})
	f := newTestFetcher(t, t.TempDir(), FetchOptions{Backoff: time.Hour})

	start := time.Now()
	_, err := f.Fetch(ctx, srv.URL+"/x.deb")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Fetch took %v after cancellation", elapsed)
	}
	var fe *FetchError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &fe) || fe.Permanent() {
		t.Errorf("error %v, want a transient *FetchError wrapping context.Canceled", err)
	}
	srv.checkRequests(t, 1)
}

func TestFetchWaiterOutlivesCancelledStarter(t *testing.T) {
	content := []byte("content")
	arrived := make(chan struct{})
	srv := newTestServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			close(arrived)
			<-r.Context().Done() // held until the starter gives up
			return
		}
		w.Write(content)
	})
	f := newTestFetcher(t, t.TempDir(), FetchOptions{})
	url := srv.URL + "/x.deb"

	starterCtx, cancel := context.WithCancel(t.Context())
	starterErr := make(chan error)
	go func() {
		_, err := f.Fetch(starterCtx, url)
		starterErr <- err
	}()
	<-arrived
	var waiterBlob Blob
	waiter := make(chan error)
	go func() {
		b, err := f.Fetch(t.Context(), url)
		waiterBlob = b
		waiter <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the waiter join the download
	cancel()

	if err := <-starterErr; !errors.Is(err, context.Canceled) {
		t.Errorf("starter: %v, want context.Canceled", err)
	}
	if err := <-waiter; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	checkBlob(t, waiterBlob, content)
}

func TestFetchSameContentSharesBlob(t *testing.T) {
	content := []byte("same bytes, two mirrors")
	srv := newTestServer(t, serveBody(content))
	dir := t.TempDir()
	f := newTestFetcher(t, dir, FetchOptions{})

	a := fetchOK(t, f, srv.URL+"/mirror-a/x.deb")
	b := fetchOK(t, f, srv.URL+"/mirror-b/x.deb")
	if a.Path != b.Path || a.SHA256 != b.SHA256 {
		t.Errorf("blobs %+v and %+v, want the same file", a, b)
	}
	if blobs := dirEntries(t, filepath.Join(dir, "blobs", "sha256")); len(blobs) != 1 {
		t.Errorf("blobs %v, want one", blobs)
	}
	if urls := dirEntries(t, filepath.Join(dir, "urls")); len(urls) != 2 {
		t.Errorf("url records %v, want two", urls)
	}
}

func TestFetchRejectsUnsupportedURLs(t *testing.T) {
	f := newTestFetcher(t, t.TempDir(), FetchOptions{})
	for _, url := range []string{
		"ftp://mirror.example/x.deb",
		"file:///etc/passwd",
		"https:///no-host.deb",
		"x.deb",
		"https://user:hunter2@mirror.example/x.deb",
		"http://[::1/x.deb",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := f.Fetch(t.Context(), url)
			var fe *FetchError
			if !errors.As(err, &fe) || !fe.Permanent() || !errors.Is(err, ErrUnsupportedURL) {
				t.Fatalf("error %v, want a permanent *FetchError wrapping ErrUnsupportedURL", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestNewFetcherUnwritableDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A cache whose temp dir no one can create files in, root included
	// (root ignores permission bits, and CI runs as root): tmp/ is a link to
	// /proc, a folder that exists but takes no new files.
	readOnly := filepath.Join(base, "ro")
	newTestFetcher(t, readOnly, FetchOptions{})
	tmp := filepath.Join(readOnly, "tmp")
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc", tmp); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(tmp); err != nil || !st.IsDir() {
		t.Fatalf("%s is not a folder: %v", tmp, err)
	}
	if f, err := os.CreateTemp(tmp, "probe-*"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Fatalf("%s takes new files: the case would test nothing", tmp)
	}

	tests := []struct {
		name string
		dir  string
	}{
		{"under a regular file", filepath.Join(file, "cache")},
		{"read-only temp dir", readOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFetcher(tt.dir, FetchOptions{}); err == nil {
				t.Errorf("NewFetcher(%s) succeeded, want an error", tt.dir)
			}
		})
	}
}

func TestNewFetcherRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	newTestFetcher(t, dir, FetchOptions{})
	stale := filepath.Join(dir, "tmp", "download-stale")
	fresh := filepath.Join(dir, "tmp", "download-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	newTestFetcher(t, dir, FetchOptions{})
	if got := dirEntries(t, filepath.Join(dir, "tmp")); len(got) != 1 || got[0] != "download-fresh" {
		t.Errorf("tmp holds %v, want only download-fresh", got)
	}
}

func TestFetchErrorPermanent(t *testing.T) {
	tests := []struct {
		err  FetchError
		want bool
	}{
		{FetchError{Status: 400}, true},
		{FetchError{Status: 401}, true},
		{FetchError{Status: 403}, true},
		{FetchError{Status: 404}, true},
		{FetchError{Status: 410}, true},
		{FetchError{Status: 418}, true},
		{FetchError{Status: 408}, false},
		{FetchError{Status: 429}, false},
		{FetchError{Status: 500}, false},
		{FetchError{Status: 503}, false},
		{FetchError{Err: fmt.Errorf("%w: over", ErrTooLarge)}, true},
		{FetchError{Err: ErrUnsupportedURL}, true},
		{FetchError{Err: io.ErrUnexpectedEOF}, false},
		{FetchError{Err: context.DeadlineExceeded}, false},
	}
	for _, tt := range tests {
		if got := tt.err.Permanent(); got != tt.want {
			t.Errorf("%v: Permanent() = %v, want %v", &tt.err, got, tt.want)
		}
	}
}
