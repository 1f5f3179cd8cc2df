package grid

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeOutput writes data to path atomically, creating folders.
func writeOutput(path string, data []byte) error {
	return replaceWith(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// installFile copies src to dst atomically and returns the sha256 and size
// of what it wrote.
func installFile(src, dst string) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	h := sha256.New()
	var n int64
	err = replaceWith(dst, func(w io.Writer) error {
		n, err = io.Copy(io.MultiWriter(w, h), in)
		return err
	})
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// replaceWith writes a temp file next to path with fill, then renames it
// into place: readers never see a partial file.
func replaceWith(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
