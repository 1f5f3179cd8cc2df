package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// statsBucket starts versitygw with the bucket "drivers" holding two planned
// builds of testdata/kernels and two extra artifacts, one in a planned
// folder, one in another.
func statsBucket(t *testing.T) {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "drivers")
	srv.SetEnv(t)
	target, err := publisher.Open(t.Context(), "s3://drivers", publisher.OpenOptions{S3: publisher.S3Options{PathStyle: true}})
	if err != nil {
		t.Fatal(err)
	}
	var arts []publisher.Artifact
	for _, key := range []string{
		"driver/10.0.0+driver/x86_64/falco_centos_3.10.0-1160.el7.x86_64_1.ko", // planned
		"driver/9.1.0+driver/aarch64/falco_minikube_5.10.57_1_1.26.0.o",        // planned
		"driver/9.1.0+driver/x86_64/falco_centos_3.10.0-1160.el7.x86_64_1.o",   // extra: too old for the probe
		"driver/8.1.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",   // extra: out of the window
	} {
		arts = append(arts, statsArtifact(t, key))
	}
	if _, err := publisher.Publish(t.Context(), []publisher.Target{target}, arts, publisher.Options{}); err != nil {
		t.Fatal(err)
	}
}

func statsArtifact(t *testing.T, key string) publisher.Artifact {
	t.Helper()
	parts := strings.SplitN(key, "/", 4) // driver, dv, arch, file: the test's own keys
	path := filepath.Join(t.TempDir(), "artifact")
	if err := os.WriteFile(path, []byte(key), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(key))
	return publisher.Artifact{
		Prefix: publisher.Prefix{DriverVersion: parts[1], Arch: parts[2]}, File: parts[3],
		Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(key)),
	}
}

func statsFrom(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := dbg(t, append([]string{"--config-dir", testKernels, "stats", "--from", "s3://drivers", "--s3-path-style"}, args...)...)
	if code != 0 {
		t.Fatalf("dbg stats --from: exit %d\n%s", code, errOut)
	}
	return out
}

func counts(kv ...any) []grid.Count {
	out := []grid.Count{}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, grid.Count{Value: kv[i].(string), Count: kv[i+1].(int)})
	}
	return out
}

func TestStatsFromS3(t *testing.T) {
	statsBucket(t)
	var rep statsReport
	if err := json.Unmarshal([]byte(statsFrom(t, "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Plan.Total != 13 || len(rep.Targets) != 1 {
		t.Fatalf("plan %+v, %d targets", rep.Plan, len(rep.Targets))
	}
	c := rep.Targets[0]
	want := publisher.Comparison{
		Target: "s3://drivers",
		Held: grid.Stats{
			Total: 2, Kernels: 2,
			DriverVersion: counts("10.0.0+driver", 1, "9.1.0+driver", 1),
			Arch:          counts("aarch64", 1, "x86_64", 1),
			Target:        counts("centos", 1, "minikube", 1),
			Kind:          counts("module", 1, "probe", 1),
		},
		Missing: publisher.Missing{
			Stats: grid.Stats{
				Total: 11, Kernels: 5,
				DriverVersion: counts("10.0.0+driver", 4, "9.1.0+driver", 7),
				Arch:          counts("aarch64", 4, "x86_64", 7),
				Target:        counts("amazonlinux2", 2, "centos", 1, "debian", 3, "minikube", 2, "ubuntu-generic", 3),
				Kind:          counts("module", 9, "probe", 2),
			},
			First: []string{
				"driver/10.0.0+driver/aarch64/falco_amazonlinux2_4.14.158-129.185.amzn2.aarch64_1.ko",
				"driver/9.1.0+driver/aarch64/falco_amazonlinux2_4.14.158-129.185.amzn2.aarch64_1.ko",
				"driver/10.0.0+driver/aarch64/falco_minikube_5.10.57_1_1.26.0.ko",
				"driver/9.1.0+driver/aarch64/falco_minikube_5.10.57_1_1.26.0.ko",
				"driver/9.1.0+driver/x86_64/falco_centos_3.10.0-1160.el7.x86_64_1.ko",
				"driver/10.0.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",
				"driver/9.1.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",
				"driver/9.1.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.o",
				"driver/10.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko",
				"driver/9.1.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko",
			},
		},
		Extra: publisher.Extra{
			Total:  2,
			Prefix: counts("8.1.0+driver/x86_64", 1, "9.1.0+driver/x86_64", 1),
			Kind:   counts("module", 1, "probe", 1),
			Keys: []string{
				"driver/8.1.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko",
				"driver/9.1.0+driver/x86_64/falco_centos_3.10.0-1160.el7.x86_64_1.o",
			},
		},
		Status: publisher.StatusCounts{Published: 4}, // no status written: no failure known
	}
	if !reflect.DeepEqual(*c, want) {
		got, _ := json.MarshalIndent(c, "", "  ")
		exp, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("comparison:\n%s\nwant:\n%s", got, exp)
	}

	golden(t, "stats-from.txt", statsFrom(t))

	// The selection says what should be there: the aarch64 builds become extra.
	if err := json.Unmarshal([]byte(statsFrom(t, "-o", "json", "--arch", "x86_64")), &rep); err != nil {
		t.Fatal(err)
	}
	c = rep.Targets[0]
	if c.Held.Total != 1 || c.Missing.Total != 7 || c.Extra.Total != 3 ||
		!reflect.DeepEqual(c.Extra.Prefix, counts("8.1.0+driver/x86_64", 1, "9.1.0+driver/aarch64", 1, "9.1.0+driver/x86_64", 1)) {
		t.Errorf("--arch x86_64: held %d, missing %d, extra %+v", c.Held.Total, c.Missing.Total, c.Extra)
	}
}

func TestStatsFromExitCodes(t *testing.T) {
	statsBucket(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"missing builds are a report", []string{"--from", "s3://drivers"}, 0},
		{"no such bucket", []string{"--from", "s3://nope"}, 2},
		{"bad target URL", []string{"--from", "ftp://drivers"}, 2},
		{"--to is not a stats flag", []string{"--to", "s3://drivers"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := dbg(t, append([]string{"--config-dir", testKernels, "stats", "--s3-path-style"}, tc.args...)...)
			if code != tc.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.want, errOut)
			}
		})
	}
}
