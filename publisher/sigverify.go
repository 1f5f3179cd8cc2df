package publisher

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SigVerifier checks one signature bundle of one blob.
type SigVerifier interface {
	// Verify returns who signed (for the result: "key", or the signer's
	// identity) when the bundle's signature of blob verifies; an error
	// wrapping ErrBadSignature when it does not; one wrapping
	// ErrNotChecked when it could not be checked here.
	Verify(ctx context.Context, blob, bundle []byte) (by string, err error)
}

// ErrBadSignature: the signature does not verify.
var ErrBadSignature = errors.New("bad signature")

// ErrNotChecked: the signature could not be checked (no tool, no trust
// material), which is neither good nor bad.
var ErrNotChecked = errors.New("signature not checked")

// KeyVerifier checks signatures made with a cosign key pair (cosign
// sign-blob --key): ECDSA over the SHA-256 of the blob, with the public
// key, by the standard library alone.
type KeyVerifier struct{ Key *ecdsa.PublicKey }

var _ SigVerifier = KeyVerifier{}

// LoadPublicKey reads a PEM public key, as cosign generate-key-pair writes
// it (cosign.pub).
func LoadPublicKey(path string) (*ecdsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("read public key %s: no PEM PUBLIC KEY block", path)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("read public key %s: a %T, want an ECDSA key (cosign's)", path, pub)
	}
	return key, nil
}

// Verify checks the bundle's ECDSA signature of sha256(blob).
func (v KeyVerifier) Verify(_ context.Context, blob, bundle []byte) (string, error) {
	b, err := ParseBundle(bundle)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	sig, err := b.Signature()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	sum := sha256.Sum256(blob)
	if !ecdsa.VerifyASN1(v.Key, sum[:], sig) {
		return "", fmt.Errorf("%w: does not verify with the public key", ErrBadSignature)
	}
	return "key", nil
}

// IdentityVerifier checks keyless signatures (a Fulcio certificate, a Rekor
// entry) by running `cosign verify-blob`, which holds Sigstore's trust root:
// the certificate must name an identity matching IdentityRegexp, issued by
// Issuer. Without cosign the result is ErrNotChecked.
type IdentityVerifier struct {
	Cosign         string // the cosign binary; "" looks for cosign on PATH
	IdentityRegexp string // e.g. ^https://github.com/falcosecurity/dbg/\.github/workflows/publish-shards\.yml@refs/heads/main$
	Issuer         string // e.g. https://token.actions.githubusercontent.com
	TrustedRoot    string // optional --trusted-root file (offline trust material)
}

var _ SigVerifier = IdentityVerifier{}

// GitHubIssuer is the OIDC issuer of GitHub Actions' tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Verify runs cosign verify-blob on blob and bundle in a temp folder.
func (v IdentityVerifier) Verify(ctx context.Context, blob, bundle []byte) (string, error) {
	bin, err := findCosign(v.Cosign)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotChecked, err)
	}
	dir, err := os.MkdirTemp("", "dbg-verify-*")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotChecked, err)
	}
	defer os.RemoveAll(dir)
	blobPath, bundlePath := filepath.Join(dir, "blob"), filepath.Join(dir, "blob"+BundleSuffix)
	if err := writeBoth(blobPath, blob, bundlePath, bundle); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotChecked, err)
	}
	args := []string{"verify-blob", "--bundle", bundlePath,
		"--certificate-identity-regexp", v.IdentityRegexp, "--certificate-oidc-issuer", v.Issuer}
	if v.TrustedRoot != "" {
		args = append(args, "--trusted-root", v.TrustedRoot)
	}
	out, err := runCosign(ctx, bin, nil, append(args, blobPath)...)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: %w", ErrNotChecked, ctx.Err())
		}
		var exit *exec.ExitError
		switch last := lastLine(out); {
		case errors.As(err, &exit) && strings.Contains(last, "trusted root is required"):
			// cosign could not fetch Sigstore's trust root (offline): the
			// only failure that says nothing of the signature.
			return "", fmt.Errorf("%w: no Sigstore trust root (offline? pass a trusted root): cosign verify-blob: %s", ErrNotChecked, last)
		case errors.As(err, &exit):
			return "", fmt.Errorf("%w: cosign verify-blob: %s", ErrBadSignature, last)
		}
		return "", fmt.Errorf("%w: %w", ErrNotChecked, err)
	}
	by := "identity matching " + v.IdentityRegexp
	if b, err := ParseBundle(bundle); err == nil {
		if id, err := b.CertificateIdentity(); err == nil && id != "" {
			by = "identity " + id
		}
	}
	return by, nil
}

// DefaultIdentityRegexp is the identity of the publish workflow of
// falcosecurity/dbg on main, which signs what it publishes.
const DefaultIdentityRegexp = `^https://github\.com/falcosecurity/dbg/\.github/workflows/publish-shards\.yml@refs/heads/main$`

// VerifierOptions choose how signatures are checked.
type VerifierOptions struct {
	Key            string // a public key file (cosign.pub): check with it
	IdentityRegexp string // else keyless: the signer's identity (default DefaultIdentityRegexp)
	Issuer         string // its OIDC issuer (default GitHubIssuer)
	Cosign         string // the cosign binary (default: cosign on PATH)
	TrustedRoot    string // optional Sigstore trusted root file (offline)
}

// NewSigVerifier returns the verifier the options ask for: KeyVerifier
// with a key, else IdentityVerifier.
func NewSigVerifier(o VerifierOptions) (SigVerifier, error) {
	if o.Key != "" {
		key, err := LoadPublicKey(o.Key)
		if err != nil {
			return nil, err
		}
		return KeyVerifier{key}, nil
	}
	return IdentityVerifier{
		Cosign:         o.Cosign,
		IdentityRegexp: cmp.Or(o.IdentityRegexp, DefaultIdentityRegexp),
		Issuer:         cmp.Or(o.Issuer, GitHubIssuer),
		TrustedRoot:    o.TrustedRoot,
	}, nil
}

func writeBoth(p1 string, d1 []byte, p2 string, d2 []byte) error {
	if err := os.WriteFile(p1, d1, 0o600); err != nil {
		return err
	}
	return os.WriteFile(p2, d2, 0o600)
}

// findCosign resolves the cosign binary: path when given, else cosign on
// PATH.
func findCosign(path string) (string, error) {
	if path == "" {
		path = "cosign"
	}
	bin, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("cosign not found (%s): install it (make tools) or pass its path", path)
	}
	return bin, nil
}

// runCosign runs cosign with args and extra environment, returning its
// combined output.
func runCosign(ctx context.Context, bin string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// lastLine is the last non-empty line of a tool's output, for messages.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
