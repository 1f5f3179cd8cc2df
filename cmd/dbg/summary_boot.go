package main

import (
	"fmt"
	"io"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// printBootSummary prints the boot check's counts (--boot-check), nothing
// when no build has a boot result. The failed ones are among the failed
// builds printSummary lists; the reasons of the others are in the manifest.
func printBootSummary(stdout io.Writer, r *grid.Report) {
	counts := map[string]int{}
	var seconds float64
	for _, b := range r.Builds {
		if b.Boot != nil {
			counts[b.Boot.Status]++
			seconds += b.Boot.Seconds
		}
	}
	if len(counts) == 0 {
		return
	}
	fmt.Fprintf(stdout, "boot check: %d loaded, %d failed, %d not booted (%d probes); %.0f s in qemu\n",
		counts[grid.BootLoaded], counts[grid.BootFailed], counts[grid.BootNotBooted], probes(r), seconds)
}

// probes counts the builds whose boot result is that of a probe.
func probes(r *grid.Report) int {
	n := 0
	for _, b := range r.Builds {
		if b.Boot != nil && b.Boot.Status == grid.BootNotBooted && b.Kind == config.Probe {
			n++
		}
	}
	return n
}
