package grid

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

// dbg's changes to driverkit's scripts are in every rendered build script,
// of every target that renders offline.
func TestBuildScriptsArePatched(t *testing.T) {
	for _, k := range patchKernels() {
		for _, kind := range config.Kinds {
			vs, err := renderVersion(k, config.DriverVersion{Version: "9.1.0+driver"}, kind, "dbg-builder:bookworm", "12")
			if err != nil {
				t.Fatalf("%s %s: %v", k.Target, kind, err)
			}
			for _, want := range []string{"-DUSE_BUNDLED_LIBELF=Off \\\n", "-DFETCHCONTENT_FULLY_DISCONNECTED=On \\\n", "\n  ..\nsed -i "} {
				if !strings.Contains(vs.Build, want) {
					t.Errorf("%s %s: build script lacks %q:\n%s", k.Target, kind, want, vs.Build)
				}
			}
			if strings.Contains(vs.Build, ".. &&") {
				t.Errorf("%s %s: cmake in an AND list escapes set -e:\n%s", k.Target, kind, vs.Build)
			}
		}
	}
}

func patchKernels() []*config.Kernel {
	urls := []string{"http://127.0.0.1:1/a.deb", "http://127.0.0.1:1/b.deb", "http://127.0.0.1:1/c.deb"}
	return []*config.Kernel{
		debianKernel("6.1.170-3-amd64"),
		{KernelRelease: "5.15.0-91-generic", KernelVersion: "101", Target: "ubuntu-generic", Architecture: config.AMD64, KernelURLs: urls},
		{KernelRelease: "3.10.0-1160.el7.x86_64", KernelVersion: "1", Target: "centos", Architecture: config.AMD64, KernelURLs: urls},
		{KernelRelease: "4.14.158-129.185.amzn2.aarch64", KernelVersion: "1", Target: "amazonlinux2", Architecture: config.ARM64, KernelURLs: urls},
	}
}

// A failed configure stops the build script at once: make never runs (it
// used to, because `cmake ... && sed ...` escaped set -e), and a configure
// that succeeds goes on to make.
func TestFailedConfigureStopsTheScript(t *testing.T) {
	for _, cmakeExit := range []int{1, 0} {
		vs, err := renderVersion(debianKernel("6.1.170-3-amd64"), config.DriverVersion{Version: "9.1.0+driver"}, config.Module, "dbg-builder:bookworm", "12")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		bin, work := filepath.Join(dir, "bin"), filepath.Join(dir, "driver")
		for _, d := range []string{bin, work} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		fake := map[string]string{"cmake": "exit " + string(rune('0'+cmakeExit))}
		for _, tool := range []string{"make", "strip", "modinfo", "sed"} {
			fake[tool] = "echo " + tool + " >> " + filepath.Join(dir, "ran")
		}
		for name, body := range fake {
			if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		script := strings.ReplaceAll(vs.Build, "/tmp/driver", work)
		script = strings.ReplaceAll(script, "/usr/bin/gcc-12", "gcc-12")
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		ran, _ := os.ReadFile(filepath.Join(dir, "ran"))
		if cmakeExit != 0 && (err == nil || len(ran) > 0) {
			t.Errorf("cmake failed, yet the script went on (exit err %v) and ran: %q\n%s", err, ran, out)
		}
		if cmakeExit == 0 && (err != nil || !strings.Contains(string(ran), "make")) {
			t.Errorf("cmake succeeded, but make did not run (%v): %q\n%s", err, ran, out)
		}
	}
}
