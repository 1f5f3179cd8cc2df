package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

// debianArm64 is a valid aarch64 Debian config of release.
func debianArm64(release string) string {
	return "kernelrelease: " + release + "\nkernelversion: \"1\"\ntarget: debian\narchitecture: arm64\nkernelurls:\n" +
		"  - https://example.org/a/" + strings.NewReplacer("~", "", "+", "").Replace(release) + "-1.deb\n" +
		"  - https://example.org/a/" + strings.NewReplacer("~", "", "+", "").Replace(release) + "-2.deb\n" +
		"  - https://example.org/a/" + strings.NewReplacer("~", "", "+", "").Replace(release) + "-3.deb\n"
}

// A config whose artifacts would take the GitHub asset name of another's
// (the squatter beside the real 5.18.16-1~bpo11+1) is refused, and so is
// the real one: every file of the set is named, in each file's problem.
func TestAssetNameCollisionsAreRefused(t *testing.T) {
	real := "aarch64/debian_5.18.16-1~bpo11+1-arm64_1.yaml"
	squat := "aarch64/debian_5.18.16-1.bpo11.1-arm64_1.yaml"
	squat2 := "aarch64/debian_5.18.16-1.bpo11+1-arm64_1.yaml"
	other := "aarch64/debian_5.18.16-2~bpo11+1-arm64_1.yaml"
	files := map[string]string{DriverVersionsFile: "versions: [{version: 1.0.0, kinds: [module]}]\n"}
	for _, f := range []string{real, squat, squat2, other} {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "aarch64/debian_"), "_1.yaml")
		files[f] = debianArm64(name)
	}
	kernels, got := loadOne(t, files)
	if len(kernels) != 1 || kernels[0].KernelRelease != "5.18.16-2~bpo11+1-arm64" {
		t.Errorf("want only the config that collides with none, got %d kernels", len(kernels))
	}
	if len(got) != 3 {
		t.Fatalf("want one problem per colliding file, got %q", got)
	}
	for i, f := range []string{squat2, squat, real} { // sorted by path
		if !strings.HasPrefix(got[i], f+": GitHub asset name falco_debian_5.18.16-1.bpo11.1-arm64_1.ko ") {
			t.Errorf("problem %d: %q, want it on %s", i, got[i], f)
		}
		for _, g := range []string{real, squat, squat2} {
			if !strings.Contains(got[i], g) {
				t.Errorf("problem %q does not name %s", got[i], g)
			}
		}
		if !strings.Contains(got[i], "of 3 configs") {
			t.Errorf("problem %q does not count the set", got[i])
		}
	}
}

// The asset names config checks are those the publisher uploads (it calls
// AssetName); the rule, on the names falcoctl asks for.
func TestAssetName(t *testing.T) {
	for file, want := range map[string]string{
		"falco_cos_6.1.58+_1.ko":                        "falco_cos_6.1.58._1.ko",
		"falco_debian_5.18.16-1~bpo11+1-arm64_1.ko":     "falco_debian_5.18.16-1.bpo11.1-arm64_1.ko",
		"falco_ubuntu-aws_5.15.0-1019-aws_21~20.04.1.o": "falco_ubuntu-aws_5.15.0-1019-aws_21.20.04.1.o",
		"falco_x_é_1.ko":                                "falco_x_._1.ko",
	} {
		if got := AssetName(file); got != want {
			t.Errorf("AssetName(%q) = %q, want %q", file, got, want)
		}
	}
}

// A file name with a control character (a newline, ESC) or a bidi control
// is refused, named with its bytes escaped, and the file is not read.
func TestControlCharactersInFileNamesAreRefused(t *testing.T) {
	for _, name := range []string{
		"ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml\n::error::pwned.yaml",
		"ubuntu-aws\x1b[31m_5.15.0-1019-aws_21~20.04.1.yaml",
		"ubuntu-aws_5.15.0-1019-aws_21~20.04.1\u202egnp.yaml",
		"\x7f.yaml",
	} {
		dir := t.TempDir()
		configtest.WriteFile(t, filepath.Join(dir, "x86_64", name), goodUbuntu)
		kernels, probs, err := Load(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(dir, "x86_64", `"`) // the quoted name
		if len(kernels) != 0 || len(probs) != 1 || !strings.HasPrefix(probs[0].Path, want) ||
			!strings.Contains(probs[0].Msg, "control or bidirectional-text characters") {
			t.Fatalf("%q: %d kernels, problems %q", name, len(kernels), probs)
		}
		if s := probs[0].String(); strings.ContainsAny(s, "\n\x1b\x7f\u202e") {
			t.Errorf("%q: the problem shows the raw bytes: %q", name, s)
		}
	}
	// a top-level file too, whatever its name
	dir := t.TempDir()
	configtest.WriteFile(t, filepath.Join(dir, "notes\n::add-mask::x"), "x")
	if _, probs, _ := Load(t.Context(), dir); len(probs) != 1 || strings.Contains(probs[0].String(), "\n") {
		t.Errorf("top-level name: %q", probs)
	}
}

// An unknown key is shown escaped: it cannot start a line of its own.
func TestUnknownKeyIsShownEscaped(t *testing.T) {
	_, got := loadOne(t, map[string]string{goodName: goodUbuntu + "\"x\\n::add-mask::secret\": 1\n"})
	if len(got) != 1 || strings.Contains(got[0], "\n") || !strings.Contains(got[0], `"x\n::add-mask::secret": unknown key`) {
		t.Errorf("problems %q", got)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Load refuses every symbolic link of the config dir, folder or file, and
// the config dir itself when it is one; it reads nothing through them.
func TestLoadRefusesSymlinks(t *testing.T) {
	outside := t.TempDir()
	configtest.WriteFile(t, filepath.Join(outside, "x86_64", filepath.Base(goodName)), goodUbuntu)
	configtest.WriteFile(t, filepath.Join(outside, filepath.Base(goodName)), goodUbuntu)
	configtest.WriteFile(t, filepath.Join(outside, DriverVersionsFile), "registries: [evil.example.com]\nversions: [{version: 1.0.0, kinds: [module]}]\n")
	tests := []struct {
		name string
		make func(dir string) string // returns the link
	}{
		{"arch folder", func(dir string) string {
			l := filepath.Join(dir, "x86_64")
			symlink(t, filepath.Join(outside, "x86_64"), l)
			return l
		}},
		{"config file", func(dir string) string {
			l := filepath.Join(dir, filepath.FromSlash(goodName))
			symlink(t, filepath.Join(outside, filepath.Base(goodName)), l)
			return l
		}},
		{"driverversions.yaml", func(dir string) string {
			l := filepath.Join(dir, DriverVersionsFile)
			symlink(t, filepath.Join(outside, DriverVersionsFile), l)
			return l
		}},
		{"another top-level file", func(dir string) string {
			l := filepath.Join(dir, "README")
			symlink(t, "/etc/passwd", l)
			return l
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			link := tc.make(dir)
			kernels, probs, err := Load(t.Context(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(kernels) != 0 || len(probs) != 1 || probs[0].Path != link || probs[0].Msg != symlinkRefused {
				t.Errorf("%d kernels, problems %q; want the link %s refused", len(kernels), probs, link)
			}
		})
	}
	t.Run("config dir", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "kernels")
		symlink(t, outside, link)
		kernels, probs, err := Load(t.Context(), link)
		if err != nil || len(kernels) != 0 || len(probs) != 1 || probs[0].Path != link || probs[0].Msg != symlinkRefused {
			t.Errorf("%v: %d kernels, problems %q", err, len(kernels), probs)
		}
	})
}

// The driver versions reader refuses a link, and does not echo what it
// points at; so does it when the config dir is one.
func TestReadDriverVersionsRefusesSymlinks(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	configtest.WriteFile(t, secret, "window: topsecret\n")
	dir := t.TempDir()
	link := filepath.Join(dir, DriverVersionsFile)
	symlink(t, secret, link)
	for _, path := range []string{link} {
		dv, probs := ReadDriverVersions(path)
		if dv != nil || len(probs) != 1 || probs[0].Path != path || probs[0].Msg != symlinkRefused || strings.Contains(probs.Err().Error(), "topsecret") {
			t.Errorf("%s: %v %q", path, dv, probs)
		}
		if _, err := LoadDriverVersions(path); err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("LoadDriverVersions(%s): %v", path, err)
		}
	}
	configtest.WriteFile(t, filepath.Join(outside, DriverVersionsFile), "window: topsecret\n")
	linkedDir := filepath.Join(t.TempDir(), "kernels")
	symlink(t, outside, linkedDir)
	if dv, probs := ReadDriverVersions(filepath.Join(linkedDir, DriverVersionsFile)); dv != nil || len(probs) != 1 || probs[0].Path != linkedDir {
		t.Errorf("linked config dir: %v %q", dv, probs)
	}
}

// WriteConfigs (dbg generate) refuses to write through a link: the config
// dir, its architecture folder or the file; nothing is written outside.
func TestWriteConfigsRefusesSymlinks(t *testing.T) {
	k, probs := Decode(goodName, []byte(goodUbuntu))
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	for _, which := range []string{"config dir", "arch folder", "file"} {
		t.Run(which, func(t *testing.T) {
			outside := t.TempDir()
			root := t.TempDir()
			dir := filepath.Join(root, "kernels")
			var link string
			switch which {
			case "config dir":
				link = dir
				symlink(t, outside, link)
			case "arch folder":
				link = filepath.Join(dir, "x86_64")
				symlink(t, outside, link)
			case "file":
				link = filepath.Join(dir, filepath.FromSlash(goodName))
				symlink(t, filepath.Join(outside, "victim"), link)
			}
			_, err := WriteConfigs(dir, []*Kernel{k})
			if err == nil || !strings.Contains(err.Error(), link+" is a symbolic link") {
				t.Fatalf("error %v, want one naming %s", err, link)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("written through the link: %v", entries)
			}
		})
	}
}
