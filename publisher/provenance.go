package publisher

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// Provenance on targets: each prefix holds one bundle, grid.ProvenanceFile
// (one in-toto statement per artifact, JSON lines), beside its SHA256SUMS.
// Publishing merges the statements of what it uploaded into the bundle,
// and drops those of artifacts the prefix no longer holds, so that a
// prefix filled by many runs and shards describes each of its artifacts.

// ProvenanceStore is implemented by targets that keep provenance bundles
// (all of dbg's targets).
type ProvenanceStore interface {
	// ReadProvenance returns p's bundle; nil when it has none.
	ReadProvenance(ctx context.Context, p Prefix) ([]byte, error)
	// WriteProvenance replaces p's bundle with data; empty data removes it.
	WriteProvenance(ctx context.Context, p Prefix, data []byte) error
}

// writeProvenance merges the statements of the artifacts t was given into
// p's bundle: those uploaded or replaced replace their artifact's
// statement, those skipped (the same bytes were there) add one only when
// the bundle has none; statements of files t no longer holds are dropped.
func writeProvenance(ctx context.Context, t Target, p Prefix, arts []Artifact, outs []Outcome, held map[string]Object) error {
	ps, ok := t.(ProvenanceStore)
	if !ok || !anyStatement(arts) {
		return nil
	}
	old, err := ps.ReadProvenance(ctx, p)
	if err != nil {
		return fmt.Errorf("read provenance of %s: %w", p, err)
	}
	known, err := grid.ParseProvenance(old)
	if err != nil {
		known, old = nil, nil // a broken bundle is rewritten from what is known
	}
	has := map[string]bool{}
	for _, s := range known {
		has[s.SubjectName()] = true
	}
	var add []grid.Statement
	for i, o := range outs {
		a := arts[i]
		if a.Statement == nil || a.Statement.SubjectSHA256() != a.SHA256 {
			continue
		}
		if o.Action == Upload || o.Action == Replace || (o.Action == Skip && !has[a.File]) {
			add = append(add, *a.Statement)
		}
	}
	data, err := grid.MergeProvenance(old, add, func(file string) bool { _, ok := held[file]; return ok })
	if err != nil {
		return err
	}
	if bytes.Equal(data, old) {
		return nil
	}
	if err := ps.WriteProvenance(ctx, p, data); err != nil {
		return fmt.Errorf("write provenance of %s: %w", p, err)
	}
	return nil
}

// withStatements gives each artifact the statement of its build in rep.
func withStatements(arts []Artifact, rep *grid.Report) []Artifact {
	byKey := map[string]grid.BuildResult{}
	for _, r := range rep.Builds {
		byKey[r.Key] = r
	}
	for i := range arts {
		if r, ok := byKey[arts[i].Key()]; ok && r.Kernel != nil {
			s := grid.NewStatement(r, rep)
			arts[i].Statement = &s
		}
	}
	return arts
}

// WriteLocalProvenance merges the statements of rep's built artifacts into
// the bundle of each folder of out they were built into (before its
// SHA256SUMS is written, which then covers it); statements of files no
// longer in the folder are dropped.
func WriteLocalProvenance(out string, rep *grid.Report) error {
	byDir := map[string][]grid.Statement{}
	for _, a := range withStatements(builtArtifacts(out, rep.Builds), rep) {
		if a.Statement != nil {
			dir := filepath.Dir(a.Path)
			byDir[dir] = append(byDir[dir], *a.Statement)
		}
	}
	for dir, add := range byDir {
		path := filepath.Join(dir, grid.ProvenanceFile)
		old, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("read %s: %w", path, err)
		}
		keep := func(file string) bool { _, err := os.Stat(filepath.Join(dir, file)); return err == nil }
		data, err := grid.MergeProvenance(old, add, keep)
		if err != nil {
			data, err = grid.MergeProvenance(nil, add, keep)
		}
		if err == nil {
			err = config.WriteFile(path, data)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// localStatements gives the artifacts of a build folder the statements of
// their folder's bundle (dbg publish --from), where the digests agree.
func localStatements(arts []Artifact) []Artifact {
	bundles := map[string]map[string]grid.Statement{}
	for i, a := range arts {
		dir := filepath.Dir(a.Path)
		if bundles[dir] == nil {
			bundles[dir] = map[string]grid.Statement{}
			data, _ := os.ReadFile(filepath.Join(dir, grid.ProvenanceFile))
			list, _ := grid.ParseProvenance(data)
			for _, s := range list {
				bundles[dir][s.SubjectName()] = s
			}
		}
		if s, ok := bundles[dir][a.File]; ok && s.SubjectSHA256() == a.SHA256 {
			arts[i].Statement = &s
		}
	}
	return arts
}

func anyStatement(arts []Artifact) bool {
	for _, a := range arts {
		if a.Statement != nil {
			return true
		}
	}
	return false
}
