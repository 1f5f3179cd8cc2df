package config

import (
	"sort"

	"github.com/falcosecurity/driverkit/pkg/driverbuilder/builder"
)

// Targets lists driverkit's targets, sorted (driverkit returns them unsorted).
func Targets() []string {
	ts := builder.Targets()
	sort.Strings(ts)
	return ts
}
