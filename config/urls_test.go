package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

// A header URL is downloaded on the CI runner, which holds cloud
// credentials: its host must be public, and an IP address must be in
// dotted decimal (resolvers read the other numeric forms as addresses).
// Its last path segment names a file in the build container.
func TestKernelURLPolicy(t *testing.T) {
	const pub = "https://example.org/pool/linux-aws-headers-5.15.0-1019_5.15.0-1019.21_all.deb"
	tests := []struct {
		url       string
		want      string // a part of the kernelurls[0] message; "": valid
		wantLab   string // the same with AllowPrivateURLs
		sameInLab bool   // wantLab is want
	}{
		{url: "http://169.254.169.254/latest/meta-data/iam/x.deb", want: "host 169.254.169.254 is a link-local address (169.254.0.0/16, cloud metadata): downloads run on the CI runner, so only public addresses are allowed (--allow-private-urls for a lab)"},
		{url: "http://127.0.0.1:2375/containers/x.deb", want: "host 127.0.0.1 is a loopback address (127.0.0.0/8)"},
		{url: "http://127.0.0.1.:2375/x.deb", want: "host 127.0.0.1. is a loopback address"},
		{url: "http://168.63.129.16/machine/x.deb", want: "host 168.63.129.16 is the Azure host endpoint"},
		{url: "http://10.0.0.1/x.deb", want: "a private address (RFC 1918, 10.0.0.0/8)"},
		{url: "http://172.16.0.1/x.deb", want: "a private address (RFC 1918, 172.16.0.0/12)"},
		{url: "http://192.168.1.1/x.deb", want: "a private address (RFC 1918, 192.168.0.0/16)"},
		{url: "http://100.64.0.1/x.deb", want: "carrier-grade NAT"},
		{url: "http://0.0.0.0:2375/x.deb", want: "\"this network\""},
		{url: "http://224.0.0.1/x.deb", want: "multicast"},
		{url: "http://240.0.0.1/x.deb", want: "reserved"},
		{url: "http://198.18.0.1/x.deb", want: "benchmarking"},
		{url: "http://192.0.0.192/x.deb", want: "IETF protocol"},
		{url: "http://localhost:8080/x.deb", want: "host localhost is a local name"},
		{url: "http://metadata.google.internal/x.deb", want: "host metadata.google.internal is a local name"},
		{url: "http://2130706433/x.deb", want: "host 2130706433 is the IPv4 address 127.0.0.1 in a numeric form other than dotted decimal", sameInLab: true},
		{url: "http://0x7f000001/x.deb", want: "host 0x7f000001 is the IPv4 address 127.0.0.1 in a numeric form", sameInLab: true},
		{url: "http://0177.0.0.1/x.deb", want: "host 0177.0.0.1 is the IPv4 address 127.0.0.1 in a numeric form", sameInLab: true},
		{url: "http://127.1/x.deb", want: "host 127.1 is the IPv4 address 127.0.0.1 in a numeric form", sameInLab: true},
		{url: "http://0xa9fea9fe/x.deb", want: "is the IPv4 address 169.254.169.254 in a numeric form", sameInLab: true},
		{url: "https://example.org/pool/..", want: `ends in a ".." path segment: a header URL must name a file`, sameInLab: true},
		{url: "https://example.org/pool/.", want: `ends in a "." path segment`, sameInLab: true},
		{url: "https://example.org/pool/../", want: `ends in a ".." path segment`, sameInLab: true},
		{url: "https://example.org/pool/%2e%2e", want: `ends in a ".." path segment`, sameInLab: true},
		{url: "https://example.org/%2E%2e/x.deb", want: `has a percent-encoded ".." path segment (%2E%2e)`, sameInLab: true},
		{url: "https://example.org/a/%2e/x.deb", want: `has a percent-encoded "." path segment`, sameInLab: true},
		{url: "https://example.org/a%2f..%2fb/x.deb", want: `has a percent-encoded ".." path segment (a%2f..%2fb)`, sameInLab: true},

		{url: "https://deb.debian.org/debian/pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb"},
		{url: "http://151.101.2.132/debian/x.deb"},
		{url: "https://8.8.8.8/x.deb"},
		{url: "https://100.128.0.1/x.deb"},
		{url: "https://172.32.0.1/x.deb"},
		{url: "https://mirror.localhost.example.org/x.deb"},
		// kernel-crawler's Amazon Linux URLs climb to the blobstore.
		{url: "https://al2022-repos-us-east-1-9761ab97.s3.dualstack.us-east-1.amazonaws.com/core/guids/54a2/aarch64/../../../../blobstore/2a2b/kernel-devel-5.10.96-90.460.amzn2022.aarch64.rpm"},
		{url: "https://example.org/pool/x%2Bx.deb"},

		{url: "http://127.0.0.1:41234/debian/x.deb", want: "loopback", wantLab: ""},
		{url: "http://localhost:41234/debian/x.deb", want: "local name", wantLab: ""},
		{url: "http://10.1.2.3/x.deb", want: "private", wantLab: ""},
	}
	for _, tt := range tests {
		if tt.sameInLab {
			tt.wantLab = tt.want
		}
		for _, lab := range []bool{false, true} {
			want := tt.want
			if lab {
				want = tt.wantLab
			}
			k := &Kernel{KernelRelease: "5.15.0-1019-aws", KernelVersion: "1", Target: "ubuntu-aws", Architecture: AMD64, KernelURLs: []string{tt.url, pub}}
			probs := LoadOptions{AllowPrivateURLs: lab}.Validate(k)
			switch {
			case want == "" && len(probs) > 0:
				t.Errorf("%s (lab %v): %v, want valid", tt.url, lab, probs)
			case want != "" && (len(probs) != 1 || probs[0].Field != "kernelurls[0]" || !strings.Contains(probs[0].Msg, want) || !strings.HasPrefix(probs[0].Msg, fmt.Sprintf("%q", tt.url))):
				t.Errorf("%s (lab %v): %v, want one kernelurls[0] problem naming the URL and %q", tt.url, lab, probs, want)
			}
		}
	}
}

// Load reports the host at the URL's position; with AllowPrivateURLs a
// lab's config on 127.0.0.1 is valid.
func TestLoadPrivateURLs(t *testing.T) {
	lab := strings.Replace(goodUbuntu, "https://example.org/pool/linux-headers", "http://127.0.0.1:8080/pool/linux-headers", 1)
	kernels, got := loadOne(t, map[string]string{goodName: lab})
	want := goodName + `:6:5: kernelurls[0]: "http://127.0.0.1:8080/pool/linux-headers-5.15.0-1019-aws_5.15.0-1019.21_amd64.deb": host 127.0.0.1 is a loopback address (127.0.0.0/8): downloads run on the CI runner, so only public addresses are allowed (--allow-private-urls for a lab)`
	if len(kernels) != 0 || len(got) != 1 || got[0] != want {
		t.Errorf("%d kernels, problems %q\nwant %q", len(kernels), got, want)
	}
	dir := t.TempDir()
	configtest.WriteFile(t, filepath.Join(dir, filepath.FromSlash(goodName)), lab)
	kernels, probs, err := LoadOptions{AllowPrivateURLs: true}.Load(t.Context(), dir)
	if err != nil || len(probs) != 0 || len(kernels) != 1 {
		t.Errorf("with AllowPrivateURLs: %d kernels, %v, %v", len(kernels), probs, err)
	}
}

// One config listed 15,003 header URLs; no target needs more than a few.
func TestKernelURLCount(t *testing.T) {
	urls := func(n int) []string {
		var us []string
		for i := range n {
			us = append(us, fmt.Sprintf("https://example.org/pool/h-%d.deb", i))
		}
		return us
	}
	k := &Kernel{KernelRelease: "5.15.0-1019-aws", KernelVersion: "1", Target: "ubuntu-aws", Architecture: AMD64, KernelURLs: urls(MaxKernelURLs)}
	if probs := k.Validate(); len(probs) != 0 {
		t.Errorf("%d URLs: %v", MaxKernelURLs, probs)
	}
	k.KernelURLs = urls(15003)
	wantProblems(t, k.Validate(), "kernelurls: lists 15003 header URLs, more than the 16 allowed")

	var b strings.Builder
	b.WriteString(strings.SplitAfter(goodUbuntu, "kernelurls:\n")[0])
	for _, u := range urls(17) {
		b.WriteString("  - " + u + "\n")
	}
	_, got := loadOne(t, map[string]string{goodName: b.String()})
	if want := goodName + ":6:3: kernelurls: lists 17 header URLs, more than the 16 allowed"; len(got) != 1 || got[0] != want {
		t.Errorf("problems %q, want %q", got, want)
	}
}

func TestDriverSourcePolicy(t *testing.T) {
	tests := []struct {
		source  string
		want    string // a part of the source message; "": valid
		wantLab string
	}{
		{"http://127.0.0.1:8080/src/{version}.tar.gz", "host 127.0.0.1 is a loopback address", ""},
		{"http://[::1]:8080/src/{version}.tar.gz", "host ::1 is a loopback address (::1)", ""},
		{"http://[fd00:ec2::254]/{version}.tar.gz", "a unique local address (fc00::/7)", ""},
		{"http://[::ffff:169.254.169.254]/{version}.tar.gz", "host ::ffff:169.254.169.254 is a link-local address", ""},
		{"http://169.254.169.254/{version}.tar.gz", "link-local", ""},
		{"http://metadata.google.internal/{version}.tar.gz", "local name", ""},
		{"http://2130706433/{version}.tar.gz", "host 2130706433 is the IPv4 address 127.0.0.1 in a numeric form", "numeric form"},
		{"https://0x7f.1/{version}.tar.gz", "host 0x7f.1 is the IPv4 address 127.0.0.1 in a numeric form", "numeric form"},
		{"https://github.com/falcosecurity/libs/archive/{version}.tar.gz", "", ""},
		{"https://140.82.112.3/libs/{version}.tar.gz", "", ""},
	}
	for _, tt := range tests {
		for _, lab := range []bool{false, true} {
			want := map[bool]string{false: tt.want, true: tt.wantLab}[lab]
			data := "source: \"" + tt.source + "\"\nversions: [{version: 1.0.0+driver, kinds: [module]}]\n"
			_, probs := LoadOptions{AllowPrivateURLs: lab}.DecodeDriverVersions("dv.yaml", []byte(data))
			switch {
			case want == "" && probs.Err() != nil:
				t.Errorf("%s (lab %v): %v, want valid", tt.source, lab, probs)
			case want != "" && (len(probs.Errors()) != 1 || probs[0].Field != "source" || !strings.Contains(probs[0].Msg, want)):
				t.Errorf("%s (lab %v): %v, want one source problem with %q", tt.source, lab, probs, want)
			}
		}
	}
	// The package functions are the strict default.
	path := filepath.Join(t.TempDir(), DriverVersionsFile)
	configtest.WriteFile(t, path, "source: http://127.0.0.1:1/{version}.tar.gz\nversions: [{version: 1.0.0+driver, kinds: [module]}]\n")
	if _, err := LoadDriverVersions(path); !errors.Is(err, ErrInvalid) {
		t.Errorf("LoadDriverVersions: %v, want invalid", err)
	}
	if _, err := (LoadOptions{AllowPrivateURLs: true}).LoadDriverVersions(path); err != nil {
		t.Errorf("with AllowPrivateURLs: %v", err)
	}
}

// A revision reaches git after --end-of-options, and one that git would
// read as an option is a usage error before git runs: --output=FILE made
// git diff write FILE.
func TestChangedSinceRevisionIsNotAnOption(t *testing.T) {
	repo := t.TempDir()
	dir := filepath.Join(repo, "kernels")
	configtest.WriteFile(t, filepath.Join(dir, DriverVersionsFile), dvTwo)
	configtest.Git(t, repo, "init", "-q")
	configtest.Git(t, repo, "add", ".")
	configtest.Git(t, repo, "commit", "-qm", "base")
	out := filepath.Join(t.TempDir(), "written-by-git")
	for _, ref := range []string{"--output=" + out, "-o" + out, "-", ""} {
		_, err := ChangedSince(t.Context(), dir, ref)
		if !errors.Is(err, ErrBadRevision) || !errors.Is(err, ErrUsage) || ExitCode(err) != ExitInfra {
			t.Errorf("%q: %v, want a usage error", ref, err)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("git wrote %s: %v", out, err)
	}
	if _, err := ChangedSince(t.Context(), dir, "HEAD"); err != nil {
		t.Errorf("HEAD: %v", err)
	}
}
