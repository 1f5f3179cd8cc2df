package publisher

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// Signatures. Each prefix's SHA256SUMS (and its provenance, when the prefix
// has one) is signed by cosign, and the Sigstore bundle lies beside it as
// <file>.sigstore.json (on GitHub, an asset of each release beside that
// release's SHA256SUMS). A signature vouches for the bytes of the file, and
// the file for the artifacts' digests: `cosign verify-blob` then
// `sha256sum -c` check a download end to end (README, "Checking a driver").
//
// SHA256SUMS is rewritten whenever a prefix gets new artifacts, so a bundle
// can be stale: made for other bytes of the file. The bundle's message
// digest tells a stale bundle (its digest is not the file's) from a bad
// signature (its digest is the file's, its signature does not verify).

// BundleSuffix ends the name of a file's signature bundle.
const BundleSuffix = ".sigstore.json"

// SignedFiles are the files of a prefix that are signed and checked, when
// present.
var SignedFiles = []string{config.SumsFile, grid.ProvenanceFile}

// BundleName is the name of file's signature bundle.
func BundleName(file string) string { return file + BundleSuffix }

// Bundle is what dbg reads of a Sigstore bundle: the new format
// (application/vnd.dev.sigstore.bundle*+json, cosign --new-bundle-format)
// or cosign's older one (base64Signature, cert, rekorBundle).
type Bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		Certificate *struct {
			RawBytes string `json:"rawBytes"`
		} `json:"certificate"`
		X509CertificateChain *struct {
			Certificates []struct {
				RawBytes string `json:"rawBytes"`
			} `json:"certificates"`
		} `json:"x509CertificateChain"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		MessageDigest struct {
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"messageDigest"`
		Signature string `json:"signature"`
	} `json:"messageSignature"`
	Base64Signature string `json:"base64Signature"` // older format
	Cert            string `json:"cert"`            // older format: base64 of the PEM
}

// ParseBundle reads a bundle and checks it holds a signature over a blob.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("read signature bundle: %w", err)
	}
	if b.MessageSignature == nil && b.Base64Signature == "" {
		return nil, errors.New("read signature bundle: no message signature (not a bundle of a blob)")
	}
	return &b, nil
}

// Signature returns the raw signature bytes.
func (b *Bundle) Signature() ([]byte, error) {
	enc := b.Base64Signature
	if b.MessageSignature != nil {
		enc = b.MessageSignature.Signature
	}
	sig, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("signature bundle: bad signature encoding")
	}
	return sig, nil
}

// Digest returns the sha256 the bundle says it signed; ok is false when it
// records none (the older format) or another algorithm.
func (b *Bundle) Digest() (sum []byte, ok bool) {
	if b.MessageSignature == nil || b.MessageSignature.MessageDigest.Algorithm != "SHA2_256" {
		return nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(b.MessageSignature.MessageDigest.Digest)
	return raw, err == nil && len(raw) == sha256.Size
}

// Stale tells whether the bundle was made for other bytes than blob: its
// recorded digest is not blob's. A bundle that records no digest is never
// stale (a signature that does not verify is then bad).
func (b *Bundle) Stale(blob []byte) bool {
	sum, ok := b.Digest()
	if !ok {
		return false
	}
	got := sha256.Sum256(blob)
	return string(sum) != string(got[:])
}

// HasCertificate tells a keyless signature (a Fulcio certificate) from one
// made with a key.
func (b *Bundle) HasCertificate() bool {
	vm := b.VerificationMaterial
	return vm.Certificate != nil || (vm.X509CertificateChain != nil && len(vm.X509CertificateChain.Certificates) > 0) || b.Cert != ""
}

// CheckSignedFile checks a name given as a prefix file to sign: a plain
// file name, neither an artifact nor a bundle.
func CheckSignedFile(name string) error {
	switch {
	case !signedFileName.MatchString(name):
		return fmt.Errorf("%q: want a file name of [A-Za-z0-9._-], starting with a letter or digit", name)
	case IsArtifact(name):
		return fmt.Errorf("%q is an artifact: sign its prefix's SHA256SUMS", name)
	case strings.HasSuffix(name, BundleSuffix):
		return fmt.Errorf("%q is a signature bundle", name)
	}
	return nil
}

var signedFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CertificateIdentity is the identity the bundle's signing certificate
// names (its first URI, else e-mail, subject alternative name), "" for a
// bundle made with a key. It is read, not verified: IdentityVerifier has
// cosign verify the certificate.
func (b *Bundle) CertificateIdentity() (string, error) {
	der, err := b.certificateDER()
	if err != nil || der == nil {
		return "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("signature bundle: certificate: %w", err)
	}
	switch {
	case len(cert.URIs) > 0:
		return cert.URIs[0].String(), nil
	case len(cert.EmailAddresses) > 0:
		return cert.EmailAddresses[0], nil
	}
	return "", errors.New("signature bundle: the certificate names no identity")
}

// certificateDER is the signing (leaf) certificate, nil when none.
func (b *Bundle) certificateDER() ([]byte, error) {
	vm := b.VerificationMaterial
	enc := ""
	switch {
	case vm.Certificate != nil:
		enc = vm.Certificate.RawBytes
	case vm.X509CertificateChain != nil && len(vm.X509CertificateChain.Certificates) > 0:
		enc = vm.X509CertificateChain.Certificates[0].RawBytes
	case b.Cert != "":
		pemBytes, err := base64.StdEncoding.DecodeString(b.Cert)
		if err != nil {
			return nil, fmt.Errorf("signature bundle: certificate: %w", err)
		}
		block, _ := pem.Decode(pemBytes)
		if block == nil {
			return nil, errors.New("signature bundle: certificate: no PEM block")
		}
		return block.Bytes, nil
	default:
		return nil, nil
	}
	der, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("signature bundle: certificate: %w", err)
	}
	return der, nil
}
