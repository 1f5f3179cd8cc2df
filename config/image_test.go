package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config/configtest"
)

// A config's builderimage names a local image, or an image of an allowed
// registry pinned by digest; nothing else.
func TestBuilderImagePolicy(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("ab", 32)
	allowed := []string{"ghcr.io/falcosecurity", "localhost:5000", "docker.io/falcosecurity"}
	tests := []struct {
		ref  string
		want string // a part of the message; "" when allowed
	}{
		// local names: no registry, one path component
		{"dbg-builder:bookworm-amd64", ""},
		{"dbg-builder", ""},
		{"dbg-builder:bookworm" + digest, ""},
		// allowed registries, pinned
		{"ghcr.io/falcosecurity/driverkit-builder" + digest, ""},
		{"ghcr.io/falcosecurity/driverkit-builder:v0.22.1" + digest, ""},
		{"ghcr.io/falcosecurity/sub/builder" + digest, ""},
		{"localhost:5000/x" + digest, ""},
		{"docker.io/falcosecurity/driverkit-builder" + digest, ""},
		{"index.docker.io/falcosecurity/driverkit-builder" + digest, ""},
		{"falcosecurity/driverkit-builder" + digest, ""}, // Docker Hub, as docker.io/falcosecurity
		// allowed registries without a digest
		{"ghcr.io/falcosecurity/driverkit-builder:latest", "is not pinned by digest"},
		{"ghcr.io/falcosecurity/driverkit-builder", "is not pinned by digest"},
		{"localhost:5000/x:1", "is not pinned by digest"},
		// registries that are not listed
		{"evil.example.com/owned/builder:latest", "names the registry evil.example.com, which is not allowed"},
		{"evil.example.com/owned/builder" + digest, "names the registry evil.example.com, which is not allowed"},
		{"ghcr.io/falcosecurity-evil/builder" + digest, "names the registry ghcr.io, which is not allowed"},
		{"ghcr.io/falco" + digest, "names the registry ghcr.io, which is not allowed"},
		{"localhost:5001/x" + digest, "names the registry localhost:5001, which is not allowed"},
		{"localhost/x" + digest, "names the registry localhost, which is not allowed"},
		{"owned/builder:latest", "names the Docker Hub repository docker.io/owned/builder, which anyone can publish, which is not allowed"},
		{"docker.io/owned/builder" + digest, "names the registry docker.io, which is not allowed"},
		// shapes
		{"Img; rm -rf /", "is not a valid image reference"},
		{"https://ghcr.io/x" + digest, "is not a valid image reference"},
		{"ghcr.io/falcosecurity/" + strings.Repeat("a", 256) + digest, "characters long; an image reference has at most 255"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			k := &Kernel{BuilderImage: tc.ref}
			var got string
			for _, p := range k.Validate(allowed...) {
				if p.Field == "builderimage" {
					got = p.Msg
				}
			}
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("builderimage %q: %q, want a message with %q", tc.ref, got, tc.want)
			}
		})
	}
}

// Without a registry listed, only local names pass.
func TestBuilderImageNoRegistryAllowed(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("0", 64)
	for ref, ok := range map[string]bool{
		"dbg-builder:bookworm-amd64":                             true,
		"ghcr.io/falcosecurity/driverkit-builder" + digest:       false,
		"localhost:5000/x" + digest:                              false,
		"evil.example.com/owned/builder:latest":                  false,
		"owned/builder" + digest:                                 false,
		"ghcr.io/falcosecurity/driverkit-builder:latest@x":       false,
		"registry.example.org:443/dbg/builder:bookworm" + digest: false,
	} {
		probs := (&Kernel{BuilderImage: ref}).Validate()
		var msg string
		for _, p := range probs {
			if p.Field == "builderimage" {
				msg = p.Msg
			}
		}
		if (msg == "") != ok {
			t.Errorf("%q: %q, want allowed=%v", ref, msg, ok)
		}
		if !ok && msg != "" && !strings.Contains(msg, "not a valid image reference") && !strings.Contains(msg, "no registry is allowed") {
			t.Errorf("%q: %q does not say that no registry is allowed", ref, msg)
		}
	}
}

func TestCheckRegistry(t *testing.T) {
	for entry, want := range map[string]string{
		"ghcr.io":                          "",
		"ghcr.io/falcosecurity":            "",
		"localhost":                        "",
		"localhost:5000":                   "",
		"localhost:5000/a/b-c":             "",
		"docker.io/falcosecurity":          "",
		"":                                 "is empty",
		"https://ghcr.io":                  "without a scheme",
		"falcosecurity":                    "does not name a registry",
		"GHCR.io":                          "lowercase registry host",
		"ghcr.io:port":                     "lowercase registry host",
		"ghcr.io/x:tag":                    "invalid path",
		"ghcr.io/x@sha256:00":              "invalid path",
		"ghcr.io//x":                       "invalid path",
		"ghcr.io/x/":                       "invalid path",
		strings.Repeat("a", 251) + ".io/x": "more than the 255 allowed",
	} {
		got := CheckRegistry(entry)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("CheckRegistry(%q) = %q, want %q", entry, got, want)
		}
	}
}

// driverversions.yaml's registries: are checked where they stand, and
// Load allows them, with those of --allow-registry.
func TestRegistriesOfDriverVersionsAndFlags(t *testing.T) {
	_, probs := DecodeDriverVersions("dv.yaml", []byte("registries: [ghcr.io/falcosecurity, \"https://evil.example.com\"]\nversions: [{version: 1.0.0, kinds: [module]}]\n"))
	if len(probs) != 1 || probs[0].String() != `dv.yaml:1:37: registries: "https://evil.example.com" must be a registry host with an optional port and path (ghcr.io/falcosecurity), without a scheme` {
		t.Errorf("problems %q", probs)
	}

	digest := "@sha256:" + strings.Repeat("1", 64)
	files := map[string]string{
		DriverVersionsFile: "registries: [ghcr.io/falcosecurity]\nversions: [{version: 1.0.0, kinds: [module]}]\n",
		goodName:           goodUbuntu + "builderimage: ghcr.io/falcosecurity/driverkit-builder" + digest + "\n",
	}
	kernels, got := loadOne(t, files)
	if len(got) != 0 || len(kernels) != 1 {
		t.Fatalf("a listed registry: %d kernels, problems %q", len(kernels), got)
	}
	files[goodName] = goodUbuntu + "builderimage: registry.example.org/dbg/builder" + digest + "\n"
	if kernels, got = loadOne(t, files); len(kernels) != 0 || len(got) != 1 || !strings.Contains(got[0], `builderimage: "registry.example.org/dbg/builder`+digest+`" names the registry registry.example.org, which is not allowed (allowed: ghcr.io/falcosecurity;`) {
		t.Fatalf("an unlisted registry: %d kernels, problems %q", len(kernels), got)
	}
	dir := t.TempDir()
	for name, content := range files {
		configtest.WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	if kernels, probs, err := Load(t.Context(), dir, "registry.example.org/dbg"); err != nil || len(probs) != 0 || len(kernels) != 1 {
		t.Fatalf("--allow-registry: %v %d kernels, problems %q", err, len(kernels), probs)
	}
}
