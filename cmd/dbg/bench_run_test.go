package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// BenchmarkNoopRun20k publishes 20,000 artifacts (5,000 kernels × 2 driver
// versions × 2 kinds) into a real S3 server (versitygw), then measures
// what it costs to learn what is published (publisher.Holdings) and a
// no-op `dbg run` over them: time and S3 requests. Goal: a no-op run makes
// under 50 S3 requests and finishes in under 5 s.
func BenchmarkNoopRun20k(b *testing.B) {
	dir, plan := benchConfigs(b, 5000)
	srv := s3test.Start(b)
	srv.CreateBucket(b, "bench")
	srv.SetEnv(b)
	publishPlan(b, srv, "bench", plan)
	b.Run("holdings", func(b *testing.B) {
		target, err := publisher.NewS3(b.Context(), "bench", "", publisher.S3Options{PathStyle: true})
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
			held, err := publisher.Holdings(b.Context(), []publisher.Target{target}, prefixes)
			if err != nil || len(held[target]) != len(plan) {
				b.Fatalf("holdings: %v, %d of %d", err, len(held[target]), len(plan))
			}
		}
		b.ReportMetric(float64(len(srv.Requests())), "s3-requests")
	})
	b.Run("noop-run", func(b *testing.B) {
		out := b.TempDir()
		for b.Loop() {
			srv.ResetRequests()
			stdout, stderr, code := dbg(b, "--config-dir", dir, "run", "--out", out, "--to", "s3://bench", "--s3-path-style")
			if code != 0 || !strings.Contains(stdout, fmt.Sprintf("skipped %d", len(plan))) {
				b.Fatalf("no-op run: exit %d\n%s\n%s", code, stdout, stderr)
			}
		}
		b.ReportMetric(float64(len(srv.Requests())), "s3-requests")
	})
}

// benchConfigs writes n Ubuntu kernels and two driver versions with both
// kinds, and plans them.
func benchConfigs(b *testing.B, n int) (string, []grid.Entry) {
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
