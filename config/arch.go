package config

import (
	"debug/elf"
	"fmt"
)

// Arch is a kernel architecture as configs spell it (Debian style).
type Arch string

// The architectures dbg builds for.
const (
	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
)

// Arches lists the supported architectures in a stable order.
var Arches = []Arch{AMD64, ARM64}

// Machine is the name consumers use in URLs and dbg uses for folders
// (`uname -m` style): x86_64 or aarch64.
func (a Arch) Machine() string {
	switch a {
	case AMD64:
		return "x86_64"
	case ARM64:
		return "aarch64"
	}
	return ""
}

// Machines lists the Machine spelling of every architecture, in the order
// of Arches.
func Machines() []string {
	out := make([]string, len(Arches))
	for i, a := range Arches {
		out[i] = a.Machine()
	}
	return out
}

// ELFMachine is the ELF machine of kernel modules for the architecture.
func (a Arch) ELFMachine() elf.Machine {
	switch a {
	case AMD64:
		return elf.EM_X86_64
	case ARM64:
		return elf.EM_AARCH64
	}
	return elf.EM_NONE
}

// ArchFromMachine maps x86_64/aarch64 back to amd64/arm64.
func ArchFromMachine(m string) (Arch, error) {
	for _, a := range Arches {
		if a.Machine() == m {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown architecture folder %q (want x86_64 or aarch64)", m)
}

// ParseArch accepts either spelling (amd64 or x86_64, arm64 or aarch64).
func ParseArch(s string) (Arch, error) {
	for _, a := range Arches {
		if string(a) == s || a.Machine() == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown architecture %q (want amd64/x86_64 or arm64/aarch64)", s)
}
