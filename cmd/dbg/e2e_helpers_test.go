package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// testImage is the local builder image of each architecture.
const testImage = "dbg-builder:bookworm-{arch}"

func TestMain(m *testing.M) {
	code := m.Run()
	shared.stop()
	os.Exit(code)
}

// shared is the one lab of this package's end-to-end tests: one server, one
// headers cache, the builder image made once; each test writes its own
// config dir with the driver versions it builds.
var shared labOnce

type labOnce struct {
	once    sync.Once
	lab     *gridtest.Lab
	root    string
	headers string                          // the Debian header packages' cache
	libs    map[string]config.DriverVersion // the real driver versions, by version
	err     error
	image   string

	armOnce sync.Once
	armErr  error
}

func (s *labOnce) start(t *testing.T) {
	s.once.Do(func() {
		s.image, s.err = ensureBuilderImage(config.AMD64)
		if s.err != nil {
			return
		}
		cache, err := gridtest.CacheDir()
		if s.err = err; err != nil {
			return
		}
		if s.root, s.err = os.MkdirTemp("", "dbg-lab-"); s.err != nil {
			return
		}
		s.headers = filepath.Join(cache, "debian-headers")
		s.lab, s.err = gridtest.NewLab(t.Context(), s.root, s.headers, 6)
		if s.err != nil {
			return
		}
		dir, err := gridtest.FindLibsDir()
		if s.err = err; err != nil {
			return
		}
		versions, err := s.lab.AddLibs(dir)
		if s.err = err; err != nil {
			return
		}
		s.libs = map[string]config.DriverVersion{}
		for _, v := range versions {
			s.libs[v.Version] = v
		}
	})
	if s.err != nil {
		t.Fatalf("prepare the lab (needs Docker, Debian's archive and the real driver sources): %v", s.err)
	}
}

// arm64 adds, once, the real Debian arm64 kernels to the lab and makes the
// arm64 builder image (through qemu-user emulation on an x86_64 host).
func (s *labOnce) arm64(t *testing.T) []gridtest.LabKernel {
	t.Helper()
	s.armOnce.Do(func() {
		if _, s.armErr = ensureBuilderImage(config.ARM64); s.armErr == nil {
			// 2, as every user of the shared headers cache asks for (the
			// fetch script lists the count it was last asked for).
			_, s.armErr = s.lab.AddKernels(t.Context(), config.ARM64, s.headers, 2)
		}
	})
	if s.armErr != nil {
		t.Fatalf("prepare arm64 (qemu-user emulation, the arm64 builder image, Debian's arm64 headers): %v", s.armErr)
	}
	return s.lab.KernelsOf(config.ARM64)
}

func (s *labOnce) stop() {
	if s.lab != nil {
		s.lab.Close()
	}
	if s.root != "" {
		os.RemoveAll(s.root)
	}
}

// ensureBuilderImage makes the local builder image of arch (idempotent,
// cached; on another architecture through qemu-user emulation).
func ensureBuilderImage(arch config.Arch) (string, error) {
	cmd := exec.Command("bash", "../../deploy/builder/build-image.sh", "", string(arch))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make the %s builder image: %w", arch, err)
	}
	return testImage, nil
}

// startLab skips under -short, starts the shared lab (6 real Debian
// kernels, the miniature driver and the real driver sources) and writes a
// config dir of its kernels with the named real driver versions, pinned
// (none: the miniature driver's two). It returns the lab, the image and
// the dir.
func startLab(t *testing.T, real ...string) (*gridtest.Lab, string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end build: not in -short mode")
	}
	shared.start(t)
	var versions []config.DriverVersion
	for _, v := range shared.lab.DriverVersions {
		versions = append(versions, config.DriverVersion{Version: v, Kinds: []config.Kind{config.Module, config.Probe}})
	}
	if len(real) > 0 {
		versions = nil
		for _, name := range real {
			versions = append(versions, realVersion(t, name))
		}
	}
	dir := filepath.Join(t.TempDir(), "kernels")
	if err := shared.lab.WriteConfigDir(dir, config.DriverVersions{Versions: versions}, config.AMD64); err != nil {
		t.Fatal(err)
	}
	return shared.lab, shared.image, dir
}

// realVersion is one of the real driver versions the lab serves, pinned
// (the lab must have started).
func realVersion(t *testing.T, version string) config.DriverVersion {
	t.Helper()
	v, ok := shared.libs[version]
	if !ok {
		t.Fatalf("the real driver sources have no %s", version)
	}
	return v
}

// assertNoContainers fails when any container of this process (dbg runs
// in it) is left.
func assertNoContainers(t *testing.T) {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	list, err := api.ContainerList(t.Context(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", grid.LabelKey+"="+grid.LabelValue),
			filters.Arg("label", grid.LabelPID+"="+strconv.Itoa(os.Getpid())))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		t.Errorf("container left behind: %s %v", c.ID[:12], c.Names)
	}
}
