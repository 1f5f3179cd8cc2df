package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// bootCheckFlags readies the boot check of the shared lab's kernels ks, of
// one architecture: it serves their image packages beside their headers
// (where the boot check derives them from), makes sure qemu and a static
// busybox of the architecture are there (failing the test with the reason
// otherwise) and returns dbg's --boot-check flags, with the shared boot
// cache.
func bootCheckFlags(t *testing.T, arch config.Arch, ks ...gridtest.LabKernel) []string {
	t.Helper()
	qemu := map[config.Arch]string{config.AMD64: "qemu-system-x86_64", config.ARM64: "qemu-system-aarch64"}[arch]
	if _, err := exec.LookPath(qemu); err != nil {
		t.Fatalf("the boot check needs %s (make tools): %v", qemu, err)
	}
	cache, err := gridtest.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "boot")
	cmd := exec.Command("bash", "../../deploy/boot/fetch-busybox.sh", string(arch), dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("a static %s busybox for the boot check (deploy/boot/fetch-busybox.sh): %v", arch, err)
	}
	if _, err := shared.lab.ServeKernelImages(t.Context(), shared.headers, ks...); err != nil {
		t.Fatal(err)
	}
	return []string{"--boot-check", "--boot-dir", dir}
}

// checkBooted checks that the build's module loaded in its own kernel, and
// that a probe says it was not boot-checked.
func checkBooted(t *testing.T, b grid.BuildResult, unameR string) {
	t.Helper()
	switch {
	case b.Boot == nil:
		t.Errorf("%s: no boot result", b.Key)
	case strings.HasSuffix(b.File, ".o"):
		if b.Boot.Status != grid.BootNotBooted || !strings.Contains(b.Boot.Reason, "probes are not boot-checked") {
			t.Errorf("%s: probe boot %+v, want not_booted", b.Key, b.Boot)
		}
	case b.Boot.Status != grid.BootLoaded || !strings.Contains(b.Boot.Reason, "driver loading, falco "+b.DriverVersion) ||
		!strings.Contains(b.Boot.Kernel, "linux-image-"+unameR+"-unsigned_"):
		t.Errorf("%s: boot %+v, want loaded in %s", b.Key, b.Boot, unameR)
	default:
		t.Logf("%s: loaded in %s, qemu %.1f s", b.Key, unameR, b.Boot.Seconds)
	}
}
