package grid

import (
	"encoding/json"
	"fmt"

	"github.com/falcosecurity/dbg/config"
)

// ManifestFile is the name of the manifest at the top of the output folder.
const ManifestFile = "manifest.json"

// WriteManifest writes the report as indented JSON, atomically.
func WriteManifest(path string, r *Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	return config.WriteFile(path, append(data, '\n'))
}
