package publisher

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher/ghtest"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

const cleanupVersionsYAML = `window: 2
versions:
  - version: "10.0.0+driver"
    kinds: [module]
  - version: "9.1.0+driver"
    kinds: [module, probe]
  - version: "8.1.0+driver"
    kinds: [module, probe]
  - version: "7.3.0+driver"
    kinds: [module, probe]
  - version: "10.1.0-rc1+driver"
    kinds: [module]
`

func cleanupRetention(t *testing.T, keep int) Retention {
	t.Helper()
	dv, probs := config.DecodeDriverVersions("driverversions.yaml", []byte(cleanupVersionsYAML))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	if keep == 0 {
		keep = DefaultRetention(dv)
	}
	r, err := NewRetention(dv, keep)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewRetention(t *testing.T) {
	r := cleanupRetention(t, 0)
	want := Retention{
		Window: []string{"10.0.0+driver", "9.1.0+driver"},
		Listed: []string{"10.0.0+driver", "9.1.0+driver", "8.1.0+driver", "7.3.0+driver"},
		Keep:   3,
	}
	ghEqual(t, "default retention", r, want)
	dv, _ := config.DecodeDriverVersions("driverversions.yaml", []byte(cleanupVersionsYAML))
	for _, keep := range []int{1, 0, -1} {
		if _, err := NewRetention(dv, keep); err == nil || !strings.Contains(err.Error(), "at least the window's 2 versions") {
			t.Errorf("retention %d: %v, want refused", keep, err)
		}
	}
}

func TestRetentionDecide(t *testing.T) {
	window := []string{"10.0.0+driver", "9.1.0+driver"}
	listed := append(slices.Clone(window), "8.1.0+driver", "7.3.0+driver")
	tests := []struct {
		name   string
		r      Retention
		held   []string
		delete []string
		why    map[string]string // reasons to check, beyond kept/deleted
	}{
		{
			name:   "default: window plus one",
			r:      Retention{window, listed, 3},
			held:   []string{"10.0.0+driver", "9.1.0+driver", "8.1.0+driver", "7.3.0+driver", "1.0.0+driver"},
			delete: []string{"7.3.0+driver", "1.0.0+driver"},
			why:    map[string]string{"10.0.0+driver": KeptWindow, "8.1.0+driver": KeptNewest, "7.3.0+driver": DeleteOutside},
		},
		{
			name:   "retention = window",
			r:      Retention{window, listed, 2},
			held:   []string{"10.0.0+driver", "9.1.0+driver", "8.1.0+driver"},
			delete: []string{"8.1.0+driver"},
		},
		{
			name:   "listed versions count even when not held",
			r:      Retention{window, listed, 3},
			held:   []string{"10.0.0+driver", "9.1.0+driver", "7.3.0+driver"},
			delete: []string{"7.3.0+driver"},
		},
		{
			name: "a pre-release at or above the window's oldest is kept",
			r:    Retention{window, listed, 2},
			held: []string{"10.2.0-rc1+driver", "10.1.0-rc2+driver", "9.2.0-rc1+driver", "10.0.0+driver", "9.1.0+driver", "8.1.0+driver"},
			why: map[string]string{"10.2.0-rc1+driver": KeptAboveFloor, "10.1.0-rc2+driver": KeptAboveFloor,
				"9.2.0-rc1+driver": KeptAboveFloor, "9.1.0+driver": KeptWindow},
			delete: []string{"8.1.0+driver"},
		},
		{
			name:   "a held pre-release takes no place among the newest",
			r:      Retention{window, listed, 3},
			held:   []string{"10.1.0-rc1+driver", "10.0.0+driver", "9.1.0+driver", "8.1.0+driver", "8.0.0-rc1+driver", "7.3.0+driver"},
			why:    map[string]string{"8.1.0+driver": KeptNewest, "10.1.0-rc1+driver": KeptAboveFloor},
			delete: []string{"8.0.0-rc1+driver", "7.3.0+driver"},
		},
		{
			name:   "the window is kept when the retention would not",
			r:      Retention{[]string{"9.1.0+driver", "8.1.0+driver"}, listed, 2},
			held:   []string{"9.1.0+driver", "8.1.0+driver", "7.3.0+driver"},
			delete: []string{"7.3.0+driver"},
			why:    map[string]string{"8.1.0+driver": KeptWindow},
		},
		{
			name:   "not semver: kept",
			r:      Retention{window, listed, 2},
			held:   []string{"nightly", "v7.0.0+driver", "7.0.0+driver"},
			why:    map[string]string{"nightly": KeptNotSemver, "v7.0.0+driver": KeptNotSemver},
			delete: []string{"7.0.0+driver"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.Decide(tc.held)
			var deleted []string
			for _, v := range tc.held {
				if d := got[v]; !d.Keep {
					deleted = append(deleted, v)
				} else if d.Reason == DeleteOutside {
					t.Errorf("%s kept as %q", v, d.Reason)
				}
			}
			ghEqual(t, "deleted", deleted, tc.delete)
			for v, why := range tc.why {
				if got[v].Reason != why {
					t.Errorf("%s: reason %q, want %q", v, got[v].Reason, why)
				}
			}
		})
	}
}

// cleanupEnv is a target with a way to read everything it stores, by
// name, as digests.
type cleanupEnv struct {
	target Target
	stored func() map[string]string
}

func cleanupEnvs() map[string]func(t *testing.T) cleanupEnv {
	return map[string]func(t *testing.T) cleanupEnv{
		"s3": func(t *testing.T) cleanupEnv {
			target, srv := s3Target(t, "")
			return cleanupEnv{target, func() map[string]string {
				out := map[string]string{}
				for k, data := range srv.Objects(t, s3Bucket) {
					sum := sha256.Sum256(data)
					out[k] = hex.EncodeToString(sum[:])
				}
				return out
			}}
		},
		"github": func(t *testing.T) cleanupEnv {
			srv := ghtest.New(t)
			return cleanupEnv{newGitHubTest(t, srv), func() map[string]string {
				out := map[string]string{}
				for _, r := range srv.Releases() {
					for _, a := range srv.Assets(r.Tag) {
						out[r.Tag+"/"+a.Name] = a.SHA256
					}
				}
				return out
			}}
		},
	}
}

// cleanupPublish publishes two artifacts (module and probe) per version.
func cleanupPublish(t *testing.T, target Target, versions ...string) {
	t.Helper()
	dir := t.TempDir()
	var arts []Artifact
	for _, dv := range versions {
		for _, f := range []string{"falco_debian_6.1.170-3-cloud-amd64_1.ko", "falco_debian_6.1.170-3-cloud-amd64_1.o"} {
			arts = append(arts, artifact(t, dir, dv, f, dv+" "+f))
		}
	}
	if _, err := Publish(t.Context(), []Target{target}, arts, Options{}); err != nil {
		t.Fatal(err)
	}
}

// cleanupSummary is "version:action:artifacts" per version, newest first.
func cleanupSummary(rep *CleanupReport) []string {
	var out []string
	for _, v := range rep.Versions {
		action := "kept"
		if !v.Kept {
			action = "delete"
		}
		out = append(out, v.DriverVersion+":"+action+":"+strings.Repeat("*", v.Artifacts))
	}
	return out
}

func held(t *testing.T, target Target) []string {
	t.Helper()
	ps, err := target.Prefixes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		objs, err := target.List(t.Context(), p, Verify)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			out = append(out, p.Key(o.File))
		}
	}
	slices.Sort(out)
	return out
}

// TestCleanupTargets runs the cleanup scenario on versitygw and the GitHub
// fake: dry run, default retention, retention 2, then a held pre-release.
func TestCleanupTargets(t *testing.T) {
	for name, env := range cleanupEnvs() {
		t.Run(name, func(t *testing.T) {
			e := env(t)
			ctx := t.Context()
			cleanupPublish(t, e.target, "7.3.0+driver", "8.1.0+driver", "9.1.0+driver", "10.0.0+driver", "nightly")
			before := e.stored()

			rep, err := Cleanup(ctx, e.target, cleanupRetention(t, 0), true)
			if err != nil {
				t.Fatal(err)
			}
			ghEqual(t, "dry run", cleanupSummary(rep), []string{
				"10.0.0+driver:kept:**", "9.1.0+driver:kept:**", "8.1.0+driver:kept:**", "7.3.0+driver:delete:**", "nightly:kept:**"})
			ghEqual(t, "would delete", rep.Versions[3].Deleted, []string{
				"driver/7.3.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",
				"driver/7.3.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.o"})
			if after := e.stored(); !maps.Equal(after, before) {
				t.Fatalf("dry run changed the target:\n%v\n%v", before, after)
			}

			rep, err = Cleanup(ctx, e.target, cleanupRetention(t, 0), false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Versions[3].DriverVersion != "7.3.0+driver" || len(rep.Versions[3].Deleted) != 2 {
				t.Errorf("default retention: %+v", rep.Versions)
			}
			assertHeld(t, e.target, "8.1.0+driver", "9.1.0+driver", "10.0.0+driver", "nightly")
			assertIndexEmpty(t, e, "7.3.0+driver")

			if _, err := Cleanup(ctx, e.target, Retention{Window: []string{"10.0.0+driver", "9.1.0+driver"}, Keep: 1}, false); err == nil {
				t.Error("retention 1 inside a window of 2: accepted")
			}
			rep, err = Cleanup(ctx, e.target, cleanupRetention(t, 2), false)
			if err != nil {
				t.Fatal(err)
			}
			ghEqual(t, "retention 2", cleanupSummary(rep), []string{
				"10.0.0+driver:kept:**", "9.1.0+driver:kept:**", "8.1.0+driver:delete:**", "7.3.0+driver:delete:", "nightly:kept:**"})
			assertHeld(t, e.target, "9.1.0+driver", "10.0.0+driver", "nightly")

			cleanupPublish(t, e.target, "10.1.0-rc1+driver")
			rep, err = Cleanup(ctx, e.target, cleanupRetention(t, 2), false)
			if err != nil {
				t.Fatal(err)
			}
			if v := rep.Versions[0]; v.DriverVersion != "10.1.0-rc1+driver" || !v.Kept {
				t.Errorf("held pre-release newer than the window: %+v", v)
			}
			assertHeld(t, e.target, "9.1.0+driver", "10.0.0+driver", "10.1.0-rc1+driver", "nightly")
		})
	}
}

// assertHeld checks that the target holds both artifacts of exactly versions.
func assertHeld(t *testing.T, target Target, versions ...string) {
	t.Helper()
	var want []string
	for _, dv := range versions {
		want = append(want, config.ObjectKey(dv, config.AMD64, "falco_debian_6.1.170-3-cloud-amd64_1.ko"),
			config.ObjectKey(dv, config.AMD64, "falco_debian_6.1.170-3-cloud-amd64_1.o"))
	}
	slices.Sort(want)
	ghEqual(t, "held", held(t, target), want)
}

// assertIndexEmpty checks that the version's index lists nothing any more.
func assertIndexEmpty(t *testing.T, e cleanupEnv, dv string) {
	t.Helper()
	for name, sum := range e.stored() {
		if strings.Contains(name, dv) && (strings.HasSuffix(name, "/"+config.SumsFile)) {
			if empty := sha256.Sum256(nil); sum != hex.EncodeToString(empty[:]) {
				t.Errorf("%s still lists artifacts", name)
			}
		}
		if strings.Contains(name, dv) && IsArtifact(name[strings.LastIndexByte(name, '/')+1:]) {
			t.Errorf("%s not deleted", name)
		}
	}
}

func TestCleanupDeniedDeleteIsInfra(t *testing.T) {
	target, srv := s3Target(t, "")
	cleanupPublish(t, target, "7.3.0+driver", "9.1.0+driver", "10.0.0+driver")
	srv.Fail(func(r s3test.Request) bool { return r.Method == "DELETE" }, 1, 403)
	rep, err := Cleanup(t.Context(), target, cleanupRetention(t, 0), false)
	if !errors.Is(err, config.ErrInfra) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("cleanup with a denied delete: %v", err)
	}
	if rep == nil || len(rep.Versions) != 3 || rep.Versions[2].Kept {
		t.Errorf("report of the failed cleanup: %+v", rep)
	}
	assertHeld(t, target, "7.3.0+driver", "9.1.0+driver", "10.0.0+driver")
}
