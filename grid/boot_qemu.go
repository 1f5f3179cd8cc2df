package grid

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// qemuMachine is how one architecture's kernels are booted: qemu's system
// emulator, its machine options and the kernel's serial console.
type qemuMachine struct {
	binary  string
	machine []string
	console string
}

var qemuMachines = map[config.Arch]qemuMachine{
	config.AMD64: {binary: "qemu-system-x86_64", console: "ttyS0"},
	config.ARM64: {binary: "qemu-system-aarch64", machine: []string{"-M", "virt", "-cpu", "cortex-a57"}, console: "ttyAMA0"},
}

// qemuArgs boots kernel with initrd under software emulation (TCG: no KVM,
// no privileges), one CPU, 512 MiB, no devices but the serial console on
// stdio, no network, no reboot (a panic, with panic=-1, ends qemu).
func qemuArgs(m qemuMachine, kernel, initrd string) []string {
	args := append([]string{}, m.machine...)
	return append(args,
		"-accel", "tcg", "-smp", "1", "-m", "512M",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console="+m.console+" panic=-1 quiet")
}

// errQEMU: qemu could not be started or failed before the kernel ran init.
var errQEMU = errors.New("qemu")

// runQEMU boots and returns the serial console's output. qemu is killed
// when ctx ends or timeout passes (timedOut then says so); its output up
// to then is returned either way.
func runQEMU(ctx context.Context, arch config.Arch, kernel, initrd string, timeout time.Duration) (out string, timedOut bool, err error) {
	m, ok := qemuMachines[arch]
	if !ok {
		return "", false, fmt.Errorf("%w: no machine for architecture %s", errQEMU, arch)
	}
	bin, err := exec.LookPath(m.binary)
	if err != nil {
		return "", false, fmt.Errorf("%w: %s not found (Debian: qemu-system-x86, qemu-system-arm): %w", errQEMU, m.binary, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, qemuArgs(m, kernel, initrd)...)
	buf := &tailBuffer{max: maxConsoleBytes}
	cmd.Stdout, cmd.Stderr = buf, buf // the same writer: one Write at a time
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %s: %w", errQEMU, m.binary, err)
	} else if ctx.Err() != nil {
		err = nil // the console says how far it got
	}
	return string(buf.Bytes()), timedOut, err
}

// maxConsoleBytes caps what is kept of a console (its end).
const maxConsoleBytes = 1 << 20
