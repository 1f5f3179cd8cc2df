package publisher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/falcosecurity/dbg/config"
)

// PrefixFile is one copy of a file a target keeps beside a prefix's
// artifacts (SHA256SUMS, a provenance, a signature bundle).
type PrefixFile struct {
	// Where tells the copies apart: "" on S3 and in folders (one per
	// prefix); on GitHub the tag of the release that holds it (each release
	// of a prefix has its own SHA256SUMS).
	Where string
	Data  []byte
}

// PrefixFiles is implemented by targets that keep files of their own beside
// a prefix's artifacts: what signing reads and writes.
type PrefixFiles interface {
	// ReadPrefixFiles returns every copy of name in p; none is an empty
	// list, a failed read an error.
	ReadPrefixFiles(ctx context.Context, p Prefix, name string) ([]PrefixFile, error)
	// WritePrefixFile makes name, beside the copy of the prefix's files
	// that where names, hold data.
	WritePrefixFile(ctx context.Context, p Prefix, where, name string, data []byte, contentType string) error
}

var (
	_ PrefixFiles = (*Dir)(nil)
	_ PrefixFiles = (*S3)(nil)
	_ PrefixFiles = (*GitHub)(nil)
)

// ReadPrefixFiles reads driver/<dv>/<arch>/<name>.
func (d *Dir) ReadPrefixFiles(_ context.Context, p Prefix, name string) ([]PrefixFile, error) {
	data, err := os.ReadFile(d.path(p.Key(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.Key(name), err)
	}
	return []PrefixFile{{Data: data}}, nil
}

// WritePrefixFile writes driver/<dv>/<arch>/<name> atomically.
func (d *Dir) WritePrefixFile(_ context.Context, p Prefix, where, name string, data []byte, _ string) error {
	if where != "" {
		return fmt.Errorf("write %s: a folder has no copy %q", p.Key(name), where)
	}
	return config.WriteFile(d.path(p.Key(name)), data)
}

// ReadPrefixFiles gets [PREFIX/]driver/<dv>/<arch>/<name>.
func (s *S3) ReadPrefixFiles(ctx context.Context, p Prefix, name string) ([]PrefixFile, error) {
	data, err := s.getSmall(ctx, s.key(p.Key(name)), maxPrefixFileBytes)
	if data == nil || err != nil {
		return nil, err
	}
	return []PrefixFile{{Data: data}}, nil
}

// WritePrefixFile puts [PREFIX/]driver/<dv>/<arch>/<name>, its sha256
// checked by the server.
func (s *S3) WritePrefixFile(ctx context.Context, p Prefix, where, name string, data []byte, contentType string) error {
	if where != "" {
		return fmt.Errorf("write %s: a bucket has no copy %q", s.key(p.Key(name)), where)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return s.putBytes(ctx, s.key(p.Key(name)), data, contentType)
}

// maxPrefixFileBytes bounds what is read of a prefix's own file (status,
// signature bundle) from S3.
const maxPrefixFileBytes = 64 << 20
