package grid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// Every container dbg creates carries, beside LabelKey=LabelValue, the
// identity of the run that owns it: a random run id, the owner's host name
// and process id. RemoveLeftovers removes only the containers of runs that
// are gone, so two dbg runs sharing one daemon leave each other alone.
const (
	LabelRun  = "dev.falcosecurity.dbg.run"
	LabelHost = "dev.falcosecurity.dbg.host"
	LabelPID  = "dev.falcosecurity.dbg.pid"
)

// ownerLabels are the labels of this process's containers.
func ownerLabels() map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		LabelKey:  LabelValue,
		LabelRun:  strconv.FormatUint(rand.Uint64(), 36),
		LabelHost: host,
		LabelPID:  strconv.Itoa(os.Getpid()),
	}
}

// RemoveLeftovers force-removes the containers that runs no longer alive
// left behind: those whose owner is a process of this host that has ended,
// and those without an owner (made by a dbg before owners were recorded).
// Containers of live runs, and of other hosts (whose processes cannot be
// seen from here), are left alone. It returns how many were removed.
func (d *Docker) RemoveLeftovers(ctx context.Context) (int, error) {
	list, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: d.labelFilter(LabelKey)})
	if err != nil {
		return 0, fmt.Errorf("list leftover containers: %w", err)
	}
	host, _ := os.Hostname()
	n := 0
	for _, c := range list {
		if !ownerGone(c.Labels, host) {
			continue
		}
		err := d.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return n, fmt.Errorf("remove leftover container %s: %w", c.ID, err)
		}
		slog.DebugContext(ctx, "removed leftover container", "container", c.ID[:12], "run", c.Labels[LabelRun])
		n++
	}
	return n, nil
}

// ownerGone tells whether the run that owns a container has ended.
func ownerGone(labels map[string]string, host string) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	switch {
	case labels[LabelRun] == "" || err != nil || pid <= 0:
		return true // no owner recorded
	case labels[LabelHost] != host:
		return false
	}
	return !processAlive(pid)
}

// processAlive tells whether a process of this host has pid.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
