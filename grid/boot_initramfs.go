package grid

import (
	"fmt"
	"io"
	"os"

	"github.com/cavaliergopher/cpio"

	"github.com/falcosecurity/dbg/config"
)

// The console markers the boot check's /init prints (bootInit) and
// readConsole reads.
const (
	markStart  = "DBG-BOOT-START"  // init runs: the kernel booted; then its uname -r
	markOut    = "DBG-BOOT-OUT"    // a line insmod printed
	markInsmod = "DBG-BOOT-INSMOD" // insmod's exit status
	markDev    = "DBG-BOOT-DEV"    // a /dev/falco* device
	markKmsg   = "DBG-BOOT-KMSG"   // a kernel message logged since insmod
	markEnd    = "DBG-BOOT-END"    // all was said
)

// bootModule is where the module sits in the initramfs.
const bootModule = "/falco.ko"

// bootInit is the initramfs's /init, run by busybox's sh: it mounts
// devtmpfs (the kernel found no /dev/console: the archive has no device
// nodes), proc and sysfs, loads the module, prints what insmod said, its
// status, the /dev/falco* devices and the kernel's messages since insmod,
// each line after a marker, then powers the machine off (should that fail,
// init exits: the kernel panics, and panic=-1 with qemu's -no-reboot ends
// qemu).
const bootInit = `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "` + markStart + ` $(/bin/busybox uname -r)"
n="$(/bin/busybox dmesg | /bin/busybox wc -l)"
out="$(/bin/busybox insmod ` + bootModule + ` 2>&1)"
rc=$?
echo "$out" | while read -r l; do echo "` + markOut + ` $l"; done
echo "` + markInsmod + ` $rc"
for d in /dev/falco*; do [ -e "$d" ] && echo "` + markDev + ` $d"; done
/bin/busybox dmesg | /bin/busybox tail -n "+$((n + 1))" | while read -r l; do echo "` + markKmsg + ` $l"; done
echo "` + markEnd + `"
/bin/busybox poweroff -f
`

// writeInitramfs writes a newc cpio archive (the kernel's initramfs
// format, uncompressed) to path: busybox, /init and the module.
func writeInitramfs(path, busybox, module string) error {
	return config.ReplaceFile(path, func(w io.Writer) error {
		cw := cpio.NewWriter(w)
		for _, d := range []string{"bin", "dev", "proc", "sys"} {
			if err := cw.WriteHeader(&cpio.Header{Name: d, Mode: cpio.TypeDir | 0o755}); err != nil {
				return err
			}
		}
		if err := cpioBytes(cw, "init", 0o755, []byte(bootInit)); err != nil {
			return err
		}
		if err := cpioFile(cw, "bin/busybox", 0o755, busybox); err != nil {
			return err
		}
		if err := cpioFile(cw, bootModule[1:], 0o644, module); err != nil {
			return err
		}
		return cw.Close()
	})
}

func cpioBytes(cw *cpio.Writer, name string, perm cpio.FileMode, data []byte) error {
	if err := cw.WriteHeader(&cpio.Header{Name: name, Mode: cpio.TypeReg | perm, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := cw.Write(data)
	return err
}

func cpioFile(cw *cpio.Writer, name string, perm cpio.FileMode, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", name, err)
	}
	return cpioBytes(cw, name, perm, data)
}
