package grid

import (
	"context"
	"fmt"
	"strings"
)

// ImageDescriber tells which image a reference names: its ID and, when it
// came from a registry, its digest (Docker implements it). A Backend that
// does not leaves the builds' Image with the reference alone.
type ImageDescriber interface {
	DescribeImage(ctx context.Context, ref string) (ImageRef, error)
}

var _ ImageDescriber = (*Docker)(nil)

// DescribeImage inspects the local image ref: its ID (sha256:...) and the
// registry digest of its repository (repo@sha256:...), if it has one.
func (d *Docker) DescribeImage(ctx context.Context, ref string) (ImageRef, error) {
	img, err := d.api.ImageInspect(ctx, ref)
	if err != nil {
		return ImageRef{}, fmt.Errorf("inspect builder image %s: %w", ref, err)
	}
	out := ImageRef{Ref: ref, ID: img.ID}
	repo := imageRepository(ref)
	for _, rd := range img.RepoDigests {
		if name, _, ok := strings.Cut(rd, "@"); ok && (name == repo || len(img.RepoDigests) == 1) {
			out.Digest = rd
			break
		}
	}
	return out, nil
}

// imageRepository is ref without its tag or digest.
func imageRepository(ref string) string {
	if name, _, ok := strings.Cut(ref, "@"); ok {
		return name
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}
