package grid

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

// SumsFile is the digest file written next to the artifacts of each
// <driver version>/<arch> folder, in sha256sum's format.
const SumsFile = "SHA256SUMS"

// WriteSums writes dir/SHA256SUMS listing every regular file of dir (but
// itself and hidden files), sorted by name, so that `sha256sum -c` run in
// dir checks them all. The output is byte-for-byte reproducible.
func WriteSums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	var lines []string
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == SumsFile || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sum, err := fileSHA256(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("write %s: %w", SumsFile, err)
		}
		lines = append(lines, sum+"  "+e.Name()+"\n")
	}
	sort.Strings(lines)
	return writeOutput(filepath.Join(dir, SumsFile), []byte(strings.Join(lines, "")))
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
