package grid

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

// The builder image and gcc of a kernel: the config, then the options
// (flags), then the kernel's own compiler, then the default; a kernel whose
// gcc no builder has fails with the compiler it needs, as a data failure.
func TestChooseBuilder(t *testing.T) {
	gcc := func(text string) Compiler {
		c, err := ParseCCVersionText(text)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bullseye := gcc("gcc-10 (Debian 10.2.1-6) 10.2.1 20210110")
	trixie := gcc("x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0")
	sid := gcc("x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0")
	clang := gcc("Debian clang version 14.0.6")
	old := gcc("gcc-9 (Debian 9.3.0-22) 9.3.0")
	for _, tc := range []struct {
		name        string
		kernel      config.Kernel
		opts        BuildOptions
		kc          Compiler
		kcErr       error
		image, gccV string
		err         string
	}{
		{name: "bullseye kernel: its gcc-10 and the bullseye image", kc: bullseye, image: "dbg-builder:bullseye-amd64", gccV: "10"},
		{name: "trixie kernel", kc: trixie, image: "dbg-builder:trixie-amd64", gccV: "14"},
		{name: "sid kernel", kc: sid, image: "dbg-builder:sid-amd64", gccV: "16"},
		{name: "arm64 kernel", kernel: config.Kernel{Architecture: config.ARM64}, kc: trixie, image: "dbg-builder:trixie-arm64", gccV: "14"},
		{name: "no builder has gcc 9", kc: old, err: "kernel built with gcc-9 (Debian 9.3.0-22) 9.3.0; no builder image has gcc 9 (have 10, 12, 14, 16)"},
		{name: "unknown compiler: the default", kcErr: ErrNoCompilerText, image: "dbg-builder:bookworm-amd64", gccV: "12"},
		{name: "headers not .deb: the default", kcErr: errNotDeb, image: "dbg-builder:bookworm-amd64", gccV: "12"},
		{name: "clang kernel: the default gcc", kc: clang, image: "dbg-builder:bookworm-amd64", gccV: "12"},
		{name: "config gccversion picks the image by the table", kernel: config.Kernel{GCCVersion: "14"}, kcErr: errCompilerUnneeded, image: "dbg-builder:trixie-amd64", gccV: "14"},
		{name: "config gccversion no row has: the default image", kernel: config.Kernel{GCCVersion: "11.4"}, kcErr: errCompilerUnneeded, image: "dbg-builder:bookworm-amd64", gccV: "11.4"},
		{name: "config builderimage: the default gcc", kernel: config.Kernel{BuilderImage: "my-builder:1"}, kcErr: errCompilerUnneeded, image: "my-builder:1", gccV: "12"},
		{name: "config builderimage and gccversion", kernel: config.Kernel{BuilderImage: "my-builder:1", GCCVersion: "9"}, kcErr: errCompilerUnneeded, image: "my-builder:1", gccV: "9"},
		{name: "flag image without {gcc}: the default gcc", opts: BuildOptions{BuilderImage: "dbg-builder:bookworm-{arch}"}, kc: trixie, image: "dbg-builder:bookworm-amd64", gccV: "12"},
		{name: "config beats flags", kernel: config.Kernel{BuilderImage: "cfg:1", GCCVersion: "8"}, opts: BuildOptions{BuilderImage: "flag-{gcc}", GCCVersion: "13"}, kcErr: errCompilerUnneeded, image: "cfg:1", gccV: "8"},
		{name: "flags beat the kernel", opts: BuildOptions{BuilderImage: "flag-{arch}:{gcc}", GCCVersion: "13"}, kcErr: errCompilerUnneeded, image: "flag-amd64:13", gccV: "13"},
		{name: "flag image, the kernel's gcc fills {gcc}", opts: BuildOptions{BuilderImage: "reg/builder:any-{arch}_gcc{gcc}.0.0"}, kc: sid, image: "reg/builder:any-amd64_gcc16.0.0", gccV: "16"},
		{name: "flag gcc picks the image", opts: BuildOptions{GCCVersion: "10"}, kcErr: errCompilerUnneeded, image: "dbg-builder:bullseye-amd64", gccV: "10"},
		{name: "another table", opts: BuildOptions{Builders: []BuilderImage{{GCC: 9, Image: "reg/gcc9-{arch}"}}}, kc: old, image: "reg/gcc9-amd64", gccV: "9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.kernel
			if k.Architecture == "" {
				k.Architecture = config.AMD64
			}
			k.KernelRelease, k.Target = "6.1.0-1-amd64", "debian"
			if tc.opts.Builders == nil {
				tc.opts.Builders = DefaultBuilders()
			}
			b := &Builder{opts: tc.opts}
			c, err := b.choose(&k, tc.kc, tc.kcErr)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || !errors.Is(err, config.ErrData) || !errors.Is(err, ErrNoBuilder) {
					t.Fatalf("choose: %v, want the data error %q", err, tc.err)
				}
				return
			}
			if err != nil || c.image != tc.image || c.gcc != tc.gccV {
				t.Fatalf("choose = %q, gcc %q, %v; want %q, gcc %q", c.image, c.gcc, err, tc.image, tc.gccV)
			}
		})
	}
}

// Every row of the default table is an image deploy/builder makes, and no
// gcc major appears twice.
func TestDefaultBuilders(t *testing.T) {
	seen := map[int]bool{}
	for _, r := range DefaultBuilders() {
		if seen[r.GCC] {
			t.Errorf("gcc %d appears twice", r.GCC)
		}
		seen[r.GCC] = true
		if img := expandImage(r.Image, config.AMD64, "debian", "12"); !config.ValidImage(img) {
			t.Errorf("gcc %d: %q is not a valid image", r.GCC, img)
		}
	}
	if r, ok := (&Builder{opts: BuildOptions{Builders: DefaultBuilders()}}).builderFor(DefaultGCC); !ok || expandImage(r.Image, config.AMD64, "", "") != expandImage(DefaultBuilderImage, config.AMD64, "", "") {
		t.Errorf("the default gcc %s's row is %+v, not the default image %s", DefaultGCC, r, DefaultBuilderImage)
	}
}

// The kernel's compiler comes from the config's kernelconfigdata when that
// records it, else from its .deb header packages; RPM headers and configs
// that name the gcc are not read.
func TestKernelCompilerOf(t *testing.T) {
	b := &Builder{opts: BuildOptions{Builders: DefaultBuilders()}}
	data := base64.StdEncoding.EncodeToString([]byte("CONFIG_X=y\nCONFIG_CC_VERSION_TEXT=\"gcc (GCC) 8.5.0 20210514 (Red Hat 8.5.0-4)\"\n"))
	rpms := []File{{Path: "/dbg/headers/0/kernel-devel-4.18.0.rpm", HostPath: "/nonexistent.rpm"}}
	k := &config.Kernel{Target: "centos", KernelConfigData: data}
	if c, err := b.kernelCompilerOf(k, rpms); err != nil || c.Major != 8 || c.Name != "gcc" {
		t.Errorf("from kernelconfigdata: %+v, %v; want gcc 8", c, err)
	}
	k.KernelConfigData = base64.StdEncoding.EncodeToString([]byte("CONFIG_X=y\n"))
	if _, err := b.kernelCompilerOf(k, rpms); !errors.Is(err, errNotDeb) {
		t.Errorf("RPM headers, a .config without the text: %v, want errNotDeb", err)
	}
	k.GCCVersion = "8"
	if _, err := b.kernelCompilerOf(k, rpms); !errors.Is(err, errCompilerUnneeded) {
		t.Errorf("gccversion named: %v, want errCompilerUnneeded", err)
	}
}
