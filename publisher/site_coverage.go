package publisher

import "sort"

// coverageCell counts one target's kernels in one prefix: artifacts the
// target holds, by kind, and kernels whose last build failed or could
// not be tried and that have no artifact of that kind.
type coverageCell struct {
	Modules, Probes, Failed, NotBuildable int
}

// coverageRow is one target (distro) across every prefix, in the site's
// prefix order.
type coverageRow struct {
	Target string
	Cells  []coverageCell
}

// coverage counts kernels per target × prefix; kernels[i] are the
// kernels of prefix i out of n.
func coverage(kernels [][]*finderKernel) []coverageRow {
	rows := map[string][]coverageCell{}
	for i, ks := range kernels {
		for _, k := range ks {
			cells := rows[k.target]
			if cells == nil {
				cells = make([]coverageCell, len(kernels))
				rows[k.target] = cells
			}
			cells[i].add(k)
		}
	}
	out := make([]coverageRow, 0, len(rows))
	for t, cells := range rows {
		out = append(out, coverageRow{t, cells})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

func (c *coverageCell) add(k *finderKernel) {
	for i, cell := range k.cells {
		switch {
		case cell == nil:
		case cell.present && i == 0:
			c.Modules++
		case cell.present:
			c.Probes++
		case cell.status != nil && cell.status.Status == finderFailed:
			c.Failed++
		case cell.status != nil && cell.status.Status == finderNotBuildable:
			c.NotBuildable++
		}
	}
}

// The KernelStatus.Status values the page tells apart.
const (
	finderFailed       = "failed"
	finderNotBuildable = "not_buildable"
)
