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
		if err := WriteFile(path, data); err != nil {
			return r, err
		}
	}
	return r, nil
}
