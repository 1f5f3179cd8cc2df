package grid

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// WriteSums writes the SHA256SUMS of every <driver version>/<arch> folder
// of out that the results built into. Each lists every regular file of its
// folder (but itself and hidden files), sorted by name, so that `sha256sum
// -c` run there checks them all; the output is byte-for-byte reproducible.
// The digests of the results' artifacts are the ones computed while
// installing them: only files of earlier runs are hashed.
func WriteSums(out string, results []BuildResult) error {
	known := map[string]map[string]string{} // folder -> file -> sha256
	for _, r := range results {
		if r.Status != Built {
			continue
		}
		dir := filepath.Dir(filepath.Join(out, filepath.FromSlash(r.Key)))
		if known[dir] == nil {
			known[dir] = map[string]string{}
		}
		known[dir][r.File] = r.SHA256
	}
	dirs := make([]string, 0, len(known))
	for d := range known {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if err := writeSums(d, known[d]); err != nil {
			return err
		}
	}
	return nil
}

func writeSums(dir string, known map[string]string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", config.SumsFile, err)
	}
	sums := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == config.SumsFile || e.Name() == ProvenanceFile || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sum, ok := known[e.Name()]
		if !ok {
			if sum, _, err = config.HashFile(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("write %s: %w", config.SumsFile, err)
			}
		}
		sums[e.Name()] = sum
	}
	return config.WriteFile(filepath.Join(dir, config.SumsFile), config.FormatSums(sums))
}
