package config

// Kernel is one kernel config: what driverkit needs to build a driver for one
// kernel of one distro. Field names follow driverkit's config keys.
type Kernel struct {
	KernelRelease    string   `yaml:"kernelrelease"`
	KernelVersion    string   `yaml:"kernelversion"`
	Target           string   `yaml:"target"`
	Architecture     Arch     `yaml:"architecture"`
	KernelURLs       []string `yaml:"kernelurls"`
	KernelConfigData string   `yaml:"kernelconfigdata,omitempty"`
	BuilderImage     string   `yaml:"builderimage,omitempty"`
	GCCVersion       string   `yaml:"gccversion,omitempty"`

	// Path is the config file the kernel was read from ("" when built in code).
	Path string `yaml:"-"`
	// pos records where each key's value stands in the file, for messages.
	pos map[string]position
	// malformed lists keys present with a value of the wrong shape.
	malformed map[string]bool
}

// has tells whether field was given with a well-formed value.
func (k *Kernel) has(field string) bool {
	_, ok := k.pos[field]
	return ok && !k.malformed[field]
}

type position struct{ line, col int }

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
