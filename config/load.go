package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
)

// DriverVersionsFile is the name of the driver versions file in the config dir.
const DriverVersionsFile = "driverversions.yaml"

// Load reads and validates every kernel config below dir/<arch>/. It returns
// the valid kernels sorted by path, and every problem found in any file. The
// error is for I/O failures only (an unreadable folder), not for bad configs.
//
// Builder images may come from the registries listed in
// dir/driverversions.yaml (its valid entries; the file's own problems are
// ReadDriverVersions') and from allowRegistries (--allow-registry). Configs
// whose artifacts would get the same GitHub asset name (AssetName) are
// invalid, every one of them. Symbolic links anywhere in dir, dir included,
// are refused, never followed.
func (o LoadOptions) Load(ctx context.Context, dir string, allowRegistries ...string) ([]*Kernel, Problems, error) {
	paths, probs, err := listConfigs(dir)
	if err != nil {
		return nil, nil, err
	}
	registries := append(dirRegistries(dir), allowRegistries...)
	sort.Strings(paths)
	kernels := make([]*Kernel, len(paths))
	fileProbs := make([]Problems, len(paths))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4 * runtime.GOMAXPROCS(0)) // file reads block in system calls
	for i, p := range paths {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			kernels[i], fileProbs[i] = loadFile(p, registries, o)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, fmt.Errorf("load configs in %s: %w", dir, err)
	}
	assetCollisions(kernels, fileProbs)
	for _, fp := range fileProbs {
		probs = append(probs, fp...)
	}
	valid, dupProbs := dropInvalid(kernels, fileProbs)
	probs = append(probs, dupProbs...)
	probs.Sort()
	return valid, probs, nil
}

// dirRegistries are the valid registries: entries of dir's
// driverversions.yaml; none when it cannot be read.
func dirRegistries(dir string) []string {
	dv, _ := ReadDriverVersions(filepath.Join(dir, DriverVersionsFile))
	if dv == nil {
		return nil
	}
	return ValidRegistries(dv.Registries)
}

// listConfigs finds dir/<arch>/*.yaml and reports misplaced files.
func listConfigs(dir string) ([]string, Problems, error) {
	var l configListing
	if fi, err := os.Lstat(filepath.Clean(dir)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		l.misplaced(dir, symlinkRefused)
		return nil, l.probs, nil
	}
	if err := l.list(dir, l.topEntry); err != nil {
		return nil, nil, err
	}
	return l.paths, l.probs, nil
}

// configListing is what listing the config dir finds: the paths of the
// kernel configs and the problems of the files that are misplaced.
type configListing struct {
	paths []string
	probs Problems
}

// list calls entry with every entry of the folder dir and its path.
func (l *configListing) list(dir string, entry func(path string, e fs.DirEntry) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read config dir: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case unsafeName(e.Name()):
			l.misplaced(filepath.Join(dir, strconv.Quote(e.Name())), "file name has control or bidirectional-text characters (shown escaped): rename it")
		case e.Type()&fs.ModeSymlink != 0:
			l.misplaced(path, symlinkRefused)
		default:
			if err := entry(path, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// symlinkRefused is the problem of a symbolic link in the config dir.
const symlinkRefused = "is a symbolic link: links are refused in the config dir, never followed (commit the file or folder itself)"

// shownField is a key of a config file as a problem shows it: quoted, with
// its bytes escaped, when unsafeName says it would not show as it is.
func shownField(key string) string {
	if unsafeName(key) {
		return strconv.Quote(key)
	}
	return key
}

// unsafeName tells whether a file name has bytes that a terminal or a CI
// log would not show as they are: ASCII control characters (below 0x20,
// 0x7f), Unicode bidirectional-text controls, or invalid UTF-8.
func unsafeName(name string) bool {
	if !utf8.ValidString(name) {
		return true
	}
	for _, r := range name {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0: // C0, DEL, C1
			return true
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return true // ALM, LRM, RLM, LRE..RLO, LRI..PDI
		}
	}
	return false
}

// misplaced reports the file at path.
func (l *configListing) misplaced(path, msg string) {
	l.probs = append(l.probs, Problem{Path: path, Msg: msg})
}

// topEntry takes an entry of the config dir: an architecture folder is
// listed; another folder, or a YAML file other than driverversions.yaml, is
// misplaced.
func (l *configListing) topEntry(path string, e fs.DirEntry) error {
	if !e.IsDir() {
		if isYAML(e.Name()) && e.Name() != DriverVersionsFile {
			l.misplaced(path, "kernel configs belong in an architecture folder (x86_64/ or aarch64/)")
		}
		return nil
	}
	if _, err := ArchFromMachine(e.Name()); err != nil {
		l.misplaced(path, err.Error())
		return nil
	}
	return l.list(path, l.archEntry)
}

// archEntry takes a .yaml file of an architecture folder as a kernel
// config; folders and .yml files are misplaced there (list refused links).
func (l *configListing) archEntry(path string, e fs.DirEntry) error {
	switch {
	case e.IsDir():
		l.misplaced(path, "unexpected folder: configs live directly in the architecture folder")
	case strings.HasSuffix(e.Name(), ".yaml"):
		l.paths = append(l.paths, path)
	case isYAML(e.Name()):
		l.misplaced(path, "kernel config files end in .yaml")
	}
	return nil
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// loadFile reads, decodes and validates one config and checks that its
// folder and file name agree with its content.
func loadFile(path string, registries []string, o LoadOptions) (*Kernel, Problems) {
	data, err := readLimited(path)
	if err != nil {
		return nil, Problems{{Path: path, Msg: err.Error()}}
	}
	k, probs := Decode(path, data)
	if k == nil {
		return nil, probs
	}
	probs = append(probs, k.validate(o, registries)...)
	probs = append(probs, k.checkLocation(nameFieldsOK(probs))...)
	return k, probs
}

// readLimited reads a config file of at most MaxFileSize bytes with as few
// system calls as it can (open, read, close): at 20,000 files they dominate.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 0, 4096)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > MaxFileSize:
			return nil, fmt.Errorf("file is larger than the %d bytes allowed", MaxFileSize)
		case errors.Is(err, io.EOF) || (err == nil && len(buf) < cap(buf)):
			return buf, nil // a short read of a regular file is its end
		case err != nil:
			return nil, fmt.Errorf("read config: %w", err)
		}
		buf = append(buf, 0)[:len(buf)]
	}
}

// nameFieldsOK tells whether the fields that make the file name are valid.
func nameFieldsOK(probs Problems) bool {
	for _, p := range probs {
		if p.Field == "target" || p.Field == "kernelrelease" || p.Field == "kernelversion" {
			return false
		}
	}
	return true
}

// checkLocation compares the file's folder and, when the name fields are
// valid, the file name with its content.
func (k *Kernel) checkLocation(checkName bool) Problems {
	var ps Problems
	folder := filepath.Base(filepath.Dir(k.Path))
	if m := k.Architecture.Machine(); m != "" && m != folder {
		ps = append(ps, k.problem("architecture", fmt.Sprintf("%s does not match the folder %s/ (amd64 lives in x86_64/, arm64 in aarch64/)", k.Architecture, folder)))
	}
	want := k.ID() + ".yaml"
	if got := filepath.Base(k.Path); checkName && got != want {
		ps = append(ps, Problem{Path: k.Path, Msg: fmt.Sprintf("file name does not match its content: want %s (<target>_<kernelrelease>_<kernelversion>.yaml)", want)})
	}
	return ps
}

// dropInvalid reports kernels defined twice (same arch, target, release and
// version; the later path is reported) and keeps the kernels whose files had
// no problem at all. kernels are in path order.
func dropInvalid(kernels []*Kernel, probs []Problems) ([]*Kernel, Problems) {
	var valid []*Kernel
	var dups Problems
	first := map[string]string{}
	for i, k := range kernels {
		if k == nil {
			continue
		}
		id := string(k.Architecture) + "/" + k.ID()
		prev, dup := first[id]
		if dup {
			dups = append(dups, Problem{Path: k.Path, Msg: "the same kernel is already defined in " + prev})
		} else {
			first[id] = k.Path
		}
		if !dup && len(probs[i]) == 0 {
			valid = append(valid, k)
		}
	}
	return valid, dups
}
