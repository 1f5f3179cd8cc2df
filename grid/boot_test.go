package grid

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// bootLab is a lab serving the real driver for real Debian amd64 kernels,
// with the image packages of images served (the others have none), and a
// config dir with the real 10.2.0+driver only.
func bootLab(t *testing.T, images func(ks []gridtest.LabKernel) []gridtest.LabKernel) (dir string, imageURLs []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boot check with real kernels under qemu: not in -short mode")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatalf("the boot check needs qemu-system-x86_64 (Debian: qemu-system-x86; make tools): %v", err)
	}
	root, err := gridtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", filepath.Join(root, "deploy/builder/build-image.sh")).CombinedOutput(); err != nil {
		t.Fatalf("builder image: %v\n%s", err, out)
	}
	cache, err := gridtest.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	headers := filepath.Join(cache, "debian-headers")
	lab, err := gridtest.NewLab(t.Context(), t.TempDir(), headers, 6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	libs, err := gridtest.FindLibsDir()
	if err != nil {
		t.Fatal(err)
	}
	versions, err := lab.AddLibs(libs)
	if err != nil {
		t.Fatal(err)
	}
	imageURLs, err = lab.ServeKernelImages(t.Context(), headers, images(lab.Kernels)...)
	if err != nil {
		t.Fatal(err)
	}
	dv := config.DriverVersions{}
	for _, v := range versions {
		if v.Version == "10.2.0+driver" {
			dv.Versions = append(dv.Versions, config.DriverVersion{Version: v.Version, SHA256: v.SHA256, Kinds: []config.Kind{config.Module}})
		}
	}
	dir = filepath.Join(t.TempDir(), "kernels")
	if err := lab.WriteConfigDir(dir, dv, config.AMD64); err != nil {
		t.Fatal(err)
	}
	return dir, imageURLs
}

// labKernel is the lab's first kernel whose uname -r has the prefix and
// ends with the suffix.
func labKernel(t *testing.T, ks []gridtest.LabKernel, prefix, suffix string) gridtest.LabKernel {
	t.Helper()
	for _, k := range ks {
		rest, ok := strings.CutPrefix(k.UnameR, prefix)
		if ok && strings.HasSuffix(rest, suffix) && !strings.Contains(strings.TrimSuffix(rest, suffix), "-") {
			return k
		}
	}
	t.Fatalf("no lab kernel %s*%s", prefix, suffix)
	return gridtest.LabKernel{}
}

// TestBootCheckRealModules builds the real 10.2.0+driver module for three
// real Debian kernels with the boot check: the one whose image the archive
// folder has boots and loads it; the one without is not_booted and still
// built; the one whose kernelimageurls names another kernel's image (its
// rt flavour given the plain kernel's) refuses it: that build fails with
// the kernel's message and its module is not installed. Then the 6.1
// module is refused by the 6.12 kernel too.
func TestBootCheckRealModules(t *testing.T) {
	var k61, cloud, rt, k612 gridtest.LabKernel
	dir, images := bootLab(t, func(ks []gridtest.LabKernel) []gridtest.LabKernel {
		k61 = labKernel(t, ks, "6.1.0-", "-amd64")
		cloud = labKernel(t, ks, "6.1.0-", "-cloud-amd64")
		rt = labKernel(t, ks, "6.1.0-", "-rt-amd64")
		k612 = labKernel(t, ks, "6.12.", "+deb12-amd64")
		return []gridtest.LabKernel{k61, k612}
	})
	load := config.LoadOptions{AllowPrivateURLs: true}
	kernels, probs, err := load.Load(t.Context(), dir)
	if err != nil || len(probs) > 0 {
		t.Fatal(err, probs)
	}
	byRelease := map[string]*config.Kernel{}
	for _, k := range kernels {
		byRelease[k.KernelRelease] = k
	}
	byRelease[rt.Release].KernelImageURLs = images[:1] // the plain kernel's
	dv, err := load.LoadDriverVersions(filepath.Join(dir, config.DriverVersionsFile))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Plan([]*config.Kernel{byRelease[k61.Release], byRelease[cloud.Release], byRelease[rt.Release]}, dv, Options{})
	if err != nil || len(plan) != 3 {
		t.Fatalf("plan: %v, %d entries", err, len(plan))
	}
	fetcher, err := NewFetcher(t.TempDir(), FetchOptions{AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	docker, err := NewDocker(t.Context())
	if err != nil {
		t.Fatalf("the build needs a Docker daemon: %v", err)
	}
	defer docker.Close()
	booter := NewBooter(fetcher, BootOptions{})
	out := t.TempDir()
	start := time.Now()
	report, err := NewBuilder(docker, fetcher, dv, BuildOptions{Out: out, Jobs: 2, Timeout: 15 * time.Minute, Boot: booter}).Build(t.Context(), plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built and boot-checked %d modules in %s", len(plan), time.Since(start).Round(time.Second))
	var module string
	for _, r := range report.Builds {
		if r.Boot == nil {
			t.Fatalf("%s: %s %s, no boot result", r.Key, r.Status, r.Reason)
		}
		t.Logf("%s: %s; boot %s, qemu %.1f s: %s", r.KernelRelease, r.Status, r.Boot.Status, r.Boot.Seconds, r.Boot.Reason)
		_, statErr := os.Stat(filepath.Join(out, filepath.FromSlash(r.Key)))
		switch r.KernelRelease {
		case k61.Release:
			module = filepath.Join(out, filepath.FromSlash(r.Key))
			if r.Status != Built || r.Boot.Status != BootLoaded || r.Boot.Seconds <= 0 || !strings.Contains(r.Boot.Reason, "driver loading, falco 10.2.0+driver") ||
				!strings.Contains(r.Boot.Kernel, "/debian/linux-image-"+k61.UnameR+"-unsigned_") || statErr != nil {
				t.Errorf("%s: want built and loaded from its unsigned image, got %s %+v (%v)", r.KernelRelease, r.Status, r.Boot, statErr)
			}
		case cloud.Release:
			if r.Status != Built || r.Boot.Status != BootNotBooted || !strings.Contains(r.Boot.Reason, "linux-image-"+cloud.UnameR+"-unsigned_") || statErr != nil {
				t.Errorf("%s: want built, not_booted naming the missing image, got %s %+v (%v)", r.KernelRelease, r.Status, r.Boot, statErr)
			}
		case rt.Release:
			want := "boot check: insmod exit status 8: insmod: can't insert '/falco.ko': invalid module format; kernel: falco: disagrees about version of symbol module_layout"
			if r.Status != Failed || r.Infra || !strings.HasPrefix(r.Reason, want) || r.Boot.Status != BootFailed || !os.IsNotExist(statErr) {
				t.Errorf("%s: want failed (data) with %q and no module in --out, got %s %q (infra %v), boot %+v, stat %v", r.KernelRelease, want, r.Status, r.Reason, r.Infra, r.Boot, statErr)
			}
		}
	}

	// The 6.1 module in the 6.12 kernel (no module_layout symbol any more).
	wrong, err := booter.Check(t.Context(), BootRequest{Kernel: byRelease[k612.Release], UnameR: k612.UnameR, DriverVersion: "10.2.0+driver", Module: module})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s module in %s: %s, qemu %.1f s: %s", k61.UnameR, k612.UnameR, wrong.Status, wrong.Seconds, wrong.Reason)
	want := "insmod: can't insert '/falco.ko': invalid module format; kernel: module falco: .gnu.linkonce.this_module section size must match"
	if wrong.Status != BootFailed || !strings.Contains(wrong.Reason, want) {
		t.Errorf("the 6.1 module in the 6.12 kernel: want failed with %q, got %+v", want, wrong)
	}

	// A boot that cannot finish in time is killed, and is the machine's fault.
	quick := NewBooter(fetcher, BootOptions{Timeout: map[config.Arch]time.Duration{config.AMD64: time.Second}})
	start = time.Now()
	res, err := quick.Check(t.Context(), BootRequest{Kernel: byRelease[k61.Release], UnameR: k61.UnameR, DriverVersion: "10.2.0+driver", Module: module})
	if err == nil || !strings.Contains(err.Error(), "did not reach init within 1s") || res.Status != BootNotBooted || time.Since(start) > 30*time.Second {
		t.Errorf("a 1 s boot: got %+v, %v after %s; want not_booted, an error, qemu killed at once", res, err, time.Since(start))
	}

	// Ctrl-C during a boot kills qemu at once.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start = time.Now()
	res, err = booter.Check(ctx, BootRequest{Kernel: byRelease[k61.Release], UnameR: k61.UnameR, DriverVersion: "10.2.0+driver", Module: module})
	if err == nil || !strings.Contains(err.Error(), "boot interrupted") || res.Status != BootNotBooted || time.Since(start) > 30*time.Second {
		t.Errorf("a cancelled boot: got %+v, %v after %s; want not_booted, interrupted, qemu killed at once", res, err, time.Since(start))
	}
}
