package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/falcosecurity/dbg/grid"
)

const testImage = "dbg-builder:bookworm"

// ensureBuilderImage makes the local builder image (idempotent, cached).
func ensureBuilderImage(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", "../../deploy/builder/build-image.sh", testImage)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("make the builder image %s (needs Docker and Debian's archive): %v", testImage, err)
	}
	return testImage
}

// sharedCacheDir is where downloads from Debian's archive are kept between
// test runs: $DBG_CACHE_DIR, else the user cache dir.
func sharedCacheDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("DBG_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "dbg")
}

// assertNoContainers fails when any container carries dbg's label.
func assertNoContainers(t *testing.T) {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	list, err := api.ContainerList(t.Context(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", grid.LabelKey+"="+grid.LabelValue))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		t.Errorf("container left behind: %s %v", c.ID[:12], c.Names)
	}
}
