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
			"dv.yaml:2:1: colour: unknown key (known keys: window, source, versions)"},
		{"unknown entry key", "versions:\n  - {version: 1.0.0, kinds: [module], output: x}\n",
			"dv.yaml:2:39: output: unknown key (known keys: version, kinds, prerelease)"},
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

func TestRepoDriverVersions(t *testing.T) {
	dv, err := LoadDriverVersions("../kernels/driverversions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	window := dv.Newest()
	if len(window) != 2 || window[0].Has(Probe) || !window[1].Has(Probe) {
		t.Errorf("window %v: want the newest version without probe, then 9.1.0+driver with it", versionsOf(window))
	}
}
