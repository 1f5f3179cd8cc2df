package grid

import (
	"context"
	"fmt"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/falcosecurity/dbg/config"
)

// A kernel's builds run on its own platform: linux/amd64 or linux/arm64,
// in a builder image made for that platform. An image's metadata is not
// trusted alone (a daemon that ignores `docker import --platform` labels an
// imported arm64 root amd64): PrepareImage runs the image's own `uname -m`
// before any build, so nothing is compiled with the wrong compiler.

const checkTimeout = 2 * time.Minute

// platform is the OCI platform of arch's builds.
func platform(arch config.Arch) *ocispec.Platform {
	return &ocispec.Platform{OS: "linux", Architecture: string(arch)}
}

// PrepareImage makes sure image exists (pulling it when missing) and runs
// arch's binaries: a trivial run of `uname -m` in it, on arch's platform,
// must print arch's machine (x86_64, aarch64). On a host of another
// architecture, that needs emulation (qemu-user with binfmt_misc), and the
// error says so.
func (d *Docker) PrepareImage(ctx context.Context, image string, arch config.Arch) error {
	if err := d.EnsureImage(ctx, image); err != nil {
		return d.platformError(arch, err)
	}
	res, err := d.Run(ctx, Job{Name: "check-" + arch.Machine(), Image: image, Cmd: []string{"uname", "-m"},
		Arch: arch, Timeout: checkTimeout})
	if err == nil && (res.ExitCode != 0 || strings.TrimSpace(string(res.Log)) != arch.Machine()) {
		err = fmt.Errorf("builder image %s runs %q (exit %d), not %s binaries", image, shorten(strings.TrimSpace(string(res.Log))), res.ExitCode, arch.Machine())
	}
	if err != nil {
		return d.platformError(arch, fmt.Errorf("check builder image %s: %w", image, err))
	}
	return nil
}

// platformError says what a host of another architecture needs.
func (d *Docker) platformError(arch config.Arch, err error) error {
	if d.machine == "" || d.machine == arch.Machine() {
		return err
	}
	return fmt.Errorf("%s kernels need an %s Docker host or qemu-user emulation (this daemon runs %s): %w", arch.Machine(), arch, d.machine, err)
}

// createPlatform is the platform to ask the daemon for when creating a
// container of job: the job's, when the image's metadata agrees (the
// daemon then honours it); none otherwise, since PrepareImage already
// checked what the image runs.
func (d *Docker) createPlatform(ctx context.Context, job Job) *ocispec.Platform {
	if job.Arch == "" {
		return nil
	}
	img, err := d.api.ImageInspect(ctx, job.Image)
	if err != nil || img.Architecture != string(job.Arch) || img.Os != "linux" {
		return nil
	}
	return platform(job.Arch)
}
