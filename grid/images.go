package grid

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/falcosecurity/dbg/config"
)

// imageKey is one builder image for one architecture.
type imageKey struct {
	image string
	arch  config.Arch
}

// imageSet prepares each builder image a run's kernels use, once per
// architecture, when the first kernel that needs it is about to build (its
// image is known only once its headers said which compiler built it). A
// failure fails only that image's kernels' builds, as infrastructure; the
// others go on.
type imageSet struct {
	backend  Backend
	describe func(ctx context.Context, image string) *ImageRef // for the provenance
	mu       sync.Mutex
	byKey    map[imageKey]*imageState
}

type imageState struct {
	once sync.Once
	ref  *ImageRef
	err  error
}

func newImageSet(backend Backend, describe func(ctx context.Context, image string) *ImageRef) *imageSet {
	return &imageSet{backend: backend, describe: describe, byKey: map[imageKey]*imageState{}}
}

// prepare makes sure image exists and runs arch's binaries, and describes
// it (ID, digest); concurrent and later callers of the same key wait for,
// and share, the first one's result.
func (s *imageSet) prepare(ctx context.Context, image string, arch config.Arch) (*ImageRef, error) {
	key := imageKey{image, arch}
	s.mu.Lock()
	st, ok := s.byKey[key]
	if !ok {
		st = &imageState{}
		s.byKey[key] = st
	}
	s.mu.Unlock()
	st.once.Do(func() {
		if err := s.backend.PrepareImage(ctx, image, arch); err != nil {
			slog.ErrorContext(ctx, "builder image", "image", image, "arch", arch, "err", err)
			st.err = fmt.Errorf("%w: %w", config.ErrInfra, err)
			return
		}
		st.ref = s.describe(ctx, image)
	})
	return st.ref, st.err
}
