// Package cosigntest gives tests the real cosign and a local key pair:
// Sigstore (Fulcio, Rekor) is not reachable from tests, so signatures are
// made with a key and no transparency log.
package cosigntest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Install is the command that puts cosign on the machine (make tools).
const Install = "go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"

// Password protects the test keys; cosign reads it from COSIGN_PASSWORD.
const Password = "dbg-test-password"

// Binary returns the path of cosign, on PATH or in GOPATH/bin. A missing
// binary fails the test (never skips).
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "cosign")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatalf("cosign not found on PATH or in GOPATH/bin: install it with `make tools` (%s)", Install)
	return ""
}

// KeyPair is a cosign key pair in files.
type KeyPair struct {
	Private string // cosign.key (encrypted with Password)
	Public  string // cosign.pub (PEM)
}

// NewKeyPair runs `cosign generate-key-pair` in a temp folder and sets
// COSIGN_PASSWORD for the test (so the test cannot be parallel).
func NewKeyPair(t testing.TB, cosign string) KeyPair {
	t.Helper()
	t.Setenv("COSIGN_PASSWORD", Password)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), cosign, "generate-key-pair")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return KeyPair{Private: filepath.Join(dir, "cosign.key"), Public: filepath.Join(dir, "cosign.pub")}
}

// VerifyBlob runs `cosign verify-blob --key` on a file and its bundle, with
// no transparency log, and returns its error and output: what a user with
// the public key runs (offline, with an empty trusted root).
func VerifyBlob(t testing.TB, cosign, pub, bundle, file string) ([]byte, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), cosign, "verify-blob", "--key", pub, "--bundle", bundle,
		"--trusted-root", EmptyTrustedRoot(t), "--insecure-ignore-tlog=true", file)
	return cmd.CombinedOutput()
}

// EmptyTrustedRoot writes a Sigstore trusted root that trusts no
// authority, log or timestamper: cosign needs one to read a bundle of the
// new format, and would otherwise fetch Sigstore's over the network. A
// signature made with a key then verifies with that key alone; anything
// keyless fails.
func EmptyTrustedRoot(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
