package publisher

import (
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/ghtest"
)

func compareEntry(dv, arch, target string, kind config.Kind, file string) grid.Entry {
	return grid.Entry{DriverVersion: dv, Arch: arch, Target: target, Kind: kind, File: file,
		Key: Prefix{dv, arch}.Key(file), Config: arch + "/" + target + ".yaml"}
}

// TestCompare matches held objects to the plan by key: a file named like a
// planned one but in another folder is extra, and a bottlerocket-style
// kernelversion with "_" needs no parsing.
func TestCompare(t *testing.T) {
	plan := []grid.Entry{
		compareEntry("10.0.0+driver", "x86_64", "bottlerocket", config.Module, "falco_bottlerocket_5.10.1_1_1.15.1-aws_1.ko"),
		compareEntry("10.0.0+driver", "x86_64", "ubuntu-aws", config.Module, "falco_ubuntu-aws_6.8.0-1_1.ko"),
		compareEntry("9.1.0+driver", "x86_64", "ubuntu-aws", config.Probe, "falco_ubuntu-aws_6.8.0-1_1.o"),
	}
	targets := map[string]func(t *testing.T) Target{
		"dir":    func(t *testing.T) Target { return NewDir(t.TempDir()) },
		"github": func(t *testing.T) Target { return newGitHubTest(t, ghtest.New(t)) },
	}
	for name, open := range targets {
		t.Run(name, func(t *testing.T) {
			target, dir := open(t), t.TempDir()
			arts := []Artifact{
				artifact(t, dir, "10.0.0+driver", "falco_bottlerocket_5.10.1_1_1.15.1-aws_1.ko", "held"),
				artifact(t, dir, "8.1.0+driver", "falco_ubuntu-aws_6.8.0-1_1.ko", "extra, other version"),
				artifact(t, dir, "9.1.0+driver", "falco_ubuntu-aws_6.8.0-1_1.ko", "extra, planned folder"),
			}
			if _, err := Publish(t.Context(), []Target{target}, arts, Options{}); err != nil {
				t.Fatal(err)
			}
			// A run's part, not merged yet: the held module failed in an
			// earlier run (it built since: not counted), the missing ones
			// failed and were not buildable.
			results := []grid.BuildResult{
				{Entry: plan[0], Status: grid.Failed, Reason: "old failure"},
				{Entry: plan[1], Status: grid.Failed, Reason: "compile error"},
				{Entry: plan[2], Status: grid.NotBuildable, Reason: "too old"},
				// a build in plan[2]'s folder: its part is written
				{Entry: compareEntry("9.1.0+driver", "x86_64", "ubuntu-aws", config.Module, "falco_ubuntu-aws_6.8.0-1_1.ko"), Status: grid.Built},
			}
			if err := WriteStatus(t.Context(), []Target{target}, results, "run-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			c, err := Compare(t.Context(), target, plan)
			if err != nil {
				t.Fatal(err)
			}
			want := Comparison{
				Status: StatusCounts{Failed: 1, NotBuildable: 1, Published: 3},
				Target: target.String(),
				Held:   grid.Summarize(plan[:1]),
				Missing: Missing{Stats: grid.Summarize(plan[1:]), First: []string{
					"driver/10.0.0+driver/x86_64/falco_ubuntu-aws_6.8.0-1_1.ko",
					"driver/9.1.0+driver/x86_64/falco_ubuntu-aws_6.8.0-1_1.o",
				}},
				Extra: Extra{
					Total:  2,
					Prefix: []grid.Count{{Value: "8.1.0+driver/x86_64", Count: 1}, {Value: "9.1.0+driver/x86_64", Count: 1}},
					Kind:   []grid.Count{{Value: "module", Count: 2}},
					Keys: []string{
						"driver/8.1.0+driver/x86_64/falco_ubuntu-aws_6.8.0-1_1.ko",
						"driver/9.1.0+driver/x86_64/falco_ubuntu-aws_6.8.0-1_1.ko",
					},
				},
			}
			ghEqual(t, "comparison", c, want)
		})
	}
}

func TestCompareEmptyTarget(t *testing.T) {
	plan := []grid.Entry{compareEntry("10.0.0+driver", "x86_64", "debian", config.Module, "falco_debian_6.1.170-3-amd64_1.ko")}
	c, err := Compare(t.Context(), NewDir(t.TempDir()), plan)
	if err != nil {
		t.Fatal(err)
	}
	if c.Held.Total != 0 || c.Missing.Total != 1 || c.Extra.Total != 0 || c.Extra.Keys == nil || c.Extra.Kind == nil {
		t.Errorf("empty target: %+v", c)
	}
}
