package grid

import (
	"debug/elf"
	"fmt"

	"github.com/falcosecurity/dbg/config"
)

// checkArtifact checks what the artifact at path says about itself against
// what was asked for: the ELF machine of the config's architecture (BPF
// for a probe), the driver version, and the headers' `uname -r` (a module's
// vermagic starts with it; a probe's kernel_version section is it, which
// libscap requires of the running kernel). An artifact that fails is never
// installed.
func checkArtifact(path string, e Entry, k *config.Kernel, unameR string) error {
	d, err := Describe(path, e.Kind)
	if err != nil {
		return err
	}
	want := k.Architecture.ELFMachine()
	if e.Kind == config.Probe {
		want = elf.EM_BPF
	}
	switch {
	case d.Machine != want:
		return fmt.Errorf("ELF machine %s, want %s for a %s %s", d.Machine, want, k.Architecture, e.Kind)
	case d.Version != e.DriverVersion:
		return fmt.Errorf("it says driver version %q, want %q", d.Version, e.DriverVersion)
	case d.KernelRelease != unameR:
		return fmt.Errorf("it was built for kernel %q, want %q (the headers' uname -r)", d.KernelRelease, unameR)
	}
	return nil
}

// checkUnameR checks the `uname -r` read from the headers the build used:
// it is container output, so allowlisted; and on Debian its flavour must be
// the config's (driverkit's headers lookup can pick another flavour's
// headers, which builds a module for the wrong kernel).
func checkUnameR(unameR string, k *config.Kernel) error {
	if !config.ValidRelease(unameR) {
		return fmt.Errorf("the headers' uname -r (UTS_RELEASE in include/generated/utsrelease.h) is missing or invalid: %q", unameR)
	}
	if k.Target != "debian" {
		return nil
	}
	wantFlavour, wantArch, want := config.DebianFlavour(k.KernelRelease)
	gotFlavour, gotArch, got := config.DebianFlavour(unameR)
	if want && (!got || gotFlavour != wantFlavour || gotArch != wantArch) {
		return fmt.Errorf("the headers are of kernel %s, not of the flavour of %s", unameR, k.KernelRelease)
	}
	return nil
}
