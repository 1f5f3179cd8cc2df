package config

import (
	"slices"
	"testing"
)

// The keys are written out by hand: they are the contract with falcoctl
// (contracts.md, "Where consumers look"), not whatever the code computes.
func TestKeys(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{RootKey(""), "driver/"},
		{RootKey("index.json"), "driver/index.json"},
		{VersionKey("10.2.0+driver"), "driver/10.2.0+driver/"},
		{PrefixKey("10.2.0+driver", "x86_64"), "driver/10.2.0+driver/x86_64/"},
		{PrefixKey("9.1.0+driver", "riscv64"), "driver/9.1.0+driver/riscv64/"},
		{ObjectKey("10.2.0+driver", AMD64, "falco_debian_6.1.192-3-amd64_1.ko"), "driver/10.2.0+driver/x86_64/falco_debian_6.1.192-3-amd64_1.ko"},
		{ObjectKey("9.1.0+driver", ARM64, SumsFile), "driver/9.1.0+driver/aarch64/SHA256SUMS"},
		{ObjectKey("9.1.0+driver", AMD64, "falco_cos_6.1.58+_1.o"), "driver/9.1.0+driver/x86_64/falco_cos_6.1.58+_1.o"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestMachines(t *testing.T) {
	if got := Machines(); !slices.Equal(got, []string{"x86_64", "aarch64"}) {
		t.Errorf("Machines() = %q", got)
	}
}

// falcoctl's rule: -?(rt-|cloud-|)(amd64|arm64) at the end of the release.
func TestDebianFlavour(t *testing.T) {
	for _, tc := range []struct {
		release, flavour string
		arch             Arch
		ok               bool
	}{
		{"6.1.192-3-amd64", "", AMD64, true},
		{"6.1.0-57-cloud-amd64", "cloud-", AMD64, true},
		{"6.1.170-3-rt-amd64", "rt-", AMD64, true},
		{"6.12.107-1-arm64", "", ARM64, true},
		{"6.1.0-57-rt-arm64", "rt-", ARM64, true},
		{"6.12.107+deb12-cloud-arm64", "cloud-", ARM64, true},
		{"-57-cloud-amd64", "cloud-", AMD64, true}, // a driverkit extraversion
		{"linux-headers-6.1.0-57-rt-amd64", "rt-", AMD64, true},
		{"linux-headers-6.1.0-57-common", "", "", false},
		{"5.15.0-91-generic", "", "", false},
		{"6.1.0-57-amd64-dbg", "", "", false},
		{"6.1.0-57-i386", "", "", false},
		{"", "", "", false},
	} {
		flavour, arch, ok := DebianFlavour(tc.release)
		if flavour != tc.flavour || arch != tc.arch || ok != tc.ok {
			t.Errorf("DebianFlavour(%q) = %q, %q, %v; want %q, %q, %v", tc.release, flavour, arch, ok, tc.flavour, tc.arch, tc.ok)
		}
	}
}
