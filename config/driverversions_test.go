package config

import (
	"strings"
	"testing"
)

func versionsOf(vs []DriverVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Version)
	}
	return out
}

func TestWindowIsNewestBySemver(t *testing.T) {
	dv, probs := DecodeDriverVersions("dv.yaml", []byte(`
versions:
  - {version: "9.1.0+driver", kinds: [module, probe]}
  - {version: "10.0.0+driver", kinds: [module]}
  - {version: "10.1.0-rc1+driver", kinds: [module]}
  - {version: "9.0.0+driver", kinds: [module, probe]}
  - {version: "10.0.1+driver", kinds: [module]}
`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	// 10.0.1 > 10.0.0 > 9.1.0 numerically, not lexically; the rc stays out.
	if got := strings.Join(versionsOf(dv.Newest()), " "); got != "10.0.1+driver 10.0.0+driver" {
		t.Errorf("window = %s", got)
	}
	if dv.Window != DefaultWindow || dv.SourceURL("9.1.0+driver") != "https://github.com/falcosecurity/libs/archive/9.1.0+driver.tar.gz" {
		t.Errorf("defaults: window %d, source %s", dv.Window, dv.Source)
	}
}

func TestPrereleaseOptIn(t *testing.T) {
	dv, probs := DecodeDriverVersions("dv.yaml", []byte(`window: 1
versions:
  - {version: "10.0.0+driver", kinds: [module]}
  - {version: "10.1.0-rc1+driver", kinds: [module], prerelease: true}
`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got := strings.Join(versionsOf(dv.Newest()), " "); got != "10.1.0-rc1+driver" {
		t.Errorf("window = %s", got)
	}
}

func TestDriverVersionsProblems(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"unknown key", "versions: [{version: 1.0.0, kinds: [module]}]\ncolour: 1\n",
			"dv.yaml:2:1: colour: unknown key (known keys: window, source, versions, registries)"},
		{"unknown entry key", "versions:\n  - {version: 1.0.0, kinds: [module], output: x}\n",
			"dv.yaml:2:39: output: unknown key (known keys: version, kinds, prerelease, sha256)"},
		{"sha256 too short", "versions:\n  - {version: 1.0.0, kinds: [module], sha256: abc123}\n",
			"dv.yaml:2:5: sha256: \"abc123\" must be 64 lowercase hex digits (the sha256 of the source tarball)"},
		{"sha256 too long", "versions:\n  - {version: 1.0.0, kinds: [module], sha256: " + strings.Repeat("a", 65) + "}\n",
			"dv.yaml:2:5: sha256: \"" + strings.Repeat("a", 65) + "\" must be 64 lowercase hex digits (the sha256 of the source tarball)"},
		{"sha256 uppercase", "versions:\n  - {version: 1.0.0, kinds: [module], sha256: " + strings.Repeat("AB", 32) + "}\n",
			"dv.yaml:2:5: sha256: \"" + strings.Repeat("AB", 32) + "\" must be 64 lowercase hex digits (the sha256 of the source tarball)"},
		{"sha256 not hex", "versions:\n  - {version: 1.0.0, kinds: [module], sha256: " + strings.Repeat("g", 64) + "}\n",
			"dv.yaml:2:5: sha256: \"" + strings.Repeat("g", 64) + "\" must be 64 lowercase hex digits (the sha256 of the source tarball)"},
		{"sha256 with prefix", "versions:\n  - {version: 1.0.0, kinds: [module], sha256: \"sha256:" + strings.Repeat("0", 64) + "\"}\n",
			"dv.yaml:2:5: sha256: \"sha256:" + strings.Repeat("0", 64) + "\" must be 64 lowercase hex digits (the sha256 of the source tarball)"},
		{"not semver", "versions:\n  - {version: 1.0, kinds: [module]}\n",
			"dv.yaml:2:5: version: \"1.0\" is not a semantic version: No Major.Minor.Patch elements found"},
		{"unknown kind", "versions:\n  - {version: 1.0.0, kinds: [kmod]}\n",
			"dv.yaml:2:5: kinds: unknown artifact kind \"kmod\" (want module or probe)"},
		{"no kinds", "versions:\n  - {version: 1.0.0}\n",
			"dv.yaml:2:5: kinds: lists no artifact kind (module, probe)"},
		{"same precedence", "versions:\n  - {version: 1.0.0+driver, kinds: [module]}\n  - {version: 1.0.0+other, kinds: [module]}\n",
			"dv.yaml:3:5: version: 1.0.0+other has the same precedence as the version at line 2"},
		{"prerelease flag on a release", "versions:\n  - {version: 1.0.0, kinds: [module], prerelease: true}\n",
			"dv.yaml:2:5: prerelease: 1.0.0 is not a pre-release"},
		{"window zero", "window: 0\nversions: [{version: 1.0.0, kinds: [module]}]\n",
			"dv.yaml: window: must be at least 1, got 0"},
		{"source without placeholder", "source: https://example.org/libs.tar.gz\nversions: [{version: 1.0.0, kinds: [module]}]\n",
			"dv.yaml: source: \"https://example.org/libs.tar.gz\" must contain {version}"},
		{"empty", "window: 2\n", "dv.yaml: versions: lists no driver version"},
		{"bad window type", "window: two\n", "dv.yaml: invalid value: unmarshal errors:\n  line 1: cannot unmarshal !!str `two` into int"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := DecodeDriverVersions("dv.yaml", []byte(tc.content))
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

// A pinned sha256 is valid, and Warnings names every version of the window
// without one, only those, as warnings that Err does not count.
func TestDriverVersionsWarnings(t *testing.T) {
	const pin = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := []struct {
		name, content string
		want          []string
	}{
		{"window unpinned, older versions ignored", `versions:
  - {version: 3.0.0+driver, kinds: [module]}
  - {version: 2.0.0+driver, kinds: [module]}
  - {version: 1.0.0+driver, kinds: [module]}
`, []string{
			"dv.yaml:2:5: sha256: warning: 3.0.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)",
			"dv.yaml:3:5: sha256: warning: 2.0.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)",
		}},
		{"one pinned", `versions:
  - {version: 2.0.0+driver, kinds: [module]}
  - {version: 3.0.0+driver, kinds: [module], sha256: ` + pin + `}
`, []string{
			"dv.yaml:2:5: sha256: warning: 2.0.0+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)",
		}},
		{"window pinned", `window: 1
versions:
  - {version: 2.0.0+driver, kinds: [module], sha256: ` + pin + `}
  - {version: 1.0.0+driver, kinds: [module]}
`, nil},
		{"pre-release out of the window", `window: 1
versions:
  - {version: 2.0.0+driver, kinds: [module], sha256: ` + pin + `}
  - {version: 3.0.0-rc1+driver, kinds: [module]}
`, nil},
		{"pre-release in the window", `window: 1
versions:
  - {version: 2.0.0+driver, kinds: [module], sha256: ` + pin + `}
  - {version: 3.0.0-rc1+driver, kinds: [module], prerelease: true}
`, []string{
			"dv.yaml:4:5: sha256: warning: 3.0.0-rc1+driver is not pinned: its source tarball is not checked (the digest dbg gets is recorded in the manifest)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dv, probs := DecodeDriverVersions("dv.yaml", []byte(tc.content))
			if len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			ws := dv.Warnings("dv.yaml")
			var got []string
			for _, w := range ws {
				if !w.IsWarning() {
					t.Errorf("%s is not a warning", w)
				}
				got = append(got, w.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if err := ws.Err(); err != nil {
				t.Errorf("warnings make an error: %v", err)
			}
			if len(ws.Errors()) != 0 || len(ws.Warnings()) != len(ws) {
				t.Errorf("errors %v, warnings %v", ws.Errors(), ws.Warnings())
			}
		})
	}
}

// Err counts only the errors of a list that mixes both.
func TestProblemsErrIgnoresWarnings(t *testing.T) {
	ps := Problems{
		{Path: "a.yaml", Field: "sha256", Msg: "w", Severity: SeverityWarning},
		{Path: "b.yaml", Field: "kinds", Msg: "e"},
	}
	err := ps.Err()
	if err == nil || !strings.HasSuffix(err.Error(), ": 1 problem(s):\nb.yaml: kinds: e") {
		t.Errorf("err = %v", err)
	}
	if got := ps.Errors(); len(got) != 1 || got[0].Path != "b.yaml" {
		t.Errorf("errors = %v", got)
	}
}

// The repository's driverversions.yaml is valid, builds two versions, lists
// the kinds of each, and gives no probe to 10.x (they ship no probe source).
func TestRepoDriverVersions(t *testing.T) {
	dv, err := LoadDriverVersions("../kernels/driverversions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	window := dv.Newest()
	if dv.Window != 2 || len(window) != 2 {
		t.Errorf("window %d: %v, want the newest 2 versions", dv.Window, versionsOf(window))
	}
	for _, v := range window {
		if len(v.Kinds) == 0 || !v.Has(Module) {
			t.Errorf("%s in the window has kinds %v: want a module at least", v.Version, v.Kinds)
		}
	}
	for _, v := range dv.Versions {
		if v.semver.Major >= 10 && v.Has(Probe) {
			t.Errorf("%s lists the probe: 10.x ship no legacy eBPF probe", v.Version)
		}
		if v.semver.Major < 10 && !v.Has(Probe) {
			t.Errorf("%s lacks the probe: versions before 10.0.0 ship it", v.Version)
		}
		if u := dv.SourceURL(v.Version); !strings.HasPrefix(u, "https://") || !strings.Contains(u, v.Version) {
			t.Errorf("%s: source %s", v.Version, u)
		}
	}
}
