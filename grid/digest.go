package grid

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// SumsFile is the digest file written next to the artifacts of each
// <driver version>/<arch> folder, in sha256sum's format.
const SumsFile = config.SumsFile

// WriteSums writes dir/SHA256SUMS listing every regular file of dir (but
// itself and hidden files), sorted by name, so that `sha256sum -c` run in
// dir checks them all. The output is byte-for-byte reproducible.
func WriteSums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	sums := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == SumsFile || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sum, _, err := config.HashFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("write %s: %w", SumsFile, err)
		}
		sums[e.Name()] = sum
	}
	return config.WriteFile(filepath.Join(dir, SumsFile), config.FormatSums(sums))
}
