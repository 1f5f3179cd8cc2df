package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/falcosecurity/dbg/grid"
)

// printSummary prints counts per driver version, arch and kind (SKIPPED:
// neither built nor failed, not buildable included), and the
// failed builds with their reasons to stdout; the tails of the failed
// builds' logs go to stderr.
func printSummary(stdout, stderr io.Writer, r *grid.Report, out string) {
	type key struct{ dv, arch, kind string }
	counts := map[key]*[3]int{}
	var order []key
	for _, b := range r.Builds {
		k := key{b.DriverVersion, b.Arch, string(b.Kind)}
		if counts[k] == nil {
			counts[k] = &[3]int{}
			order = append(order, k)
		}
		switch b.Status {
		case grid.Built:
			counts[k][0]++
		case grid.Failed:
			counts[k][1]++
		default:
			counts[k][2]++
		}
	}
	rows := make([][]string, 0, len(order))
	for _, k := range order {
		c := counts[k]
		rows = append(rows, []string{k.dv, k.arch, k.kind, strconv.Itoa(c[0]), strconv.Itoa(c[1]), strconv.Itoa(c[2])})
	}
	_ = writeTable(stdout, []string{"DRIVER VERSION", "ARCH", "KIND", "BUILT", "FAILED", "SKIPPED"}, rows)
	for _, b := range r.Builds {
		if b.Status == grid.Failed {
			fmt.Fprintf(stdout, "FAILED %s: %s (log: %s)\n", b.Key, b.Reason, b.Log)
			if b.LogTail != "" {
				fmt.Fprintf(stderr, "--- %s: last lines of %s\n%s\n", b.File, b.Log, b.LogTail)
			}
		}
	}
	printBootSummary(stdout, r)
	notBuildable := ""
	if r.NotBuildable > 0 {
		notBuildable = fmt.Sprintf(", not buildable %d", r.NotBuildable)
	}
	fmt.Fprintf(stdout, "total %d: built %d, failed %d, skipped %d%s in %s; drivers in %s/driver/, manifest %s/%s\n",
		r.Total, r.Built, r.Failed, r.Skipped, notBuildable, r.Finished.Sub(r.Started).Round(1e9), out, out, grid.ManifestFile)
}
