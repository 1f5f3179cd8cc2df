package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// BenchmarkNoopRun20k stores 20,000 artifacts (5,000 kernels × 2 driver
// versions × 2 kinds) in a real S3 server (versitygw), twice: in bucket
// "bench" as dbg publishes them (with each prefix's SHA256SUMS), and in
// bucket "legacy" as dbg-go left the real bucket (plain PutObject, no
// stored sha256, no SHA256SUMS). It measures what it costs to learn what
// is published (publisher.Holdings) and a no-op `dbg run` over each, and
// the first and second `dbg index` that adopt the legacy bucket: time and
// S3 requests (all, ListObjectsV2, HeadObject, GetObject). Goal: a no-op
// run makes under 50 S3 requests and finishes in under 5 s, whatever the
// objects carry.
func BenchmarkNoopRun20k(b *testing.B) {
	dir, plan := benchConfigs(b, 5000)
	srv := s3test.Start(b)
	srv.CreateBucket(b, "bench")
	srv.SetEnv(b)
	publishPlan(b, srv, "bench", plan)
	holdings := func(bucket string) func(*testing.B) {
		return func(b *testing.B) {
			target, err := publisher.NewS3(b.Context(), bucket, "", publisher.S3Options{PathStyle: true})
			if err != nil {
				b.Fatal(err)
			}
			prefixes := []publisher.Prefix{}
			for _, dv := range []string{"2.0.0+driver", "1.0.0+driver"} {
				for _, a := range config.Machines() {
					prefixes = append(prefixes, publisher.Prefix{DriverVersion: dv, Arch: a})
				}
			}
			for b.Loop() {
				srv.ResetRequests()
				held, err := publisher.Holdings(b.Context(), []publisher.Target{target}, prefixes, publisher.Presence)
				if err != nil || len(held[target]) != len(prefixes) {
					b.Fatalf("holdings: %v, %d of %d prefixes", err, len(held[target]), len(prefixes))
				}
				n := 0
				for _, objs := range held[target] {
					n += len(objs)
				}
				if n != len(plan) {
					b.Fatalf("holdings: %d of %d artifacts", n, len(plan))
				}
			}
			reportRequests(b, srv)
		}
	}
	noopRun := func(bucket string) func(*testing.B) {
		return func(b *testing.B) {
			out := b.TempDir()
			for b.Loop() {
				srv.ResetRequests()
				stdout, stderr, code := dbg(b, "--config-dir", dir, "run", "--out", out, "--to", "s3://"+bucket, "--s3-path-style")
				if code != 0 || !strings.Contains(stdout, fmt.Sprintf("skipped %d", len(plan))) {
					b.Fatalf("no-op run: exit %d\n%s\n%s", code, stdout, stderr)
				}
			}
			reportRequests(b, srv)
		}
	}
	index := func(bucket string) {
		srv.ResetRequests()
		stdout, stderr, code := dbg(b, "index", "--to", "s3://"+bucket, "--s3-path-style")
		if code != 0 || !strings.Contains(stdout, fmt.Sprintf("%d artifacts in 4 folders", len(plan))) {
			b.Fatalf("index: exit %d\n%s\n%s", code, stdout, stderr)
		}
	}
	b.Run("holdings", holdings("bench"))
	b.Run("noop-run", noopRun("bench"))

	srv.CreateBucket(b, "legacy")
	legacyFill(b, srv, "legacy", plan, 0)
	b.Run("legacy/holdings", holdings("legacy"))
	b.Run("legacy/noop-run", noopRun("legacy"))
	b.Run("legacy/index-first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			unindex(b, srv, "legacy", plan) // every iteration adopts the bucket
			b.StartTimer()
			index("legacy")
		}
		reportRequests(b, srv)
	})
	b.Run("legacy/index-second", func(b *testing.B) {
		for b.Loop() {
			index("legacy")
		}
		reportRequests(b, srv)
	})
	b.Run("legacy/noop-run-after-index", noopRun("legacy"))
}

// reportRequests reports the S3 requests recorded since the last reset:
// all of them, and the ListObjectsV2, HeadObject and GetObject among them.
func reportRequests(b *testing.B, srv *s3test.Server) {
	reqs := srv.Requests()
	lists, heads, gets, _ := s3test.Count(reqs)
	b.ReportMetric(float64(len(reqs)), "s3-requests")
	b.ReportMetric(float64(lists), "s3-lists")
	b.ReportMetric(float64(heads), "s3-heads")
	b.ReportMetric(float64(gets), "s3-gets")
}

// legacyFill stores an artifact (legacyData) for every plan entry the way
// dbg-go did: a plain PutObject with no checksum (not even the SDK's
// default CRC32), no SHA256SUMS; but every sha256Every-th one (0: none)
// with a stored sha256, as a copy made with checksums would leave it.
func legacyFill(tb testing.TB, srv *s3test.Server, bucket string, plan []grid.Entry, sha256Every int) {
	start := time.Now()
	plain := srv.PlainClient()
	g, ctx := errgroup.WithContext(tb.Context())
	g.SetLimit(32)
	for i, e := range plan {
		g.Go(func() error {
			in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(e.Key), Body: strings.NewReader(legacyData(e.Key))}
			if sha256Every > 0 && i%sha256Every == 0 {
				in.ChecksumSHA256 = aws.String(legacySum(e.Key, base64.StdEncoding.EncodeToString))
			}
			_, err := plain.PutObject(ctx, in)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	head, err := plain.HeadObject(tb.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(plan[1].Key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || head.ChecksumSHA256 != nil {
		tb.Fatalf("legacy object %s: %v, sha256 %v", plan[1].Key, err, aws.ToString(head.ChecksumSHA256))
	}
	tb.Logf("stored %d legacy artifacts in %s", len(plan), time.Since(start).Round(time.Millisecond))
}

// legacyData is the content legacyFill stores at key.
func legacyData(key string) string { return "legacy artifact " + key }

// legacySum is the sha256 of legacyData(key), encoded.
func legacySum(key string, encode func([]byte) string) string {
	sum := sha256.Sum256([]byte(legacyData(key)))
	return encode(sum[:])
}

// unindex deletes what dbg index writes into a bucket: each prefix's
// SHA256SUMS and the site index.
func unindex(b *testing.B, srv *s3test.Server, bucket string, plan []grid.Entry) {
	keys := map[string]bool{config.RootKey("index.json"): true, config.RootKey("index.html"): true}
	for _, e := range plan {
		keys[strings.TrimSuffix(e.Key, e.File)+config.SumsFile] = true
	}
	c := srv.Client()
	for k := range keys {
		if _, err := c.DeleteObject(b.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchConfigs writes n Ubuntu kernels and two driver versions with both
// kinds, and plans them.
func benchConfigs(b testing.TB, n int) (string, []grid.Entry) {
	dir := b.TempDir()
	var ks []*config.Kernel
	for i := 0; i < n; i++ {
		ks = append(ks, &config.Kernel{KernelRelease: fmt.Sprintf("5.15.0-%d-generic", i), KernelVersion: "1",
			Target: "ubuntu-generic", Architecture: config.Arches[i%2],
			KernelURLs: []string{fmt.Sprintf("https://example.org/h-%d.deb", i), fmt.Sprintf("https://example.org/c-%d.deb", i)}})
	}
	if _, err := config.WriteConfigs(dir, ks); err != nil {
		b.Fatal(err)
	}
	dv := "versions:\n  - {version: 2.0.0+driver, kinds: [module, probe]}\n  - {version: 1.0.0+driver, kinds: [module, probe]}\n"
	if err := os.WriteFile(filepath.Join(dir, config.DriverVersionsFile), []byte(dv), 0o644); err != nil {
		b.Fatal(err)
	}
	kernels, probs, err := config.Load(b.Context(), dir)
	if err != nil || len(probs) > 0 {
		b.Fatal(err, probs)
	}
	versions, err := config.LoadDriverVersions(filepath.Join(dir, config.DriverVersionsFile))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := grid.Plan(kernels, versions, grid.Options{})
	if err != nil || len(plan) != 4*n {
		b.Fatalf("plan: %d entries, %v", len(plan), err)
	}
	return dir, plan
}

// publishPlan stores an artifact for every plan entry straight into the
// server's folder (fast), and each prefix's SHA256SUMS through the S3 API,
// as dbg leaves them after publishing.
func publishPlan(b *testing.B, srv *s3test.Server, bucket string, plan []grid.Entry) {
	start := time.Now()
	sums := map[string]*bytes.Buffer{}
	for _, e := range plan {
		data := []byte("artifact " + e.Key)
		path := filepath.Join(srv.Dir, bucket, filepath.FromSlash(e.Key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		prefix := strings.TrimSuffix(e.Key, e.File)
		if sums[prefix] == nil {
			sums[prefix] = &bytes.Buffer{}
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(sums[prefix], "%s  %s\n", hex.EncodeToString(sum[:]), e.File)
	}
	time.Sleep(1100 * time.Millisecond) // SHA256SUMS must be newer than the objects it lists
	c := srv.Client()
	for prefix, buf := range sums {
		if _, err := c.PutObject(b.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + config.SumsFile), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("stored %d artifacts in %s", len(plan), time.Since(start).Round(time.Millisecond))
}
