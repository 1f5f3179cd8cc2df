package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// TestEndToEndRealDriver builds the real Falco driver (falcosecurity/libs,
// served from loopback and pinned by digest) in the sealed container for
// real Debian kernels of both families and several flavours:
// 10.2.0+driver's module, 9.1.0+driver's module and probe. Every artifact
// must describe itself as what was asked for. A tampered source then fails
// only its own version's builds, and a rebuild in fresh containers gives
// the same bytes. The first build boot-checks: every module loads in its
// own kernel (--boot-check).
func TestEndToEndRealDriver(t *testing.T) {
	lab, image, dir := startLab(t, "10.2.0+driver", "9.1.0+driver")
	v10, v9 := realVersion(t, "10.2.0+driver"), realVersion(t, "9.1.0+driver")
	kernels := pickKernels(t, lab.KernelsOf(config.AMD64))
	out, cache := t.TempDir(), t.TempDir()
	args := []string{"--config-dir", dir, "build", "--allow-private-urls", "--kernelrelease", releases(kernels), "--out", out,
		"--cache-dir", cache, "--builder-image", image, "--jobs", "2", "--timeout", "10m"}
	stdout, stderr, code := dbg(t, append(args, bootCheckFlags(t, config.AMD64, kernels...)...)...)
	t.Logf("stdout:\n%s", stdout)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	m := readManifest(t, out)
	if want := 3 * len(kernels); len(m.Builds) != want || m.Built != want {
		t.Fatalf("built %d of %d builds, want %d", m.Built, len(m.Builds), want)
	}
	pins := map[string]string{v10.Version: v10.SHA256, v9.Version: v9.SHA256}
	first := map[string]string{} // key -> sha256
	for _, b := range m.Builds {
		k := kernelOf(t, kernels, b.KernelRelease)
		checkArtifact(t, filepath.Join(out, filepath.FromSlash(b.Key)), b, k.UnameR, config.AMD64)
		checkBooted(t, b, k.UnameR)
		if b.SourceSHA256 != pins[b.DriverVersion] {
			t.Errorf("%s: built from source %s, pinned %s", b.Key, b.SourceSHA256, pins[b.DriverVersion])
		}
		first[b.Key] = b.SHA256
		if log, err := os.ReadFile(b.Log); err != nil || !strings.Contains(string(log), "dbg: building as nobody (uid 65534)") {
			t.Errorf("%s: the build did not run as nobody (%v)", b.Key, err)
		}
	}
	for _, v := range []string{v10.Version, v9.Version} {
		cmd := exec.Command("sha256sum", "-c", config.SumsFile)
		cmd.Dir = filepath.Join(out, filepath.FromSlash(config.PrefixKey(v, config.AMD64.Machine())))
		if res, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c in %s: %v\n%s", cmd.Dir, err, res)
		}
	}

	t.Run("a tampered source fails only its version; a rebuild is byte-identical", func(t *testing.T) {
		v101 := realVersion(t, "10.1.0+driver")
		tampered, err := lab.ServeTampered(v101.Version)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "kernels")
		if err := lab.WriteConfigDir(dir, config.DriverVersions{Source: tampered, Versions: []config.DriverVersion{v10, v101, v9}}); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		k := kernels[0]
		stdout, stderr, code := dbg(t, "--config-dir", dir, "build", "--allow-private-urls", "--kernelrelease", k.Release, "--out", out,
			"--cache-dir", t.TempDir(), "--builder-image", image, "--jobs", "1", "--timeout", "10m")
		if code != 1 {
			t.Fatalf("exit %d, want 1 (a tampered source)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, b := range readManifest(t, out).Builds {
			if b.DriverVersion != v101.Version {
				if b.Status != grid.Built || b.SHA256 != first[b.Key] {
					t.Errorf("%s: %s %s, sha256 %s; want built, byte-identical to the first build's %s", b.Key, b.Status, b.Reason, b.SHA256, first[b.Key])
				}
				continue
			}
			if b.Status != grid.Failed || b.Infra || !strings.Contains(b.Reason, "pins "+v101.SHA256) || !strings.Contains(b.Reason, "sha256 "+b.SourceSHA256) || b.SourceSHA256 == v101.SHA256 {
				t.Errorf("%s: %s %q (infra %v); want failed with the pinned and the actual sha256", b.Key, b.Status, b.Reason, b.Infra)
			}
		}
	})
	assertNoContainers(t)
}

// pickKernels picks three of the lab's kernels: the first, one of the
// other family (6.1, 6.12) and another flavour, then one of a third flavour.
func pickKernels(t *testing.T, all []gridtest.LabKernel) []gridtest.LabKernel {
	t.Helper()
	if len(all) == 0 {
		t.Fatal("the lab has no kernel")
	}
	out := []gridtest.LabKernel{all[0]}
	fam0, fl0 := kernelTraits(all[0].Release)
	pick := func(ok func(fam, fl string) bool) {
		for _, k := range all[1:] {
			if fam, fl := kernelTraits(k.Release); ok(fam, fl) && !contains(out, k) {
				out = append(out, k)
				return
			}
		}
		t.Fatalf("the lab's kernels %v lack both families and three flavours", all)
	}
	pick(func(fam, fl string) bool { return fam != fam0 && fl != fl0 })
	_, fl1 := kernelTraits(out[1].Release)
	pick(func(_, fl string) bool { return fl != fl0 && fl != fl1 })
	return out
}

func contains(ks []gridtest.LabKernel, k gridtest.LabKernel) bool {
	for _, x := range ks {
		if x.Release == k.Release {
			return true
		}
	}
	return false
}

// debianFamily is the major.minor of a Debian release (6.1.192-3-amd64).
var debianFamily = regexp.MustCompile(`^(\d+\.\d+)\.\d+-\d+-`)

// kernelTraits are a Debian release's family and flavour (config.DebianFlavour).
func kernelTraits(release string) (family, flavour string) {
	m := debianFamily.FindStringSubmatch(release)
	fl, arch, ok := config.DebianFlavour(release)
	if m == nil || !ok || arch != config.AMD64 {
		return release, release
	}
	return "family " + m[1], "flavour " + fl
}

func releases(ks []gridtest.LabKernel) string {
	var rs []string
	for _, k := range ks {
		rs = append(rs, k.Release)
	}
	return strings.Join(rs, ",")
}

func kernelOf(t *testing.T, ks []gridtest.LabKernel, release string) gridtest.LabKernel {
	t.Helper()
	for _, k := range ks {
		if k.Release == release {
			return k
		}
	}
	t.Fatalf("no lab kernel %s", release)
	return gridtest.LabKernel{}
}
