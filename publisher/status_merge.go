package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
)

// mergeStatus merges the parts into base, entry by entry (an entry is a
// file name of the prefix): the entry of the latest run wins (by time;
// at the same time, the greater run id).
func mergeStatus(p Prefix, base *PrefixStatus, parts []*PrefixStatus) *PrefixStatus {
	byFile := map[string]KernelStatus{}
	for _, ps := range append([]*PrefixStatus{base}, parts...) {
		if ps == nil {
			continue
		}
		for _, k := range ps.Kernels {
			if old, ok := byFile[k.File]; !ok || later(k, old) {
				byFile[k.File] = k
			}
		}
	}
	out := &PrefixStatus{DriverVersion: p.DriverVersion, Arch: p.Arch, Kernels: make([]KernelStatus, 0, len(byFile))}
	for _, k := range byFile {
		out.Kernels = append(out.Kernels, k)
	}
	sort.Slice(out.Kernels, func(i, j int) bool { return out.Kernels[i].File < out.Kernels[j].File })
	return out
}

func later(a, b KernelStatus) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.Run > b.Run
}

// settle makes the status agree with what the target holds (held: its
// artifact file names in the prefix): an entry whose artifact is there is
// built, whatever a run said before (a kernel that later builds drops its
// failure); a built entry whose artifact is not there (its upload failed,
// or it was deleted since) is dropped.
func settle(ps *PrefixStatus, held map[string]bool) {
	out := ps.Kernels[:0]
	for _, k := range ps.Kernels {
		switch {
		case held[k.File]:
			k.Status, k.Reason, k.LogTail = StatusBuilt, "", ""
		case k.Status == StatusBuilt:
			continue
		}
		out = append(out, k)
	}
	ps.Kernels = out
}

// prefixStatus is p's status.json and its unmerged parts, read from st
// (names: the parts read); only the files st lists are read. A file that
// does not parse is left out with a warning: one broken part must not
// stop the index.
func prefixStatus(ctx context.Context, st StatusStore, p Prefix) (base *PrefixStatus, parts []*PrefixStatus, names []string, err error) {
	all, err := st.StatusFiles(ctx, p)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list the status files of %s: %w", p, err)
	}
	for _, name := range all {
		ps, err := readStatusFile(ctx, st, p, name)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case name == StatusFile:
			base = ps
		case ps != nil:
			parts = append(parts, ps)
			names = append(names, name)
		default:
			names = append(names, name)
		}
	}
	return base, parts, names, nil
}

func readStatusFile(ctx context.Context, st StatusStore, p Prefix, name string) (*PrefixStatus, error) {
	data, err := st.GetStatus(ctx, p, name)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", name, p, err)
	}
	if data == nil {
		return nil, nil
	}
	var ps PrefixStatus
	if err := json.Unmarshal(data, &ps); err != nil {
		slog.WarnContext(ctx, "status: ignoring a file that does not parse", "prefix", p.String(), "file", name, "err", err)
		return nil, nil
	}
	return &ps, nil
}

// ReadStatus is p's status as t has it now: its status.json merged with
// the parts not merged yet, settled against held (the artifact files t
// holds in p). A target that keeps no status has none (nil).
func ReadStatus(ctx context.Context, t Target, p Prefix, held []Object) (*PrefixStatus, error) {
	st, ok := t.(StatusStore)
	if !ok {
		return nil, nil
	}
	base, parts, _, err := prefixStatus(ctx, st, p)
	if err != nil {
		return nil, err
	}
	ps := mergeStatus(p, base, parts)
	settle(ps, heldFiles(held))
	return ps, nil
}

// MergeStatus is what `dbg index` does with p's status: it merges the
// parts into status.json (ReadStatus), writes it, then deletes the parts
// it merged (parts written meanwhile stay for the next index).
func MergeStatus(ctx context.Context, t Target, p Prefix, held []Object) (*PrefixStatus, error) {
	st, ok := t.(StatusStore)
	if !ok {
		return nil, nil
	}
	base, parts, names, err := prefixStatus(ctx, st, p)
	if err != nil {
		return nil, err
	}
	ps := mergeStatus(p, base, parts)
	settle(ps, heldFiles(held))
	data, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 && (base == nil && len(ps.Kernels) == 0 || sameStatus(base, data)) {
		return ps, nil // nothing new: no write
	}
	if err := st.PutStatus(ctx, p, StatusFile, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("write %s of %s: %w", StatusFile, p, err)
	}
	for _, name := range names {
		if err := st.DeleteStatus(ctx, p, name); err != nil {
			return nil, fmt.Errorf("delete merged %s of %s: %w", name, p, err)
		}
	}
	return ps, nil
}

func sameStatus(base *PrefixStatus, data []byte) bool {
	if base == nil {
		return false
	}
	old, err := json.MarshalIndent(base, "", "  ")
	return err == nil && bytes.Equal(old, data)
}

// putPart writes a run's part of p.
func putPart(ctx context.Context, st StatusStore, run string, ps *PrefixStatus) error {
	data, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return err
	}
	p := Prefix{ps.DriverVersion, ps.Arch}
	if err := st.PutStatus(ctx, p, PartName(run), append(data, '\n')); err != nil {
		return fmt.Errorf("write the status part of %s: %w", p, err)
	}
	return nil
}

// deleteStatus removes p's status.json and parts (cleanup of a retired
// driver version).
func deleteStatus(ctx context.Context, t Target, p Prefix) error {
	st, ok := t.(StatusStore)
	if !ok {
		return nil
	}
	names, err := st.StatusFiles(ctx, p)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := st.DeleteStatus(ctx, p, name); err != nil {
			return err
		}
	}
	return nil
}

func heldFiles(objs []Object) map[string]bool {
	out := make(map[string]bool, len(objs))
	for _, o := range objs {
		out[o.File] = true
	}
	return out
}

// StatusCounts are the counts `dbg stats --from` and the job summary print:
// "failed 12, not built 3, published 20,104".
type StatusCounts struct {
	Failed       int `json:"failed"`
	NotBuildable int `json:"not_buildable"`
	Published    int `json:"published"`
}

// Add counts ps's failed and not buildable entries.
func (c *StatusCounts) Add(ps *PrefixStatus) {
	if ps == nil {
		return
	}
	for _, k := range ps.Kernels {
		switch k.Status {
		case StatusFailed:
			c.Failed++
		case StatusNotBuildable:
			c.NotBuildable++
		}
	}
}

func (c StatusCounts) String() string {
	return fmt.Sprintf("failed %s, not built %s, published %s", thousands(c.Failed), thousands(c.NotBuildable), thousands(c.Published))
}
