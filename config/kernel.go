package config

// Kernel is one kernel config: what driverkit needs to build a driver for one
// kernel of one distro. Field names follow driverkit's config keys.
type Kernel struct {
	KernelRelease string   `yaml:"kernelrelease"`
	KernelVersion string   `yaml:"kernelversion"`
	Target        string   `yaml:"target"`
	Architecture  Arch     `yaml:"architecture"`
	KernelURLs    []string `yaml:"kernelurls"`
	// KernelImageURLs are where the boot check (--boot-check) finds the
	// kernel's image, for targets whose image URL dbg cannot derive from
	// the headers' (all but debian); optional (imageurls.go).
	KernelImageURLs  []string `yaml:"kernelimageurls,omitempty"`
	KernelConfigData string   `yaml:"kernelconfigdata,omitempty"`
	BuilderImage     string   `yaml:"builderimage,omitempty"`
	GCCVersion       string   `yaml:"gccversion,omitempty"`

	// Path is the config file the kernel was read from ("" when built in code).
	Path string `yaml:"-"`
	// pos records where each key's value stands in the file, for messages;
	// it is empty for a kernel built in code.
	pos map[string]position
	// reported lists the keys Decode already reported a problem for
	// (missing, or a value of the wrong shape): Validate does not report
	// them again.
	reported map[string]bool
}

type position struct{ line, col int }

// given tells whether the file the kernel was decoded from had the key.
func (k *Kernel) given(field string) bool {
	_, ok := k.pos[field]
	return ok
}

// problem makes a Problem about field of k, at the field's position if known.
func (k *Kernel) problem(field, msg string) Problem {
	p := Problem{Path: k.Path, Field: field, Msg: msg}
	if pos, ok := k.pos[field]; ok {
		p.Line, p.Col = pos.line, pos.col
	}
	return p
}

// ID is the kernel's identity: two configs with the same ID define the same
// kernel. It is also the config's file name without extension.
func (k *Kernel) ID() string {
	return k.Target + "_" + k.KernelRelease + "_" + k.KernelVersion
}
