package publisher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// rebuilder is a fake rebuild: it returns, for each entry, a built result
// with the bytes, image and inputs it is given.
type rebuilder struct {
	sha    map[string]string // file -> sha256 of the rebuild
	image  string
	inputs func(grid.Entry) []grid.Input
	calls  *int
}

func (r rebuilder) Build(_ context.Context, plan []grid.Entry) (*grid.Report, error) {
	*r.calls++
	var rs []grid.BuildResult
	for _, e := range plan {
		rs = append(rs, grid.BuildResult{Entry: e, Status: grid.Built, SHA256: r.sha[e.File],
			Image: &grid.ImageRef{Ref: "dbg-builder:bookworm-amd64", ID: r.image}, Inputs: r.inputs(e)})
	}
	return grid.NewReport(time.Now(), rs), nil
}

type signatures map[Prefix]string

func (s signatures) CheckSignature(_ context.Context, _ Target, p Prefix) (string, error) {
	return s[p], nil
}

// The verdicts of dbg verify from what a rebuild gives: the same bytes are
// reproduced, other bytes differ (exit 1); a changed input, another image,
// a missing or invalid statement cannot be verified (exit 2), naming why.
// Each prefix's signature verdict comes from the checker.
func TestVerifyVerdicts(t *testing.T) {
	root := t.TempDir()
	target := NewDir(root)
	dv := "9.1.0+driver"
	urls := []string{
		"https://deb.debian.org/debian/pool/main/l/linux/linux-headers-6.1.0-40-amd64_6.1.170-3_amd64.deb",
		"https://deb.debian.org/debian/pool/main/l/linux/linux-headers-6.1.0-40-common_6.1.170-3_all.deb",
		"https://deb.debian.org/debian/pool/main/l/linux/linux-kbuild-6.1_6.1.170-3_amd64.deb",
	}
	source := "https://github.com/falcosecurity/libs/archive/" + dv + ".tar.gz"
	id := "sha256:" + strings.Repeat("c", 64)
	kernel := func(release string) *config.Kernel {
		return &config.Kernel{KernelRelease: release, KernelVersion: "1", Target: "debian", Architecture: config.AMD64, KernelURLs: urls}
	}
	inputs := []grid.Input{{URL: source, SHA256: strings.Repeat("1", 64)}}
	for _, u := range urls {
		inputs = append(inputs, grid.Input{URL: u, SHA256: strings.Repeat("2", 64)})
	}
	var bundle []grid.Statement
	published := map[string]string{}
	for i, release := range []string{"6.1.170-3-amd64", "6.1.171-1-amd64", "6.1.172-1-amd64", "6.1.173-1-amd64", "6.1.175-1-amd64"} {
		e := entry(kernel(release), config.Module)
		a := artifact(t, root, dv, e.File, "module "+release)
		published[e.File] = a.SHA256
		r := grid.BuildResult{Entry: e, Status: grid.Built, SHA256: a.SHA256, Inputs: inputs,
			Image: &grid.ImageRef{Ref: "dbg-builder:bookworm-amd64", ID: id}, GCCVersion: "12", ScriptsSHA256: strings.Repeat("3", 64)}
		switch i {
		case 3:
			r.Kernel = &config.Kernel{KernelRelease: release, KernelVersion: "1", Target: "debian", Architecture: config.AMD64} // no URLs: invalid
		case 4:
			r.Image = &grid.ImageRef{Ref: "ghcr.io/someone/builder:latest", ID: id} // a registry not allowed, no digest
		}
		bundle = append(bundle, grid.NewStatement(r, &grid.Report{}))
	}
	orphan := artifact(t, root, dv, "falco_debian_6.1.174-1-amd64_1.ko", "no provenance")
	data, err := grid.MergeProvenance(nil, bundle, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := Prefix{dv, "x86_64"}
	if err := target.WriteProvenance(t.Context(), p, data); err != nil {
		t.Fatal(err)
	}
	files := []string{bundle[0].SubjectName(), bundle[1].SubjectName(), bundle[2].SubjectName(), bundle[3].SubjectName(), bundle[4].SubjectName()}
	rebuilt := map[string]string{files[0]: published[files[0]], files[1]: strings.Repeat("f", 64), files[2]: published[files[2]]}
	calls := 0
	rb := rebuilder{sha: rebuilt, image: id, calls: &calls, inputs: func(e grid.Entry) []grid.Input {
		if e.File == files[2] { // the server now serves other bytes for a header
			return append(append([]grid.Input(nil), inputs[:1]...), grid.Input{URL: urls[0], SHA256: strings.Repeat("9", 64)})
		}
		return inputs
	}}
	newBuilder := func(*config.DriverVersions, string, string) Builder { return rb }
	rep, err := VerifyTarget(t.Context(), target, newBuilder, VerifyOptions{Signatures: signatures{p: "valid"}})
	if !errors.Is(err, ErrDiffers) || config.ExitCode(err) != 1 {
		t.Errorf("VerifyTarget: %v, want ErrDiffers (exit 1)", err)
	}
	want := map[string]struct {
		verdict Verdict
		reason  string
	}{
		files[0]:    {Reproduced, ""},
		files[1]:    {Differs, ""},
		files[2]:    {CannotVerify, "input " + urls[0] + " has sha256 " + strings.Repeat("9", 64)},
		files[3]:    {CannotVerify, "recorded kernel config"},
		files[4]:    {CannotVerify, "no registry is allowed"},
		orphan.File: {CannotVerify, "no provenance"},
	}
	if len(rep.Artifacts) != len(want) || calls != 1 {
		t.Fatalf("%d verdicts, %d rebuild calls: %+v", len(rep.Artifacts), calls, rep.Artifacts)
	}
	for _, v := range rep.Artifacts {
		w := want[filepath.Base(v.Key)]
		if v.Verdict != w.verdict || !strings.Contains(v.Reason, w.reason) || v.Published != published[filepath.Base(v.Key)] && filepath.Base(v.Key) != orphan.File {
			t.Errorf("%s: %s %q (published %s), want %s %q", v.Key, v.Verdict, v.Reason, v.Published, w.verdict, w.reason)
		}
	}
	if len(rep.Signatures) != 1 || rep.Signatures[0].Verdict != "valid" {
		t.Errorf("signatures: %+v", rep.Signatures)
	}

	// Another builder image here than the recorded one: cannot verify.
	rb.image = "sha256:" + strings.Repeat("d", 64)
	os.Remove(orphan.Path)
	rep, err = VerifyTarget(t.Context(), target, func(*config.DriverVersions, string, string) Builder { return rb },
		VerifyOptions{Filter: grid.Filter{KernelRelease: grid.Pattern{"6.1.170-3-amd64"}}})
	if len(rep.Artifacts) != 1 || rep.Artifacts[0].Verdict != CannotVerify || !strings.Contains(rep.Artifacts[0].Reason, "builder image") ||
		!errors.Is(err, ErrNotVerified) || config.ExitCode(err) != 2 {
		t.Errorf("another image: %v, %+v", err, rep.Artifacts)
	}
}
