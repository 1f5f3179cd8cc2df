package config

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

const dvTwo = "versions:\n  - {version: 2.0.0+driver, kinds: [module]}\n  - {version: 1.0.0+driver, kinds: [module, probe]}\n"

func TestChangedSince(t *testing.T) {
	repo := t.TempDir()
	dir := filepath.Join(repo, "kernels")
	x := filepath.Join(dir, "x86_64")
	configtest.WriteFile(t, filepath.Join(dir, DriverVersionsFile), dvTwo)
	for _, n := range []string{"keep", "modify", "rename", "delete"} {
		configtest.WriteFile(t, filepath.Join(x, n+".yaml"), "kernelrelease: "+n+"\n")
	}
	configtest.Git(t, repo, "init", "-q")
	configtest.Git(t, repo, "add", ".")
	configtest.Git(t, repo, "commit", "-qm", "base")
	configtest.WriteFile(t, filepath.Join(x, "modify.yaml"), "kernelrelease: modified\n")
	configtest.Git(t, repo, "mv", filepath.Join(x, "rename.yaml"), filepath.Join(x, "renamed.yaml"))
	configtest.Git(t, repo, "rm", "-q", filepath.Join(x, "delete.yaml"))
	configtest.WriteFile(t, filepath.Join(x, "added.yaml"), "kernelrelease: new\n")      // untracked
	configtest.WriteFile(t, filepath.Join(x, "committed.yaml"), "kernelrelease: new2\n") // staged
	configtest.Git(t, repo, "add", filepath.Join(x, "committed.yaml"))
	configtest.WriteFile(t, filepath.Join(dir, DriverVersionsFile), "# a comment moves nothing\n"+dvTwo)

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
	if strings.Join(del, " ") != "delete.yaml rename.yaml" || ch.WindowMoved || len(ch.Versions) != 0 {
		t.Errorf("deleted %v, window moved %v, versions %v", del, ch.WindowMoved, ch.Versions)
	}
	for p := range ch.Configs {
		if !strings.HasPrefix(p, dir) {
			t.Errorf("path %s not under the config dir as given", p)
		}
	}

	configtest.WriteFile(t, filepath.Join(dir, DriverVersionsFile), dvTwo+"  - {version: 3.0.0+driver, kinds: [module]}\n")
	if ch, err = ChangedSince(t.Context(), dir, "HEAD"); err != nil || !ch.WindowMoved {
		t.Errorf("a new driver version moves the window: %v %+v", err, ch)
	}
}

// A change of a version's sha256 or effective source URL changes that version
// (Versions); the window's versions and kinds still decide WindowMoved.
func TestChangedSinceDriverVersionSource(t *testing.T) {
	const (
		pinA = "1111111111111111111111111111111111111111111111111111111111111111"
		pinB = "2222222222222222222222222222222222222222222222222222222222222222"
	)
	// The window is 3.0.0 and 2.0.0; 1.0.0 is outside it.
	base := "source: https://example.org/libs/{version}.tar.gz\n" +
		"versions:\n" +
		"  - {version: 3.0.0+driver, kinds: [module], sha256: " + pinA + "}\n" +
		"  - {version: 2.0.0+driver, kinds: [module]}\n" +
		"  - {version: 1.0.0+driver, kinds: [module, probe]}\n"
	repo := t.TempDir()
	dir := filepath.Join(repo, "kernels")
	configtest.WriteFile(t, filepath.Join(dir, DriverVersionsFile), base)
	configtest.WriteFile(t, filepath.Join(dir, "x86_64", "k.yaml"), "kernelrelease: k\n")
	configtest.Git(t, repo, "init", "-q")
	configtest.Git(t, repo, "add", ".")
	configtest.Git(t, repo, "commit", "-qm", "base")

	tests := []struct {
		name, content string
		versions      string // sorted, space-separated
		windowMoved   bool
	}{
		{"comment only", "# pins come later\n" + strings.ReplaceAll(base, "\n", "  # why\n"), "", false},
		{"sha256 added", strings.Replace(base, "2.0.0+driver, kinds: [module]", "2.0.0+driver, kinds: [module], sha256: "+pinB, 1), "2.0.0+driver", false},
		{"sha256 changed", strings.Replace(base, pinA, pinB, 1), "3.0.0+driver", false},
		{"sha256 removed", strings.Replace(base, ", sha256: "+pinA, "", 1), "3.0.0+driver", false},
		{"sha256 of a version outside the window", strings.Replace(base, "1.0.0+driver, kinds: [module, probe]", "1.0.0+driver, kinds: [module, probe], sha256: "+pinB, 1), "1.0.0+driver", false},
		{"top-level source", strings.Replace(base, "example.org/libs/", "mirror.example.org/libs/", 1), "1.0.0+driver 2.0.0+driver 3.0.0+driver", false},
		{"source removed: the default", strings.Replace(base, "source: https://example.org/libs/{version}.tar.gz\n", "", 1), "1.0.0+driver 2.0.0+driver 3.0.0+driver", false},
		{"same source spelled differently", strings.Replace(base, "source: https://example.org/libs/{version}.tar.gz", `source: "https://example.org/libs/{version}.tar.gz"`, 1), "", false},
		{"new version outside the window", base + "  - {version: 0.9.0+driver, kinds: [module], sha256: " + pinB + "}\n", "", false},
		{"new version in the window", base + "  - {version: 4.0.0+driver, kinds: [module]}\n", "", true},
		{"kinds of the window", strings.Replace(base, "2.0.0+driver, kinds: [module]", "2.0.0+driver, kinds: [module, probe]", 1), "", true},
		{"window moved and a sha256 changed", "window: 3\n" + strings.Replace(base, pinA, pinB, 1), "3.0.0+driver", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			configtest.WriteFile(t, filepath.Join(dir, DriverVersionsFile), tc.content)
			ch, err := ChangedSince(t.Context(), dir, "HEAD")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for v := range ch.Versions {
				got = append(got, v)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != tc.versions || ch.WindowMoved != tc.windowMoved {
				t.Errorf("versions %q, window moved %v; want %q, %v", got, ch.WindowMoved, tc.versions, tc.windowMoved)
			}
			if len(ch.Configs) != 0 {
				t.Errorf("configs %v: driverversions.yaml is not a kernel config", ch.Configs)
			}
		})
	}
}
