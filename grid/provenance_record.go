package grid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path"
)

// What made each artifact is recorded in its BuildResult while it is
// built: the builder image (describeImage), the fetched inputs with their
// digests and the digest of the rendered scripts (withInputs, record).
// provenance.go turns it into the published provenance.

// describeImage is what the backend tells of image: its reference alone
// when it cannot tell more.
func (b *Builder) describeImage(ctx context.Context, image string) *ImageRef {
	d, ok := b.runner.(ImageDescriber)
	if !ok {
		return &ImageRef{Ref: image}
	}
	ref, err := d.DescribeImage(ctx, image)
	if err != nil {
		slog.WarnContext(ctx, "builder image not described in the provenance", "image", image, "err", err)
		return &ImageRef{Ref: image}
	}
	return &ref
}

// withInputs gives each step of one driver version the kernel's header
// inputs after its driver source, the digest of its scripts (the headers
// script, then its own) and the gcc it builds with.
func withInputs(steps []step, headers []Input, headersScript []byte, gcc string) []step {
	for i := range steps {
		steps[i].gcc = gcc
		steps[i].inputs = append(append([]Input(nil), steps[i].inputs...), headers...)
		scripts := append([]File{{Path: "/dbg/headers.sh", Data: headersScript}}, steps[i].rendered...)
		steps[i].scripts = scriptsDigest(scripts)
		steps[i].rendered = nil
	}
	return steps
}

// scriptsDigest is the sha256 of the scripts of one build, each as its
// base name, its length and its bytes: independent of the step's folder,
// so that the same build in another job has the same digest.
func scriptsDigest(files []File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\n%d\n", path.Base(f.Path), len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// record writes what made the step's artifact into r.
func record(r *BuildResult, s step, image *ImageRef) {
	r.GCCVersion = s.gcc
	r.Inputs = s.inputs
	r.ScriptsSHA256 = s.scripts
	if image != nil {
		img := *image
		r.Image = &img
	}
}
