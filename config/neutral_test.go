package config

import (
	"strings"
	"testing"
)

func TestNeutralTail(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"a\r\nb\r\n", "a\nb"},
		{"ok\n::add-mask::hunter2\n", "ok\n\\::add-mask::***"},
		{"x ::ADD-MASK::hunter2", "x ::add-mask::***"},
		{"\tindented ##[error]x", "\tindented ##\\[error]x"},
		{"\x1b[1mbold\x1b[0m", "[1mbold[0m"},
	} {
		if got := NeutralTail(c.in); got != c.want {
			t.Errorf("NeutralTail(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("z", 5000) + "\n" + strings.Repeat("line\n", 30)
	got := NeutralTail(long)
	if n := strings.Count(got, "\n") + 1; n != TailLines || len(got) > TailBytes || strings.Contains(got, "z") {
		t.Errorf("bounds: %d lines, %d bytes", n, len(got))
	}
}
