package grid

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
)

// Each test's containers carry, besides the dbg label, a label of their
// own: the checks and RemoveLeftovers see only them, not the containers of
// other tests or of a dbg run sharing the daemon.
const testLabelKey = "dev.falcosecurity.dbg.test"

// fake is the test image, imported once per test binary, removed by TestMain.
var fake struct {
	once  sync.Once
	token string
	ref   string
	err   error
}

func TestMain(m *testing.M) {
	fake.token = strconv.FormatUint(rand.Uint64(), 36)
	code := m.Run()
	if fake.ref != "" {
		if err := removeImage(fake.ref); err != nil {
			fmt.Fprintln(os.Stderr, "remove test image:", err)
		}
	}
	os.Exit(code)
}

// testDocker connects to the daemon (the test fails without one), imports
// the test image and, after the test, checks that no container is left.
func testDocker(t *testing.T) *Docker {
	t.Helper()
	d, err := NewDocker(t.Context())
	if err != nil {
		t.Fatalf("these tests need a Docker daemon: %v", err)
	}
	d.labels[testLabelKey] = fake.token + "." + t.Name()
	fake.once.Do(func() { fake.err = importFakeBuilder(d) })
	if fake.err != nil {
		t.Fatalf("import test image: %v", fake.err)
	}
	t.Cleanup(func() {
		assertNoContainers(t, d)
		d.Close()
	})
	return d
}

func importFakeBuilder(d *Docker) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "fakebuilder-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "fakebuilder")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./testdata/fakebuilder")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build fakebuilder: %v\n%s", err, out)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, dir := range []struct {
		name string
		mode int64
	}{{"tmp/", 0o1777}, {"out/", 0o755}} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir.name, Mode: dir.mode})
	}
	if err := addFile(tw, "/", File{Path: "/fakebuilder", Mode: 0o755, HostPath: bin}); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	ref := "dbg-fakebuilder:test-" + fake.token
	rc, err := d.api.ImageImport(ctx, image.ImportSource{Source: &layer, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := streamError(rc); err != nil {
		return err
	}
	fake.ref = ref
	return nil
}

func removeImage(ref string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := NewDocker(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	_, err = d.api.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	return err
}

func assertNoContainers(t *testing.T, d *Docker) {
	t.Helper()
	list, err := d.api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: d.labelFilter()})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for _, c := range list {
		t.Errorf("container left behind: %s %v (%s)", c.ID[:12], c.Names, c.State)
	}
}

// fakeJob runs fakebuilder with cmds, each one command (see its doc).
func fakeJob(t *testing.T, cmds ...string) Job {
	return Job{
		Name: t.Name(), Image: fake.ref, Cmd: append([]string{"/fakebuilder"}, cmds...),
		OutDir: "/out", HostOut: filepath.Join(t.TempDir(), "out"), Timeout: time.Minute,
	}
}

func runJob(t *testing.T, d *Docker, job Job) Result {
	t.Helper()
	res, err := d.Run(t.Context(), job)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("exit %d in %v, log:\n%s", res.ExitCode, res.Duration.Round(time.Millisecond), res.Log)
	return res
}

func TestDockerExitCodeAndLog(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, 3} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			d := testDocker(t)
			job := fakeJob(t, "echo to stdout", "echoerr to stderr", "exit "+strconv.Itoa(code))
			job.OutDir = "/nothing-built" // missing: not an error
			res := runJob(t, d, job)
			if res.ExitCode != code || res.TimedOut || res.OutputErr != nil {
				t.Errorf("got exit %d, timed out %v, output error %v; want exit %d", res.ExitCode, res.TimedOut, res.OutputErr, code)
			}
			if !bytes.Contains(res.Log, []byte("to stdout\n")) || !bytes.Contains(res.Log, []byte("to stderr\n")) {
				t.Errorf("log lacks stdout or stderr: %q", res.Log)
			}
		})
	}
}

func TestDockerFilesInAndOut(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	host := filepath.Join(t.TempDir(), "input")
	if err := os.WriteFile(host, []byte("from host"), 0o600); err != nil {
		t.Fatal(err)
	}
	job := fakeJob(t, "copy /in/host.txt /out/a/host.txt", "copy /dbg/deep/data.txt /out/data.txt", "write /out/b/c/new.ko built")
	job.Files = []File{{Path: "/in/host.txt", HostPath: host}, {Path: "/dbg/deep/data.txt", Data: []byte("from data")}}
	if res := runJob(t, d, job); res.ExitCode != 0 || res.OutputErr != nil {
		t.Fatalf("exit %d, output error %v", res.ExitCode, res.OutputErr)
	}
	for name, want := range map[string]string{"a/host.txt": "from host", "data.txt": "from data", "b/c/new.ko": "built"} {
		got, err := os.ReadFile(filepath.Join(job.HostOut, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestDockerTimeout(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	job := fakeJob(t, "echo started", "sleep 60s")
	job.Timeout = 2 * time.Second
	start := time.Now()
	res := runJob(t, d, job)
	if !res.TimedOut || res.ExitCode == 0 {
		t.Errorf("timed out %v, exit %d; want a killed container", res.TimedOut, res.ExitCode)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("Run took %v with a 2s timeout", took)
	}
}

func TestDockerCancel(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := d.Run(ctx, fakeJob(t, "sleep 60s"))
		done <- err
	}()
	waitRunning(t, d)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v; want context.Canceled", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15s of the cancel")
	}
	assertNoContainers(t, d)
}

func waitRunning(t *testing.T, d *Docker) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := d.api.ContainerList(t.Context(), container.ListOptions{Filters: d.labelFilter()})
		if err != nil {
			t.Fatalf("list containers: %v", err)
		}
		if len(list) > 0 && list[0].State == container.StateRunning {
			return
		}
	}
	t.Fatal("container not running after 30s")
}

func TestDockerIsolation(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := net.JoinHostPort(bridgeGateway(t, d), strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	job := fakeJob(t, "cat /proc/self/status", "cat /proc/net/dev",
		"cat /sys/fs/cgroup/pids/pids.max", "cat /sys/fs/cgroup/pids.max", "net "+addr)
	job.Limits = Limits{PIDs: 77}
	res := runJob(t, d, job)
	if res.ExitCode != 3 {
		t.Errorf("exit %d; want 3: the host listener at %s must be unreachable", res.ExitCode, addr)
	}
	log := string(res.Log)
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "pids.max: 77"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(log, "eth0") {
		t.Error("container has a network interface besides lo")
	}
}

func bridgeGateway(t *testing.T, d *Docker) string {
	nw, err := d.api.NetworkInspect(t.Context(), "bridge", network.InspectOptions{})
	if err == nil && len(nw.IPAM.Config) > 0 && nw.IPAM.Config[0].Gateway != "" {
		return nw.IPAM.Config[0].Gateway
	}
	return "172.17.0.1"
}

func TestDockerHostileOutput(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	job := fakeJob(t, "write /out/ok.ko fine", "symlink /etc/passwd /out/passwd", "symlink / /out/root",
		"write /out/a data", "link /out/a /out/hardlink")
	res := runJob(t, d, job)
	if !errors.Is(res.OutputErr, ErrUnsafeOutput) {
		t.Errorf("OutputErr = %v; want ErrUnsafeOutput", res.OutputErr)
	}
	got, _ := os.ReadFile(filepath.Join(job.HostOut, "ok.ko"))
	if string(got) != "fine" {
		t.Errorf("ok.ko = %q, want it extracted", got)
	}
	for _, name := range []string{"passwd", "root", "hardlink"} {
		if _, err := os.Lstat(filepath.Join(job.HostOut, name)); err == nil {
			t.Errorf("%s was extracted", name)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(job.HostOut)); len(entries) != 1 {
		t.Errorf("files written next to HostOut: %v", entries)
	}
	t.Log(res.OutputErr)
}

func TestDockerExtractUnsafe(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]tar.Header{
		"dotdot":   {Name: "out/../evil", Typeflag: tar.TypeReg},
		"deep":     {Name: "out/a/../../evil", Typeflag: tar.TypeReg},
		"absolute": {Name: "/evil", Typeflag: tar.TypeReg},
		"symlink":  {Name: "out/evil", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		"hardlink": {Name: "out/evil", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
		"fifo":     {Name: "out/evil", Typeflag: tar.TypeFifo},
		"device":   {Name: "out/evil", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3},
		"too big":  {Name: "out/evil", Typeflag: tar.TypeReg, Size: 2000},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			err := extract(tarOf(t, h), filepath.Join(parent, "out"), 1000)
			if !errors.Is(err, ErrUnsafeOutput) {
				t.Errorf("extract: %v; want ErrUnsafeOutput", err)
			}
			for _, p := range []string{filepath.Join(parent, "evil"), filepath.Join(parent, "out", "evil")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s written", p)
				}
			}
		})
	}
}

func tarOf(t *testing.T, h tar.Header) *bytes.Buffer {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "out/", Typeflag: tar.TypeDir, Mode: 0o755})
	if err := tw.WriteHeader(&h); err != nil {
		t.Fatal(err)
	}
	tw.Write(make([]byte, h.Size))
	tw.WriteHeader(&tar.Header{Name: "out/ok", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Close()
	return &b
}

// Leftover cleanup removes the containers of runs that are gone, never
// those of a live run sharing the daemon.
func TestDockerRemoveLeftovers(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	live, err := d.create(t.Context(), fakeJob(t, "sleep 60s"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.remove(t.Context(), live)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := &Docker{api: d.api, labels: maps.Clone(d.labels)}
	dead.labels[LabelRun], dead.labels[LabelPID] = "ended", strconv.Itoa(gone.Process.Pid)
	if _, err := dead.create(t.Context(), fakeJob(t, "sleep 60s")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{live} {
		if err := d.api.ContainerStart(t.Context(), id, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.RemoveLeftovers(t.Context())
	if n != 1 || err != nil {
		t.Errorf("RemoveLeftovers = %d, %v; want 1 (the ended run's), nil", n, err)
	}
	if _, err := d.api.ContainerInspect(t.Context(), live); err != nil {
		t.Errorf("the live run's container was removed: %v", err)
	}
}

func TestDockerEnsureImage(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	if err := d.EnsureImage(t.Context(), fake.ref); err != nil {
		t.Errorf("EnsureImage(%s): %v", fake.ref, err)
	}
	missing := "127.0.0.1:1/dbg/missing:test" // a registry that refuses at once
	err := d.EnsureImage(t.Context(), missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("EnsureImage(%s) = %v; want an error naming the image", missing, err)
	}
	t.Log(err)
}

func TestDockerLogTail(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 10}
	for i := range 100 {
		fmt.Fprintf(b, "%d,", i)
	}
	if got, want := string(b.Bytes()), "[dbg: first 280 bytes of the log dropped]\n,97,98,99,"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}

// The root filesystem is read-only: a build writes only its scratch, input
// and output folders.
func TestDockerReadOnlyRoot(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	res := runJob(t, d, fakeJob(t, "write /etc/pwned x"))
	if res.ExitCode == 0 || !strings.Contains(string(res.Log), "read-only file system") {
		t.Errorf("writing /etc: exit %d, log %q; want refused as a read-only file system", res.ExitCode, res.Log)
	}
	job := fakeJob(t, "write /out/ok yes")
	job.Files = []File{{Path: "/dbg/in", Data: []byte("in")}}
	if res := runJob(t, d, job); res.ExitCode != 0 {
		t.Errorf("writing /out: exit %d, log %q", res.ExitCode, res.Log)
	}
}

// A build container gets the limits and isolation by default: a CPU limit,
// a read-only root, no network, no capabilities, no new privileges.
func TestDockerContainerDefaults(t *testing.T) {
	t.Parallel()
	d := testDocker(t)
	id, err := d.create(t.Context(), fakeJob(t, "exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.remove(t.Context(), id)
	c, err := d.api.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	hc := c.HostConfig
	if hc.NanoCPUs != defaultNanoCPUs || !hc.ReadonlyRootfs || hc.NetworkMode != "none" ||
		len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" || !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
		t.Errorf("host config: cpus %d, read-only %v, network %s, cap drop %v, security %v",
			hc.NanoCPUs, hc.ReadonlyRootfs, hc.NetworkMode, hc.CapDrop, hc.SecurityOpt)
	}
}
