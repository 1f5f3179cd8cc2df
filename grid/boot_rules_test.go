package grid

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

func TestBootImageURLs(t *testing.T) {
	const pool = "https://deb.example/debian/pool/main/l/linux/"
	debian := &config.Kernel{Target: "debian", KernelURLs: []string{
		pool + "linux-headers-6.12.117+deb12-cloud-amd64_6.12.117-1~deb12u1_amd64.deb",
		pool + "linux-headers-6.12.117+deb12-amd64_6.12.117-1~deb12u1_amd64.deb",
		pool + "linux-headers-6.12.117+deb12-common_6.12.117-1~deb12u1_all.deb",
	}}
	escaped := &config.Kernel{Target: "debian", KernelURLs: []string{pool + "linux-headers-6.12.117%2Bdeb12-amd64_6.12.117-1~deb12u1_amd64.deb"}}
	tests := []struct {
		name    string
		k       *config.Kernel
		unameR  string
		want    []string
		wantErr string
	}{
		{"debian: the flavour of uname -r", debian, "6.12.117+deb12-amd64",
			[]string{pool + "linux-image-6.12.117+deb12-amd64-unsigned_6.12.117-1~deb12u1_amd64.deb", pool + "linux-binary-unsigned-6.12.117+deb12-amd64_6.12.117-1~deb12u1_amd64.deb"}, ""},
		{"debian: cloud", debian, "6.12.117+deb12-cloud-amd64",
			[]string{pool + "linux-image-6.12.117+deb12-cloud-amd64-unsigned_6.12.117-1~deb12u1_amd64.deb", pool + "linux-binary-unsigned-6.12.117+deb12-cloud-amd64_6.12.117-1~deb12u1_amd64.deb"}, ""},
		{"debian: escaped like the headers", escaped, "6.12.117+deb12-amd64",
			[]string{pool + "linux-image-6.12.117%2Bdeb12-amd64-unsigned_6.12.117-1~deb12u1_amd64.deb", pool + "linux-binary-unsigned-6.12.117%2Bdeb12-amd64_6.12.117-1~deb12u1_amd64.deb"}, ""},
		{"debian: no headers of that kernel", debian, "6.12.117+deb12-rt-amd64", nil,
			"no kernel image: no header package linux-headers-6.12.117+deb12-rt-amd64_*.deb among kernelurls to derive the image package from"},
		{"kernelimageurls first", &config.Kernel{Target: "debian", KernelURLs: debian.KernelURLs, KernelImageURLs: []string{"https://x.example/vmlinuz"}},
			"6.12.117+deb12-amd64", []string{"https://x.example/vmlinuz"}, ""},
		{"other target without kernelimageurls", &config.Kernel{Target: "ubuntu-generic", KernelURLs: []string{pool + "a.deb"}}, "6.8.0-1-generic", nil,
			"no kernel image: target ubuntu-generic has no image URL dbg can derive; list it in kernelimageurls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := imageURLs(tt.k, tt.unameR)
			if tt.wantErr != "" {
				if !errors.Is(err, errNoImage) || err.Error() != tt.wantErr {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestBootConsoleVerdict(t *testing.T) {
	const v = "10.2.0+driver"
	loaded := "[    1.0] Run /init as init process\r\n" +
		"DBG-BOOT-START 6.1.0-57-amd64\r\n" +
		"DBG-BOOT-INSMOD 0\r\n" +
		"DBG-BOOT-DEV /dev/falco0\r\n" +
		"DBG-BOOT-KMSG [    2.5] falco: driver loading, falco 10.2.0+driver\r\n" +
		"DBG-BOOT-END\r\n[    3.0] reboot: Power down\r\n"
	tests := []struct {
		name, out, want string
	}{
		{"loaded", loaded, ""},
		{"wrong kernel", "DBG-BOOT-START 6.1.0-57-rt-amd64\nDBG-BOOT-OUT insmod: can't insert '/falco.ko': invalid module format\nDBG-BOOT-INSMOD 1\n" +
			"DBG-BOOT-KMSG [    2.1] falco: disagrees about version of symbol module_layout\nDBG-BOOT-KMSG [    2.2] falco: disagrees about version of symbol module_layout\nDBG-BOOT-END\n",
			"insmod exit status 1: insmod: can't insert '/falco.ko': invalid module format; kernel: falco: disagrees about version of symbol module_layout"},
		{"another driver version", strings.Replace(loaded, "falco 10.2.0+driver", "falco 10.1.0+driver", 1),
			`insmod succeeded, but the kernel did not log "driver loading, falco 10.2.0+driver": kernel: falco: driver loading, falco 10.1.0+driver`},
		{"no device", strings.Replace(loaded, "DBG-BOOT-DEV /dev/falco0\r\n", "", 1),
			"insmod succeeded, but no /dev/falco* device appeared: kernel: falco: driver loading, falco 10.2.0+driver"},
		{"panic in insmod", "DBG-BOOT-START 6.1.0-57-amd64\n[ 2.0] BUG: kernel NULL pointer dereference\n[ 2.1] Kernel panic - not syncing: Fatal exception\n",
			"the kernel stopped during insmod: [ 2.0] BUG: kernel NULL pointer dereference | [ 2.1] Kernel panic - not syncing: Fatal exception"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := readConsole(tt.out)
			if !c.started {
				t.Fatal("the start marker was not read")
			}
			err := c.verdict(v)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("want loaded, got %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestBootBusyboxMustBeStaticOfItsArch(t *testing.T) {
	self, err := os.Executable() // the test binary: dynamically linked or not, of the host's arch
	if err != nil {
		t.Fatal(err)
	}
	other := config.ARM64
	if hostArch() == config.ARM64 {
		other = config.AMD64
	}
	if err := checkStatic(self, other); err == nil || !strings.Contains(err.Error(), "is for") {
		t.Errorf("a program of the host's architecture taken as %s busybox: %v", other, err)
	}
	if err := checkStatic("/etc/hostname", hostArch()); err == nil {
		t.Error("a text file taken as busybox")
	}
}
