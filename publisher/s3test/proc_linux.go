package s3test

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills versitygw when the test binary dies (timeout panic,
// kill), so no server outlives its test.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
