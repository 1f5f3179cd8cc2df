package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The file helpers every package writes and digests files with: configs,
// artifacts, SHA256SUMS and manifests are replaced atomically, so a reader
// (or a killed run) never sees a partial file.

// WriteFile writes data to path atomically, creating its folder.
func WriteFile(path string, data []byte) error {
	return ReplaceFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ReplaceFile fills a temp file next to path, then renames it into place.
func ReplaceFile(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = fill(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// HashFile returns the hex sha256 and the size of a file.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// CopyFile copies src to dst atomically and returns the hex sha256 and the
// size of what it wrote.
func CopyFile(src, dst string) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	h := sha256.New()
	var n int64
	err = ReplaceFile(dst, func(w io.Writer) error {
		var cerr error
		n, cerr = io.Copy(io.MultiWriter(w, h), in)
		return cerr
	})
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// FormatSums renders file → hex sha256 as sha256sum does ("<hex>  <file>"
// per line), sorted by file name: byte-for-byte reproducible.
func FormatSums(sums map[string]string) []byte {
	files := make([]string, 0, len(sums))
	for f := range sums {
		files = append(files, f)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		b.WriteString(sums[f] + "  " + f + "\n")
	}
	return []byte(b.String())
}
