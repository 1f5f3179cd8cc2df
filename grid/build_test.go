package grid

import (
	"context"
	"crypto/sha256"
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

func (f fakeBackend) PrepareImage(context.Context, string, config.Arch) error { return nil }

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
	dv, probs := config.LoadOptions{AllowPrivateURLs: true}.DecodeDriverVersions("dv.yaml", []byte("source: "+srv.URL+"/src/{version}.tar.gz\nversions: [{version: 1.0.0+driver, kinds: [module, probe]}]\n"))
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
	fetcher, err := NewFetcher(t.TempDir(), FetchOptions{AllowPrivate: true}) // srv is on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	_, dv := fakePlan(t, 0)
	opts.Out = t.TempDir()
	return NewBuilder(fakeBackend{testDocker(t), cmd}, fetcher, dv, opts), opts.Out
}

// Ctrl-C: the running container is killed and removed, nothing else
// starts, every entry has a result, and nothing is left in the output
// folder (the run records the manifest: publisher.TestRunInterrupted...).
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
	for _, f := range []string{"driver", ManifestFile, ".work"} {
		if _, err := os.Stat(filepath.Join(out, f)); !os.IsNotExist(err) {
			t.Errorf("an interrupted build left %s in the output folder: %v", f, err)
		}
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

// A build's output is taken only when its script succeeded and the
// artifact passes the checks: a leftover next to a failed status, or an
// artifact that is not what was asked for, is never installed.
func TestBuildTakesOnlyCheckedOutput(t *testing.T) {
	b, out := fakeBuilder(t, []string{"/fakebuilder",
		"write /out/build/headers/status 0", "write /out/build/uname-r 6.1.0-1-amd64",
		"write /out/build/b0/status 2", "copy /fakebuilder /out/build/b0/artifact", // module: failed, left a file
		"write /out/build/b1/status 0", "copy /fakebuilder /out/build/b1/artifact", // probe: "succeeded", not a probe
	}, BuildOptions{Jobs: 1})
	plan, dv := fakePlan(t, 1)
	b.versions = dv
	report, err := b.Build(t.Context(), plan)
	if err != nil {
		t.Fatal(err)
	}
	want := map[config.Kind]string{config.Module: "exit status 2", config.Probe: "check falco_debian_6.1.0-1-amd64_1.o: ELF type ET_EXEC"}
	for _, r := range report.Builds {
		if r.Status != Failed || !strings.Contains(r.Reason, want[r.Kind]) || r.Infra {
			t.Errorf("%s: %s %q, want failed with %q", r.File, r.Status, r.Reason, want[r.Kind])
		}
		if r.UnameR != "6.1.0-1-amd64" || r.SourceSHA256 == "" {
			t.Errorf("%s: uname -r %q, source sha256 %q not recorded", r.File, r.UnameR, r.SourceSHA256)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(out, filepath.FromSlash(config.PrefixKey("*", "*")), "falco_*")); len(files) > 0 {
		t.Errorf("installed: %v", files)
	}
}

// A pinned source whose bytes differ fails every build of that version,
// before any container, with both digests; other versions build on.
func TestBuildPinnedSourceMismatch(t *testing.T) {
	b, _ := fakeBuilder(t, []string{"/fakebuilder", "write /out/build/headers/status 0"}, BuildOptions{Jobs: 1})
	base, dv := fakePlan(t, 1)
	actual := fmt.Sprintf("%x", sha256.Sum256([]byte("content of /src/1.0.0+driver.tar.gz")))
	pin := strings.Repeat("ab", 32)
	dv.Versions[0].SHA256 = actual // pinned right
	dv.Versions = append(dv.Versions, config.DriverVersion{Version: "2.0.0+driver", Kinds: []config.Kind{config.Module}, SHA256: pin})
	b.versions = dv
	plan, err := Plan([]*config.Kernel{base[0].Kernel}, dv, Options{Filter: Filter{DriverVersion: Pattern{"*"}}})
	if err != nil || len(plan) != 3 {
		t.Fatalf("plan: %v, %d entries", err, len(plan))
	}
	report, err := b.Build(t.Context(), plan)
	if err != nil {
		t.Fatal(err)
	}
	wrong := fmt.Sprintf("%x", sha256.Sum256([]byte("content of /src/2.0.0+driver.tar.gz")))
	for _, r := range report.Builds {
		mismatch := strings.Contains(r.Reason, "sha256 "+wrong) && strings.Contains(r.Reason, "pins "+pin)
		switch r.DriverVersion {
		case "2.0.0+driver":
			if r.Status != Failed || !mismatch || r.Infra || r.SourceSHA256 != wrong {
				t.Errorf("%s: %s %q (source %s), want failed with both digests, not infrastructure", r.Key, r.Status, r.Reason, r.SourceSHA256)
			}
		default:
			if mismatch || !strings.Contains(r.Reason, "building") || r.SourceSHA256 != actual {
				t.Errorf("%s: %q (source %s), want it to reach the container", r.Key, r.Reason, r.SourceSHA256)
			}
		}
	}
}

// noArm64 is a backend whose daemon cannot run arm64 images.
type noArm64 struct{ fakeBackend }

func (n noArm64) PrepareImage(_ context.Context, image string, arch config.Arch) error {
	if arch == config.ARM64 {
		return fmt.Errorf("aarch64 kernels need an arm64 Docker host or qemu-user emulation (this daemon runs x86_64): check builder image %s: exec format error", image)
	}
	return nil
}

// A builder image that cannot run fails the builds of its kernels only, as
// an infrastructure failure with its reason; the other kernels build on.
func TestBuildImageFailureFailsOnlyItsKernels(t *testing.T) {
	b, _ := fakeBuilder(t, []string{"/fakebuilder", "exit 3"}, BuildOptions{Jobs: 2, BuilderImage: "dbg-builder:bookworm-{arch}"})
	b.runner = noArm64{b.runner.(fakeBackend)}
	plan, dv := fakePlan(t, 1)
	b.versions = dv
	arm := *plan[0].Kernel
	arm.Architecture, arm.KernelRelease = config.ARM64, "6.1.0-1-arm64"
	armPlan, err := Plan([]*config.Kernel{&arm}, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.Build(t.Context(), append(plan, armPlan...))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report.Builds {
		switch r.Arch {
		case "aarch64":
			if r.Status != Failed || !r.Infra || !strings.Contains(r.Reason, "aarch64 kernels need an arm64 Docker host or qemu-user emulation") ||
				!strings.Contains(r.Reason, "dbg-builder:bookworm-arm64") || r.Log == "" {
				t.Errorf("%s: %s %q (infra %v)", r.Key, r.Status, r.Reason, r.Infra)
			}
		default:
			if !strings.Contains(r.Reason, "preparing kernel headers") {
				t.Errorf("%s: %q, want it to have reached its container", r.Key, r.Reason)
			}
		}
	}
}

// A target whose recipe needs the network is not buildable, not failed:
// no fetch, no container, and the run does not fail for it.
func TestBuildOfflineUnsupportedIsNotBuildable(t *testing.T) {
	b, _ := fakeBuilder(t, []string{"/fakebuilder", "exit 3"}, BuildOptions{Jobs: 1})
	_, dv := fakePlan(t, 0)
	b.versions = dv
	k := &config.Kernel{KernelRelease: "3815.2.0", KernelVersion: "1", Target: "flatcar", Architecture: config.AMD64,
		KernelURLs: []string{"http://127.0.0.1:1/never-fetched.tar.gz"}}
	plan, err := Plan([]*config.Kernel{k}, dv, Options{})
	if err != nil || len(plan) == 0 {
		t.Fatalf("plan %v %v", plan, err)
	}
	report, err := b.Build(t.Context(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if report.NotBuildable != len(plan) || report.Failed != 0 || report.Skipped != 0 {
		t.Fatalf("not buildable %d, failed %d, skipped %d of %d", report.NotBuildable, report.Failed, report.Skipped, len(plan))
	}
	for _, r := range report.Builds {
		if r.Status != NotBuildable || !strings.Contains(r.Reason, "needs the network") || r.Infra {
			t.Errorf("%s: %s %q", r.Key, r.Status, r.Reason)
		}
	}
}
