package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// TestEndToEndArm64 builds the real driver for a real Debian arm64 kernel
// on this x86_64 machine, in the arm64 builder image under qemu-user
// emulation: 10.2.0+driver's module, 9.1.0+driver's module and probe. Every
// module is an AArch64 object whose vermagic starts with the kernel's
// uname -r and loads in that kernel, booted under qemu-system-aarch64
// (--boot-check); the probe passes the probe checks.
func TestEndToEndArm64(t *testing.T) {
	lab, image, _ := startLab(t, "10.2.0+driver", "9.1.0+driver")
	arm := shared.arm64(t)[:1] // one kernel: builds under emulation take minutes
	v10, v9 := realVersion(t, "10.2.0+driver"), realVersion(t, "9.1.0+driver")
	dir := filepath.Join(t.TempDir(), "kernels")
	if err := lab.WriteConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{v10, v9}}, config.ARM64); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{"--config-dir", dir, "build", "--allow-private-urls", "--kernelrelease", arm[0].Release, "--out", out, "--cache-dir", t.TempDir(),
		"--builder-image", image, "--jobs", "1", "--timeout", "30m"}
	stdout, stderr, code := dbg(t, append(args, bootCheckFlags(t, config.ARM64, arm...)...)...)
	t.Logf("stdout:\n%s", stdout)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	m := readManifest(t, out)
	if want := 3 * len(arm); m.Built != want || len(m.Builds) != want {
		t.Fatalf("built %d of %d, want %d", m.Built, len(m.Builds), want)
	}
	for _, b := range m.Builds {
		k := kernelOf(t, arm, b.KernelRelease)
		checkArtifact(t, filepath.Join(out, filepath.FromSlash(b.Key)), b, k.UnameR, config.ARM64)
		checkBooted(t, b, k.UnameR)
		t.Logf("%s %s: %.0f s under emulation", b.DriverVersion, b.File, b.Duration)
	}
	cmd := exec.Command("sha256sum", "-c", config.SumsFile)
	cmd.Dir = filepath.Join(out, filepath.FromSlash(config.PrefixKey(v9.Version, "aarch64")))
	if res, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c in %s: %v\n%s", cmd.Dir, err, res)
	}
	assertNoContainers(t)
}

// An arm64 kernel whose builder image cannot run arm64 binaries (here: an
// amd64 image under the arm64 name, as on a daemon without emulation)
// fails with the reason, as an infrastructure failure, before anything is
// compiled; the amd64 kernel of the same run builds.
func TestEndToEndArm64WithoutEmulation(t *testing.T) {
	lab, _, _ := startLab(t, "10.2.0+driver")
	arm := shared.arm64(t)
	amd := lab.KernelsOf(config.AMD64)[0]
	for _, arch := range []string{"amd64", "arm64"} {
		if out, err := exec.Command("docker", "tag", "dbg-builder:bookworm-amd64", "dbg-noemu-"+arch+":test").CombinedOutput(); err != nil {
			t.Fatalf("docker tag: %v\n%s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "rmi", "dbg-noemu-"+arch+":test").Run() })
	}
	dir := filepath.Join(t.TempDir(), "kernels")
	if err := lab.WriteConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{realVersion(t, "10.2.0+driver")}}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--kernelrelease", amd.Release+","+arm[0].Release, "--out", out,
		"--cache-dir", t.TempDir(), "--builder-image", "dbg-noemu-{arch}:test", "--timeout", "10m")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (infrastructure)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, b := range readManifest(t, out).Builds {
		switch b.Arch {
		case "aarch64":
			if b.Status != grid.Failed || !b.Infra || !strings.Contains(b.Reason, "aarch64 kernels need an arm64 Docker host or qemu-user emulation") || !strings.Contains(b.Reason, `runs "x86_64"`) {
				t.Errorf("%s: %s %q (infra %v)", b.Key, b.Status, b.Reason, b.Infra)
			}
		default:
			if b.Status != grid.Built {
				t.Errorf("%s: %s %q, want built", b.Key, b.Status, b.Reason)
			}
		}
	}
}
