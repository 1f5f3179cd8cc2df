package gridtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// server serves a fixed set of paths from files or bytes and counts every
// request by path. Anything else answers 404.
type server struct {
	srv *http.Server
	ln  net.Listener

	mu     sync.Mutex
	files  map[string]string // URL path -> local file
	blobs  map[string][]byte // URL path -> content
	counts map[string]int
}

// listen binds 127.0.0.1, on the port remembered in portFile when it is free
// (so that configs, and URL-keyed download caches, stay the same from one run
// to the next), else on any port, which it then remembers.
func listen(portFile string) (net.Listener, error) {
	if b, err := os.ReadFile(portFile); err == nil {
		if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 && port < 65536 {
			if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				return ln, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(portFile, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		ln.Close()
		return nil, fmt.Errorf("remember port: %w", err)
	}
	return ln, nil
}

func newServer(ln net.Listener) *server {
	s := &server{ln: ln, files: map[string]string{}, blobs: map[string][]byte{}, counts: map[string]int{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on Close
	return s
}

// url is the server's base URL, http://127.0.0.1:PORT.
func (s *server) url() string { return "http://" + s.ln.Addr().String() }

// addFile serves the local file at urlPath.
func (s *server) addFile(urlPath, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[urlPath] = file
}

// addBlob serves data at urlPath.
func (s *server) addBlob(urlPath string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[urlPath] = data
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.URL.Path]++
	file, isFile := s.files[r.URL.Path]
	blob, isBlob := s.blobs[r.URL.Path]
	s.mu.Unlock()
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case isFile:
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, file)
	case isBlob:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
		if r.Method == http.MethodGet {
			w.Write(blob) //nolint:errcheck // the client went away
		}
	default:
		http.NotFound(w, r)
	}
}

// requests returns a copy of the request counts by path.
func (s *server) requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// close stops the server, letting requests in flight finish for a while.
func (s *server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}

// servePath is the URL path of a file served from a folder under prefix.
func servePath(prefix, file string) string { return prefix + filepath.Base(file) }
