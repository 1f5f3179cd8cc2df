package grid

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

func TestParseCCVersionText(t *testing.T) {
	for _, tc := range []struct {
		text    string
		name    string
		major   int
		version string
	}{
		// Debian bullseye, bookworm (6.1 and 6.12 backports), trixie, sid.
		{"gcc-10 (Debian 10.2.1-6) 10.2.1 20210110", "gcc", 10, "10.2.1"},
		{"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "gcc", 12, "12.2.0"},
		{"x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "gcc", 12, "12.2.0"},
		{"aarch64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "gcc", 12, "12.2.0"},
		{"x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0", "gcc", 14, "14.2.0"},
		{"x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0", "gcc", 16, "16.2.0"},
		// Other distros' shapes.
		{"gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0", "gcc", 11, "11.4.0"},
		{"gcc (GCC) 8.5.0 20210514 (Red Hat 8.5.0-4)", "gcc", 8, "8.5.0"},
		{"gcc10-gcc (GCC) 10.5.0 20230707 (Red Hat 10.5.0-1)", "gcc", 10, "10.5.0"},
		{"x86_64-pc-linux-gnu-gcc (Gentoo 13.2.1_p20240113-r1 p12) 13.2.1 20240113", "gcc", 13, "13.2.1"},
		{"gcc (SUSE Linux) 7.5.0", "gcc", 7, "7.5.0"},
		{"cc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)", "gcc", 4, "4.8.5"},
		{"gcc (Debian (fork) 9.3.0-1) 9.3.0", "gcc", 9, "9.3.0"},
		{"  gcc-12 (Debian 12.2.0-14) 12.2.0\n", "gcc", 12, "12.2.0"},
		// clang-built kernels.
		{"Debian clang version 14.0.6", "clang", 14, "14.0.6"},
		{"clang version 17.0.6 (Fedora 17.0.6-2.fc39)", "clang", 17, "17.0.6"},
		{"Ubuntu clang version 18.1.3 (1ubuntu1)", "clang", 18, "18.1.3"},
		{"Android (8508608, based on r450784e) clang version 14.0.7 (https://android.googlesource.com/toolchain/llvm-project 4c603efb0cca074e9238af8b4106c30add4418f6)", "clang", 14, "14.0.7"},
	} {
		got, err := ParseCCVersionText(tc.text)
		if err != nil {
			t.Errorf("ParseCCVersionText(%q): %v", tc.text, err)
			continue
		}
		want := Compiler{Name: tc.name, Major: tc.major, Version: tc.version, Text: strings.TrimSpace(tc.text)}
		if got != want {
			t.Errorf("ParseCCVersionText(%q) = %+v, want %+v", tc.text, got, want)
		}
	}
}

func TestParseCCVersionTextRejects(t *testing.T) {
	for _, text := range []string{
		"",
		"   ",
		"garbage",
		"hello (world) 1.2.3",                  // not a gcc program
		"g++ (Debian 12.2.0-14) 12.2.0",        // a C++ compiler
		"gcc-12 (Debian 12.2.0-14+deb12u1",     // unclosed
		"gcc-12 (Debian 12.2.0-14+deb12u1)",    // no version
		"gcc-12 (Debian 12.2.0-14+deb12u1) x1", // not a version
		"gcc-12 12.2.0",                        // no package version
		"clang version x",                      // no clang version
		"gcc (GCC) 0.1.0",                      // major 0
	} {
		c, err := ParseCCVersionText(text)
		if !errors.Is(err, ErrCompilerText) || !errors.Is(err, config.ErrData) {
			t.Errorf("ParseCCVersionText(%q) = %+v, %v; want ErrCompilerText (a data error)", text, c, err)
		}
	}
}

func TestParseKernelConfig(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         string // Text, or "" with wantErr
		wantErr      error
	}{
		{"gcc", "#\n# Linux/x86 6.1.0 Kernel Configuration\n#\nCONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\nCONFIG_CC_IS_GCC=y\n", "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", nil},
		{"clang", "CONFIG_CC_VERSION_TEXT=\"Debian clang version 14.0.6\"\nCONFIG_CC_IS_CLANG=y\n", "Debian clang version 14.0.6", nil},
		{"escaped quote", `CONFIG_CC_VERSION_TEXT="gcc (Vendor \"x\") 9.1.0"` + "\n", `gcc (Vendor "x") 9.1.0`, nil},
		{"missing", "# CONFIG_X is not set\nCONFIG_GCC_VERSION=40805\n", "", ErrNoCompilerText},
		{"empty file", "", "", ErrNoCompilerText},
		{"unquoted", "CONFIG_CC_VERSION_TEXT=gcc-12\n", "", ErrCompilerText},
		{"garbage text", "CONFIG_CC_VERSION_TEXT=\"not a compiler\"\n", "", ErrCompilerText},
		{"empty text", "CONFIG_CC_VERSION_TEXT=\"\"\n", "", ErrCompilerText},
	} {
		c, err := ParseKernelConfig(strings.NewReader(tc.config))
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: %+v, %v; want %v", tc.name, c, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.Text != tc.want {
			t.Errorf("%s: %+v, %v; want text %q", tc.name, c, err, tc.want)
		}
	}
}

// fakeDeb writes a fake package into dir and returns its path.
func fakeDeb(t *testing.T, dir, name string, deb gridtest.Deb) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := deb.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// A flavour package, a common package and a kbuild package, as Debian
// ships them, in every compression dpkg writes, with and without md5sums:
// the compiler comes from the flavour's .config, whatever the order of the
// packages.
func TestKernelCompilerFakePackages(t *testing.T) {
	const text = "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"
	for _, comp := range gridtest.DebCompressions {
		for _, noSums := range []bool{false, true} {
			name := "data.tar"
			if comp != "" {
				name += "." + comp
			}
			if noSums {
				name += "/no-md5sums"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				flavour := fakeDeb(t, dir, "linux-headers-6.12.1+deb13-amd64_6.12.1-1_amd64.deb", gridtest.Deb{Compression: comp, NoMD5sums: noSums, Files: map[string]string{
					"./usr/src/linux-headers-6.12.1+deb13-amd64/.config":                      "CONFIG_CC_VERSION_TEXT=\"" + text + "\"\nCONFIG_CC_IS_GCC=y\n",
					"./usr/src/linux-headers-6.12.1+deb13-amd64/include/generated/autoconf.h": "#define CONFIG_CC_IS_GCC 1\n",
					"./usr/share/doc/linux-headers-6.12.1+deb13-amd64/copyright":              "odd length!",
				}})
				common := fakeDeb(t, dir, "linux-headers-6.12.1+deb13-common_6.12.1-1_all.deb", gridtest.Deb{Compression: comp, NoMD5sums: noSums, Files: map[string]string{
					"./usr/src/linux-headers-6.12.1+deb13-common/Makefile": "# kbuild\n",
					// Not a headers .config: deeper, or elsewhere.
					"./usr/src/linux-headers-6.12.1+deb13-common/scripts/.config": "CONFIG_CC_VERSION_TEXT=\"gcc (wrong) 1.0\"\n",
					"./etc/.config": "CONFIG_CC_VERSION_TEXT=\"gcc (wrong) 1.0\"\n",
				}})
				kbuild := fakeDeb(t, dir, "linux-kbuild-6.12.1+deb13_6.12.1-1_amd64.deb", gridtest.Deb{Compression: comp, NoMD5sums: noSums,
					Files: map[string]string{"./usr/lib/linux-kbuild-6.12/scripts/basic/fixdep": "\x7fELF"}})
				for _, order := range [][]string{{flavour, common, kbuild}, {common, kbuild, flavour}} {
					c, err := KernelCompiler(order)
					want := Compiler{Name: "gcc", Major: 14, Version: "14.2.0", Text: text}
					if err != nil || c != want {
						t.Errorf("KernelCompiler(%v) = %+v, %v; want %+v", names(order), c, err, want)
					}
				}
				_, err := KernelCompiler([]string{common, kbuild})
				if !errors.Is(err, ErrNoKernelConfig) || !strings.Contains(err.Error(), filepath.Base(common)) || !strings.Contains(err.Error(), filepath.Base(kbuild)) {
					t.Errorf("without the flavour package: %v; want ErrNoKernelConfig naming both packages", err)
				}
			})
		}
	}
}

// A package whose md5sums lists no headers .config is passed over without
// reading its data: here the data is corrupt, and nothing fails.
func TestKernelCompilerTrustsTheFileList(t *testing.T) {
	dir := t.TempDir()
	common := fakeDeb(t, dir, "linux-headers-6.1.0-1-common_6.1.1-1_all.deb", gridtest.Deb{Compression: "xz", Files: map[string]string{
		"./usr/src/linux-headers-6.1.0-1-common/Makefile": strings.Repeat("# kbuild\n", 1000),
	}})
	corruptData(t, common)
	flavour := fakeDeb(t, dir, "linux-headers-6.1.0-1-amd64_6.1.1-1_amd64.deb", gridtest.Deb{Compression: "xz", Files: map[string]string{
		"./usr/src/linux-headers-6.1.0-1-amd64/.config": "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n",
	}})
	if c, err := KernelCompiler([]string{common, flavour}); err != nil || c.Major != 12 {
		t.Errorf("KernelCompiler = %+v, %v; want gcc 12, the corrupt data of a package that lists no .config unread", c, err)
	}
	// Without md5sums the data is all there is to read, and its corruption shows.
	bare := fakeDeb(t, dir, "linux-headers-6.1.0-1-common-bare_6.1.1-1_all.deb", gridtest.Deb{Compression: "xz", NoMD5sums: true, Files: map[string]string{
		"./usr/src/linux-headers-6.1.0-1-common/Makefile": strings.Repeat("# kbuild\n", 1000),
	}})
	corruptData(t, bare)
	if _, err := KernelCompiler([]string{bare, flavour}); !errors.Is(err, ErrBadPackage) ||
		!strings.Contains(err.Error(), filepath.Base(bare)+": ") || !strings.Contains(err.Error(), "data.tar.xz") {
		t.Errorf("KernelCompiler(corrupt package without md5sums) = %v; want ErrBadPackage naming it and its data.tar.xz", err)
	}
}

// corruptData flips the bytes of a fake package's data.tar.xz member past
// its stream header.
func corruptData(t *testing.T, deb string) {
	t.Helper()
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("data.tar.xz"))
	if i < 0 || len(data)-(i+60) < 64 {
		t.Fatalf("%s: no data.tar.xz member of 64 bytes or more", deb)
	}
	for j := i + 60 + 24; j < len(data)-8; j++ {
		data[j] ^= 0xff
	}
	if err := os.WriteFile(deb, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

func TestKernelCompilerErrorsNameThePackage(t *testing.T) {
	dir := t.TempDir()
	noText := fakeDeb(t, dir, "linux-headers-4.9.0-1-amd64_4.9.1-1_amd64.deb", gridtest.Deb{Compression: "xz", Files: map[string]string{
		"./usr/src/linux-headers-4.9.0-1-amd64/.config": "CONFIG_GCC_VERSION=60300\n",
	}})
	badText := fakeDeb(t, dir, "linux-headers-6.1.0-1-amd64_6.1.1-1_amd64.deb", gridtest.Deb{Compression: "zst", Files: map[string]string{
		"./usr/src/linux-headers-6.1.0-1-amd64/.config": "CONFIG_CC_VERSION_TEXT=\"mystery compiler\"\n",
	}})
	notDeb := filepath.Join(dir, "linux-headers-junk_1_amd64.deb")
	if err := os.WriteFile(notDeb, []byte("this is not an ar archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	noData := filepath.Join(dir, "linux-headers-nodata_1_amd64.deb")
	if err := os.WriteFile(noData, []byte("!<arch>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := fakeDeb(t, dir, "linux-headers-gzip_1_amd64.deb", gridtest.Deb{Compression: "gz", NoMD5sums: true})
	corrupt, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	corrupt = append(corrupt[:len(corrupt)-40], make([]byte, 40)...) // the gzip stream's end is gone
	corruptPath := filepath.Join(dir, "linux-headers-corrupt_1_amd64.deb")
	if err := os.WriteFile(corruptPath, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		paths []string
		want  error
		say   []string
	}{
		{[]string{noText}, ErrNoCompilerText, []string{filepath.Base(noText), "usr/src/linux-headers-4.9.0-1-amd64/.config", "before 4.18"}},
		{[]string{badText}, ErrCompilerText, []string{filepath.Base(badText), "mystery compiler"}},
		{[]string{notDeb}, ErrBadPackage, []string{filepath.Base(notDeb), "no ar header"}},
		{[]string{noData}, ErrBadPackage, []string{filepath.Base(noData), "no data.tar"}},
		{[]string{corruptPath}, ErrBadPackage, []string{filepath.Base(corruptPath), "data.tar.gz"}},
		{[]string{filepath.Join(dir, "missing.deb")}, os.ErrNotExist, []string{"missing.deb"}},
		{nil, ErrNoKernelConfig, []string{"no header packages"}},
	} {
		_, err := KernelCompiler(tc.paths)
		if !errors.Is(err, tc.want) {
			t.Errorf("KernelCompiler(%v) = %v; want %v", names(tc.paths), err, tc.want)
			continue
		}
		for _, s := range tc.say {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("KernelCompiler(%v) = %q; want it to say %q", names(tc.paths), err, s)
			}
		}
	}
}

// TestKernelCompilerRealDebianHeaders reads the compiler of real Debian
// kernels from their real header packages: bookworm's (the machine's
// release, amd64 and arm64, the 6.1 and 6.12 families, every flavour)
// and the newest plain amd64 kernel of bullseye, trixie and sid. They are
// read from the shared headers cache (<cache>/debian-headers) and fetched
// into it when missing (fetch-debian-headers.sh, fetch-debian-suite-
// headers.sh); a missing package that cannot be fetched fails the test
// with the reason. Under -short, TestKernelCompilerFakePackages stands in.
func TestKernelCompilerRealDebianHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: real header packages (TestKernelCompilerFakePackages covers the reader)")
	}
	cache, err := gridtest.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "debian-headers")

	// bookworm: gcc 12, called gcc-12 by 6.1 and <triplet>-gcc-12 by the 6.12 backports.
	bookworm := []struct {
		arch   config.Arch
		count  int
		uname  *regexp.Regexp
		text   string
		family string
	}{
		{config.AMD64, 6, regexp.MustCompile(`^6\.1\.0-[0-9]+-(cloud-|rt-)?amd64$`), "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "6.1"},
		{config.AMD64, 6, regexp.MustCompile(`^6\.12\.[0-9]+\+deb12-(cloud-|rt-)?amd64$`), "x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "6.12"},
		{config.ARM64, 2, regexp.MustCompile(`^6\.1\.0-[0-9]+-arm64$`), "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "6.1"},
		{config.ARM64, 2, regexp.MustCompile(`^6\.12\.[0-9]+\+deb12-arm64$`), "aarch64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "6.12"},
	}
	seen := map[string]int{}
	for _, tc := range bookworm {
		ks, err := gridtest.DebianHeaders(t.Context(), dir, tc.arch, tc.count)
		if err != nil {
			t.Fatalf("bookworm %s headers: %v", tc.arch, err)
		}
		for _, k := range ks {
			if !tc.uname.MatchString(k.UnameR) {
				continue
			}
			paths := make([]string, len(k.Files))
			for i, f := range k.Files {
				paths[i] = filepath.Join(dir, f)
			}
			c, err := KernelCompiler(paths)
			if err != nil {
				t.Errorf("bookworm %s: %v", k.UnameR, err)
				continue
			}
			if want := (Compiler{Name: "gcc", Major: 12, Version: "12.2.0", Text: tc.text}); c != want {
				t.Errorf("bookworm %s: %+v, want %+v", k.UnameR, c, want)
			}
			t.Logf("bookworm %-28s %s", k.UnameR, c.Text)
			seen[string(tc.arch)+" "+tc.family]++
		}
	}
	for _, want := range []string{"amd64 6.1", "amd64 6.12", "arm64 6.1", "arm64 6.12"} {
		if seen[want] == 0 {
			t.Errorf("no bookworm %s kernel among the cached headers", want)
		}
	}

	// Other releases: one plain amd64 kernel each, the newest of the suite
	// when it was first fetched.
	for _, tc := range []struct {
		suite string
		uname *regexp.Regexp
		text  *regexp.Regexp
		major func(int) bool
	}{
		{"bullseye", regexp.MustCompile(`^5\.10\.0-[0-9]+-amd64$`),
			regexp.MustCompile(`^gcc-10 \(Debian 10\.2\.1-6\) 10\.2\.1 20210110$`), func(m int) bool { return m == 10 }},
		{"trixie", regexp.MustCompile(`^6\.12\.[0-9]+\+deb13-amd64$`),
			regexp.MustCompile(`^x86_64-linux-gnu-gcc-14 \(Debian 14\.2\.0-[0-9]+\) 14\.2\.0$`), func(m int) bool { return m == 14 }},
		// sid moves: 7.2.N+deb14 with gcc 16 when this was written.
		{"sid", regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\+deb1[4-9]-amd64$`),
			regexp.MustCompile(`^x86_64-linux-gnu-gcc-[0-9]+ \(Debian [0-9.]+-[^ )]+\) [0-9.]+$`), func(m int) bool { return m >= 16 }},
	} {
		k, err := gridtest.DebianSuiteHeaders(t.Context(), dir, tc.suite, config.AMD64)
		if err != nil {
			t.Errorf("%s: %v", tc.suite, err)
			continue
		}
		if !tc.uname.MatchString(k.UnameR) {
			t.Errorf("%s: kernel %s, want one matching %s", tc.suite, k.UnameR, tc.uname)
		}
		c, err := KernelCompiler([]string{k.File})
		if err != nil {
			t.Errorf("%s %s: %v", tc.suite, k.UnameR, err)
			continue
		}
		if c.Name != "gcc" || !tc.major(c.Major) || !tc.text.MatchString(c.Text) {
			t.Errorf("%s %s: %+v; want gcc, text matching %s", tc.suite, k.UnameR, c, tc.text)
		}
		if want := fmt.Sprintf("-gcc-%d (", c.Major); !strings.Contains(c.Text, want) && !strings.HasPrefix(c.Text, want[1:]) {
			t.Errorf("%s %s: %q does not name gcc-%d", tc.suite, k.UnameR, c.Text, c.Major)
		}
		t.Logf("%-8s %-28s %s", tc.suite, k.UnameR, c.Text)
	}
}
