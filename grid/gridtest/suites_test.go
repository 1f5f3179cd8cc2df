package gridtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

func TestReadSuite(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("linux-headers-5.10.0-32-amd64_5.10.223-1_amd64.deb", "x")
	for _, tc := range []struct{ list, want string }{
		{"5.10.0-32-amd64\tlinux-headers-5.10.0-32-amd64_5.10.223-1_amd64.deb\n", ""},
		{"5.10.0-32-amd64\tlinux-headers-5.10.0-31-amd64_5.10.218-1_amd64.deb\n", "no such file"},
		{"5.10.0-32-amd64\t../x.deb\n", "want one line"},
		{"5.10.0-32-amd64\n", "want one line"},
	} {
		write("suite-bullseye-amd64.tsv", tc.list)
		k, err := readSuite(dir, "bullseye", config.AMD64)
		switch {
		case tc.want == "" && (err != nil || k.UnameR != "5.10.0-32-amd64" || filepath.Dir(k.File) != dir):
			t.Errorf("%q: %+v, %v", tc.list, k, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want an error saying %q", tc.list, err, tc.want)
		}
	}
	if _, err := readSuite(dir, "trixie", config.AMD64); err == nil {
		t.Error("a missing list must be an error")
	}
}

// The fake packages are reproducible: the same arguments, the same bytes.
func TestDebIsReproducible(t *testing.T) {
	for _, comp := range DebCompressions {
		var a, b bytes.Buffer
		deb := Deb{Compression: comp, Files: map[string]string{"./usr/src/linux-headers-1-amd64/.config": "x", "./a/b": "y"}}
		if err := deb.Write(&a); err != nil {
			t.Fatal(err)
		}
		if err := deb.Write(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) || !bytes.HasPrefix(a.Bytes(), []byte("!<arch>\ndebian-binary")) {
			t.Errorf("%q: two writes differ, or not an ar archive starting with debian-binary", comp)
		}
	}
}
