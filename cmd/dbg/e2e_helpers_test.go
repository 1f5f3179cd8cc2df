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
	"github.com/falcosecurity/dbg/grid/gridtest"
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

// startLab skips under -short, makes the builder image and starts a lab
// of 6 real Debian kernels, its header packages kept between runs in the
// shared cache (gridtest.CacheDir). It returns the lab and the image.
func startLab(t *testing.T) (*gridtest.Lab, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end build: not in -short mode")
	}
	image := ensureBuilderImage(t)
	cache, err := gridtest.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	lab, err := gridtest.NewLab(t.Context(), t.TempDir(), filepath.Join(cache, "debian-headers"), 6)
	if err != nil {
		t.Fatalf("prepare the lab: %v", err)
	}
	t.Cleanup(func() { lab.Close() })
	return lab, image
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
