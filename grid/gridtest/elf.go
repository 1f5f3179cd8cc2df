package gridtest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
)

// ReadVermagic returns the vermagic string of a kernel module, read from
// its .modinfo section as `modinfo -F vermagic` prints it (Debian's end in
// a space: "6.1.0-56-amd64 SMP preempt mod_unload modversions ").
func ReadVermagic(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("read vermagic: %w", err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return "", fmt.Errorf("read vermagic of %s: no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return "", fmt.Errorf("read vermagic of %s: %w", path, err)
	}
	for _, entry := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(entry, []byte("vermagic=")); ok {
			return string(v), nil
		}
	}
	return "", fmt.Errorf("read vermagic of %s: no vermagic in .modinfo", path)
}

// IsEBPFObject tells whether path is an ELF object for the BPF machine
// (EM_BPF, 247), as a legacy eBPF probe is. A file that is not ELF at all
// is an error.
func IsEBPFObject(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			return false, fmt.Errorf("check eBPF object %s: not an ELF file: %w", path, err)
		}
		return false, fmt.Errorf("check eBPF object: %w", err)
	}
	defer f.Close()
	return f.Machine == elf.EM_BPF, nil
}
