package publisher

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// dbg verify: for every published artifact, rebuild it from what its
// provenance records (the same inputs, checked against their digests, in
// the same builder image) and compare the sha256 with the published one.

// Verdict is what verify found for one artifact.
type Verdict string

// The verdicts.
const (
	Reproduced   Verdict = "reproduced"
	Differs      Verdict = "differs"
	CannotVerify Verdict = "cannot verify"
)

// Verification is the verdict on one published artifact.
type Verification struct {
	Key       string  `json:"key"`
	Verdict   Verdict `json:"verdict"`
	Reason    string  `json:"reason,omitempty"`
	Published string  `json:"published_sha256"`
	Rebuilt   string  `json:"rebuilt_sha256,omitempty"`
}

// NewRebuilder makes the builder of a group of rebuilds: one driver
// version, one builder image and gcc, building into a scratch folder.
type NewRebuilder func(dv *config.DriverVersions, image, gcc string) Builder

// VerifyOptions tune Verify.
type VerifyOptions struct {
	Filter grid.Filter        // which artifacts (driver version, arch, target, kernelrelease)
	Load   config.LoadOptions // how recorded configs are validated (private URLs for labs)
	// Registries recorded builder images may come from (pinned by digest);
	// none: local images only.
	Registries []string
	// Signatures, when set, checks each verified prefix's signature bundle
	// (SHA256SUMS and provenance); its verdicts are in the report.
	Signatures SignatureChecker
}

// SignatureChecker checks the signatures published for one prefix of t: a
// short verdict ("valid", "missing", ...) and an error when the signature
// is present and wrong (a data error) or cannot be read (infrastructure).
type SignatureChecker interface {
	CheckSignature(ctx context.Context, t Target, p Prefix) (string, error)
}

// SignatureCheck is the signature verdict on one prefix.
type SignatureCheck struct {
	Prefix  Prefix `json:"prefix"`
	Verdict string `json:"verdict"`
	Error   string `json:"error,omitempty"`
}

// VerifyReport is what VerifyTarget found.
type VerifyReport struct {
	Artifacts  []Verification   `json:"artifacts"`
	Signatures []SignatureCheck `json:"signatures,omitempty"`
}

// ErrDiffers marks a published artifact whose rebuild gave other bytes
// (exit code 1).
var ErrDiffers = config.Classed(config.ErrData, "a rebuild differs from the published artifact")

// ErrNotVerified marks artifacts that could not be verified (an input gone,
// an image missing, no provenance): exit code 2.
var ErrNotVerified = config.Classed(config.ErrInfra, "some artifacts could not be verified")

// VerifyTarget checks every selected artifact of t. A target that cannot be read
// is an infrastructure error; the verdicts are in the result, and the error
// wraps ErrDiffers when one differs, else ErrNotVerified when one could not
// be verified.
func VerifyTarget(ctx context.Context, t Target, newBuilder NewRebuilder, opts VerifyOptions) (*VerifyReport, error) {
	prefixes, err := t.Prefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: list prefixes of %s: %w", config.ErrInfra, t, err)
	}
	rep := &VerifyReport{}
	var sigErrs []error
	var out []Verification
	var jobs []rebuildJob
	var at []int // index in out of each job
	for _, p := range prefixes {
		arch, _ := config.ParseArch(p.Arch)
		if !opts.Filter.DriverVersion.Match(p.DriverVersion) || !opts.Filter.Arch.MatchAny(p.Arch, string(arch)) {
			continue
		}
		vs, js, err := verifyPrefix(ctx, t, p, opts)
		if err != nil {
			rep.Artifacts = out
			return rep, err
		}
		if opts.Signatures != nil && len(vs) > 0 {
			verdict, err := opts.Signatures.CheckSignature(ctx, t, p)
			c := SignatureCheck{Prefix: p, Verdict: verdict}
			if err != nil {
				c.Error = err.Error()
				sigErrs = append(sigErrs, fmt.Errorf("signature of %s: %w", p, err))
			}
			rep.Signatures = append(rep.Signatures, c)
		}
		for _, j := range js {
			at = append(at, len(out)+j.index)
			jobs = append(jobs, j.rebuildJob)
		}
		out = append(out, vs...)
	}
	rebuild(ctx, jobs, at, out, newBuilder)
	rep.Artifacts = out
	return rep, errors.Join(append(sigErrs, verdictError(out))...)
}

// indexedJob is a rebuild and the verification it decides.
type indexedJob struct {
	rebuildJob
	index int
}

// verifyPrefix lists p's artifacts (digests from their bytes) and its
// provenance, and returns a verification per selected artifact with the
// rebuilds to run.
func verifyPrefix(ctx context.Context, t Target, p Prefix, opts VerifyOptions) ([]Verification, []indexedJob, error) {
	objs, err := t.List(ctx, p, Verify)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: list %s on %s: %w", config.ErrInfra, p, t, err)
	}
	statements := map[string]grid.Statement{}
	var bundleErr error
	if ps, ok := t.(ProvenanceStore); ok {
		data, err := ps.ReadProvenance(ctx, p)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: read provenance of %s on %s: %w", config.ErrInfra, p, t, err)
		}
		list, err := grid.ParseProvenance(data)
		bundleErr = err
		for _, s := range list {
			statements[s.SubjectName()] = s
		}
	}
	var out []Verification
	var jobs []indexedJob
	for _, o := range objs {
		v := Verification{Key: p.Key(o.File), Published: o.SHA256, Verdict: CannotVerify}
		s, ok := statements[o.File]
		kp := s.Predicate.BuildDefinition.ExternalParameters.Kernel
		narrowed := len(opts.Filter.Target) > 0 || len(opts.Filter.KernelRelease) > 0
		switch {
		case ok && (!opts.Filter.Target.Match(kp.Target) || !opts.Filter.KernelRelease.Match(kp.KernelRelease)):
			continue
		case !ok && narrowed:
			continue // which kernel it is for is unknown: file names are not parsed
		case bundleErr != nil:
			v.Reason = "provenance unreadable: " + bundleErr.Error()
		case !ok:
			v.Reason = "no provenance published for it"
		}
		if v.Reason == "" {
			j, err := rebuildOf(s, p, o.File, opts.Load, opts.Registries)
			if err != nil {
				v.Reason = err.Error()
			} else {
				jobs = append(jobs, indexedJob{j, len(out)})
				if s.SubjectSHA256() != o.SHA256 {
					v.Reason = fmt.Sprintf("the provenance names sha256 %s", s.SubjectSHA256())
				}
			}
		}
		out = append(out, v)
	}
	return out, jobs, nil
}

// rebuild runs the rebuilds, one builder per image, gcc and driver source,
// and records each verdict at its index.
func rebuild(ctx context.Context, jobs []rebuildJob, at []int, out []Verification, newBuilder NewRebuilder) {
	groups := map[string][]int{}
	var keys []string
	for i, j := range jobs {
		k := j.groupKey()
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	sort.Strings(keys)
	for _, k := range keys {
		idx := groups[k]
		first := jobs[idx[0]]
		plan := make([]grid.Entry, len(idx))
		for n, i := range idx {
			plan[n] = jobs[i].entry
		}
		rep, err := newBuilder(first.dv, first.image.Ref, first.gcc).Build(ctx, plan)
		for n, i := range idx {
			v := &out[at[i]]
			switch {
			case err != nil:
				v.Verdict, v.Reason = CannotVerify, "rebuild: "+err.Error()
			default:
				judge(v, jobs[i], rep.Builds[n])
			}
		}
	}
}

// judge sets v from the rebuild r of job j.
func judge(v *Verification, j rebuildJob, r grid.BuildResult) {
	why := v.Reason
	v.Verdict, v.Reason = CannotVerify, ""
	if r.Status != grid.Built {
		v.Reason = "rebuild " + string(r.Status) + ": " + r.Reason
		return
	}
	if id := j.image.ID; id != "" && (r.Image == nil || r.Image.ID != id) {
		got := "unknown"
		if r.Image != nil {
			got = r.Image.ID
		}
		v.Reason = fmt.Sprintf("builder image %s is %s here, the provenance records %s", j.image.Ref, got, id)
		if j.image.Digest != "" {
			v.Reason += fmt.Sprintf(" (docker pull %s, then tag it %s)", j.image.Digest, j.image.Ref)
		}
		return
	}
	for _, in := range r.Inputs {
		if want, ok := j.inputs[in.URL]; !ok || want != in.SHA256 {
			v.Reason = fmt.Sprintf("input %s has sha256 %s, the provenance records %q", in.URL, in.SHA256, want)
			return
		}
	}
	v.Rebuilt = r.SHA256
	if r.SHA256 == v.Published {
		v.Verdict = Reproduced
		return
	}
	v.Verdict, v.Reason = Differs, why
}

// verdictError is the error of a verification.
func verdictError(vs []Verification) error {
	counts := map[Verdict]int{}
	for _, v := range vs {
		counts[v.Verdict]++
	}
	switch {
	case counts[Differs] > 0:
		return fmt.Errorf("%w: %d of %d", ErrDiffers, counts[Differs], len(vs))
	case counts[CannotVerify] > 0:
		return fmt.Errorf("%w: %d of %d", ErrNotVerified, counts[CannotVerify], len(vs))
	}
	return nil
}
