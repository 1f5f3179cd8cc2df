package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

const s3Bucket = "falco-distribution"

// s3Target starts versitygw with a bucket and returns the target on it,
// configured the standard way (environment) plus path style.
func s3Target(t *testing.T, prefix string) (*S3, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, s3Bucket)
	srv.SetEnv(t)
	target, err := NewS3(t.Context(), s3Bucket, prefix, S3Options{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return target, srv
}

// s3Artifact writes content as a local file and describes it.
func s3Artifact(t *testing.T, p Prefix, file, content string) Artifact {
	t.Helper()
	path := filepath.Join(t.TempDir(), "artifact")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return Artifact{Prefix: p, File: file, Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
}

func s3Head(t *testing.T, srv *s3test.Server, key string) *s3.HeadObjectOutput {
	t.Helper()
	head, err := srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{
		Bucket: aws.String(s3Bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return head
}

var s3Prefix = Prefix{DriverVersion: "10.0.0+driver", Arch: "x86_64"}

func TestS3PutListRoundTrip(t *testing.T) {
	target, srv := s3Target(t, "mirror")
	const file = "falco_debian_5.18.16-1~bpo11+1-amd64_1.ko"
	a := s3Artifact(t, s3Prefix, file, "a kernel module")
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatal(err)
	}
	key := "mirror/driver/10.0.0+driver/x86_64/" + file
	if got := string(srv.Objects(t, s3Bucket)[key]); got != "a kernel module" {
		t.Fatalf("stored %q under %s; objects: %v", got, key, keys(srv.Objects(t, s3Bucket)))
	}
	wantPath := "/falco-distribution/mirror/driver/10.0.0%2Bdriver/x86_64/falco_debian_5.18.16-1~bpo11%2B1-amd64_1.ko"
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != "PUT" || reqs[0].Path != wantPath {
		t.Fatalf("requests %+v, want one PUT %s", reqs, wantPath)
	}
	if h := reqs[0].Header; h.Get("If-None-Match") != "*" || h.Get("X-Amz-Checksum-Sha256") == "" {
		t.Errorf("PUT without a condition or a checksum: %v", h)
	}
	head := s3Head(t, srv, key)
	if got, _ := hexOf(head.ChecksumSHA256); got != a.SHA256 {
		t.Errorf("HEAD checksum %s, want %s", got, a.SHA256)
	}
	if ct := aws.ToString(head.ContentType); ct != "application/octet-stream" {
		t.Errorf("content type %q", ct)
	}
	want := Object{File: file, SHA256: a.SHA256, Size: a.Size, Location: s3Prefix.Key(file)}
	for _, verify := range []bool{true, false} {
		objs, err := target.List(t.Context(), s3Prefix, listing(verify))
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || objs[0] != want {
			t.Errorf("List(verify=%v) = %+v, want %+v", verify, objs, want)
		}
	}
	prefixes, err := target.Prefixes(t.Context())
	if err != nil || len(prefixes) != 1 || prefixes[0] != s3Prefix {
		t.Errorf("Prefixes = %v, %v", prefixes, err)
	}
	if target.String() != "s3://falco-distribution/mirror" {
		t.Errorf("String = %s", target)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestS3PutWrongDigestStoresNothing(t *testing.T) {
	target, srv := s3Target(t, "")
	a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "these bytes")
	a.SHA256 = strings.Repeat("ab", 32)
	err := target.Put(t.Context(), a, false)
	if err == nil || !strings.Contains(err.Error(), "BadDigest") {
		t.Fatalf("Put with a wrong digest: %v, want BadDigest", err)
	}
	t.Log(err)
	if objs := srv.Objects(t, s3Bucket); len(objs) != 0 {
		t.Errorf("stored %v", keys(objs))
	}
}

func TestS3PutExistingNeedsReplace(t *testing.T) {
	target, srv := s3Target(t, "")
	old := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "old")
	if err := target.Put(t.Context(), old, false); err != nil {
		t.Fatal(err)
	}
	updated := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "new")
	if err := target.Put(t.Context(), updated, false); !errors.Is(err, ErrExists) {
		t.Fatalf("Put existing without replace: %v, want ErrExists", err)
	}
	if got := string(srv.Objects(t, s3Bucket)[old.Key()]); got != "old" {
		t.Fatalf("overwritten without replace: %q", got)
	}
	if err := target.Put(t.Context(), updated, true); err != nil {
		t.Fatal(err)
	}
	if got := string(srv.Objects(t, s3Bucket)[old.Key()]); got != "new" {
		t.Fatalf("not replaced: %q", got)
	}
}

func TestS3ConcurrentPutsOneWins(t *testing.T) {
	target, srv := s3Target(t, "")
	const n = 8
	errs := make([]error, n)
	g := errgroup.Group{}
	for i := range n {
		a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", fmt.Sprint("writer ", i))
		g.Go(func() error { errs[i] = target.Put(t.Context(), a, false); return nil })
	}
	_ = g.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("writers %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, ErrExists):
			t.Errorf("writer %d: %v, want ErrExists", i, err)
		}
	}
	if got := string(srv.Objects(t, s3Bucket)[s3Prefix.Key("falco_x_1_1.ko")]); won < 0 || got != fmt.Sprint("writer ", won) {
		t.Errorf("stored %q, winner %d", got, won)
	}
}

func TestS3RetriesServerErrors(t *testing.T) {
	target, srv := s3Target(t, "")
	a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "retried bytes")
	srv.ResetRequests()
	srv.Fail(func(r s3test.Request) bool { return r.Method == "PUT" }, 1, 500)
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatalf("Put after a 500: %v", err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 attempts", n)
	}
	if got := string(srv.Objects(t, s3Bucket)[a.Key()]); got != "retried bytes" {
		t.Errorf("stored %q", got)
	}
	srv.Fail(s3test.Request.IsList, 1, 503)
	if objs, err := target.List(t.Context(), s3Prefix, Verify); err != nil || len(objs) != 1 {
		t.Errorf("List after a 503: %v, %v", objs, err)
	}
}

func TestS3WrongSecretIsAnError(t *testing.T) {
	target, _ := s3Target(t, "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	bad, err := NewS3(t.Context(), s3Bucket, "", S3Options{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Put(t.Context(), s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "x"), false); err != nil {
		t.Fatal(err)
	}
	if objs, err := bad.List(t.Context(), s3Prefix, Digests); err == nil {
		t.Errorf("List with a wrong secret = %v, nil; want an error", objs)
	} else {
		t.Log(err)
	}
	if _, err := bad.Prefixes(t.Context()); err == nil {
		t.Error("Prefixes with a wrong secret: no error")
	}
	err = bad.Preflight(t.Context())
	if err == nil || !strings.Contains(err.Error(), s3Bucket) || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Preflight with a wrong secret: %v", err)
	}
	t.Log(err)
}

func TestS3Preflight(t *testing.T) {
	target, srv := s3Target(t, "mirror")
	if err := target.Preflight(t.Context()); err != nil {
		t.Fatal(err)
	}
	if objs := srv.Objects(t, s3Bucket); len(objs) != 0 {
		t.Errorf("preflight left %v", keys(objs))
	}
	missing, err := NewS3(t.Context(), "no-such-bucket", "", S3Options{Endpoint: srv.Endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	err = missing.Preflight(t.Context())
	if err == nil || !strings.Contains(err.Error(), `"no-such-bucket" not found`) {
		t.Errorf("Preflight on a missing bucket: %v", err)
	}
	t.Log(err)
}

func TestS3WriteIndexIsSha256sumCompatible(t *testing.T) {
	target, srv := s3Target(t, "")
	var objs []Object
	for _, f := range []string{"falco_b_1+2_1.ko", "falco_a_1~1_1.o"} {
		a := s3Artifact(t, s3Prefix, f, "bytes of "+f)
		if err := target.Put(t.Context(), a, false); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, Object{File: f, SHA256: a.SHA256, Size: a.Size})
	}
	if err := target.WriteIndex(t.Context(), s3Prefix, objs); err != nil {
		t.Fatal(err)
	}
	if head := s3Head(t, srv, s3Prefix.Key(config.SumsFile)); !strings.HasPrefix(aws.ToString(head.ContentType), "text/plain") {
		t.Errorf("SHA256SUMS content type %q", aws.ToString(head.ContentType))
	}
	dir := t.TempDir()
	for key, data := range srv.Objects(t, s3Bucket) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(key)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), "sha256sum", "--strict", "-c", config.SumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
}

func TestS3DeleteAndPutFile(t *testing.T) {
	target, srv := s3Target(t, "mirror")
	a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "x")
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatal(err)
	}
	if err := target.Delete(t.Context(), s3Prefix, a.File); err != nil {
		t.Fatal(err)
	}
	if err := target.PutFile(t.Context(), "index.json", []byte("{}\n"), "application/json"); err != nil {
		t.Fatal(err)
	}
	objs := srv.Objects(t, s3Bucket)
	if len(objs) != 1 || string(objs["mirror/driver/index.json"]) != "{}\n" {
		t.Errorf("objects: %v", keys(objs))
	}
	if ct := aws.ToString(s3Head(t, srv, "mirror/driver/index.json").ContentType); ct != "application/json" {
		t.Errorf("index.json content type %q", ct)
	}
}

func TestS3PutFailsWhileServerIsDownThenRecovers(t *testing.T) {
	target, srv := s3Target(t, "")
	a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "x")
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	if err := target.Put(ctx, a, false); err == nil {
		t.Fatal("Put with the server down: no error")
	} else {
		t.Logf("server down after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := target.Preflight(ctx); err == nil || !strings.Contains(err.Error(), `bucket "falco-distribution" timed out`) {
		t.Errorf("Preflight with the server down: %v", err)
	}
	srv.Restart(t)
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatalf("Put after restart: %v", err)
	}
	if got := string(srv.Objects(t, s3Bucket)[a.Key()]); got != "x" {
		t.Fatalf("stored %q", got)
	}
}

func TestS3CannedACL(t *testing.T) {
	_, srv := s3Target(t, "")
	target, err := NewS3(t.Context(), s3Bucket, "", S3Options{PathStyle: true, ACL: "public-read"})
	if err != nil {
		t.Fatal(err)
	}
	a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "x")
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatal(err)
	}
	// versitygw takes the header but has no object ACLs (GetObjectAcl: 501).
	if reqs := srv.Requests(); reqs[len(reqs)-1].Header.Get("X-Amz-Acl") != "public-read" {
		t.Errorf("PUT headers %v, want x-amz-acl: public-read", reqs[len(reqs)-1].Header)
	}
	if _, err := NewS3(t.Context(), s3Bucket, "", S3Options{ACL: "world-writable"}); err == nil {
		t.Error("unknown ACL accepted")
	}
}
