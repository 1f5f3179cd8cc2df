package publisher

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// FromBuild returns the artifacts a build wrote into out: the entries of
// out/manifest.json with status built, after checking that each file is
// still there with the digest the manifest recorded. Nothing half-built or
// changed since is published.
func FromBuild(out string) ([]Artifact, error) {
	r, err := ReadManifest(out)
	if err != nil {
		return nil, err
	}
	arts, err := FromResults(out, r.Builds)
	return localStatements(arts), err
}

// ReadManifest reads out/manifest.json; the failed results get back the
// tail of their log file (the manifest does not hold it).
func ReadManifest(out string) (*grid.Report, error) {
	data, err := os.ReadFile(filepath.Join(out, grid.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	var r grid.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	defer root.Close()
	for i, b := range r.Builds {
		if b.Status == grid.Failed {
			r.Builds[i].LogTail = fileTail(root, grid.LogRel(b.Entry))
		}
	}
	return &r, nil
}

// fileTail is the last 16 KiB of the file at rel in root (NeutralTail
// keeps its end); an unreadable file has none. The manifest's own log
// paths are not followed: the manifest comes from a build runner, and
// root keeps every read inside the output folder (no "..", no symlink
// out of it), so no file of the publishing machine can be published.
func fileTail(root *os.Root, rel string) string {
	f, err := root.Open(rel)
	if err != nil {
		return ""
	}
	defer f.Close()
	const most = 16 << 10
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	if st.Size() > most {
		if _, err := f.Seek(st.Size()-most, io.SeekStart); err != nil {
			return ""
		}
	}
	data, _ := io.ReadAll(io.LimitReader(f, most))
	return string(data)
}

// FromResults turns built results into artifacts, verifying that each file
// still has the digest the build recorded.
func FromResults(out string, results []grid.BuildResult) ([]Artifact, error) {
	arts := builtArtifacts(out, results)
	for _, a := range arts {
		sum, size, err := config.HashFile(a.Path)
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", a.Key(), err)
		}
		if sum != a.SHA256 || size != a.Size {
			return nil, fmt.Errorf("artifact %s: the file changed since it was built (sha256 %s, manifest says %s)", a.Key(), sum, a.SHA256)
		}
	}
	return arts, nil
}

// builtArtifacts are the artifacts of the built results, with the digests
// computed while they were installed.
func builtArtifacts(out string, results []grid.BuildResult) []Artifact {
	var arts []Artifact
	for _, b := range results {
		if b.Status == grid.Built {
			arts = append(arts, Artifact{Prefix: Prefix{b.DriverVersion, b.Arch}, File: b.File,
				Path: filepath.Join(out, filepath.FromSlash(b.Key)), SHA256: b.SHA256, Size: b.Size})
		}
	}
	return arts
}
