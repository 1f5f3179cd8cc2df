package grid

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// SelfDescription is what an artifact says about itself: read from the ELF
// file, never from its name.
type SelfDescription struct {
	Machine elf.Machine
	// Version is the driver version: a module's .modinfo "version", a
	// probe's "probe_version" section.
	Version string
	// KernelRelease is the `uname -r` it was built for: the first word of a
	// module's .modinfo "vermagic", a probe's "kernel_version" section.
	KernelRelease string
	// Vermagic is a module's whole vermagic string ("" for a probe).
	Vermagic string
}

// Describe reads what the artifact at path says about itself.
func Describe(path string, kind config.Kind) (SelfDescription, error) {
	f, err := elf.Open(path)
	if err != nil {
		return SelfDescription{}, fmt.Errorf("not an ELF object: %w", err)
	}
	defer f.Close()
	d := SelfDescription{Machine: f.Machine}
	if f.Type != elf.ET_REL {
		return d, fmt.Errorf("ELF type %s, want a relocatable object (ET_REL)", f.Type)
	}
	if kind == config.Probe {
		if d.Version, err = sectionString(f, "probe_version"); err != nil {
			return d, err
		}
		d.KernelRelease, err = sectionString(f, "kernel_version")
		return d, err
	}
	info, err := modinfo(f)
	if err != nil {
		return d, err
	}
	d.Version, d.Vermagic = info["version"], info["vermagic"]
	d.KernelRelease, _, _ = strings.Cut(d.Vermagic, " ")
	return d, nil
}

// modinfo reads the key=value entries of a module's .modinfo section.
func modinfo(f *elf.File) (map[string]string, error) {
	data, err := sectionData(f, ".modinfo")
	if err != nil {
		return nil, err
	}
	info := map[string]string{}
	for _, entry := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(entry), "="); ok {
			if _, dup := info[k]; !dup {
				info[k] = v
			}
		}
	}
	return info, nil
}

// sectionString is a section holding one NUL-terminated string.
func sectionString(f *elf.File, name string) (string, error) {
	data, err := sectionData(f, name)
	if err != nil {
		return "", err
	}
	s, _, _ := bytes.Cut(data, []byte{0})
	return string(s), nil
}

func sectionData(f *elf.File, name string) ([]byte, error) {
	sec := f.Section(name)
	if sec == nil {
		return nil, fmt.Errorf("no %s section", name)
	}
	if sec.Size > 1<<20 {
		return nil, fmt.Errorf("section %s is %d bytes, too large", name, sec.Size)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read section %s: %w", name, err)
	}
	return data, nil
}
