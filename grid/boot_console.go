package grid

import (
	"fmt"
	"strings"
)

// console is what the boot check's /init printed on the serial console.
type console struct {
	started  bool     // init ran: the kernel booted
	uname    string   // the booted kernel's uname -r
	insmod   string   // insmod's exit status ("" if not printed)
	out      []string // what insmod printed
	devs     []string // /dev/falco* devices
	kmsg     []string // kernel messages since insmod
	ended    bool     // init said all it had to say
	lastLogs []string // the last other lines (kernel messages on the console)
}

// maxConsoleTail is how many other console lines a reason quotes.
const maxConsoleTail = 15

// readConsole parses the serial console output of one boot.
func readConsole(out string) console {
	var c console
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		mark, rest, _ := strings.Cut(line, " ")
		switch mark {
		case markStart:
			c.started, c.uname = true, rest
		case markOut:
			c.out = appendNonEmpty(c.out, rest)
		case markInsmod:
			c.insmod = rest
		case markDev:
			c.devs = append(c.devs, rest)
		case markKmsg:
			if m := stripTimestamp(rest); len(c.kmsg) == 0 || c.kmsg[len(c.kmsg)-1] != m {
				c.kmsg = append(c.kmsg, m) // a message said twice in a row is quoted once
			}
		case markEnd:
			c.ended = true
		default:
			if strings.TrimSpace(line) != "" {
				c.lastLogs = append(c.lastLogs, line)
				if len(c.lastLogs) > maxConsoleTail {
					c.lastLogs = c.lastLogs[1:]
				}
			}
		}
	}
	return c
}

func appendNonEmpty(s []string, v string) []string {
	if strings.TrimSpace(v) == "" {
		return s
	}
	return append(s, v)
}

// stripTimestamp drops dmesg's "[    1.234567] " prefix.
func stripTimestamp(l string) string {
	if strings.HasPrefix(l, "[") {
		if _, after, ok := strings.Cut(l, "] "); ok {
			return after
		}
	}
	return l
}

// verdict says whether the module loaded: insmod succeeded, the kernel
// logged the driver's "driver loading, falco <version>" line, and a
// /dev/falco* device exists. Otherwise it is the reason, quoting insmod
// and the kernel.
func (c console) verdict(driverVersion string) error {
	loading := "driver loading, falco " + driverVersion
	said := func() string {
		var parts []string
		if len(c.out) > 0 {
			parts = append(parts, strings.Join(c.out, "; "))
		}
		if len(c.kmsg) > 0 {
			parts = append(parts, "kernel: "+strings.Join(c.kmsg, "; "))
		}
		return strings.Join(parts, "; ")
	}
	switch {
	case c.insmod == "":
		return fmt.Errorf("the kernel stopped during insmod: %s", strings.Join(c.lastLogs, " | "))
	case c.insmod != "0":
		return fmt.Errorf("insmod exit status %s: %s", c.insmod, said())
	case !c.logged(loading):
		return fmt.Errorf("insmod succeeded, but the kernel did not log %q: %s", loading, said())
	case len(c.devs) == 0:
		return fmt.Errorf("insmod succeeded, but no /dev/falco* device appeared: %s", said())
	case !c.ended:
		return fmt.Errorf("the kernel stopped after loading the module: %s", strings.Join(c.lastLogs, " | "))
	}
	return nil
}

func (c console) logged(s string) bool {
	for _, l := range c.kmsg {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
