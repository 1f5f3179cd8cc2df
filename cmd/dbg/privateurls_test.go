package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

// --allow-private-urls is a flag of the commands that download (build,
// run, generate) and of validate, and of no other.
func TestAllowPrivateURLsFlag(t *testing.T) {
	for cmd, want := range map[string]bool{"build": true, "run": true, "generate": true, "validate": true, "plan": false, "stats": false} {
		out, _, code := dbg(t, cmd, "--help")
		if code != 0 || strings.Contains(out, "--allow-private-urls") != want {
			t.Errorf("dbg %s --help (exit %d): has --allow-private-urls %v, want %v", cmd, code, !want, want)
		}
	}
}

// A config whose header URL is on loopback is invalid for validate and for
// the commands that plan from it (build, before any Docker or download);
// --allow-private-urls makes a lab's config valid.
func TestPrivateHeaderURLIsInvalid(t *testing.T) {
	dir := t.TempDir()
	copyTestKernels(t, dir)
	path := filepath.Join(dir, "x86_64", "ubuntu-generic_5.15.0-91-generic_101.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	configtest.WriteFile(t, path, strings.Replace(string(data), "https://example.org/ubuntu/linux-headers-5.15.0-91-generic", "http://127.0.0.1:2375/ubuntu/linux-headers-5.15.0-91-generic", 1))
	want := path + `:6:5: kernelurls[0]: "http://127.0.0.1:2375/ubuntu/linux-headers-5.15.0-91-generic_5.15.0-91.101_amd64.deb": host 127.0.0.1 is a loopback address (127.0.0.0/8): downloads run on the CI runner, so only public addresses are allowed (--allow-private-urls for a lab)`

	out, _, code := dbg(t, "--config-dir", dir, "validate")
	if code != 1 || !strings.Contains(out, want+"\n") {
		t.Errorf("validate: exit %d, want 1 and\n%s\nin:\n%s", code, want, out)
	}
	_, errOut, code := dbg(t, "--config-dir", dir, "build", "--out", t.TempDir(), "--cache-dir", t.TempDir())
	if code != 1 || !strings.Contains(errOut, want+"\n") {
		t.Errorf("build: exit %d, want 1 and the problem; stderr:\n%s", code, errOut)
	}
	if out, _, code := dbg(t, "--config-dir", dir, "validate", "--allow-private-urls"); code != 0 || !strings.Contains(out, "ok: 5 kernel config(s) valid") {
		t.Errorf("validate --allow-private-urls: exit %d:\n%s", code, out)
	}
}

// dbg generate downloads kernel-crawler output under the address policy,
// and skips the kernels whose header URLs it would refuse.
func TestGenerateAddressPolicy(t *testing.T) {
	const crawled = `{"ubuntu": [{"kernelversion": "101", "kernelrelease": "5.15.0-91-generic", "target": "ubuntu-generic", "headers": [
		"http://127.0.0.1:1/linux-headers-5.15.0-91-generic_5.15.0-91.101_amd64.deb",
		"http://127.0.0.1:1/linux-headers-5.15.0-91_5.15.0-91.101_all.deb"]}]}`
	var requests int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests++
		w.Write([]byte(crawled))
	}))
	defer srv.Close()

	_, errOut, code := dbg(t, "--config-dir", t.TempDir(), "generate", "--from", srv.URL+"/x86_64/list.json", "--arch", "x86_64")
	if code != 2 || !strings.Contains(errOut, "127.0.0.1 is a loopback address (127.0.0.0/8): refused by dbg's download address policy") || requests != 0 {
		t.Errorf("exit %d after %d requests, want 2 after none and the policy named; stderr:\n%s", code, requests, errOut)
	}

	out, errOut, code := dbg(t, "--config-dir", t.TempDir(), "generate", "--allow-private-urls", "--from", srv.URL+"/x86_64/list.json", "--arch", "x86_64")
	if code != 0 || !strings.HasPrefix(out, "added 1, ") || requests != 1 {
		t.Errorf("with --allow-private-urls: exit %d, %d requests:\n%s%s", code, requests, out, errOut)
	}

	file := filepath.Join(t.TempDir(), "list.json")
	configtest.WriteFile(t, file, crawled)
	out, errOut, code = dbg(t, "--config-dir", t.TempDir(), "generate", "--from", file, "--arch", "x86_64")
	if code != 0 || !strings.Contains(out, "skipped 1: missing or invalid header URLs") {
		t.Errorf("loopback header URLs: exit %d, want them skipped:\n%s%s", code, out, errOut)
	}
}

// --changed-since reaches git after --end-of-options, and a revision that
// git would read as an option is a usage error before git runs:
// --changed-since --output=FILE made git diff write FILE.
func TestChangedSinceRevisionIsNotAnOption(t *testing.T) {
	dir := committedTestKernels(t)
	written := filepath.Join(t.TempDir(), "written-by-git")
	for _, cmd := range [][]string{
		{"plan", "--changed-since", "--output=" + written},
		{"build", "--out", t.TempDir(), "--cache-dir", t.TempDir(), "--changed-since", "--output=" + written},
	} {
		_, errOut, code := dbg(t, append([]string{"--config-dir", dir}, cmd...)...)
		if code != 2 || !strings.Contains(errOut, `bad revision "--output=`+written+`": a git revision (a commit, branch or tag) cannot be empty or start with "-"`) {
			t.Errorf("dbg %s: exit %d, want 2 and a usage error; stderr:\n%s", cmd[0], code, errOut)
		}
	}
	if _, err := os.Stat(written); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("git wrote %s: %v", written, err)
	}
}
