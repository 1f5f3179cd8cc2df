package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

// A builder image from a registry passes only pinned and from a registry
// driverversions.yaml or --allow-registry lists, for validate and plan alike.
func TestAllowRegistry(t *testing.T) {
	dir := t.TempDir()
	copyTestKernels(t, dir)
	digest := "@sha256:" + strings.Repeat("a", 64)
	cfg := filepath.Join(dir, "x86_64", "centos_3.10.0-1160.el7.x86_64_1.yaml")
	appendToFile(t, cfg, "builderimage: ghcr.io/falcosecurity/driverkit-builder"+digest+"\n")
	for _, cmd := range []string{"validate", "plan"} {
		if stdout, stderr, code := dbg(t, "--config-dir", dir, cmd); code != 1 || !strings.Contains(stdout+stderr, "names the registry ghcr.io: no registry is allowed") {
			t.Errorf("%s without the registry: exit %d\n%s%s", cmd, code, stdout, stderr)
		}
		if stdout, stderr, code := dbg(t, "--config-dir", dir, cmd, "--allow-registry", "ghcr.io/falcosecurity"); code != 0 {
			t.Errorf("%s --allow-registry: exit %d\n%s%s", cmd, code, stdout, stderr)
		}
	}
	if _, stderr, code := dbg(t, "--config-dir", dir, "validate", "--allow-registry", "https://ghcr.io"); code != 2 || !strings.Contains(stderr, "without a scheme") {
		t.Errorf("a bad --allow-registry: exit %d\n%s", code, stderr)
	}
	dvPath := filepath.Join(dir, "driverversions.yaml")
	dv, _ := os.ReadFile(dvPath)
	configtest.WriteFile(t, dvPath, "registries: [ghcr.io/falcosecurity]\n"+string(dv))
	if stdout, stderr, code := dbg(t, "--config-dir", dir, "validate"); code != 0 {
		t.Errorf("registries: in driverversions.yaml: exit %d\n%s%s", code, stdout, stderr)
	}
	// pinned or not, evil.example.com is not listed
	configtest.WriteFile(t, cfg, strings.Replace(readFile(t, cfg), "ghcr.io/falcosecurity/driverkit-builder"+digest, "evil.example.com/owned/builder:latest", 1))
	if stdout, _, code := dbg(t, "--config-dir", dir, "validate"); code != 1 || !strings.Contains(stdout, `builderimage: "evil.example.com/owned/builder:latest" names the registry evil.example.com, which is not allowed`) {
		t.Errorf("an unlisted registry: exit %d\n%s", code, stdout)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A config whose artifacts would take another's GitHub asset name (2.deb12
// beside the real 2+deb12) stops validate and the plan, both files named.
func TestAssetNameSquattingIsRefused(t *testing.T) {
	dir := t.TempDir()
	copyTestKernels(t, dir)
	base := readFile(t, filepath.Join(dir, "x86_64", "debian_6.1.170-3-cloud-amd64_1.yaml"))
	real := filepath.Join(dir, "x86_64", "debian_6.1.170-3-cloud-amd64_2+deb12.yaml")
	squat := filepath.Join(dir, "x86_64", "debian_6.1.170-3-cloud-amd64_2.deb12.yaml")
	configtest.WriteFile(t, real, strings.Replace(base, `kernelversion: "1"`, `kernelversion: "2+deb12"`, 1))
	if stdout, stderr, code := dbg(t, "--config-dir", dir, "validate"); code != 0 {
		t.Fatalf("the real config alone: exit %d\n%s%s", code, stdout, stderr)
	}
	configtest.WriteFile(t, squat, strings.Replace(base, `kernelversion: "1"`, `kernelversion: "2.deb12"`, 1))
	for _, cmd := range []string{"validate", "plan"} {
		stdout, stderr, code := dbg(t, "--config-dir", dir, cmd)
		out := stdout + stderr
		if code != 1 || !strings.Contains(out, "GitHub asset name falco_debian_6.1.170-3-cloud-amd64_2.deb12.ko") ||
			strings.Count(out, real) < 2 || strings.Count(out, squat) < 2 {
			t.Errorf("%s: exit %d\n%s", cmd, code, out)
		}
	}
}

// validate refuses a symlinked architecture folder, naming it, instead of
// skipping it silently; generate refuses to write through one.
func TestSymlinksAreRefusedByValidateAndGenerate(t *testing.T) {
	dir := t.TempDir()
	copyTestKernels(t, dir)
	elsewhere := filepath.Join(t.TempDir(), "x86_64")
	if err := os.Rename(filepath.Join(dir, "x86_64"), elsewhere); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "x86_64")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	stdout, _, code := dbg(t, "--config-dir", dir, "validate")
	if code != 1 || !strings.Contains(stdout, link+": is a symbolic link") {
		t.Errorf("validate: exit %d\n%s", code, stdout)
	}

	crawler := filepath.Join(t.TempDir(), "list.json")
	configtest.WriteFile(t, crawler, `{"centos": [{"kernelversion": "1", "kernelrelease": "3.10.0-1160.el7.x86_64", "target": "centos", "headers": ["https://example.org/centos/kernel-devel-3.10.0-1160.el7.x86_64.rpm"]}]}`)
	before, _ := os.ReadDir(elsewhere)
	_, stderr, code := dbg(t, "--config-dir", dir, "generate", "--from", crawler, "--arch", "x86_64")
	if code != 1 || !strings.Contains(stderr, link+" is a symbolic link") {
		t.Errorf("generate: exit %d\n%s", code, stderr)
	}
	if after, _ := os.ReadDir(elsewhere); len(after) != len(before) {
		t.Errorf("generate wrote through the link: %d files, were %d", len(after), len(before))
	}
}
