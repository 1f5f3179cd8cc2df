package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteReport counts what WriteConfigs did.
type WriteReport struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
}

// WriteConfigs writes each kernel to dir/<arch>/<id>.yaml, leaving files
// whose bytes would not change untouched. Files are replaced atomically.
// A symbolic link in the way (dir, its architecture folder, the file) is
// refused, never written through, with an error naming it.
func WriteConfigs(dir string, kernels []*Kernel) (WriteReport, error) {
	var r WriteReport
	for _, k := range kernels {
		data, err := Encode(k)
		if err != nil {
			return r, fmt.Errorf("encode %s: %w", k.ID(), err)
		}
		path := filepath.Join(dir, filepath.FromSlash(ConfigPath(k)))
		if err := refuseLinks(filepath.Clean(dir), filepath.Dir(path), path); err != nil {
			return r, err
		}
		old, err := os.ReadFile(path)
		switch {
		case err == nil && bytes.Equal(old, data):
			r.Unchanged++
			continue
		case err == nil:
			r.Changed++
		case errors.Is(err, fs.ErrNotExist):
			r.Added++
		default:
			return r, fmt.Errorf("read %s: %w", path, err)
		}
		if err := WriteFile(path, data); err != nil {
			return r, err
		}
	}
	return r, nil
}

// refuseLinks returns an error naming the first of paths that is a symbolic
// link. Paths that do not exist are no links.
func refuseLinks(paths ...string) error {
	for _, p := range paths {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("write configs: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("write configs: %s %s: %w", p, symlinkRefused, ErrInvalid)
		}
	}
	return nil
}
