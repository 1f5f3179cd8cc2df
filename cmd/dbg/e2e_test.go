package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// TestEndToEnd is the quickstart as a test: real Debian kernels' header
// packages served from loopback, the miniature driver for two driver
// versions, real containers. It needs the Docker daemon and Debian's package
// archive; without them it fails and says why.
func TestEndToEnd(t *testing.T) {
	lab, image, dir := startLab(t)
	broken404, err := lab.AddBrokenKernel(dir, gridtest.Broken404)
	if err != nil {
		t.Fatal(err)
	}
	brokenDeb, err := lab.AddBrokenKernel(dir, gridtest.BrokenGarbage)
	if err != nil {
		t.Fatal(err)
	}
	before := lab.Requests()
	out := t.TempDir()
	stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--out", out,
		"--cache-dir", t.TempDir(), "--builder-image", image, "--jobs", "2", "--timeout", "10m")
	t.Logf("stdout:\n%s", stdout)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (two broken kernels); stderr:\n%s", code, stderr)
	}
	m := readManifest(t, out)
	wantBuilds := (len(lab.KernelsOf(config.AMD64)) + 2) * len(lab.DriverVersions) * 2
	if m.Total != wantBuilds || len(m.Builds) != wantBuilds {
		t.Fatalf("manifest lists %d builds, want %d", len(m.Builds), wantBuilds)
	}
	t.Run("real kernels built and verified", func(t *testing.T) {
		checkGoodKernels(t, lab, m, out)
	})
	t.Run("broken kernels fail alone with a reason", func(t *testing.T) {
		checkBroken(t, m, broken404, "404")
		checkBroken(t, m, brokenDeb, "headers")
	})
	t.Run("each input downloaded once", func(t *testing.T) {
		for path, n := range lab.Requests() {
			if n -= before[path]; n > 1 {
				t.Errorf("%s requested %d times", path, n)
			}
		}
	})
	t.Run("no container left behind", func(t *testing.T) {
		assertNoContainers(t)
	})
}

func checkGoodKernels(t *testing.T, lab *gridtest.Lab, m grid.Report, out string) {
	byRelease := map[string][]grid.BuildResult{}
	for _, b := range m.Builds {
		byRelease[b.KernelRelease] = append(byRelease[b.KernelRelease], b)
	}
	for _, k := range lab.KernelsOf(config.AMD64) {
		builds := byRelease[k.Release]
		if len(builds) != 2*len(lab.DriverVersions) {
			t.Errorf("%s: %d builds in the manifest", k.Release, len(builds))
		}
		for _, b := range builds {
			if b.Status != grid.Built || b.SHA256 == "" || b.Size == 0 || b.Log == "" {
				t.Errorf("%s: %+v", b.Key, b)
				continue
			}
			path := filepath.Join(out, filepath.FromSlash(b.Key))
			checkArtifact(t, path, b, k.UnameR, config.AMD64)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(out, filepath.FromSlash(config.PrefixKey("*", config.AMD64.Machine()))))
	if len(dirs) != len(lab.DriverVersions) {
		t.Fatalf("output folders %v", dirs)
	}
	for _, d := range dirs {
		cmd := exec.Command("sha256sum", "-c", config.SumsFile)
		cmd.Dir = d
		if res, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c in %s: %v\n%s", d, err, res)
		}
	}
}

// checkArtifact checks what an artifact says about itself (its ELF file)
// and what the manifest says of it against the kernel it was built for.
func checkArtifact(t *testing.T, path string, b grid.BuildResult, unameR string, arch config.Arch) {
	t.Helper()
	d, err := grid.Describe(path, b.Kind)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	want := arch.ELFMachine()
	if b.Kind == config.Probe {
		want = elf.EM_BPF
	}
	if d.Machine != want || d.Version != b.DriverVersion || d.KernelRelease != unameR {
		t.Errorf("%s says machine %s, version %q, kernel %q; want %s, %q, %q", path, d.Machine, d.Version, d.KernelRelease, want, b.DriverVersion, unameR)
	}
	if b.Kind == config.Module && !strings.HasPrefix(d.Vermagic, unameR+" ") {
		t.Errorf("%s: vermagic %q, want it to start with %q", path, d.Vermagic, unameR+" ")
	}
	if b.UnameR != unameR {
		t.Errorf("%s: the manifest records uname -r %q, want %q", b.Key, b.UnameR, unameR)
	}
}

func checkBroken(t *testing.T, m grid.Report, config, reason string) {
	t.Helper()
	n := 0
	for _, b := range m.Builds {
		if b.Config != config {
			continue
		}
		n++
		if b.Status != grid.Failed || !strings.Contains(b.Reason, reason) || b.Infra {
			t.Errorf("%s: status %s, reason %q; want failed with %q, not an infrastructure failure", b.Key, b.Status, b.Reason, reason)
		}
	}
	if n == 0 {
		t.Errorf("%s: no build in the manifest", config)
	}
}

func readManifest(t *testing.T, out string) grid.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, grid.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m grid.Report
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A build whose configure or compile step fails fails at once, with the
// log's first real error as its reason (not its last line), as a failure
// of the data; the kernel's other builds go on.
func TestEndToEndBuildErrors(t *testing.T) {
	lab, image, _ := startLab(t)
	for version, mode := range map[string]string{"0.9.0+driver": gridtest.BrokenConfigure, "0.8.0+driver": gridtest.BrokenCompile} {
		if err := lab.AddBrokenSource(t.Context(), version, mode); err != nil {
			t.Fatal(err)
		}
	}
	both, module := []config.Kind{config.Module, config.Probe}, []config.Kind{config.Module}
	dir := filepath.Join(t.TempDir(), "kernels")
	if err := lab.WriteConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{
		{Version: "1.1.0+driver", Kinds: module}, {Version: "0.9.0+driver", Kinds: both}, {Version: "0.8.0+driver", Kinds: module},
	}}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--kernelrelease", lab.KernelsOf(config.AMD64)[0].Release, "--out", out,
		"--cache-dir", t.TempDir(), "--builder-image", image, "--timeout", "5m")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	want := map[string]string{
		"0.9.0+driver": ": CMake Error at CMakeLists.txt:", // then the message
		"0.8.0+driver": ": error: #error \"" + gridtest.CompileError,
	}
	for _, b := range readManifest(t, out).Builds {
		if b.DriverVersion == "1.1.0+driver" {
			if b.Status != grid.Built {
				t.Errorf("%s: %s %s, want built", b.Key, b.Status, b.Reason)
			}
			continue
		}
		if b.Status != grid.Failed || b.Infra || !strings.Contains(b.Reason, want[b.DriverVersion]) ||
			(b.DriverVersion == "0.9.0+driver" && !strings.Contains(b.Reason, gridtest.ConfigureError)) {
			t.Errorf("%s: %s %q (infra %v), want failed with %q", b.Key, b.Status, b.Reason, b.Infra, want[b.DriverVersion])
		}
	}
	assertNoContainers(t)
}
