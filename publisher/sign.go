package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
)

// Signer makes the signature bundle of a blob.
type Signer interface {
	// SignBlob signs blob and returns its Sigstore bundle.
	SignBlob(ctx context.Context, blob []byte) ([]byte, error)
}

// CosignSigner signs by running `cosign sign-blob --new-bundle-format`.
// With Key, the signature is made with that cosign key (its password in
// COSIGN_PASSWORD) and, unless TlogUpload, never leaves the machine; without
// it, keyless: cosign takes an OIDC token from its environment (in GitHub
// Actions the job's id-token), gets a Fulcio certificate for it, and records
// the signature in Rekor.
type CosignSigner struct {
	Cosign     string // the cosign binary; "" looks for cosign on PATH
	Key        string // a cosign private key file; "" signs keyless
	TlogUpload bool   // record a signature made with Key in Rekor too
}

var _ Signer = CosignSigner{}

// SignBlob runs cosign on blob in a temp folder and returns the bundle.
func (c CosignSigner) SignBlob(ctx context.Context, blob []byte) ([]byte, error) {
	bin, err := findCosign(c.Cosign)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dbg-sign-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	blobPath, bundlePath := filepath.Join(dir, "blob"), filepath.Join(dir, "blob"+BundleSuffix)
	if err := os.WriteFile(blobPath, blob, 0o600); err != nil {
		return nil, err
	}
	args := []string{"sign-blob", "--yes", "--new-bundle-format", "--bundle", bundlePath}
	if c.Key != "" {
		args = append(args, "--key", c.Key, fmt.Sprintf("--tlog-upload=%t", c.TlogUpload))
	}
	if out, err := runCosign(ctx, bin, nil, append(args, blobPath)...); err != nil {
		return nil, fmt.Errorf("cosign sign-blob: %w: %s", err, lastLine(out))
	}
	return os.ReadFile(bundlePath)
}

// SignOptions say what Sign signs.
type SignOptions struct {
	Files []string // the prefix files to sign, when present (default SignedFiles)
	// Force signs again files whose bundle is for their current bytes.
	Force bool
}

// SignAction is what Sign did for one copy of one file.
type SignAction struct {
	Prefix Prefix `json:"-"`
	Key    string `json:"key"` // the file's key, driver/<dv>/<arch>/<file>
	Where  string `json:"where,omitempty"`
	Action string `json:"action"` // signed | kept (its bundle is for its bytes)
}

// Sign makes every prefix's signed files carry a fresh bundle beside them:
// each copy whose bundle is missing or stale (made for other bytes) is
// signed and its bundle written; a fresh one is kept (unless Force). It is
// meant to run after the last write of the target's SHA256SUMS (after dbg
// index): running it again repairs what a later write made stale.
func Sign(ctx context.Context, t Target, s Signer, opts SignOptions) ([]SignAction, error) {
	pf, ok := t.(PrefixFiles)
	if !ok {
		return nil, fmt.Errorf("sign %s: the target cannot hold signatures", t)
	}
	if len(opts.Files) == 0 {
		opts.Files = SignedFiles
	}
	prefixes, err := t.Prefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", t, err)
	}
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].String() < prefixes[j].String() })
	var out []SignAction
	for _, p := range prefixes {
		for _, file := range opts.Files {
			acts, err := signFile(ctx, pf, s, p, file, opts.Force)
			if err != nil {
				return out, fmt.Errorf("sign %s in %s: %w", p.Key(file), t, err)
			}
			out = append(out, acts...)
		}
	}
	return out, nil
}

func signFile(ctx context.Context, pf PrefixFiles, s Signer, p Prefix, file string, force bool) ([]SignAction, error) {
	copies, err := pf.ReadPrefixFiles(ctx, p, file)
	if err != nil || len(copies) == 0 {
		return nil, err
	}
	bundles, err := pf.ReadPrefixFiles(ctx, p, BundleName(file))
	if err != nil {
		return nil, err
	}
	fresh := map[string]bool{}
	for _, b := range bundles {
		fresh[b.Where] = true
		if pb, err := ParseBundle(b.Data); err != nil || !bundleFor(pb, copyOf(copies, b.Where)) {
			fresh[b.Where] = false
		}
	}
	var out []SignAction
	for _, c := range copies {
		act := SignAction{Prefix: p, Key: p.Key(file), Where: c.Where, Action: "kept"}
		if force || !fresh[c.Where] {
			bundle, err := s.SignBlob(ctx, c.Data)
			if err != nil {
				return out, err
			}
			if pb, err := ParseBundle(bundle); err != nil || !bundleFor(pb, c.Data) {
				return out, fmt.Errorf("the signer's bundle is not one of these bytes (%v)", err)
			}
			if err := pf.WritePrefixFile(ctx, p, c.Where, BundleName(file), bundle, "application/json"); err != nil {
				return out, err
			}
			act.Action = "signed"
			slog.InfoContext(ctx, "signed", "key", act.Key, "where", c.Where)
		}
		out = append(out, act)
	}
	return out, nil
}

// bundleFor tells whether b records the digest of blob (nil blob: no).
func bundleFor(b *Bundle, blob []byte) bool {
	_, ok := b.Digest()
	return ok && blob != nil && !b.Stale(blob)
}

func copyOf(copies []PrefixFile, where string) []byte {
	for _, c := range copies {
		if c.Where == where {
			return c.Data
		}
	}
	return nil
}
