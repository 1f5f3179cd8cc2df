package grid

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
)

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
	if err := d.copyIn(ctx, id, job.Files, job.User != ""); err != nil {
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
		User:            job.User,
		NetworkDisabled: true,
	}
	hc := d.hostConfig(job.Limits, job.Scratch)
	hc.ReadonlyRootfs, hc.Mounts = true, volumes(job)
	resp, err := d.api.ContainerCreate(ctx, cfg, hc, nil, d.createPlatform(ctx, job), name)
	if err != nil {
		d.remove(ctx, name) // created, then ctx cancelled before the answer?
		return "", fmt.Errorf("job %s: create container from %s: %w", job.Name, job.Image, err)
	}
	return resp.ID, nil
}

// volumes are the writable folders of a job besides its scratch tmpfs
// folders (the root filesystem is read-only): the top-level folders its
// files are copied into and its output folder, each an anonymous volume
// removed with the container (docker cp cannot copy out of a tmpfs after
// the container stopped, nor into a read-only root).
func volumes(job Job) []mount.Mount {
	dirs := topFolders(job.Files)
	if job.OutDir != "" {
		dirs = append(dirs, cmp.Or(topFolder(job.OutDir), job.OutDir))
	}
	var out []mount.Mount
	seen := map[string]bool{"": true}
	for _, s := range job.Scratch {
		seen[s] = true
	}
	for _, d := range dirs {
		if !seen[d] {
			seen[d] = true
			out = append(out, mount.Mount{Type: mount.TypeVolume, Target: d})
		}
	}
	return out
}

func (d *Docker) hostConfig(l Limits, scratch []string) *container.HostConfig {
	mem := cmp.Or(l.MemoryBytes, defaultMemory)
	pids := cmp.Or(l.PIDs, defaultPIDs)
	cpus := cmp.Or(l.NanoCPUs, defaultNanoCPUs)
	hc := &container.HostConfig{
		NetworkMode: "none",
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		LogConfig: container.LogConfig{Type: "json-file",
			Config: map[string]string{"max-size": strconv.Itoa(d.maxLog), "max-file": "2"}},
		Resources: container.Resources{Memory: mem, MemorySwap: mem, PidsLimit: &pids, NanoCPUs: cpus},
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
