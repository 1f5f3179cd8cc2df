package gridtest

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// compile builds a small x86-64 object from C source with gcc.
func compile(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "m.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "m.o")
	if out, err := exec.CommandContext(t.Context(), "gcc", "-c", "-o", obj, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc (needed to build test objects): %v\n%s", err, out)
	}
	return obj
}

// modinfoSrc has a .modinfo section laid out as the kernel's MODULE_INFO does.
const modinfoSrc = `
#define MODINFO(name, v) static const char name[] __attribute__((section(".modinfo"), used, aligned(1))) = v
MODINFO(license, "license=GPL");
MODINFO(vermagic, "vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions ");
MODINFO(version, "version=1.0.0+driver");
int f(void) { return 0; }
`

func TestReadVermagic(t *testing.T) {
	got, err := ReadVermagic(compile(t, modinfoSrc))
	if want := "6.1.0-56-amd64 SMP preempt mod_unload modversions "; err != nil || got != want {
		t.Errorf("ReadVermagic = %q, %v; want %q", got, err, want)
	}
	if got, err := ReadVermagic(compile(t, "int f(void) { return 0; }\n")); err == nil {
		t.Errorf("ReadVermagic of an object without .modinfo = %q, want an error", got)
	}
	noVermagic := `static const char l[] __attribute__((section(".modinfo"), used)) = "license=GPL";` + "\n"
	if got, err := ReadVermagic(compile(t, noVermagic)); err == nil {
		t.Errorf("ReadVermagic of a .modinfo without vermagic = %q, want an error", got)
	}
}

func TestIsEBPFObject(t *testing.T) {
	x86 := compile(t, "int f(void) { return 0; }\n")
	if ok, err := IsEBPFObject(x86); err != nil || ok {
		t.Errorf("IsEBPFObject(x86-64 object) = %v, %v; want false", ok, err)
	}

	// The same object with e_machine (offset 18) set to EM_BPF.
	data, err := os.ReadFile(x86)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint16(data[18:], 247)
	bpf := filepath.Join(t.TempDir(), "probe.o")
	if err := os.WriteFile(bpf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := IsEBPFObject(bpf); err != nil || !ok {
		t.Errorf("IsEBPFObject(EM_BPF object) = %v, %v; want true", ok, err)
	}

	text := filepath.Join(t.TempDir(), "probe.o")
	if err := os.WriteFile(text, []byte("not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := IsEBPFObject(text); err == nil || ok {
		t.Errorf("IsEBPFObject(text) = %v, %v; want an error", ok, err)
	}
}
