package publisher

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// The finder's data: one file per prefix (finderData), each row a kernel
// of that prefix with what the target holds and what the last run
// recorded, per kind. Rows are arrays, not objects, to keep a prefix of
// 20,000 artifacts near 2.5 MB.

// finderData is the content of one prefix's data file.
type finderData struct {
	DriverVersion string `json:"dv"`
	// DriverVersionURL is the driver version as falcoctl writes it in a
	// URL (url.QueryEscape: 10.2.0+driver is 10.2.0%2Bdriver).
	DriverVersionURL string `json:"dv_url"`
	Arch             string `json:"arch"`
	// Kinds are the kinds the prefix holds or a run tried, in
	// config.Kinds order: a driver version without probes shows none.
	Kinds []string `json:"kinds"`
	// Rows: [stem, uname -r, module cell, probe cell], sorted by stem (the
	// file name without its extension). A cell is null when the target
	// holds no such artifact and no run recorded one, else
	// [sha256, size (-1: not held), status, reason, log tail, run, time],
	// trailing empty fields left out.
	Rows [][]any `json:"rows"`
}

// finderKernel gathers one kernel of a prefix while the data is built.
type finderKernel struct {
	stem, target, unameR string
	cells                [2]*finderCell // by kindIndex
}

type finderCell struct {
	sha256  string
	size    int64 // -1: the target does not hold it
	status  *KernelStatus
	present bool
}

// kindIndex is the position of a file's kind in a row; ok is false for a
// file that is no artifact (not .ko nor .o).
func kindIndex(file string) (stem string, i int, ok bool) {
	for i, k := range config.Kinds {
		if s, cut := strings.CutSuffix(file, k.Ext()); cut {
			return s, i, true
		}
	}
	return "", 0, false
}

// fileTarget is the target of an artifact that no status describes: the
// field after "falco_". File names are not parsed back into fields in
// general (a kernelversion can hold "_"), but a target cannot: config
// allows only lowercase letters, digits, dashes and dots in it, and so do
// the names driverkit and the older grids used.
func fileTarget(stem string) string {
	rest := strings.TrimPrefix(stem, config.DriverName+"_")
	t, _, _ := strings.Cut(rest, "_")
	return t
}

// prefixKernels merges a prefix's artifacts and statuses into kernels,
// sorted by stem.
func prefixKernels(p PrefixIndex, statuses []KernelStatus) []*finderKernel {
	byStem := map[string]*finderKernel{}
	get := func(stem string) *finderKernel {
		k := byStem[stem]
		if k == nil {
			k = &finderKernel{stem: stem, target: fileTarget(stem)}
			byStem[stem] = k
		}
		return k
	}
	for _, o := range p.Artifacts {
		if stem, i, ok := kindIndex(o.File); ok {
			get(stem).cells[i] = &finderCell{sha256: o.SHA256, size: o.Size, present: true}
		}
	}
	for i := range statuses {
		s := &statuses[i]
		stem, ki, ok := kindIndex(s.File)
		if !ok {
			continue
		}
		k := get(stem)
		if s.Target != "" {
			k.target = s.Target
		}
		if s.UnameR != "" {
			k.unameR = s.UnameR
		}
		if k.cells[ki] == nil {
			k.cells[ki] = &finderCell{size: -1}
		}
		k.cells[ki].status = s
	}
	out := make([]*finderKernel, 0, len(byStem))
	for _, k := range byStem {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].stem < out[j].stem })
	return out
}

// newFinderData is the data file of one prefix.
func newFinderData(p PrefixIndex, kernels []*finderKernel) finderData {
	d := finderData{DriverVersion: p.DriverVersion, DriverVersionURL: url.QueryEscape(p.DriverVersion),
		Arch: p.Arch, Rows: make([][]any, len(kernels))}
	var seen [2]bool
	for i, k := range kernels {
		d.Rows[i] = []any{k.stem, k.unameR, k.cells[0].row(), k.cells[1].row()}
		seen[0] = seen[0] || k.cells[0] != nil
		seen[1] = seen[1] || k.cells[1] != nil
	}
	for i, k := range config.Kinds {
		if seen[i] {
			d.Kinds = append(d.Kinds, string(k))
		}
	}
	return d
}

// row is the cell's JSON array (nil: null), without its trailing empty
// fields; a published artifact that built keeps no run nor time (they
// matter where something went wrong), which keeps the data small.
func (c *finderCell) row() any {
	if c == nil {
		return nil
	}
	size := c.size
	if !c.present {
		size = -1
	}
	r := []any{c.sha256, size, "", "", "", "", ""}
	if s := c.status; s != nil {
		r[2], r[3], r[4] = s.Status, s.Reason, s.LogTail
		if !c.present || s.Status != "built" {
			r[5] = s.Run
			if !s.Time.IsZero() {
				r[6] = s.Time.UTC().Format(time.RFC3339)
			}
		}
	}
	for len(r) > 2 && r[len(r)-1] == "" {
		r = r[:len(r)-1]
	}
	return r
}
