// Package s3test runs a real S3 server (versitygw, posix backend) on
// loopback for tests, behind an in-process proxy that records every request
// the code under test makes.
package s3test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Install is the command that puts versitygw on the machine.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Region is the region the server answers for.
const Region = "us-east-1"

// Server is a running versitygw.
type Server struct {
	Endpoint string // the counting proxy: give this to the code under test
	Direct   string // versitygw itself: not counted
	Access   string
	Secret   string
	Dir      string // the posix root; one folder per bucket

	bin  string
	addr string
	log  string
	cmd  *exec.Cmd
	wait chan error

	proxy *httptest.Server
	mu    sync.Mutex
	reqs  []Request
	fail  failure
}

// Start runs versitygw on a free loopback port with a temp root and random
// keys; t.Cleanup stops it. A missing binary fails the test (never skips).
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		bin:    findBinary(t),
		addr:   freeAddr(t),
		Access: randomKey(t, 10),
		Secret: randomKey(t, 20),
		Dir:    t.TempDir(),
	}
	s.log = filepath.Join(t.TempDir(), "versitygw.log")
	s.Direct = "http://" + s.addr
	s.startProxy(t)
	t.Cleanup(s.close)
	s.Restart(t)
	return s
}

func findBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatalf("versitygw not found in PATH or $(go env GOPATH)/bin; install it with: %s", Install)
	return ""
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomKey(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("s3test: random key: %v", err)
	}
	return hex.EncodeToString(b)
}

// Restart starts versitygw again on the same port and root (after Stop),
// and waits until it answers.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "--port", s.addr, "--access", s.Access, "--secret", s.Secret,
		"--region", Region, "--quiet", "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("s3test: start versitygw: %v", err)
	}
	s.cmd, s.wait = cmd, make(chan error, 1)
	go func() { s.wait <- cmd.Wait() }()
	if err := s.waitReady(10 * time.Second); err != nil {
		logs, _ := os.ReadFile(s.log)
		s.Stop()
		t.Fatalf("s3test: versitygw on %s: %v\n%s", s.addr, err, logs)
	}
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-s.wait:
			s.wait <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := client.Get(s.Direct + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %s: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills versitygw (the proxy stays up and drops every connection, as
// an unreachable server would). Stop is idempotent.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.wait
	s.cmd = nil
}

func (s *Server) close() {
	s.Stop()
	s.proxy.Close()
}

// SetEnv points the standard AWS configuration at the server: keys,
// region, AWS_ENDPOINT_URL_S3 (the proxy), and no shared config files or
// instance metadata. It uses t.Setenv, so the test must not be parallel.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           s.Access,
		"AWS_SECRET_ACCESS_KEY":       s.Secret,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  Region,
		"AWS_ENDPOINT_URL_S3":         s.Endpoint,
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
}
