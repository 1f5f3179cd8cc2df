package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const dvTwo = "versions:\n  - {version: 2.0.0+driver, kinds: [module]}\n  - {version: 1.0.0+driver, kinds: [module, probe]}\n"

func TestChangedSince(t *testing.T) {
	repo := t.TempDir()
	dir := filepath.Join(repo, "kernels")
	x := filepath.Join(dir, "x86_64")
	write(t, filepath.Join(dir, DriverVersionsFile), dvTwo)
	for _, n := range []string{"keep", "modify", "rename", "delete"} {
		write(t, filepath.Join(x, n+".yaml"), "kernelrelease: "+n+"\n")
	}
	gitIn(t, repo, "init", "-q")
	gitIn(t, repo, "add", ".")
	gitIn(t, repo, "commit", "-qm", "base")
	write(t, filepath.Join(x, "modify.yaml"), "kernelrelease: modified\n")
	gitIn(t, repo, "mv", filepath.Join(x, "rename.yaml"), filepath.Join(x, "renamed.yaml"))
	gitIn(t, repo, "rm", "-q", filepath.Join(x, "delete.yaml"))
	write(t, filepath.Join(x, "added.yaml"), "kernelrelease: new\n")      // untracked
	write(t, filepath.Join(x, "committed.yaml"), "kernelrelease: new2\n") // staged
	gitIn(t, repo, "add", filepath.Join(x, "committed.yaml"))
	write(t, filepath.Join(dir, DriverVersionsFile), "# a comment moves nothing\n"+dvTwo)

	ch, err := ChangedSince(t.Context(), dir, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range ch.Configs {
		got = append(got, filepath.Base(p))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "added.yaml committed.yaml modify.yaml renamed.yaml" {
		t.Errorf("changed: %v", got)
	}
	var del []string
	for _, d := range ch.Deleted {
		del = append(del, filepath.Base(d))
	}
	sort.Strings(del)
	if strings.Join(del, " ") != "delete.yaml rename.yaml" || ch.WindowMoved {
		t.Errorf("deleted %v, window moved %v", del, ch.WindowMoved)
	}
	for p := range ch.Configs {
		if !strings.HasPrefix(p, dir) {
			t.Errorf("path %s not under the config dir as given", p)
		}
	}

	write(t, filepath.Join(dir, DriverVersionsFile), dvTwo+"  - {version: 3.0.0+driver, kinds: [module]}\n")
	if ch, err = ChangedSince(t.Context(), dir, "HEAD"); err != nil || !ch.WindowMoved {
		t.Errorf("a new driver version moves the window: %v %+v", err, ch)
	}
}
