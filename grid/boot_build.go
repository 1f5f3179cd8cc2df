package grid

import (
	"context"

	"github.com/falcosecurity/dbg/config"
)

// probeNotBooted is the boot result of a probe: loading one needs
// libscap's loader, which the boot check does not have.
const probeNotBooted = "probes are not boot-checked: loading one needs libscap's loader"

// bootCheck boot-checks the built artifact at src (BuildOptions.Boot)
// before it is installed, recording the result in r.Boot. It returns the
// reason the build fails ("" when it does not): the module did not load
// (data), or the check could not run (infra true). A module whose kernel
// has no image, and a probe, are not_booted and not failed. It runs in the
// kernel's build slot: boots and builds together stay within --jobs.
func (b *Builder) bootCheck(ctx context.Context, r *BuildResult, k *config.Kernel, src string) (reason string, infra bool) {
	if b.opts.Boot == nil {
		return "", false
	}
	if r.Kind != config.Module {
		r.Boot = &BootResult{Status: BootNotBooted, Reason: probeNotBooted}
		return "", false
	}
	boot, err := b.opts.Boot.Check(ctx, BootRequest{Kernel: k, UnameR: r.UnameR, DriverVersion: r.DriverVersion, Module: src})
	r.Boot = &boot
	switch {
	case err != nil:
		return "boot check could not run: " + err.Error(), true
	case boot.Status == BootFailed:
		return "boot check: " + boot.Reason, false
	}
	return "", false
}
