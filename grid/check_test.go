package grid

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

// object compiles C source into a relocatable object with the host's gcc,
// then sets its ELF machine (e_machine, offset 18), as a cross-compiler or
// clang -target bpf would have.
func object(t *testing.T, src string, machine elf.Machine) string {
	t.Helper()
	dir := t.TempDir()
	c, obj := filepath.Join(dir, "m.c"), filepath.Join(dir, "m.o")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), "gcc", "-c", "-o", obj, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc (needed to build test objects): %v\n%s", err, out)
	}
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint16(data[18:], uint16(machine))
	if err := os.WriteFile(obj, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return obj
}

// moduleSrc has a .modinfo section laid out as the kernel's MODULE_INFO does.
func moduleSrc(vermagic, version string) string {
	return `#define MODINFO(name, v) static const char name[] __attribute__((section(".modinfo"), used, aligned(1))) = v
MODINFO(license, "license=GPL");
MODINFO(vermagic, "vermagic=` + vermagic + `");
MODINFO(version, "version=` + version + `");
int f(void) { return 0; }
`
}

func probeSrc(version, kernel string) string {
	return `char kv[] __attribute__((section("kernel_version"), used)) = "` + kernel + `";
char pv[] __attribute__((section("probe_version"), used)) = "` + version + `";
`
}

func TestCheckArtifact(t *testing.T) {
	const uname, dv = "6.1.0-57-amd64", "9.1.0+driver"
	vermagic := uname + " SMP preempt mod_unload modversions "
	amd64 := debianKernel("6.1.192-3-amd64")
	arm64 := debianKernel("6.1.192-3-arm64")
	arm64.Architecture = config.ARM64
	module := Entry{DriverVersion: dv, Kind: config.Module}
	probe := Entry{DriverVersion: dv, Kind: config.Probe}
	for _, tc := range []struct {
		name  string
		path  string
		e     Entry
		k     *config.Kernel
		uname string
		want  string // "" passes
	}{
		{"module", object(t, moduleSrc(vermagic, dv), elf.EM_X86_64), module, amd64, uname, ""},
		{"arm64 module", object(t, moduleSrc("6.1.0-57-arm64 SMP mod_unload ", dv), elf.EM_AARCH64), module, arm64, "6.1.0-57-arm64", ""},
		{"module of another arch", object(t, moduleSrc(vermagic, dv), elf.EM_X86_64), module, arm64, uname, "ELF machine EM_X86_64, want EM_AARCH64"},
		{"module of another kernel", object(t, moduleSrc("6.1.0-56-amd64 SMP ", dv), elf.EM_X86_64), module, amd64, uname, `built for kernel "6.1.0-56-amd64", want "6.1.0-57-amd64"`},
		{"vermagic prefix is not enough", object(t, moduleSrc(uname+"-x SMP ", dv), elf.EM_X86_64), module, amd64, uname, "built for kernel"},
		{"module of another version", object(t, moduleSrc(vermagic, "9.0.0+driver"), elf.EM_X86_64), module, amd64, uname, `driver version "9.0.0+driver", want "9.1.0+driver"`},
		{"module without modinfo", object(t, "int f(void) { return 0; }\n", elf.EM_X86_64), module, amd64, uname, "no .modinfo section"},
		{"probe", object(t, probeSrc(dv, uname), elf.EM_BPF), probe, amd64, uname, ""},
		{"probe not BPF", object(t, probeSrc(dv, uname), elf.EM_X86_64), probe, amd64, uname, "want EM_BPF"},
		{"probe of another kernel", object(t, probeSrc(dv, "6.1.0-56-amd64"), elf.EM_BPF), probe, amd64, uname, `built for kernel "6.1.0-56-amd64"`},
		{"probe of another version", object(t, probeSrc("10.0.0+driver", uname), elf.EM_BPF), probe, amd64, uname, `driver version "10.0.0+driver"`},
		{"probe without kernel_version", object(t, `char pv[] __attribute__((section("probe_version"), used)) = "`+dv+`";`, elf.EM_BPF), probe, amd64, uname, "no kernel_version section"},
		{"not ELF", textFile(t), module, amd64, uname, "not an ELF object"},
	} {
		err := checkArtifact(tc.path, tc.e, tc.k, tc.uname)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func textFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "falco.ko")
	if err := os.WriteFile(p, []byte("not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckUnameR(t *testing.T) {
	for _, tc := range []struct {
		release, uname string
		ok             bool
	}{
		{"6.1.192-3-amd64", "6.1.0-57-amd64", true},
		{"6.1.192-3-cloud-amd64", "6.1.0-57-cloud-amd64", true},
		{"6.12.117-1-rt-amd64", "6.12.117+deb12-rt-amd64", true},
		{"6.1.192-3-amd64", "6.1.0-57-cloud-amd64", false}, // another flavour's headers
		{"6.1.192-3-cloud-amd64", "6.1.0-57-amd64", false},
		{"6.1.192-3-amd64", "", false},
		{"6.1.192-3-amd64", "6.1.0 $(reboot)", false},
	} {
		err := checkUnameR(tc.uname, debianKernel(tc.release))
		if (err == nil) != tc.ok {
			t.Errorf("%s with headers %q: %v, want ok=%v", tc.release, tc.uname, err, tc.ok)
		}
	}
}

func TestFirstError(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"-- Configuring\nCMake Error at cmake/modules/libelf.cmake:52 (message):\n  Couldn't find system libelf\n-- Configuring incomplete\n",
			": CMake Error at cmake/modules/libelf.cmake:52 (message): Couldn't find system libelf"},
		{"+ make CC=/usr/bin/gcc-12 driver\ngcc-12: error: unrecognized command-line option '-fmin-function-alignment=16'\nmake[2]: *** [Makefile:235: driver] Error 2\nmake: *** [all] Error 2\n",
			": gcc-12: error: unrecognized command-line option '-fmin-function-alignment=16'"},
		{"main.c:3:10: fatal error: linux/foo.h: No such file or directory\n    3 | #include <linux/foo.h>\nmake: *** Error 1\n",
			": main.c:3:10: fatal error: linux/foo.h: No such file or directory"},
		{"warning: x\nERROR: modpost: \"foo\" [falco.ko] undefined!\nmake: *** Error 2\n", `: ERROR: modpost: "foo" [falco.ko] undefined!`},
		{"+ echo error: traced\nsomething went wrong\n+ exit 1\n", ": something went wrong"},
		// libs' configure probes fail on purpose (9.1.0+driver's probe for sid's 7.2 kernel, abridged).
		{"[configure-bpf] Including /tmp/driver/build/driver/bpf/src//configure/TASK_PIDS_FIELD/Makefile.inc\n" +
			"[configure-bpf] Build output for HAS_TASK_PIDS_FIELD:\n" +
			"[configure-bpf] make: Entering directory '/tmp/driver/build/driver/bpf/src/configure/TASK_PIDS_FIELD'\n" +
			"test.c:33:2: error: \"task->pids not available. This error can be safely ignored for kernel versions >= 4.19\"\n" +
			"make: *** [Makefile:26: all] Error 2\n" +
			"[configure-bpf] Setting HAS_RSS_STAT_ARRAY flag\n" +
			"[configure-kmod] Build output for HAS_X:\n" +
			"test.c:28:16: error: no member named 'parent' in 'struct kernfs_node'\n" +
			"[configure-bpf] Build system is sane\n" +
			"expr: syntax error: unexpected argument '1'\n" +
			"/usr/src/linux-headers-7.2.13+deb14-common/include/linux/fs.h:2442:15: error: static assertion failed due to requirement 'sizeof(struct filename) % 64 == 0'\n" +
			"make: *** [Makefile:235: bpf] Error 2\n",
			": /usr/src/linux-headers-7.2.13+deb14-common/include/linux/fs.h:2442:15: error: static assertion failed due to requirement 'sizeof(struct filename) % 64 == 0'"},
		{"", ""},
	} {
		if got := firstError([]byte(tc.log)); got != tc.want {
			t.Errorf("firstError(%q) = %q, want %q", tc.log, got, tc.want)
		}
	}
}
