package publisher

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/cosigntest"
	"github.com/falcosecurity/dbg/publisher/ghtest"
)

var sigPrefix = Prefix{"10.0.0+driver", "x86_64"}

// sigKit is cosign with a fresh key pair: a signer and a verifier of it.
type sigKit struct {
	cosign string
	keys   cosigntest.KeyPair
	signer CosignSigner
	key    KeyVerifier
}

func newSigKit(t *testing.T) sigKit {
	t.Helper()
	cosign := cosigntest.Binary(t)
	keys := cosigntest.NewKeyPair(t, cosign)
	pub, err := LoadPublicKey(keys.Public)
	if err != nil {
		t.Fatal(err)
	}
	return sigKit{cosign, keys, CosignSigner{Cosign: cosign, Key: keys.Private}, KeyVerifier{pub}}
}

func sigPublish(t *testing.T, target Target, as []Artifact) {
	t.Helper()
	if _, err := Publish(t.Context(), []Target{target}, as, Options{}); err != nil {
		t.Fatal(err)
	}
}

func sigSign(t *testing.T, target Target, s Signer, opts SignOptions) map[string]string {
	t.Helper()
	acts, err := Sign(t.Context(), target, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range acts {
		out[a.Key+"@"+a.Where] = a.Action
	}
	return out
}

// sigCheck returns file@where -> status (and by, for signed ones).
func sigCheck(t *testing.T, target Target, v SigVerifier) map[string]string {
	t.Helper()
	rs, err := CheckSignatures(t.Context(), target, sigPrefix, v)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rs {
		if r.Prefix != sigPrefix {
			t.Errorf("result %s: prefix %s, want %s", r, r.Prefix, sigPrefix)
		}
		s := string(r.Status)
		if r.Status == SigSigned {
			s += " by " + r.By
		}
		out[r.File+"@"+r.Where] = s
	}
	return out
}

func sigWant(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
}

// testSignTarget: a signed SHA256SUMS checks as signed; signing again keeps
// fresh bundles; a rewrite of SHA256SUMS (new artifacts) makes the bundle
// of the copy it changed stale, and signing again repairs exactly that one;
// another key's verifier says bad signature. wheres are the copies of
// SHA256SUMS the target holds after first (one "" on S3 and in folders;
// one per release on GitHub), after is the one more changes.
func testSignTarget(t *testing.T, target Target, first, more []Artifact, wheres []string, after string) sigKit {
	kit := newSigKit(t)
	sigPublish(t, target, first)
	signed, kept := map[string]string{}, map[string]string{}
	checked, staled := map[string]string{}, map[string]string{}
	sums := sigPrefix.Key(config.SumsFile)
	for _, w := range wheres {
		signed[sums+"@"+w], kept[sums+"@"+w] = "signed", "kept"
		checked[config.SumsFile+"@"+w] = "signed by key"
		staled[config.SumsFile+"@"+w] = "signed by key"
	}
	staled[config.SumsFile+"@"+after] = string(SigStale)
	unsigned := map[string]string{}
	for _, w := range wheres {
		unsigned[config.SumsFile+"@"+w] = string(SigUnsigned)
	}
	sigWant(t, "before signing", sigCheck(t, target, kit.key), unsigned)

	sigWant(t, "first sign", sigSign(t, target, kit.signer, SignOptions{}), signed)
	sigWant(t, "after signing", sigCheck(t, target, kit.key), checked)
	sigWant(t, "second sign", sigSign(t, target, kit.signer, SignOptions{}), kept)

	sigPublish(t, target, more)
	sigWant(t, "after a rewrite of SHA256SUMS", sigCheck(t, target, kit.key), staled)
	resigned := map[string]string{}
	for k, v := range kept {
		resigned[k] = v
	}
	resigned[sums+"@"+after] = "signed"
	sigWant(t, "sign after the rewrite", sigSign(t, target, kit.signer, SignOptions{}), resigned)
	sigWant(t, "after signing again", sigCheck(t, target, kit.key), checked)

	other := newSigKit(t)
	bad := map[string]string{}
	for k := range checked {
		bad[k] = string(SigBad)
	}
	sigWant(t, "another key", sigCheck(t, target, other.key), bad)
	return kit
}

func TestSignFolder(t *testing.T) {
	d := NewDir(t.TempDir())
	testSignTarget(t, d, ghArtifacts(t, sigPrefix, "", ghNames("a", 2)...),
		ghArtifacts(t, sigPrefix, "", ghNames("b", 1)...), []string{""}, "")
}

func TestSignS3(t *testing.T) {
	target, _ := s3Target(t, "")
	testSignTarget(t, target, ghArtifacts(t, sigPrefix, "", ghNames("a", 2)...),
		ghArtifacts(t, sigPrefix, "", ghNames("b", 1)...), []string{""}, "")
}

// On GitHub each release has its own SHA256SUMS and gets its own bundle:
// with 2 artifacts a release, 3 artifacts fill 2 releases, and one more
// changes only the second release's SHA256SUMS.
func TestSignGitHubReleases(t *testing.T) {
	const limit = 2 + ghMetaAssets
	s := ghtest.New(t)
	s.SetAssetLimit(limit)
	g := newGitHubTest(t, s)
	g.maxAssets = limit
	kit := testSignTarget(t, g, ghArtifacts(t, sigPrefix, "", ghNames("a", 3)...),
		ghArtifacts(t, sigPrefix, "", ghNames("b", 1)...),
		[]string{"10.0.0+driver_x86_64", "10.0.0+driver_x86_64_2"}, "10.0.0+driver_x86_64_2")

	// A new process (dbg sign after dbg index) lists the releases once, not
	// once per file it reads, and uploads nothing when all is fresh.
	g = newGitHubTest(t, s)
	g.maxAssets = limit
	lists, uploads := s.Requests("GET releases"), s.Requests("POST upload")
	sigSign(t, g, kit.signer, SignOptions{})
	if n := s.Requests("GET releases") - lists; n > 2 { // Prefixes, then the prefix's state
		t.Errorf("dbg sign listed the releases %d times", n)
	}
	if n := s.Requests("POST upload") - uploads; n != 0 {
		t.Errorf("dbg sign of fresh bundles uploaded %d assets", n)
	}
	for _, tag := range []string{"10.0.0+driver_x86_64", "10.0.0+driver_x86_64_2"} {
		n := 0
		for _, a := range s.Assets(tag) {
			if a.Name == BundleName(config.SumsFile) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("release %s has %d %s assets, want 1", tag, n, BundleName(config.SumsFile))
		}
	}
	// The bundle is no artifact: listings leave it out.
	objs, err := g.List(t.Context(), sigPrefix, Presence)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 4 {
		t.Errorf("listed %d artifacts, want 4: %v", len(objs), objs)
	}
}

// In a folder: the provenance is signed too; a missing bundle is unsigned;
// a bundle whose signature was altered (its digest still the file's) is a
// bad signature; cosign itself verifies what dbg signed, as a user would.
func TestSignFolderProvenanceTamperUnsigned(t *testing.T) {
	kit := newSigKit(t)
	root := t.TempDir()
	d := NewDir(root)
	sigPublish(t, d, ghArtifacts(t, sigPrefix, "", ghNames("a", 2)...))
	dir := filepath.Join(root, filepath.FromSlash(sigPrefix.Key("")))
	writeTestFile(t, filepath.Join(dir, grid.ProvenanceFile), `{"_type":"https://in-toto.io/Statement/v1"}`+"\n")

	sigWant(t, "sign", sigSign(t, d, kit.signer, SignOptions{}), map[string]string{
		sigPrefix.Key(config.SumsFile) + "@": "signed", sigPrefix.Key(grid.ProvenanceFile) + "@": "signed",
	})
	for _, f := range []string{config.SumsFile, grid.ProvenanceFile} {
		if out, err := cosigntest.VerifyBlob(t, kit.cosign, kit.keys.Public, filepath.Join(dir, BundleName(f)), filepath.Join(dir, f)); err != nil {
			t.Errorf("cosign verify-blob %s: %v\n%s", f, err, out)
		}
	}

	bundlePath := filepath.Join(dir, BundleName(config.SumsFile))
	good, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, bundlePath, string(alterSignature(t, good)))
	sigWant(t, "altered signature", sigCheck(t, d, kit.key), map[string]string{
		config.SumsFile + "@": string(SigBad), grid.ProvenanceFile + "@": "signed by key",
	})
	if out, err := cosigntest.VerifyBlob(t, kit.cosign, kit.keys.Public, bundlePath, filepath.Join(dir, config.SumsFile)); err == nil {
		t.Errorf("cosign verify-blob passes an altered signature:\n%s", out)
	}

	if err := os.Remove(filepath.Join(dir, BundleName(grid.ProvenanceFile))); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, bundlePath, "not json")
	sigWant(t, "no bundle, garbage bundle", sigCheck(t, d, kit.key), map[string]string{
		config.SumsFile + "@": string(SigBad), grid.ProvenanceFile + "@": string(SigUnsigned),
	})

	// Only the given files, and --force signs a fresh one again.
	writeTestFile(t, bundlePath, string(good))
	sigWant(t, "force", sigSign(t, d, kit.signer, SignOptions{Files: []string{config.SumsFile}, Force: true}),
		map[string]string{sigPrefix.Key(config.SumsFile) + "@": "signed"})
	sigWant(t, "after force", sigCheck(t, d, kit.key), map[string]string{
		config.SumsFile + "@": "signed by key", grid.ProvenanceFile + "@": string(SigUnsigned),
	})
}

// alterSignature flips one bit of the bundle's signature, keeping its
// message digest.
func alterSignature(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(bundle, &m); err != nil {
		t.Fatal(err)
	}
	ms, ok := m["messageSignature"].(map[string]any)
	if !ok {
		t.Fatalf("bundle has no messageSignature: %s", bundle)
	}
	sig, err := base64.StdEncoding.DecodeString(ms["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 1
	ms["signature"] = base64.StdEncoding.EncodeToString(sig)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cosign's older bundle (sign-blob --bundle without --new-bundle-format)
// records no digest: the key verifier checks its signature, and a change
// of the blob is a bad signature, never "stale".
func TestKeyVerifierOlderBundle(t *testing.T) {
	kit := newSigKit(t)
	dir := t.TempDir()
	blob := filepath.Join(dir, "SHA256SUMS")
	writeTestFile(t, blob, "0000000000000000000000000000000000000000000000000000000000000000  falco_a_1_1.ko\n")
	bundlePath := filepath.Join(dir, "old.json")
	cmd := exec.CommandContext(t.Context(), kit.cosign, "sign-blob", "--yes", "--key", kit.keys.Private,
		"--tlog-upload=false", "--bundle", bundlePath, blob)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, out)
	}
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(blob)
	if r := checkOne(t.Context(), kit.key, data, bundle); r.Status != SigSigned {
		t.Errorf("older bundle: %s, want signed (bundle %s)", r, bundle)
	}
	if r := checkOne(t.Context(), kit.key, append(data, '\n'), bundle); r.Status != SigBad {
		t.Errorf("older bundle, other bytes: %s, want bad signature", r)
	}
}

// The identity verifier runs cosign: without it, "not checked"; a bundle
// made with a key has no certificate, so no identity: cosign refuses it
// (Sigstore's trust root is out of reach here: an empty one stands in).
func TestIdentityVerifier(t *testing.T) {
	kit := newSigKit(t)
	blob := []byte("0000000000000000000000000000000000000000000000000000000000000000  falco_a_1_1.ko\n")
	bundle, err := kit.signer.SignBlob(t.Context(), blob)
	if err != nil {
		t.Fatal(err)
	}
	identity := IdentityVerifier{Cosign: kit.cosign, IdentityRegexp: "^https://github.com/falcosecurity/dbg/", Issuer: GitHubIssuer,
		TrustedRoot: cosigntest.EmptyTrustedRoot(t)}
	_, err = identity.Verify(t.Context(), blob, bundle)
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("keyless check of a key-signed bundle: %v, want a bad signature", err)
	}
	missing := IdentityVerifier{Cosign: filepath.Join(t.TempDir(), "cosign"), IdentityRegexp: ".*", Issuer: GitHubIssuer}
	r := checkOne(t.Context(), missing, blob, bundle)
	if r.Status != SigNotChecked || !strings.Contains(r.Reason, "cosign not found") {
		t.Errorf("without cosign: %s, want not checked, cosign not found", r)
	}
}

func TestCheckSignedFile(t *testing.T) {
	for name, ok := range map[string]bool{
		"SHA256SUMS": true, "provenance.intoto.jsonl": true, "status.json": true,
		"": false, "../x": false, "a/b": false, ".hidden": false, "falco_a_1_1.ko": false,
		"SHA256SUMS.sigstore.json": false, "a b": false,
	} {
		if err := CheckSignedFile(name); (err == nil) != ok {
			t.Errorf("CheckSignedFile(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

// A keyless bundle's certificate names the signer: read from either
// format. (Verifying it needs Sigstore's trust root: cosign does that.)
func TestBundleCertificateIdentity(t *testing.T) {
	const id = "https://github.com/falcosecurity/dbg/.github/workflows/publish-shards.yml@refs/heads/main"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(id)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), URIs: []*url.URL{u}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b64 := base64.StdEncoding.EncodeToString
	for name, bundle := range map[string]string{
		"new format": `{"verificationMaterial":{"certificate":{"rawBytes":"` + b64(der) + `"}},"messageSignature":{"signature":"AA=="}}`,
		"chain":      `{"verificationMaterial":{"x509CertificateChain":{"certificates":[{"rawBytes":"` + b64(der) + `"}]}},"messageSignature":{"signature":"AA=="}}`,
		"older":      `{"base64Signature":"AA==","cert":"` + b64(pemCert) + `"}`,
	} {
		b, err := ParseBundle([]byte(bundle))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := b.CertificateIdentity()
		if err != nil || got != id || !b.HasCertificate() {
			t.Errorf("%s: identity %q, %v; want %q", name, got, err, id)
		}
	}
	b, _ := ParseBundle([]byte(`{"verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"signature":"AA=="}}`))
	if got, err := b.CertificateIdentity(); got != "" || err != nil || b.HasCertificate() {
		t.Errorf("key bundle: identity %q, %v; want none", got, err)
	}
}

// The default keyless verifier accepts the publish workflow of
// falcosecurity/dbg on main only.
func TestNewSigVerifier(t *testing.T) {
	v, err := NewSigVerifier(VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iv, ok := v.(IdentityVerifier)
	if !ok || iv.Issuer != GitHubIssuer {
		t.Fatalf("default verifier %#v, want an IdentityVerifier for GitHub's issuer", v)
	}
	re := regexp.MustCompile(iv.IdentityRegexp)
	for id, want := range map[string]bool{
		"https://github.com/falcosecurity/dbg/.github/workflows/publish-shards.yml@refs/heads/main":      true,
		"https://github.com/falcosecurity/dbg/.github/workflows/publish-shards.yml@refs/heads/feature":   false,
		"https://github.com/someone/dbg/.github/workflows/publish-shards.yml@refs/heads/main":            false,
		"https://github.com/falcosecurity/dbg/.github/workflows/kernel-pr.yml@refs/heads/main":           false,
		"https://github.com/falcosecurity/dbg/.github/workflows/publish-shards.yml@refs/heads/main.evil": false,
	} {
		if re.MatchString(id) != want {
			t.Errorf("default identity regexp on %s: %v, want %v", id, !want, want)
		}
	}
	if _, err := NewSigVerifier(VerifierOptions{Key: filepath.Join(t.TempDir(), "none.pub")}); err == nil {
		t.Error("a missing key file is no error")
	}
}

// What dbg verify makes of a prefix's signatures: signed files pass, a
// rewritten SHA256SUMS (stale) and an altered signature fail as data
// (exit 1), a file without a bundle is only reported.
func TestSignaturesForVerify(t *testing.T) {
	kit := newSigKit(t)
	root := t.TempDir()
	d := NewDir(root)
	sigPublish(t, d, ghArtifacts(t, sigPrefix, "", ghNames("a", 2)...))
	check := Signatures{Verifier: kit.key}
	verdict, err := check.CheckSignature(t.Context(), d, sigPrefix)
	if err != nil || verdict != "SHA256SUMS unsigned: no .sigstore.json bundle beside it" {
		t.Errorf("unsigned: %q, %v; want reported, no error", verdict, err)
	}
	sigSign(t, d, kit.signer, SignOptions{})
	if verdict, err = check.CheckSignature(t.Context(), d, sigPrefix); err != nil || verdict != "SHA256SUMS signed (key)" {
		t.Errorf("signed: %q, %v", verdict, err)
	}
	sums := filepath.Join(root, filepath.FromSlash(sigPrefix.Key(config.SumsFile)))
	good, _ := os.ReadFile(sums)
	writeTestFile(t, sums, string(good)+strings.Repeat("0", 64)+"  falco_evil_1_1.ko\n")
	verdict, err = check.CheckSignature(t.Context(), d, sigPrefix)
	if !errors.Is(err, ErrSignature) || config.ExitCode(err) != 1 || !strings.HasPrefix(verdict, "SHA256SUMS stale") {
		t.Errorf("stale: %q, %v (exit %d); want ErrSignature, exit 1", verdict, err, config.ExitCode(err))
	}
	writeTestFile(t, sums, string(good))
	bundle := filepath.Join(root, filepath.FromSlash(sigPrefix.Key(BundleName(config.SumsFile))))
	data, _ := os.ReadFile(bundle)
	writeTestFile(t, bundle, string(alterSignature(t, data)))
	if verdict, err = check.CheckSignature(t.Context(), d, sigPrefix); !errors.Is(err, ErrSignature) || !strings.HasPrefix(verdict, "SHA256SUMS bad signature") {
		t.Errorf("bad: %q, %v", verdict, err)
	}
}
