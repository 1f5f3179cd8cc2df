package publisher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// A publish interrupted by the server dying mid-run, then re-run after
// it restarts: everything ends published with verified digests, nothing
// half-written is listed, and the second run uploads only what the first
// did not finish.
func TestS3InterruptedPublishThenRerun(t *testing.T) {
	target, srv := s3Target(t, "")
	p := Prefix{"10.0.0+driver", "x86_64"}
	var arts []Artifact
	for i := 0; i < 40; i++ {
		arts = append(arts, s3Artifact(t, p, fmt.Sprintf("falco_debian_6.1.%d-1-amd64_1.ko", i), strings.Repeat(fmt.Sprint(i), 4096)))
	}
	var once sync.Once
	stop := make(chan struct{})
	go func() { // kill the server after the first uploads
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if puts(srv.Requests()) >= 8 {
				once.Do(func() { srv.Stop(); close(stop) })
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	outs, err := Publish(ctx, []Target{target}, arts, Options{Jobs: 2})
	<-stop
	if err == nil || !errors.Is(err, ErrUploadFailed) {
		t.Fatalf("a publish whose server died must fail with ErrUploadFailed, got %v", err)
	}
	first := count(outs, Upload)
	srv.Restart(t)
	outs, err = Publish(t.Context(), []Target{target}, arts, Options{Jobs: 2})
	if err != nil || count(outs, Upload)+count(outs, Skip) != len(arts) || count(outs, Skip) < first {
		t.Fatalf("re-run: %v, %d uploads, %d skips (first run uploaded %d)", err, count(outs, Upload), count(outs, Skip), first)
	}
	objs, err := target.List(t.Context(), p, Verify)
	if err != nil || len(objs) != len(arts) {
		t.Fatalf("after the re-run the target lists %d of %d: %v", len(objs), len(arts), err)
	}
	for i, o := range objs {
		if want := digestOf(arts, o.File); o.SHA256 != want {
			t.Errorf("object %d %s: stored sha256 %s, want %s", i, o.File, o.SHA256, want)
		}
	}
}

// Publish on S3 refuses to replace different bytes, and replaces them with
// Force.
func TestS3PublishConflictAndForce(t *testing.T) {
	target, srv := s3Target(t, "")
	p := Prefix{"10.0.0+driver", "x86_64"}
	a := s3Artifact(t, p, "falco_debian_6.1.0-1-amd64_1.ko", "first build")
	if _, err := Publish(t.Context(), []Target{target}, []Artifact{a}, Options{}); err != nil {
		t.Fatal(err)
	}
	b := s3Artifact(t, p, "falco_debian_6.1.0-1-amd64_1.ko", "second build")
	srv.ResetRequests()
	outs, err := Publish(t.Context(), []Target{target}, []Artifact{b}, Options{})
	if !errors.Is(err, ErrConflict) || count(outs, Conflict) != 1 || puts(srv.Requests()) != 0 {
		t.Fatalf("conflict: %v %+v, %d puts", err, outs, puts(srv.Requests()))
	}
	if got := string(srv.Objects(t, s3Bucket)[a.Key()]); got != "first build" {
		t.Fatalf("published bytes replaced without --force: %q", got)
	}
	if outs, err = Publish(t.Context(), []Target{target}, []Artifact{b}, Options{Force: true}); err != nil || count(outs, Replace) != 1 {
		t.Fatalf("force: %v %+v", err, outs)
	}
	if got := string(srv.Objects(t, s3Bucket)[a.Key()]); got != "second build" {
		t.Fatalf("not replaced: %q", got)
	}
}

func puts(reqs []s3test.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == "PUT" && !strings.HasSuffix(r.Path, config.SumsFile) {
			n++
		}
	}
	return n
}

func digestOf(arts []Artifact, file string) string {
	for _, a := range arts {
		if a.File == file {
			return a.SHA256
		}
	}
	return ""
}
