package grid

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/falcosecurity/dbg/config"
)

// ManifestFile is the name of the manifest at the top of the output folder.
const ManifestFile = "manifest.json"

// writeOutputs writes the SHA256SUMS of every folder the run wrote into,
// then the manifest.
func (b *Builder) writeOutputs(r *Report) error {
	dirs := map[string]bool{}
	for _, res := range r.Builds {
		if res.Status == Built {
			dirs[filepath.Dir(filepath.Join(b.opts.Out, filepath.FromSlash(res.Key)))] = true
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := WriteSums(d); err != nil {
			return err
		}
	}
	return WriteManifest(filepath.Join(b.opts.Out, ManifestFile), r)
}

// WriteManifest writes the report as indented JSON, atomically.
func WriteManifest(path string, r *Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	return config.WriteFile(path, append(data, '\n'))
}
