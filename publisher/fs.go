package publisher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// Dir is a target in a local folder laid out like the bucket:
// <root>/driver/<driver version>/<arch>/<file>, as dbg build writes it.
type Dir struct{ root string }

var (
	_ Target     = (*Dir)(nil)
	_ SiteWriter = (*Dir)(nil)
)

// NewDir returns the folder target rooted at root.
func NewDir(root string) *Dir { return &Dir{root: root} }

func (d *Dir) String() string { return "file://" + d.root }

func (d *Dir) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// Preflight checks that the folder can be created and written.
func (d *Dir) Preflight(context.Context) error {
	dir := d.path(config.RootKey(""))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("preflight %s: %w", d, err)
	}
	f, err := os.CreateTemp(dir, ".preflight-*")
	if err != nil {
		return fmt.Errorf("preflight %s: %w", d, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Prefixes lists driver/<dv>/<arch> folders.
func (d *Dir) Prefixes(context.Context) ([]Prefix, error) {
	var out []Prefix
	dvs, err := os.ReadDir(d.path(config.RootKey("")))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d, err)
	}
	for _, dv := range dvs {
		if !dv.IsDir() {
			continue
		}
		arches, err := os.ReadDir(d.path(config.VersionKey(dv.Name())))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", d, err)
		}
		for _, a := range arches {
			if a.IsDir() {
				out = append(out, Prefix{dv.Name(), a.Name()})
			}
		}
	}
	return out, nil
}

// List lists the prefix's files; for digests it hashes them (a folder has
// no stored digests to trust, and its bytes are local).
func (d *Dir) List(_ context.Context, p Prefix, how Listing) ([]Object, error) {
	dir := d.path(p.Key(""))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", d, p, err)
	}
	var out []Object
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsArtifact(e.Name()) {
			continue
		}
		o := Object{File: e.Name(), Location: p.Key(e.Name())}
		if how == Presence {
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list %s/%s: %w", d, p, err)
			}
			o.Size, o.Modified = info.Size(), info.ModTime()
		} else if o.SHA256, o.Size, err = config.HashFile(filepath.Join(dir, e.Name())); err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", d, p, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// Put copies the artifact in atomically and checks the copy's digest.
func (d *Dir) Put(_ context.Context, a Artifact, replace bool) error {
	dst := d.path(a.Key())
	if _, err := os.Stat(dst); err == nil && !replace {
		return fmt.Errorf("put %s: %w", a.Key(), ErrExists)
	}
	if samePath(a.Path, dst) {
		return nil
	}
	sum, _, err := config.CopyFile(a.Path, dst)
	if err != nil {
		return fmt.Errorf("put %s: %w", a.Key(), err)
	}
	if sum != a.SHA256 {
		return fmt.Errorf("put %s: copied bytes have sha256 %s, want %s", a.Key(), sum, a.SHA256)
	}
	return nil
}

// WriteIndex writes the prefix's SHA256SUMS; objects without a digest are
// hashed (one that went away is left out).
func (d *Dir) WriteIndex(ctx context.Context, p Prefix, objects []Object) error {
	if needDigests(objects) {
		var hashErr error
		objects = fillFromIndex(ctx, d, p, objects, func(o Object) (string, bool) {
			sum, _, err := config.HashFile(d.path(p.Key(o.File)))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				hashErr = err
			}
			return sum, err == nil
		})
		if hashErr != nil {
			return fmt.Errorf("index %s/%s: %w", d, p, hashErr)
		}
	}
	return config.WriteFile(d.path(p.Key(config.SumsFile)), SHA256SUMS(objects))
}

// Delete removes one artifact.
func (d *Dir) Delete(_ context.Context, p Prefix, file string) error {
	if err := os.Remove(d.path(p.Key(file))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", p.Key(file), err)
	}
	return nil
}

// PutFile writes a site file under driver/.
func (d *Dir) PutFile(_ context.Context, name string, data []byte, _ string) error {
	return config.WriteFile(d.path(config.RootKey(name)), data)
}

// IsArtifact tells artifact files from a prefix's other files.
func IsArtifact(name string) bool {
	return strings.HasPrefix(name, "falco_") && (strings.HasSuffix(name, ".ko") || strings.HasSuffix(name, ".o"))
}

// SHA256SUMS renders objects in sha256sum's format, sorted by file name.
func SHA256SUMS(objects []Object) []byte {
	sums := make(map[string]string, len(objects))
	for _, o := range objects {
		sums[o.File] = o.SHA256
	}
	return config.FormatSums(sums)
}

func samePath(a, b string) bool {
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

var _ ProvenanceStore = (*Dir)(nil)

// ReadProvenance reads p's provenance bundle (nil when there is none).
func (d *Dir) ReadProvenance(_ context.Context, p Prefix) ([]byte, error) {
	data, err := os.ReadFile(d.path(p.Key(grid.ProvenanceFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// WriteProvenance replaces p's provenance bundle atomically (removes it when
// data is empty).
func (d *Dir) WriteProvenance(_ context.Context, p Prefix, data []byte) error {
	path := d.path(p.Key(grid.ProvenanceFile))
	if len(data) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return config.WriteFile(path, data)
}
