package s3test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Client returns an S3 client talking to versitygw directly (its requests
// are not recorded), for setting up and inspecting the server's state.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Direct),
		UsePathStyle: true,
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.Access, s.Secret, ""),
	})
}

// CreateBucket creates a bucket owned by the server's root user.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client().CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}

// Objects returns every object of bucket, key to content, as the server
// serves them.
func (s *Server) Objects(t testing.TB, bucket string) map[string][]byte {
	t.Helper()
	c := s.Client()
	out := map[string][]byte{}
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatalf("s3test: list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = s.get(t, c, bucket, aws.ToString(o.Key))
		}
	}
	return out
}

func (s *Server) get(t testing.TB, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	resp, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("s3test: get %s/%s: %v", bucket, key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("s3test: get %s/%s: %v", bucket, key, err)
	}
	return b
}

// PlainClient is Client without the SDK's default request checksums: what
// it puts carries no stored checksum at all, as the objects that tools
// older than dbg (dbg-go) uploaded.
func (s *Server) PlainClient() *s3.Client {
	opts := s.Client().Options()
	opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	return s3.New(opts)
}

// PutPlain stores data at key the way dbg-go did: a plain PutObject, with
// no checksum (so no stored sha256) and no SHA256SUMS.
func (s *Server) PutPlain(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if _, err := s.PlainClient().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatalf("s3test: put %s/%s: %v", bucket, key, err)
	}
}

// PutSHA256 stores data at key with its sha256 as the stored checksum
// (ChecksumSHA256), as dbg uploads do.
func (s *Server) PutSHA256(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	if _, err := s.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}); err != nil {
		t.Fatalf("s3test: put %s/%s: %v", bucket, key, err)
	}
}

// Count counts the requests recorded since the last reset by kind:
// ListObjectsV2, HEAD, GET (not lists), and writes (PUT, POST, DELETE).
func Count(reqs []Request) (lists, heads, gets, writes int) {
	for _, r := range reqs {
		switch {
		case r.IsList():
			lists++
		case r.Method == "HEAD":
			heads++
		case r.Method == "GET":
			gets++
		default:
			writes++
		}
	}
	return lists, heads, gets, writes
}
