package main

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher"
	"github.com/falcosecurity/dbg/publisher/ghtest"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// cleanupConfig writes a config dir whose window is [10.0.0, 9.1.0].
func cleanupConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	yaml := `window: 2
versions:
  - {version: "10.0.0+driver", kinds: [module]}
  - {version: "9.1.0+driver", kinds: [module, probe]}
  - {version: "8.1.0+driver", kinds: [module, probe]}
  - {version: "7.3.0+driver", kinds: [module, probe]}
`
	if err := os.WriteFile(filepath.Join(dir, "driverversions.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cleanupSeed publishes one module per version to the target at url.
func cleanupSeed(t *testing.T, url string, opts publisher.OpenOptions) {
	t.Helper()
	target, err := publisher.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	var arts []publisher.Artifact
	for _, dv := range []string{"7.3.0+driver", "8.1.0+driver", "9.1.0+driver", "10.0.0+driver"} {
		arts = append(arts, statsArtifact(t, config.ObjectKey(dv, config.AMD64, "falco_debian_6.1.170-3-cloud-amd64_1.ko")))
	}
	if _, err := publisher.Publish(t.Context(), []publisher.Target{target}, arts, publisher.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCleanupCommand(t *testing.T) {
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "drivers")
	s3.SetEnv(t)
	gh := ghtest.New(t)
	t.Setenv("GITHUB_TOKEN", gh.Token)
	ghURL := "github://" + gh.Owner + "/" + gh.Repo
	ghFlags := []string{"--github-api-url", gh.API.URL, "--github-upload-url", gh.Uploads.URL}
	cleanupSeed(t, "s3://drivers", publisher.OpenOptions{S3: publisher.S3Options{PathStyle: true}})
	cleanupSeed(t, ghURL, publisher.OpenOptions{GitHub: publisher.GitHubOptions{APIURL: gh.API.URL, UploadURL: gh.Uploads.URL}})
	config := cleanupConfig(t)
	cleanup := func(args ...string) (string, string, int) {
		args = append([]string{"--config-dir", config, "cleanup", "--to", "s3://drivers", "--s3-path-style", "--to", ghURL}, args...)
		return dbg(t, append(args, ghFlags...)...)
	}

	objects := s3.Objects(t, "drivers")
	out, errOut, code := cleanup("--dry-run")
	want := `would delete s3://drivers driver/7.3.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko
would delete github://falcosecurity/drivers driver/7.3.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko
TARGET                          DRIVER VERSION  ARCHES  ACTION        REASON                 ARTIFACTS
s3://drivers                    10.0.0+driver   x86_64  kept          window                 1
s3://drivers                    9.1.0+driver    x86_64  kept          window                 1
s3://drivers                    8.1.0+driver    x86_64  kept          newest                 1
s3://drivers                    7.3.0+driver    x86_64  would delete  outside the retention  1
github://falcosecurity/drivers  10.0.0+driver   x86_64  kept          window                 1
github://falcosecurity/drivers  9.1.0+driver    x86_64  kept          window                 1
github://falcosecurity/drivers  8.1.0+driver    x86_64  kept          newest                 1
github://falcosecurity/drivers  7.3.0+driver    x86_64  would delete  outside the retention  1
dry run: nothing was deleted
`
	if code != 0 || out != want {
		t.Fatalf("dry run: exit %d\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}
	if after := s3.Objects(t, "drivers"); !maps.EqualFunc(after, objects, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatal("dry run changed the bucket")
	}
	if len(gh.Assets("7.3.0+driver_x86_64")) == 0 {
		t.Fatal("dry run changed the releases")
	}

	if _, errOut, code := cleanup("--retention", "1"); code != 2 {
		t.Errorf("--retention 1 inside a window of 2: exit %d; %s", code, errOut)
	}
	if _, errOut, code := cleanup("--retention", "0"); code != 2 {
		t.Errorf("--retention 0: exit %d; %s", code, errOut)
	}

	if out, errOut, code := cleanup(); code != 0 {
		t.Fatalf("cleanup: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, ok := s3.Objects(t, "drivers")["driver/7.3.0+driver/x86_64/falco_debian_6.1.170-3-cloud-amd64_1.ko"]; ok {
		t.Error("s3: 7.3.0+driver not deleted")
	}
	if n := len(gh.Assets("7.3.0+driver_x86_64")); n != 1 { // index.json, listing nothing
		t.Errorf("github: 7.3.0+driver_x86_64 holds %d assets", n)
	}
	out, _, code = cleanup("--retention", "2", "-o", "json")
	if code != 0 || len(s3.Objects(t, "drivers")) != 6 { // 2 modules, 4 SHA256SUMS
		t.Errorf("retention 2: exit %d\n%s\nobjects: %d", code, out, len(s3.Objects(t, "drivers")))
	}
	if len(gh.Assets("8.1.0+driver_x86_64")) != 1 {
		t.Errorf("github: 8.1.0+driver not deleted: %+v", gh.Assets("8.1.0+driver_x86_64"))
	}
}

func TestCleanupUnreachableTarget(t *testing.T) {
	s3 := s3test.Start(t)
	s3.SetEnv(t)
	_, errOut, code := dbg(t, "--config-dir", cleanupConfig(t), "cleanup", "--to", "s3://nope", "--s3-path-style")
	if code != 2 {
		t.Errorf("exit %d, want 2; %s", code, errOut)
	}
}
