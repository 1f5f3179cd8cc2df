package config

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Changes is what changed in a config dir since a git revision.
type Changes struct {
	// Configs are the kernel configs added, modified or renamed (their new
	// paths, as Load reports them).
	Configs map[string]bool
	// Deleted are the kernel configs that no longer exist.
	Deleted []string
	// WindowMoved tells that driverversions.yaml now selects other driver
	// versions (or kinds) than at the revision: everything must be built.
	WindowMoved bool
	// Versions are the driver versions listed both now and at the revision
	// whose source changed: their effective source URL (SourceURL, so a
	// change of the top-level source template changes every version) or
	// their sha256. Every kernel must be built again for them.
	Versions map[string]bool
}

// ErrBadRevision is wrapped by ChangedSince's refusal of a revision that
// git would read as an option. It is a usage error.
var ErrBadRevision = Classed(ErrUsage, "bad revision")

// ChangedSince compares the config dir in the working tree with ref (git),
// judging driverversions.yaml, now and at ref, by o. ref reaches git only
// after --end-of-options, and one that starts with "-" is refused before
// git runs (ErrBadRevision).
func (o LoadOptions) ChangedSince(ctx context.Context, dir, ref string) (*Changes, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("%w %q: a git revision (a commit, branch or tag) cannot be empty or start with \"-\"", ErrBadRevision, ref)
	}
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	top = strings.TrimSpace(top)
	out, err := git(ctx, dir, "diff", "--name-status", "-M", "--no-color", "-z", "--end-of-options", ref, "--", ".")
	if err != nil {
		return nil, err
	}
	ch := &Changes{Configs: map[string]bool{}, Versions: map[string]bool{}}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range parseNameStatus(out) {
		ch.add(d, top, absDir, dir)
	}
	untracked, err := git(ctx, dir, "ls-files", "--others", "--exclude-standard", "--full-name", "-z", "--", ".")
	if err != nil {
		return nil, err
	}
	for _, p := range strings.Split(strings.TrimRight(untracked, "\x00"), "\x00") {
		if p != "" {
			ch.add(diffEntry{"A", p}, top, absDir, dir)
		}
	}
	dvPath := filepath.Join(dir, DriverVersionsFile)
	if ch.Configs[dvPath] {
		delete(ch.Configs, dvPath)
		err = ch.driverVersions(ctx, dir, ref, o)
	}
	return ch, err
}

type diffEntry struct{ status, path string }

// parseNameStatus reads `git diff --name-status -z`: status, then one path
// (two for renames and copies: old, new).
func parseNameStatus(out string) []diffEntry {
	f := strings.Split(strings.TrimRight(out, "\x00"), "\x00")
	var ds []diffEntry
	for i := 0; i < len(f); i++ {
		st := f[i]
		if st == "" || i+1 >= len(f) {
			continue
		}
		if st[0] == 'R' || st[0] == 'C' {
			if st[0] == 'R' {
				ds = append(ds, diffEntry{"D", f[i+1]})
			}
			if i+2 < len(f) {
				ds = append(ds, diffEntry{"A", f[i+2]})
			}
			i += 2
			continue
		}
		ds = append(ds, diffEntry{st[:1], f[i+1]})
		i++
	}
	return ds
}

// add records one changed file, given relative to the repository top, as a
// path relative to dir as the caller spelled it.
func (ch *Changes) add(d diffEntry, top, absDir, dir string) {
	rel, err := filepath.Rel(absDir, filepath.Join(top, filepath.FromSlash(d.path)))
	if err != nil || strings.HasPrefix(rel, "..") {
		return
	}
	p := filepath.Join(dir, rel)
	if d.status == "D" {
		if strings.HasSuffix(p, ".yaml") && p != filepath.Join(dir, DriverVersionsFile) {
			ch.Deleted = append(ch.Deleted, p)
		}
		return
	}
	ch.Configs[p] = true
}

// driverVersions compares driverversions.yaml now and at ref: the driver
// versions and kinds the window selects (WindowMoved), and the source of
// every version listed in both (Versions).
func (ch *Changes) driverVersions(ctx context.Context, dir, ref string, o LoadOptions) error {
	now, err := o.LoadDriverVersions(filepath.Join(dir, DriverVersionsFile))
	if err != nil {
		return err
	}
	prefix, err := git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return err
	}
	old, err := git(ctx, dir, "show", "--end-of-options", ref+":"+strings.TrimSpace(prefix)+DriverVersionsFile)
	if err != nil {
		ch.WindowMoved = true // the file is new: everything is new
		return nil
	}
	before, probs := o.DecodeDriverVersions(DriverVersionsFile+"@"+ref, []byte(old))
	if probs.Err() != nil {
		ch.WindowMoved = true
		return nil
	}
	ch.WindowMoved = windowKey(before) != windowKey(now)
	was := map[string]DriverVersion{}
	for _, v := range before.Versions {
		was[v.Version] = v
	}
	for _, v := range now.Versions {
		if b, ok := was[v.Version]; ok && (b.SHA256 != v.SHA256 || before.SourceURL(v.Version) != now.SourceURL(v.Version)) {
			ch.Versions[v.Version] = true
		}
	}
	return nil
}

func windowKey(dv *DriverVersions) string {
	var b strings.Builder
	for _, v := range dv.Newest() {
		fmt.Fprintf(&b, "%s%v;", v.Version, v.Kinds)
	}
	return b.String()
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
