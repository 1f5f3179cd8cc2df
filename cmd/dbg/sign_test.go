package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/cosigntest"
	"github.com/falcosecurity/dbg/publisher/ghtest"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

const signDV = "10.2.0+driver"

// fakeBuild writes what dbg build leaves in out for the named artifacts of
// signDV/x86_64 (their bytes: the name and extra): the files and
// manifest.json.
func fakeBuild(t *testing.T, extra string, files ...string) string {
	t.Helper()
	out := t.TempDir()
	var r grid.Report
	for _, f := range files {
		key := config.ObjectKey(signDV, config.AMD64, f)
		data := []byte(f + extra)
		path := filepath.Join(out, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		r.Builds = append(r.Builds, grid.BuildResult{
			Entry:  grid.Entry{DriverVersion: signDV, Arch: config.AMD64.Machine(), File: f, Key: key, Kind: config.Module},
			Status: grid.Built, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		})
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, grid.ManifestFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSignCommand: dbg sign puts the bundle of each SHA256SUMS beside it in
// a folder, on S3 (versitygw) and on GitHub (the fake), and what a user
// downloads from each checks with cosign verify-blob, then sha256sum -c
// --ignore-missing; signing again keeps fresh bundles, and a publish that
// rewrites SHA256SUMS makes them signed anew.
func TestSignCommand(t *testing.T) {
	cosign := cosigntest.Binary(t)
	keys := cosigntest.NewKeyPair(t, cosign)
	folder := t.TempDir()
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "drivers")
	s3.SetEnv(t)
	gh := ghtest.New(t)
	t.Setenv("GITHUB_TOKEN", gh.Token)
	targets := []string{"--to", "file://" + folder, "--to", "s3://drivers", "--s3-path-style",
		"--to", "github://" + gh.Owner + "/" + gh.Repo, "--github-api-url", gh.API.URL, "--github-upload-url", gh.Uploads.URL}
	run := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := dbg(t, append(args, targets...)...)
		if code != 0 {
			t.Fatalf("dbg %s: exit %d\nstdout:\n%s\nstderr:\n%s", args[0], code, stdout, stderr)
		}
		return stdout
	}
	driver := "falco_debian_6.1.170-3-amd64_1.ko"
	run("publish", "--from", fakeBuild(t, "", driver, "falco_debian_6.1.170-3-cloud-amd64_1.ko"))

	stdout := run("sign", "--key", keys.Private)
	if strings.Count(stdout, "signed driver/"+signDV+"/x86_64/SHA256SUMS") != 3 || !strings.Contains(stdout, "(release "+signDV+"_x86_64)") {
		t.Errorf("dbg sign: want SHA256SUMS signed on each of the 3 targets:\n%s", stdout)
	}

	sumsKey := config.ObjectKey(signDV, config.AMD64, config.SumsFile)
	bundleKey := sumsKey + ".sigstore.json"
	driverKey := config.ObjectKey(signDV, config.AMD64, driver)
	objects := s3.Objects(t, "drivers")
	assets := map[string][]byte{}
	for _, a := range gh.Assets(signDV + "_x86_64") {
		assets[a.Name] = a.Data
	}
	readFolder := func(key string) []byte {
		data, err := os.ReadFile(filepath.Join(folder, filepath.FromSlash(key)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	downloads := map[string]map[string][]byte{
		"folder": {driver: readFolder(driverKey), "SHA256SUMS": readFolder(sumsKey), "SHA256SUMS.sigstore.json": readFolder(bundleKey)},
		"s3":     {driver: objects[driverKey], "SHA256SUMS": objects[sumsKey], "SHA256SUMS.sigstore.json": objects[bundleKey]},
		"github": {driver: assets[driver], "SHA256SUMS": assets["SHA256SUMS"], "SHA256SUMS.sigstore.json": assets["SHA256SUMS.sigstore.json"]},
	}
	for where, files := range downloads {
		userChecks(t, where, cosign, keys.Public, files)
	}

	if stdout := run("sign", "--key", keys.Private); strings.Contains(stdout, "signed driver/") || strings.Count(stdout, "0 signed, 1 kept") != 3 {
		t.Errorf("second dbg sign: want every bundle kept:\n%s", stdout)
	}
	run("publish", "--from", fakeBuild(t, "", "falco_debian_6.1.171-1-amd64_1.ko"))
	if stdout := run("sign", "--key", keys.Private); strings.Count(stdout, "1 signed, 0 kept") != 3 {
		t.Errorf("dbg sign after SHA256SUMS changed: want each target's signed again:\n%s", stdout)
	}
	if out, err := cosigntest.VerifyBlob(t, cosign, keys.Public, filepath.Join(folder, filepath.FromSlash(bundleKey)), filepath.Join(folder, filepath.FromSlash(sumsKey))); err != nil {
		t.Errorf("cosign verify-blob of the rewritten SHA256SUMS: %v\n%s", err, out)
	}

	_, stderr, code := dbg(t, "sign", "--key", keys.Private, "--cosign", filepath.Join(t.TempDir(), "cosign"), "--force", "--to", "file://"+folder)
	if code != 2 || !strings.Contains(stderr, "cosign not found") {
		t.Errorf("dbg sign without cosign: exit %d, want 2 saying cosign is not found:\n%s", code, stderr)
	}
	_, stderr, code = dbg(t, "sign", "--file", "../SHA256SUMS", "--to", "file://"+folder)
	if code != 2 || !strings.Contains(stderr, "--file") {
		t.Errorf("dbg sign --file ../SHA256SUMS: exit %d, want 2 naming --file:\n%s", code, stderr)
	}
}

// userChecks is what README's "Checking a driver" tells a user to run in a
// folder holding the downloaded driver, SHA256SUMS and its bundle (with the
// key instead of the workflow's identity): cosign verify-blob, then
// sha256sum -c --ignore-missing. A changed driver fails the second.
func userChecks(t *testing.T, where, cosign, pub string, files map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if len(data) == 0 {
			t.Errorf("%s: %s not downloaded", where, name)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := cosigntest.VerifyBlob(t, cosign, pub, filepath.Join(dir, "SHA256SUMS.sigstore.json"), filepath.Join(dir, "SHA256SUMS")); err != nil {
		t.Errorf("%s: cosign verify-blob: %v\n%s", where, err, out)
	}
	sha := func() ([]byte, error) {
		cmd := exec.CommandContext(t.Context(), "sha256sum", "-c", "--ignore-missing", "--strict", "SHA256SUMS")
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := sha(); err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("%s: sha256sum -c: %v\n%s", where, err, out)
	}
	for name := range files {
		if strings.HasPrefix(name, "falco_") {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("other bytes"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := sha(); err == nil {
		t.Errorf("%s: sha256sum -c passes a changed driver:\n%s", where, out)
	}
}
