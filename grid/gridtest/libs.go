package gridtest

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/blang/semver/v4"

	"github.com/falcosecurity/dbg/config"
)

// LibsEnv names the folder of real driver sources: falcosecurity/libs at
// +driver tags, packed like GitHub's archives as <version>.tar.gz, listed
// with their digests in a SHA256SUMS file.
const LibsEnv = "DBG_LIBS_DIR"

// libsHint says how to provide the real driver sources.
const libsHint = "set " + LibsEnv + " to a folder of <version>.tar.gz files with their SHA256SUMS, such as ../shared/data/libs"

// FindLibsDir returns the absolute path of the folder of real driver
// sources: $DBG_LIBS_DIR when set (it must be a folder holding a
// SHA256SUMS), else <repository root>/../shared/data/libs when it exists.
// Otherwise the error says how to provide one.
func FindLibsDir() (string, error) {
	if d := os.Getenv(LibsEnv); d != "" {
		abs, err := filepath.Abs(d)
		if err == nil {
			err = checkLibsDir(abs)
		}
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", LibsEnv, d, err)
		}
		return abs, nil
	}
	repo, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("find the real driver sources: %w; %s", err, libsHint)
	}
	d := filepath.Join(filepath.Dir(repo), "shared", "data", "libs")
	if _, err := os.Stat(d); err != nil {
		return "", fmt.Errorf("find the real driver sources: %s unset and no %s: %s", LibsEnv, d, libsHint)
	}
	if err := checkLibsDir(d); err != nil {
		return "", fmt.Errorf("find the real driver sources: %s: %w", d, err)
	}
	return d, nil
}

// checkLibsDir tells whether dir is a folder with a SHA256SUMS file.
func checkLibsDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("no such folder: %w; %s", err, libsHint)
	}
	if !st.IsDir() {
		return fmt.Errorf("not a folder; %s", libsHint)
	}
	if st, err := os.Stat(filepath.Join(dir, config.SumsFile)); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("no %s file in %s; %s", config.SumsFile, dir, libsHint)
	}
	return nil
}

// AddLibs serves the real driver sources of dir, in place, at
// /src/<version>.tar.gz (the path pattern of the miniature driver's
// sources, so SourceTemplate reaches both). It reads dir/SHA256SUMS,
// checks every listed <version>.tar.gz against its digest and reads its
// content, and returns one driver version per tarball, newest first by
// semver: SHA256 pinned from SHA256SUMS, Kinds [module, probe] when the
// tarball has a driver/bpf/ folder (the legacy eBPF probe), else [module].
// The result is also kept in l.Libs. Nothing is served when an error is
// returned.
func (l *Lab) AddLibs(dir string) ([]config.DriverVersion, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("add driver sources: %w", err)
	}
	sums, err := readSums(filepath.Join(dir, config.SumsFile))
	if err != nil {
		return nil, fmt.Errorf("add driver sources: %w", err)
	}
	type lib struct {
		dv   config.DriverVersion
		sv   semver.Version
		path string
	}
	libs := make([]lib, 0, len(sums))
	for _, s := range sums {
		path := filepath.Join(dir, s.file)
		got, hasProbe, err := inspectSource(path)
		if got != "" && got != s.sha256 {
			return nil, fmt.Errorf("add driver sources: %s: sha256 mismatch: %s lists %s, the file has %s", path, config.SumsFile, s.sha256, got)
		}
		if err != nil {
			return nil, fmt.Errorf("add driver sources: %w", err)
		}
		kinds := []config.Kind{config.Module}
		if hasProbe {
			kinds = append(kinds, config.Probe)
		}
		libs = append(libs, lib{dv: config.DriverVersion{Version: s.version, Kinds: kinds, SHA256: s.sha256}, sv: s.semver, path: path})
	}
	sort.SliceStable(libs, func(i, j int) bool { return libs[i].sv.GT(libs[j].sv) })
	out := make([]config.DriverVersion, len(libs))
	for i, lb := range libs {
		l.serveSource(lb.dv.Version, lb.path)
		out[i] = lb.dv
	}
	l.Libs = append([]config.DriverVersion(nil), out...)
	return out, nil
}

// serveSource serves the source tarball of version, the local file path,
// at /src/<version>.tar.gz.
func (l *Lab) serveSource(version, path string) {
	if l.sources == nil {
		l.sources = map[string]string{}
	}
	l.sources[version] = path
	l.srv.addFile("/src/"+version+".tar.gz", path)
}

// SourceTemplate is the driver source template of what the lab serves
// under /src/: <URL>/src/{version}.tar.gz.
func (l *Lab) SourceTemplate() string { return l.URL + "/src/{version}.tar.gz" }

// ServeTampered serves, under /tampered/, every source tarball the lab
// serves under /src/, the given version's with one byte changed, and
// returns the source template that points there,
// <URL>/tampered/{version}.tar.gz: a config dir using it gets the real
// bytes of every other version. The changed byte is in the gzip header's
// modification time: the copy is still a valid archive with the same files,
// so only a digest check tells it from the real one.
func (l *Lab) ServeTampered(version string) (string, error) {
	path, ok := l.sources[version]
	if !ok {
		return "", fmt.Errorf("serve tampered source: the lab serves no source of %s", version)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("serve tampered source: %w", err)
	}
	// gzip header: ID1 ID2 CM FLG MTIME(4) XFL OS; FLG bit 1 adds a header
	// CRC that a changed MTIME would break.
	if len(data) < 10 || data[0] != 0x1f || data[1] != 0x8b {
		return "", fmt.Errorf("serve tampered source: %s is not gzip", path)
	}
	if data[3]&0x02 != 0 {
		return "", fmt.Errorf("serve tampered source: %s has a gzip header CRC", path)
	}
	data[4] ^= 0xff
	for v, p := range l.sources {
		if v != version {
			l.srv.addFile("/tampered/"+v+".tar.gz", p)
		}
	}
	l.srv.addBlob("/tampered/"+version+".tar.gz", data)
	return l.URL + "/tampered/{version}.tar.gz", nil
}

// sumEntry is one line of a SHA256SUMS file of driver sources.
type sumEntry struct {
	sha256, file, version string
	semver                semver.Version
}

var (
	sumLine    = regexp.MustCompile(`^([0-9a-f]{64}) [ *](.+)$`)
	sourceName = regexp.MustCompile(`^([0-9A-Za-z.+-]+)\.tar\.gz$`)
)

// readSums parses a sha256sum file whose every line names a
// <version>.tar.gz in the same folder.
func readSums(path string) ([]sumEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []sumEntry
	seen := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, i+1)
		m := sumLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s: want \"<64 lowercase hex>  <version>.tar.gz\" as sha256sum writes it", where)
		}
		n := sourceName.FindStringSubmatch(m[2])
		if n == nil {
			return nil, fmt.Errorf("%s: %q is not a <version>.tar.gz in this folder", where, m[2])
		}
		sv, err := semver.Parse(n[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %q: not a semantic version: %w", where, n[1], err)
		}
		if seen[n[1]] {
			return nil, fmt.Errorf("%s: %s listed twice", where, m[2])
		}
		seen[n[1]] = true
		out = append(out, sumEntry{sha256: m[1], file: m[2], version: n[1], semver: sv})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no <version>.tar.gz", path)
	}
	return out, nil
}

// inspectSource returns the sha256 of the driver source tarball at path
// and whether it has the legacy eBPF probe (a driver/bpf/ folder under its
// one top-level folder). The digest is of the whole file, even when its
// content is not a valid archive (then the error says so); it is empty
// only when the file cannot be read.
func inspectSource(path string) (string, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	h := sha256.New()
	raw := io.TeeReader(bufio.NewReader(f), h)
	hasProbe, terr := scanArchive(raw)
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if terr != nil {
		return sum, false, fmt.Errorf("driver source %s: %w", path, terr)
	}
	return sum, hasProbe, nil
}

// scanArchive reads a GitHub-style source archive (tar.gz with one
// top-level folder) and tells whether it has <top>/driver/bpf/.
func scanArchive(r io.Reader) (bool, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return false, fmt.Errorf("not gzip: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	top, hasProbe := "", false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("not a tar archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // GitHub's pax_global_header (the commit id)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		first, rest, _ := strings.Cut(name, "/")
		switch {
		case first == "" || first == "..":
			return false, fmt.Errorf("entry %q outside a top-level folder", hdr.Name)
		case top == "":
			top = first
		case first != top:
			return false, fmt.Errorf("two top-level entries, %q and %q; want one folder, as GitHub's archives have", top, first)
		}
		if rest == "driver/bpf" || strings.HasPrefix(rest, "driver/bpf/") {
			hasProbe = true
		}
	}
	if top == "" {
		return false, errors.New("empty archive")
	}
	return hasProbe, nil
}
