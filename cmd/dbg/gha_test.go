package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

func TestActionsAnnotationsGolden(t *testing.T) {
	bad := t.TempDir()
	copyTestKernels(t, bad)
	appendToFile(t, filepath.Join(bad, "x86_64", "ubuntu-generic_5.15.0-91-generic_101.yaml"), "colour: blue, red\n")
	t.Setenv("GITHUB_ACTIONS", "true")
	_, stderr, code := dbg(t, "--config-dir", bad, "validate")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	golden(t, "annotations-validate.txt", string(bytes.ReplaceAll([]byte(stderr), []byte(bad), []byte("$DIR"))))
}

func TestActionsSummaryGolden(t *testing.T) {
	r := &grid.Report{Total: 3, Built: 1, Failed: 1, Skipped: 1, Builds: []grid.BuildResult{
		{Entry: grid.Entry{Key: "driver/1.0.0+driver/x86_64/falco_debian_6.1.0-1-amd64_1.ko", Config: "kernels/x86_64/debian_6.1.0-1-amd64_1.yaml", File: "falco_debian_6.1.0-1-amd64_1.ko"}, Status: grid.Built},
		{Entry: grid.Entry{Key: "driver/1.0.0+driver/x86_64/falco_debian_6.1.0-2-amd64_1.ko", Config: "kernels/x86_64/debian_6.1.0-2-amd64_1.yaml", File: "falco_debian_6.1.0-2-amd64_1.ko"},
			Status: grid.Failed, Reason: "building falco_debian_6.1.0-2-amd64_1.ko: exit status 2: main.c:3: error: <oops>", LogTail: "make[1]: *** [driver] Error 2\nmain.c:3: error: <oops>"},
		{Entry: grid.Entry{Key: "driver/1.0.0+driver/x86_64/falco_debian_6.1.0-3-amd64_1.ko"}, Status: grid.Skipped, Reason: "already published on every target"},
	}}
	outs := []publisher.Outcome{
		{Target: "s3://bucket", Key: "k1", Action: publisher.Upload},
		{Target: "s3://bucket", Key: "k2", Action: publisher.Skip},
		{Target: "github://o/r", Key: "k1", Action: publisher.Upload},
	}
	summary := filepath.Join(t.TempDir(), "summary.md")
	a := actions{enabled: true, summary: summary}
	var ann bytes.Buffer
	a.builds(&ann, r)
	if err := a.writeSummary(r, outs); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(summary)
	golden(t, "annotations-build.txt", ann.String())
	golden(t, "summary.md", string(md))
}
