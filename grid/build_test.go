package grid

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// fakeBackend runs every job as the fake builder with a fixed command: the
// real daemon, real containers, no real compiler.
type fakeBackend struct {
	*Docker
	cmd []string
}

func (f fakeBackend) Run(ctx context.Context, job Job) (Result, error) {
	job.Image, job.Cmd = fake.ref, f.cmd
	return f.Docker.Run(ctx, job)
}

func (f fakeBackend) EnsureImage(context.Context, string) error { return nil }

// fakePlan plans n debian kernels whose inputs a loopback server serves.
func fakePlan(t *testing.T, n int) ([]Entry, *config.DriverVersions) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "content of %s", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	var kernels []*config.Kernel
	for i := 0; i < n; i++ {
		k := &config.Kernel{KernelRelease: fmt.Sprintf("6.1.%d-1-amd64", i), KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
		for _, p := range []string{"headers", "common", "kbuild"} {
			k.KernelURLs = append(k.KernelURLs, fmt.Sprintf("%s/%s-%d.deb", srv.URL, p, i))
		}
		kernels = append(kernels, k)
	}
	dv, probs := config.DecodeDriverVersions("dv.yaml", []byte("source: "+srv.URL+"/src/{version}.tar.gz\nversions: [{version: 1.0.0+driver, kinds: [module, probe]}]\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	plan, err := Plan(kernels, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return plan, dv
}

func fakeBuilder(t *testing.T, cmd []string, opts BuildOptions) (*Builder, string) {
	t.Helper()
	fetcher, err := NewFetcher(t.TempDir(), FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, dv := fakePlan(t, 0)
	opts.Out = t.TempDir()
	return NewBuilder(fakeBackend{testDocker(t), cmd}, fetcher, dv, opts), opts.Out
}

// Ctrl-C: the running container is killed and removed, nothing else
// starts, and the manifest of what finished is written.
func TestBuildInterrupted(t *testing.T) {
	b, out := fakeBuilder(t, []string{"/fakebuilder", "sleep 60s"}, BuildOptions{Jobs: 1})
	plan, dv := fakePlan(t, 3)
	b.versions = dv
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		waitRunning(t, b.runner.(fakeBackend).Docker)
		cancel()
	}()
	start := time.Now()
	report, err := b.Build(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("interrupted build took %s", d)
	}
	if report.Skipped != len(plan) || report.Built+report.Failed != 0 {
		t.Errorf("report: built %d failed %d skipped %d of %d; first: %s", report.Built, report.Failed, report.Skipped, len(plan), report.Builds[0].Reason)
	}
	if _, err := os.Stat(filepath.Join(out, ManifestFile)); err != nil {
		t.Errorf("no manifest after an interrupted run: %v", err)
	}
}

// --fail-fast: after a kernel fails, no other kernel starts.
func TestBuildFailFast(t *testing.T) {
	b, _ := fakeBuilder(t, []string{"/fakebuilder", "exit 3"}, BuildOptions{Jobs: 1, FailFast: true})
	plan, dv := fakePlan(t, 3)
	b.versions = dv
	report, err := b.Build(t.Context(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if report.Failed != 2 || report.Skipped != 4 {
		t.Fatalf("failed %d, skipped %d; want the first kernel's 2 builds failed and the rest skipped", report.Failed, report.Skipped)
	}
	if r := report.Builds[0]; !strings.Contains(r.Reason, "preparing kernel headers") || r.Log == "" {
		t.Errorf("reason %q, log %q", r.Reason, r.Log)
	}
}

// Without --fail-fast every kernel is tried.
func TestBuildFailureDoesNotStopOthers(t *testing.T) {
	b, _ := fakeBuilder(t, []string{"/fakebuilder", "exit 3"}, BuildOptions{Jobs: 2})
	plan, dv := fakePlan(t, 3)
	b.versions = dv
	report, err := b.Build(t.Context(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if report.Failed != len(plan) || report.Infra {
		t.Fatalf("failed %d of %d, infra %v", report.Failed, len(plan), report.Infra)
	}
}
