package grid

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
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
	maxLogBytes   = 8 << 20
	maxOutBytes   = 2 << 30
	cleanupWait   = 30 * time.Second
)

// Runner runs one build job in an isolated container.
type Runner interface {
	Run(ctx context.Context, job Job) (Result, error)
}

// Job is what to run.
type Job struct {
	Name    string        // human-readable; part of the container name
	Image   string        // must exist locally (see EnsureImage)
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
	Mode     int64  // permission bits; 0 = 0644
	HostPath string
	Data     []byte
}

// Limits bound a job's resources; zero picks a default (4 GiB memory and no
// swap, 4096 pids, no CPU limit).
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
	api    *client.Client
	init   bool              // the daemon has an init binary: use it as PID 1
	labels map[string]string // set on every container; RemoveLeftovers selects by them
	maxLog int               // log bytes kept
	maxOut int64             // bytes extracted from OutDir
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
		api:    api,
		init:   info.InitBinary != "",
		labels: map[string]string{LabelKey: LabelValue},
		maxLog: maxLogBytes,
		maxOut: maxOutBytes,
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

// RemoveLeftovers force-removes every container carrying dbg's label, as a
// killed run leaves them. Call it only when no other dbg run shares the
// daemon. It returns how many were removed.
func (d *Docker) RemoveLeftovers(ctx context.Context) (int, error) {
	list, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: d.labelFilter()})
	if err != nil {
		return 0, fmt.Errorf("list leftover containers: %w", err)
	}
	for i, c := range list {
		err := d.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return i, fmt.Errorf("remove leftover container %s: %w", c.ID, err)
		}
	}
	return len(list), nil
}

func (d *Docker) labelFilter() filters.Args {
	f := filters.NewArgs()
	for k, v := range d.labels {
		f.Add("label", k+"="+v)
	}
	return f
}

// containerName is "dbg-<name>-<random>", name restricted to [a-zA-Z0-9_.-].
func containerName(name string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '.' || r == '-' || 'a' <= r && r <= 'z' ||
			'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, name)
	if len(clean) > 100 {
		clean = clean[:100]
	}
	return "dbg-" + cmp.Or(clean, "job") + "-" + strconv.FormatUint(rand.Uint64(), 36)
}

// Run creates the container, copies the files in, starts it, waits for it
// (killing it at the timeout), reads its log and copies OutDir out. The
// container is always removed, even when ctx is cancelled.
func (d *Docker) Run(ctx context.Context, job Job) (Result, error) {
	start := time.Now()
	id, err := d.create(ctx, job)
	if err != nil {
		return Result{}, err
	}
	defer d.remove(ctx, id)
	if err := d.copyIn(ctx, id, job.Files); err != nil {
		return Result{}, fmt.Errorf("job %s: %w", job.Name, err)
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return Result{}, fmt.Errorf("job %s: start container: %w", job.Name, err)
	}
	slog.DebugContext(ctx, "container started", "job", job.Name, "container", id[:12])
	var res Result
	if res.ExitCode, res.TimedOut, err = d.wait(ctx, id, job.Timeout); err != nil {
		return Result{}, fmt.Errorf("job %s: %w", job.Name, err)
	}
	res.Duration = time.Since(start)
	if res.Log, err = d.logs(ctx, id); err != nil {
		return Result{}, fmt.Errorf("job %s: %w", job.Name, err)
	}
	err = d.copyOut(ctx, id, job.OutDir, job.HostOut)
	if errors.Is(err, ErrUnsafeOutput) {
		res.OutputErr, err = err, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("job %s: %w", job.Name, err)
	}
	slog.DebugContext(ctx, "container done", "job", job.Name, "exit", res.ExitCode,
		"timed_out", res.TimedOut, "duration", res.Duration)
	return res, nil
}

func (d *Docker) create(ctx context.Context, job Job) (string, error) {
	name := containerName(job.Name)
	cfg := &container.Config{
		Image:           job.Image,
		Cmd:             job.Cmd,
		Labels:          d.labels,
		NetworkDisabled: true,
	}
	resp, err := d.api.ContainerCreate(ctx, cfg, d.hostConfig(job.Limits, job.Scratch), nil, nil, name)
	if err != nil {
		d.remove(ctx, name) // created, then ctx cancelled before the answer?
		return "", fmt.Errorf("job %s: create container from %s: %w", job.Name, job.Image, err)
	}
	return resp.ID, nil
}

func (d *Docker) hostConfig(l Limits, scratch []string) *container.HostConfig {
	mem := cmp.Or(l.MemoryBytes, defaultMemory)
	pids := cmp.Or(l.PIDs, defaultPIDs)
	hc := &container.HostConfig{
		NetworkMode: "none",
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		LogConfig: container.LogConfig{Type: "json-file",
			Config: map[string]string{"max-size": strconv.Itoa(d.maxLog), "max-file": "2"}},
		Resources: container.Resources{Memory: mem, MemorySwap: mem, PidsLimit: &pids, NanoCPUs: l.NanoCPUs},
	}
	if len(scratch) > 0 {
		hc.Tmpfs = map[string]string{}
		for _, dir := range scratch {
			hc.Tmpfs[dir] = "rw,exec,nosuid,nodev,size=" + strconv.FormatInt(mem, 10)
		}
	}
	if d.init {
		yes := true
		hc.Init = &yes
	}
	return hc
}

// wait returns the exit code; at the timeout it kills the container and
// keeps waiting for it to stop.
func (d *Docker) wait(ctx context.Context, id string, timeout time.Duration) (int, bool, error) {
	statusC, errC := d.api.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	var expired <-chan time.Time // nil: never
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	timedOut := false
	for {
		select {
		case <-expired:
			timedOut, expired = true, nil
			if err := d.api.ContainerKill(ctx, id, "KILL"); err != nil && !cerrdefs.IsConflict(err) {
				return 0, true, fmt.Errorf("kill container at timeout: %w", err)
			}
		case s := <-statusC:
			if s.Error != nil && s.Error.Message != "" {
				return 0, timedOut, fmt.Errorf("wait for container: %s", s.Error.Message)
			}
			return int(s.StatusCode), timedOut, nil
		case err := <-errC:
			return 0, timedOut, fmt.Errorf("wait for container: %w", cmp.Or(ctx.Err(), err))
		case <-ctx.Done():
			return 0, timedOut, fmt.Errorf("wait for container: %w", ctx.Err())
		}
	}
}

func (d *Docker) logs(ctx context.Context, id string) ([]byte, error) {
	rc, err := d.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, fmt.Errorf("read container log: %w", err)
	}
	defer rc.Close()
	tail := &tailBuffer{max: d.maxLog}
	if _, err := stdcopy.StdCopy(tail, tail, rc); err != nil {
		return nil, fmt.Errorf("read container log: %w", err)
	}
	return tail.Bytes(), nil
}

// remove force-removes the container, even when ctx was cancelled.
func (d *Docker) remove(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupWait)
	defer cancel()
	err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		slog.WarnContext(ctx, "remove container", "container", id, "err", err)
	}
}
