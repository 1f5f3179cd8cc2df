package grid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/falcosecurity/dbg/config"
)

// LabelKey=LabelValue is set on every container dbg creates, so that the
// leftovers of a killed run can be found (docker ps -f label=...).
const (
	LabelKey   = "dev.falcosecurity.dbg"
	LabelValue = "build"
)

const (
	defaultMemory = 4 << 30
	defaultPIDs   = 4096
	// defaultNanoCPUs bounds a build container to 2 CPUs: a driver build is
	// one make, mostly one compiler at a time.
	defaultNanoCPUs = 2e9
	maxLogBytes     = 8 << 20
	maxOutBytes     = 2 << 30
	cleanupWait     = 30 * time.Second
)

// Runner runs one build job in an isolated container.
type Runner interface {
	Run(ctx context.Context, job Job) (Result, error)
}

// Job is what to run.
type Job struct {
	Name    string        // human-readable; part of the container name
	Image   string        // must exist locally (see EnsureImage)
	Arch    config.Arch   // the platform to run on (see PrepareImage); "": the image's
	User    string        // the user the job runs as, a name the image knows (nobody); "": the image's
	Cmd     []string      // e.g. {"/bin/bash", "/dbg/run.sh"}
	Files   []File        // copied into the container before it starts
	OutDir  string        // container folder copied out after the job ends
	HostOut string        // host folder OutDir's contents are extracted into
	Timeout time.Duration // whole-job limit; 0 = none
	Limits  Limits
	// Scratch folders are mounted as tmpfs (in memory, counted in the
	// memory limit, gone when the container stops): unpacking headers and
	// compiling write many small files, which a FUSE storage driver makes slow.
	Scratch []string
}

// File is one file copied into the container: from HostPath (streamed) or
// from Data.
type File struct {
	Path     string // absolute and clean, in the container
	Mode     int64  // permission bits; 0 = 0644 (0755 for a folder)
	HostPath string
	Data     []byte
	Dir      bool // an empty folder (owned by the job's user, who can write it)
}

// Limits bound a job's resources; zero picks a default (4 GiB memory and no
// swap, 4096 pids, 2 CPUs).
type Limits struct {
	MemoryBytes int64
	PIDs        int64
	NanoCPUs    int64
}

// Result of a job that ran. A non-zero exit, a timeout or unsafe output is a
// build failure, not an error.
type Result struct {
	ExitCode int
	TimedOut bool
	Log      []byte // stdout and stderr, interleaved; the tail when too long
	Duration time.Duration
	// OutputErr wraps ErrUnsafeOutput when OutDir held entries that were not
	// extracted (links, special files, escaping names, too many bytes).
	OutputErr error
}

// Docker runs jobs as containers of the local Docker daemon: no network, no
// capabilities, no new privileges, bounded memory and pids. One client is
// shared by all concurrent jobs.
type Docker struct {
	api     *client.Client
	init    bool              // the daemon has an init binary: use it as PID 1
	machine string            // the daemon's architecture: x86_64, aarch64
	labels  map[string]string // set on every container; RemoveLeftovers selects by them
	maxLog  int               // log bytes kept
	maxOut  int64             // bytes extracted from OutDir
}

var _ Runner = (*Docker)(nil)

// NewDocker connects to the daemon named by the environment (DOCKER_HOST...)
// and checks that it answers.
func NewDocker(ctx context.Context) (*Docker, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	info, err := api.Info(ctx)
	if err != nil {
		api.Close()
		return nil, fmt.Errorf("reach docker daemon: %w", err)
	}
	return &Docker{
		api:     api,
		init:    info.InitBinary != "",
		machine: info.Architecture,
		labels:  ownerLabels(),
		maxLog:  maxLogBytes,
		maxOut:  maxOutBytes,
	}, nil
}

// Close releases the client.
func (d *Docker) Close() error { return d.api.Close() }

// EnsureImage checks that image exists locally, else pulls it.
func (d *Docker) EnsureImage(ctx context.Context, ref string) error {
	_, err := d.api.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect builder image %s: %w", ref, err)
	}
	slog.InfoContext(ctx, "pulling builder image", "image", ref)
	if err := d.pull(ctx, ref); err != nil {
		return fmt.Errorf("builder image %s not found locally and pull failed: %w", ref, err)
	}
	return nil
}

func (d *Docker) pull(ctx context.Context, ref string) error {
	rc, err := d.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return streamError(rc)
}

// streamError drains a daemon progress stream (JSON messages) and returns
// the error it reports, if any.
func streamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read progress: %w", err)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// labelFilter selects containers by d's labels: all of them, or those of keys.
func (d *Docker) labelFilter(keys ...string) filters.Args {
	f := filters.NewArgs()
	for k, v := range d.labels {
		if len(keys) == 0 || slices.Contains(keys, k) {
			f.Add("label", k+"="+v)
		}
	}
	return f
}
