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
func WriteConfigs(dir string, kernels []*Kernel) (WriteReport, error) {
	var r WriteReport
	for _, k := range kernels {
		data, err := Encode(k)
		if err != nil {
			return r, fmt.Errorf("encode %s: %w", k.ID(), err)
		}
		path := filepath.Join(dir, filepath.FromSlash(ConfigPath(k)))
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
		if err := writeAtomic(path, data); err != nil {
			return r, err
		}
	}
	return r, nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
