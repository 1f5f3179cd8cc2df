package grid

import (
	"fmt"
	"path"
	"strings"
)

// Pattern is dbg's one matching syntax, used by every filter flag: a
// comma-separated list of shell globs (* any run of characters, ? one
// character, [abc] a class); a value matches when any glob matches all of it.
// The empty pattern matches everything.
type Pattern []string

// ParsePattern parses "a*,b?" and rejects malformed globs.
func ParsePattern(s string) (Pattern, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var p Pattern
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			return nil, fmt.Errorf("pattern %q has an empty alternative", s)
		}
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", g, err)
		}
		p = append(p, g)
	}
	return p, nil
}

// Match tells whether any glob of p matches s entirely.
func (p Pattern) Match(s string) bool {
	if len(p) == 0 {
		return true
	}
	for _, g := range p {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// MatchAny tells whether p matches any of the spellings.
func (p Pattern) MatchAny(spellings ...string) bool {
	for _, s := range spellings {
		if p.Match(s) {
			return true
		}
	}
	return false
}

// Filter selects plan entries. Each field is a Pattern; empty fields match all.
type Filter struct {
	DriverVersion Pattern
	Arch          Pattern
	Target        Pattern
	KernelRelease Pattern
}

// ParseFilter builds a Filter from the raw flag values.
func ParseFilter(driverVersion, arch, target, kernelRelease string) (Filter, error) {
	var f Filter
	var err error
	for _, x := range []struct {
		flag, raw string
		dst       *Pattern
	}{
		{"--driver-version", driverVersion, &f.DriverVersion},
		{"--arch", arch, &f.Arch},
		{"--target", target, &f.Target},
		{"--kernelrelease", kernelRelease, &f.KernelRelease},
	} {
		if *x.dst, err = ParsePattern(x.raw); err != nil {
			return Filter{}, fmt.Errorf("%s: %w", x.flag, err)
		}
	}
	return f, nil
}
