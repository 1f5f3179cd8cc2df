package grid

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// The boot check's statuses (BootResult.Status).
const (
	BootLoaded    = "loaded"
	BootFailed    = "failed"
	BootNotBooted = "not_booted"
)

// BootOptions configure a Booter; zero values take the defaults.
type BootOptions struct {
	// Dir caches the kernel images extracted from their packages;
	// default <fetch cache>/boot.
	Dir string
	// Busybox is the static busybox of each architecture the initramfs
	// holds. Default: <Dir>/busybox-<arch> when there (deploy/boot/
	// fetch-busybox.sh), else, for the machine's own architecture, the
	// busybox on PATH (Debian's busybox-static).
	Busybox map[config.Arch]string
	// Timeout per boot, per architecture; default 2 min amd64, 3 min
	// arm64 (both boot in 5 to 15 s here; the margin is for a loaded
	// machine).
	Timeout map[config.Arch]time.Duration
}

var defaultBootTimeout = map[config.Arch]time.Duration{config.AMD64: 2 * time.Minute, config.ARM64: 3 * time.Minute}

// Booter is the boot check: it boots a module's own kernel under qemu
// (software emulation, as a normal process, never in the build
// container), loads the module and tells whether it loaded.
type Booter struct {
	fetcher *Fetcher
	opts    BootOptions
}

// NewBooter makes a boot check fetching kernel images through fetcher.
func NewBooter(fetcher *Fetcher, opts BootOptions) *Booter {
	if opts.Dir == "" {
		opts.Dir = filepath.Join(fetcher.dir, "boot")
	}
	return &Booter{fetcher: fetcher, opts: opts}
}

// BootRequest is one module to boot-check.
type BootRequest struct {
	Kernel        *config.Kernel
	UnameR        string // the headers' uname -r: the kernel to boot
	DriverVersion string // the version the driver must say it is
	Module        string // the .ko file
}

// Check boots the request's kernel with its module. The result is loaded,
// failed (the module did not load: Reason quotes insmod and the kernel) or
// not_booted (no kernel image: Reason says why). The error is set when
// the check could not run for a reason of the machine (qemu missing or
// failing, an image download failing transiently, the kernel not reaching
// init in time): the result is then not_booted with that reason.
func (b *Booter) Check(ctx context.Context, req BootRequest) (BootResult, error) {
	r, err := b.check(ctx, req)
	if err != nil {
		r.Status, r.Reason = BootNotBooted, err.Error()
	}
	if errors.Is(err, errNoImage) {
		err = nil
	}
	slog.InfoContext(ctx, "boot check", "kernel", req.UnameR, "status", r.Status, "seconds", r.Seconds, "reason", r.Reason)
	return r, err
}

func (b *Booter) check(ctx context.Context, req BootRequest) (BootResult, error) {
	arch := req.Kernel.Architecture
	kernel, from, err := b.kernelImage(ctx, req.Kernel, req.UnameR)
	r := BootResult{Kernel: from}
	if err != nil {
		return r, err
	}
	busybox, err := b.busybox(arch)
	if err != nil {
		return r, err
	}
	work, err := os.MkdirTemp("", "dbg-boot-")
	if err != nil {
		return r, fmt.Errorf("boot work folder: %w", err)
	}
	defer os.RemoveAll(work)
	initrd := filepath.Join(work, "initramfs.cpio")
	if err := writeInitramfs(initrd, busybox, req.Module); err != nil {
		return r, fmt.Errorf("write initramfs: %w", err)
	}
	timeout := b.timeout(arch)
	start := time.Now()
	out, timedOut, err := runQEMU(ctx, arch, kernel, initrd, timeout)
	r.Seconds = time.Since(start).Round(time.Millisecond).Seconds()
	if err != nil {
		return r, err
	}
	return b.judge(ctx, r, readConsole(out), req, timedOut, timeout)
}

// judge turns what the console said into the result.
func (b *Booter) judge(ctx context.Context, r BootResult, c console, req BootRequest, timedOut bool, timeout time.Duration) (BootResult, error) {
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("boot interrupted: %w", ctx.Err())
	case !c.started && timedOut:
		return r, fmt.Errorf("%w: the kernel did not reach init within %s: %s", errQEMU, timeout, strings.Join(c.lastLogs, " | "))
	case !c.started:
		return r, fmt.Errorf("%w: the kernel stopped before init: %s", errQEMU, strings.Join(c.lastLogs, " | "))
	}
	other := c.uname != req.UnameR // kernelimageurls naming another kernel's image
	if err := c.verdict(req.DriverVersion); err != nil {
		if timedOut {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		if other {
			err = fmt.Errorf("%w (in kernel %s, the image's, not %s, the headers')", err, c.uname, req.UnameR)
		}
		r.Status, r.Reason = BootFailed, err.Error()
		return r, nil
	}
	if other {
		return r, fmt.Errorf("%w: the module loaded, but the image is of kernel %s, not %s", errNoImage, c.uname, req.UnameR)
	}
	r.Status = BootLoaded
	r.Reason = strings.Join(c.kmsg, "; ")
	return r, nil
}

func (b *Booter) timeout(arch config.Arch) time.Duration {
	if t := b.opts.Timeout[arch]; t > 0 {
		return t
	}
	return defaultBootTimeout[arch]
}

// busybox finds the static busybox of arch (BootOptions.Busybox) and
// checks it is a static program of that architecture.
func (b *Booter) busybox(arch config.Arch) (string, error) {
	candidates := []string{b.opts.Busybox[arch], filepath.Join(b.opts.Dir, "busybox-"+string(arch))}
	if hostArch() == arch {
		if p, err := exec.LookPath("busybox"); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		return p, checkStatic(p, arch)
	}
	return "", fmt.Errorf("%w: no static busybox for %s (make tools, or deploy/boot/fetch-busybox.sh %s %s)", errQEMU, arch, arch, b.opts.Dir)
}

// checkStatic checks that path is a statically linked program of arch.
func checkStatic(path string, arch config.Arch) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: busybox %s: %w", errQEMU, path, err)
	}
	defer f.Close()
	if f.Machine != arch.ELFMachine() {
		return fmt.Errorf("%w: busybox %s is for %s, not %s", errQEMU, path, f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: busybox %s is dynamically linked (want Debian's busybox-static)", errQEMU, path)
		}
	}
	return nil
}

// hostArch is the machine's architecture: Go's names (amd64, arm64) are
// the configs'.
func hostArch() config.Arch { return config.Arch(runtime.GOARCH) }
