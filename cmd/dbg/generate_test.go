package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/grid/retry"
)

func TestReadCrawlerFromURL(t *testing.T) {
	const list = `{"centos": []}`
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		switch r.URL.Path {
		case "/list.json":
			w.Write([]byte(list))
		case "/flaky.json": // 503 until the third request
			if n < 3 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(list))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	client := retry.Policy{Attempts: 4, Base: time.Millisecond, Cap: time.Second}.Client(nil)
	tests := []struct {
		path         string
		wantErr      string // "": want the list
		wantRequests int32
	}{
		{"/list.json", "", 1},
		{"/flaky.json", "", 3},
		{"/missing.json", "fetch kernel-crawler output " + srv.URL + "/missing.json: HTTP 404 Not Found", 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			requests.Store(0)
			data, err := readCrawler(t.Context(), client, srv.URL+tt.path)
			switch {
			case tt.wantErr == "" && (err != nil || string(data) != list):
				t.Errorf("%q %v, want the list", data, err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if n := requests.Load(); n != tt.wantRequests {
				t.Errorf("server got %d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestReadCrawlerSizeCapAndFile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	if _, err := download(t.Context(), http.DefaultClient, srv.URL, 99); err == nil || !strings.Contains(err.Error(), "larger than 99 bytes") {
		t.Errorf("a body over the cap: %v", err)
	}
	if data, err := download(t.Context(), http.DefaultClient, srv.URL, 100); err != nil || len(data) != 100 {
		t.Errorf("a body at the cap: %d bytes, %v", len(data), err)
	}

	path := filepath.Join(t.TempDir(), "list.json")
	if err := os.WriteFile(path, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := readCrawler(t.Context(), nil, path); err != nil || string(data) != `{}` {
		t.Errorf("file: %q %v", data, err)
	}
	if _, err := readCrawler(t.Context(), nil, path+".missing"); err == nil || !strings.Contains(err.Error(), "read kernel-crawler output") {
		t.Errorf("missing file: %v", err)
	}
}
