package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// The Debian releases of the compilers end-to-end test: one real kernel of
// each, built with the image of its own gcc.
var compilerReleases = []string{"bullseye", "bookworm", "trixie", "sid"}

// releaseImages makes each Debian release's amd64 builder image once
// (deploy/builder/build-image.sh: idempotent, the root cached as a tarball).
var releaseImages struct {
	once sync.Once
	err  error
}

func ensureReleaseImages(t *testing.T) {
	t.Helper()
	releaseImages.once.Do(func() {
		for _, r := range compilerReleases {
			cmd := exec.Command("bash", "../../deploy/builder/build-image.sh", "", string(config.AMD64), r)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				releaseImages.err = fmt.Errorf("make the %s amd64 builder image: %w", r, err)
				return
			}
		}
	})
	if releaseImages.err != nil {
		t.Fatalf("prepare the builder images (needs Docker, root and Debian's archive, or their cached roots): %v", releaseImages.err)
	}
}

// releaseKernels are one real amd64 kernel per release: bookworm's 6.1
// from the lab, the others' newest plain-flavour kernel from their suites
// (the shared headers cache).
func releaseKernels(t *testing.T, lab *gridtest.Lab) map[string]gridtest.LabKernel {
	t.Helper()
	out := map[string]gridtest.LabKernel{}
	for _, r := range compilerReleases {
		out[r] = releaseKernelOf(t, lab, r)
	}
	return out
}

// Kernels of four Debian releases, configs without gccversion, no
// --builder-image or --gcc-version: each is built with the gcc it was
// built with (its headers' CONFIG_CC_VERSION_TEXT) in that gcc's image.
// Each module's vermagic names its kernel, and the manifest records the
// compiler used, whose major is the kernel's.
func TestEndToEndKernelCompilers(t *testing.T) {
	lab, _, _ := startLab(t, "10.2.0+driver")
	ensureReleaseImages(t)
	v10 := realVersion(t, "10.2.0+driver")
	byRelease := releaseKernels(t, lab)
	var ks []gridtest.LabKernel
	for _, r := range compilerReleases {
		ks = append(ks, byRelease[r])
	}
	dir := filepath.Join(t.TempDir(), "kernels")
	ks, err := lab.WriteKernelsConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{v10}}, ks)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if data, err := os.ReadFile(k.Config); err != nil || strings.Contains(string(data), "gccversion") || strings.Contains(string(data), "builderimage") {
			t.Fatalf("%s: want a config without gccversion and builderimage (%v):\n%s", k.Config, err, data)
		}
	}
	// each module is boot-checked in its own kernel: the images sit in
	// the archive folder of the headers, served beside them
	// (sid's image is in linux-binary-unsigned-<uname -r>: linux-image is
	// a meta package there)
	for i, r := range compilerReleases {
		var err error
		switch r {
		case "bookworm":
			_, err = lab.ServeKernelImages(t.Context(), shared.headers, ks[i])
		case "sid":
			_, err = lab.ServeSplitSuiteKernelImages(t.Context(), r, shared.headers, ks[i])
		default:
			_, err = lab.ServeSuiteKernelImages(t.Context(), r, shared.headers, ks[i])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--out", out,
		"--cache-dir", t.TempDir(), "--jobs", "2", "--timeout", "10m", "--boot-check")
	t.Logf("stdout:\n%s", stdout)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	m := readManifest(t, out)
	if len(m.Builds) != len(ks) || m.Built != len(ks) {
		t.Fatalf("built %d of %d builds, want %d", m.Built, len(m.Builds), len(ks))
	}
	for _, b := range m.Builds {
		k := kernelOf(t, ks, b.KernelRelease)
		checkArtifact(t, filepath.Join(out, filepath.FromSlash(b.Key)), b, k.UnameR, config.AMD64)
		own, err := grid.KernelCompiler(k.Files)
		if err != nil {
			t.Fatalf("%s: the kernel's own compiler: %v", k.UnameR, err)
		}
		used, err := grid.ParseCCVersionText(b.Compiler)
		if err != nil || used.Name != "gcc" || used.Major != own.Major {
			t.Errorf("%s: the manifest records compiler %q (%v); want a gcc %d, as the kernel's %q", k.UnameR, b.Compiler, err, own.Major, own.Text)
		}
		if b.Boot == nil || b.Boot.Status != "loaded" {
			t.Errorf("%s: boot check %+v, want the module loaded in its own kernel", k.UnameR, b.Boot)
		} else {
			t.Logf("%s: loaded in its own kernel in %.1f s", k.UnameR, b.Boot.Seconds)
		}
		t.Logf("%s (%s): built in %.1f s with %s", k.UnameR, own.Text, b.Duration, b.Compiler)
	}
	assertNoContainers(t)
}

// A kernel built with a gcc no builder image has fails, before any
// container, with the compiler it needs: a data failure (exit 1). Its
// compiler is told by an edited .config (kernelconfigdata).
func TestEndToEndKernelCompilerMissing(t *testing.T) {
	lab, _, _ := startLab(t, "10.2.0+driver")
	v10 := realVersion(t, "10.2.0+driver")
	k := releaseKernelOf(t, lab, "bookworm")
	dir := filepath.Join(t.TempDir(), "kernels")
	ks, err := lab.WriteKernelsConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{v10}}, []gridtest.LabKernel{k})
	if err != nil {
		t.Fatal(err)
	}
	dotConfig := "CONFIG_CC_VERSION_TEXT=\"gcc-9 (Debian 9.3.0-22) 9.3.0\"\nCONFIG_GCC_VERSION=90300\n"
	f, err := os.OpenFile(ks[0].Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "kernelconfigdata: %s\n", base64.StdEncoding.EncodeToString([]byte(dotConfig)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--out", out,
		"--cache-dir", t.TempDir(), "--jobs", "1", "--timeout", "10m")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (data)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := readManifest(t, out)
	want := "kernel built with gcc-9 (Debian 9.3.0-22) 9.3.0; no builder image has gcc 9 (have 10, 12, 14, 16)"
	if len(m.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(m.Builds))
	}
	if b := m.Builds[0]; b.Status != grid.Failed || b.Infra || !strings.Contains(b.Reason, want) {
		t.Errorf("%s: %s %q (infra %v); want failed with %q, not infrastructure", b.Key, b.Status, b.Reason, b.Infra, want)
	}
}

// A kernel too new for a driver version (sid's 7.2 and 9.1.0+driver's
// legacy eBPF probe: its BPF code no longer compiles against 7.2's headers)
// fails that build with the first compiler error as its reason, a data
// failure, not the errors libs' configure probes print on purpose. (Built
// with its own gcc-16, 9.x's module builds for 7.2.)
func TestEndToEndKernelTooNew(t *testing.T) {
	lab, _, _ := startLab(t, "9.1.0+driver")
	ensureReleaseImages(t)
	v9 := realVersion(t, "9.1.0+driver")
	v9.Kinds = []config.Kind{config.Probe}
	k := releaseKernelOf(t, lab, "sid")
	dir := filepath.Join(t.TempDir(), "kernels")
	if _, err := lab.WriteKernelsConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{v9}}, []gridtest.LabKernel{k}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--out", out,
		"--cache-dir", t.TempDir(), "--jobs", "1", "--timeout", "10m")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (data)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := readManifest(t, out)
	if len(m.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(m.Builds))
	}
	b := m.Builds[0]
	t.Logf("%s: %s in %.1f s: %s", b.Key, b.Status, b.Duration, b.Reason)
	// The first compiler error (file:line:col: error: ...) of the build
	// itself, not make's last words nor a configure probe's answer.
	compilerError := regexp.MustCompile(`[^ ]+\.[ch]:[0-9]+(:[0-9]+)?: (fatal )?error: `)
	if b.Status != grid.Failed || b.Infra || !compilerError.MatchString(b.Reason) || strings.Contains(b.Reason, "Error 2") ||
		strings.Contains(b.Reason, "can be safely ignored") || strings.Contains(b.Reason, "test.c:") {
		t.Errorf("%s: %s %q (infra %v); want failed with the first compiler error of the build as the reason, not infrastructure", b.Key, b.Status, b.Reason, b.Infra)
	}
	if c, err := grid.ParseCCVersionText(b.Compiler); err != nil || c.Major != 16 {
		t.Errorf("%s: compiler %q (%v), want sid's gcc 16 (the kernel's)", b.Key, b.Compiler, err)
	}
	assertNoContainers(t)
}

// releaseKernelOf is releaseKernels' kernel of one release.
func releaseKernelOf(t *testing.T, lab *gridtest.Lab, release string) gridtest.LabKernel {
	t.Helper()
	if release == "bookworm" {
		plain61 := regexp.MustCompile(`^6\.1\.0-[0-9]+-amd64$`)
		for _, k := range lab.KernelsOf(config.AMD64) {
			if plain61.MatchString(k.UnameR) {
				return k
			}
		}
		t.Fatal("the lab has no plain-flavour bookworm 6.1 kernel")
	}
	k, err := gridtest.DebianSuiteKernel(t.Context(), shared.headers, release, config.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
