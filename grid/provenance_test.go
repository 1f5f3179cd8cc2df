package grid

import (
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
)

func statementOf(file, sum string) Statement {
	k := &config.Kernel{Target: "debian", KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Architecture: config.AMD64}
	r := BuildResult{Entry: Entry{DriverVersion: "9.1.0+driver", Arch: "x86_64", Kind: config.Module, File: file, Key: "driver/9.1.0+driver/x86_64/" + file, Kernel: k},
		Status: Built, SHA256: sum, Inputs: []Input{{URL: "https://example.org/src.tar.gz", SHA256: strings.Repeat("a", 64)}},
		Image: &ImageRef{Ref: "dbg-builder:bookworm-amd64", ID: "sha256:" + strings.Repeat("b", 64)}}
	return NewStatement(r, &Report{Started: time.Unix(0, 0).UTC(), Finished: time.Unix(60, 0).UTC()})
}

// A bundle merges by artifact: a new statement replaces the old one of its
// file, others stay, those keep refuses go; lines sorted, one statement a
// line; what is not a dbg statement is refused with its line.
func TestMergeProvenance(t *testing.T) {
	old, err := MergeProvenance(nil, []Statement{statementOf("falco_b.ko", "1"), statementOf("falco_a.ko", "2"), statementOf("falco_c.ko", "3")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := MergeProvenance(old, []Statement{statementOf("falco_a.ko", "4")}, func(f string) bool { return f != "falco_c.ko" })
	if err != nil {
		t.Fatal(err)
	}
	list, err := ParseProvenance(merged)
	if err != nil || len(list) != 2 || strings.Count(string(merged), "\n") != 2 {
		t.Fatalf("merged: %v, %d statements:\n%s", err, len(list), merged)
	}
	if list[0].SubjectName() != "falco_a.ko" || list[0].SubjectSHA256() != "4" || list[1].SubjectName() != "falco_b.ko" || list[1].SubjectSHA256() != "1" {
		t.Errorf("merged: %s=%s, %s=%s", list[0].SubjectName(), list[0].SubjectSHA256(), list[1].SubjectName(), list[1].SubjectSHA256())
	}
	deps := list[0].Predicate.BuildDefinition.ResolvedDependencies
	if len(deps) != 2 || deps[0].Name != "driver source" || deps[1].URI != "docker-image://dbg-builder:bookworm-amd64" || deps[1].Digest["sha256"] != strings.Repeat("b", 64) {
		t.Errorf("dependencies: %+v", deps)
	}
	for _, bad := range []string{"{}\n", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[]}` + "\n", "not json\n"} {
		if _, err := ParseProvenance(append(append([]byte(nil), merged...), bad...)); err == nil || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("ParseProvenance(%q) = %v, want an error naming line 3", bad, err)
		}
	}
}
