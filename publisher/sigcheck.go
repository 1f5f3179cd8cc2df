package publisher

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// SignatureStatus is what CheckSignatures found for one signed file.
type SignatureStatus string

// The statuses.
const (
	// SigSigned: the bundle's signature of the file verifies.
	SigSigned SignatureStatus = "signed"
	// SigBad: the bundle is for these bytes but its signature does not
	// verify (or the bundle is unreadable).
	SigBad SignatureStatus = "bad signature"
	// SigUnsigned: the file has no bundle beside it.
	SigUnsigned SignatureStatus = "unsigned"
	// SigStale: the bundle was made for other bytes of the file (it was
	// rewritten after signing, or tampered with).
	SigStale SignatureStatus = "stale"
	// SigNotChecked: there is a bundle, but it could not be checked here.
	SigNotChecked SignatureStatus = "not checked"
)

// SignatureResult is the check of one copy of one signed file of a prefix.
type SignatureResult struct {
	Prefix Prefix          `json:"-"`
	File   string          `json:"file"`            // SHA256SUMS, provenance.intoto.jsonl
	Where  string          `json:"where,omitempty"` // GitHub: the release's tag
	Status SignatureStatus `json:"status"`
	By     string          `json:"by,omitempty"`     // signed: "key" or "identity <regexp>"
	Reason string          `json:"reason,omitempty"` // why not signed
}

func (r SignatureResult) String() string {
	s := fmt.Sprintf("%s %s", r.Prefix.Key(r.File), r.Status)
	if r.Where != "" {
		s = fmt.Sprintf("%s (release %s) %s", r.Prefix.Key(r.File), r.Where, r.Status)
	}
	switch {
	case r.By != "":
		return s + " (" + r.By + ")"
	case r.Reason != "":
		return s + ": " + r.Reason
	}
	return s
}

// CheckSignatures checks, for each of files present in p (SignedFiles when
// files is empty), every copy's signature bundle with v. A file the prefix
// does not hold gives no result; a failure to read the target is an error.
func CheckSignatures(ctx context.Context, t Target, p Prefix, v SigVerifier, files ...string) ([]SignatureResult, error) {
	pf, ok := t.(PrefixFiles)
	if !ok {
		return nil, fmt.Errorf("check signatures of %s in %s: the target cannot hold signatures", p, t)
	}
	if len(files) == 0 {
		files = SignedFiles
	}
	var out []SignatureResult
	for _, file := range files {
		rs, err := checkFile(ctx, pf, p, v, file)
		if err != nil {
			return nil, fmt.Errorf("check signatures of %s in %s: %w", p, t, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

func checkFile(ctx context.Context, pf PrefixFiles, p Prefix, v SigVerifier, file string) ([]SignatureResult, error) {
	copies, err := pf.ReadPrefixFiles(ctx, p, file)
	if err != nil || len(copies) == 0 {
		return nil, err
	}
	bundles, err := pf.ReadPrefixFiles(ctx, p, BundleName(file))
	if err != nil {
		return nil, err
	}
	byWhere := map[string][]byte{}
	for _, b := range bundles {
		byWhere[b.Where] = b.Data
	}
	out := make([]SignatureResult, len(copies))
	for i, c := range copies {
		out[i] = checkOne(ctx, v, c.Data, byWhere[c.Where])
		out[i].Prefix, out[i].File, out[i].Where = p, file, c.Where
	}
	return out, nil
}

// checkOne checks one blob against its bundle (nil: none).
func checkOne(ctx context.Context, v SigVerifier, blob, bundle []byte) SignatureResult {
	if bundle == nil {
		return SignatureResult{Status: SigUnsigned, Reason: "no " + BundleSuffix + " bundle beside it"}
	}
	b, err := ParseBundle(bundle)
	if err != nil {
		return SignatureResult{Status: SigBad, Reason: err.Error()}
	}
	if b.Stale(blob) {
		return SignatureResult{Status: SigStale, Reason: "the bundle was made for other bytes of the file"}
	}
	by, err := v.Verify(ctx, blob, bundle)
	switch {
	case err == nil:
		return SignatureResult{Status: SigSigned, By: by}
	case errors.Is(err, ErrNotChecked):
		return SignatureResult{Status: SigNotChecked, Reason: err.Error()}
	}
	return SignatureResult{Status: SigBad, Reason: err.Error()}
}

// ErrSignature marks a prefix whose signed file has a bad signature, or a
// bundle made for other bytes than those published (exit code 1).
var ErrSignature = config.Classed(config.ErrData, "signature does not hold")

// Signatures is the SignatureChecker of `dbg verify`: each prefix's signed
// files (SignedFiles) checked with Verifier. A bad or stale signature is a
// data error; a file without a bundle, or a bundle that could not be
// checked here, is reported and is no error (verify checks signatures when
// present).
type Signatures struct{ Verifier SigVerifier }

// CheckSignature implements SignatureChecker.
func (s Signatures) CheckSignature(ctx context.Context, t Target, p Prefix) (string, error) {
	rs, err := CheckSignatures(ctx, t, p, s.Verifier)
	if err != nil {
		return "not checked", fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	if len(rs) == 0 {
		return "nothing signed", nil
	}
	parts := make([]string, len(rs))
	var bad []string
	for i, r := range rs {
		parts[i] = r.File + " " + strings.TrimPrefix(r.String(), r.Prefix.Key(r.File)+" ")
		if r.Status == SigBad || r.Status == SigStale {
			bad = append(bad, r.File+" "+string(r.Status))
		}
	}
	if len(bad) > 0 {
		return strings.Join(parts, "; "), fmt.Errorf("%w: %s", ErrSignature, strings.Join(bad, ", "))
	}
	return strings.Join(parts, "; "), nil
}
