package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

// --changed-since: a modified config gets every window version; a version
// whose sha256 changed is planned for every kernel.
func TestPlanChangedSinceSHA256(t *testing.T) {
	dir := committedTestKernels(t)

	appendToFile(t, filepath.Join(dir, "x86_64", "debian_6.1.170-3-cloud-amd64_1.yaml"), "# touched\n")
	dvPath := filepath.Join(dir, "driverversions.yaml")
	data, _ := os.ReadFile(dvPath)
	data = []byte(strings.Replace(string(data), `"9.1.0+driver"`+"\n", `"9.1.0+driver"`+"\n    sha256: "+strings.Repeat("a", 64)+"\n", 1))
	if err := os.WriteFile(dvPath, data, 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := dbg(t, "--config-dir", dir, "plan", "-o", "json", "--changed-since", "HEAD")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var plan []struct{ Key string }
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range plan {
		got = append(got, e.Key)
	}
	want := []string{
		"driver/9.1.0+driver/aarch64/falco_amazonlinux2_4.14.158-129.185.amzn2.aarch64_1.ko",
		"driver/9.1.0+driver/aarch64/falco_minikube_5.10.57_1_1.26.0.ko",
		"driver/9.1.0+driver/aarch64/falco_minikube_5.10.57_1_1.26.0.o",
		"driver/9.1.0+driver/x86_64/falco_centos_3.10.0-1160.el7.x86_64_1.ko",
		"driver/10.0.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",
		"driver/9.1.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",
		"driver/9.1.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.o",
		"driver/9.1.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko",
		"driver/9.1.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.o",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// committedTestKernels copies the test kernels into a new git repository,
// commits them, and returns the config dir.
func committedTestKernels(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	dir := filepath.Join(repo, "kernels")
	copyTestKernels(t, dir)
	configtest.Git(t, repo, "init", "-q")
	configtest.Git(t, repo, "add", ".")
	configtest.Git(t, repo, "commit", "-qm", "base")
	return dir
}
