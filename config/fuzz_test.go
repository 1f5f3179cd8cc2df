package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the config decoder and validator: they
// must never panic or exit, and a kernel without problems must satisfy the
// allowlists every name is built from.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(goodUbuntu))
	f.Add([]byte("kernelrelease: [\n"))
	f.Add([]byte("a: &x [*x, *x]\nb: *x\n"))
	f.Add([]byte("kernelrelease: 99999999999999999999.1.1\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Add([]byte("---\n---\n"))
	seeds, _ := filepath.Glob("../cmd/dbg/testdata/kernels/*/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, probs := Decode("fuzz.yaml", data)
		if k == nil {
			if len(probs) == 0 {
				t.Fatal("no kernel and no problem")
			}
			return
		}
		probs = append(probs, k.Validate()...)
		if len(probs) > 0 {
			return
		}
		if !releaseChars.MatchString(k.KernelRelease) || !versionChars.MatchString(k.KernelVersion) || !targetChars.MatchString(k.Target) {
			t.Fatalf("valid kernel with unsafe name fields: %+v", k)
		}
		for _, kind := range Kinds {
			_ = FileName(k, kind)
		}
		_ = k.SupportsProbe()
	})
}
