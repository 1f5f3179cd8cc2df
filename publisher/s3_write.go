package publisher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/falcosecurity/dbg/config"
)

// Put uploads the artifact with its sha256, which the server checks
// (BadDigest on mismatch: nothing is stored). Without replace the write is
// conditional (If-None-Match: *), so an object written meanwhile by someone
// else is never overwritten: the server answers 412 and Put returns
// ErrExists.
func (s *S3) Put(ctx context.Context, a Artifact, replace bool) error {
	key := s.key(a.Key())
	sum, err := checksumOf(a.SHA256)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	// The SDK rewinds the file for each retry attempt.
	f, err := os.Open(a.Path)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	in := s.putInput(key, f, st.Size(), sum, "application/octet-stream")
	if !replace {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		if isPreconditionFailed(err) {
			return fmt.Errorf("put %s: %w", key, ErrExists)
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	slog.DebugContext(ctx, "uploaded", "target", s.String(), "key", key, "size", st.Size())
	return nil
}

// WriteIndex writes the prefix's SHA256SUMS. Objects without a digest keep
// their entry of the current SHA256SUMS when they were not written after it
// (one GetObject, only when some object has no digest).
func (s *S3) WriteIndex(ctx context.Context, p Prefix, objects []Object) error {
	if needDigests(objects) {
		known, written, err := s.readSums(ctx, p)
		if err != nil {
			return err
		}
		objects = fillFromIndex(ctx, s, p, objects, func(o Object) (string, bool) {
			// written is an HTTP date (whole seconds), as listings are on S3.
			sum, ok := known[o.File]
			return sum, ok && !o.Modified.Truncate(time.Second).After(written)
		})
	}
	return s.putBytes(ctx, s.key(p.Key(config.SumsFile)), SHA256SUMS(objects), "text/plain; charset=utf-8")
}

// PutFile writes a site file under [PREFIX/]driver/.
func (s *S3) PutFile(ctx context.Context, name string, data []byte, contentType string) error {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return s.putBytes(ctx, s.key(config.RootKey(name)), data, contentType)
}

// Delete removes one artifact (deleting a missing key is not an error).
func (s *S3) Delete(ctx context.Context, p Prefix, file string) error {
	key := s.key(p.Key(file))
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func (s *S3) putBytes(ctx context.Context, key string, data []byte, contentType string) error {
	raw := sha256.Sum256(data)
	in := s.putInput(key, bytes.NewReader(data), int64(len(data)), base64.StdEncoding.EncodeToString(raw[:]), contentType)
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func (s *S3) putInput(key string, body io.ReadSeeker, size int64, sum, contentType string) *s3.PutObjectInput {
	return &s3.PutObjectInput{
		Bucket:         &s.bucket,
		Key:            &key,
		Body:           body,
		ContentLength:  &size,
		ContentType:    &contentType,
		ChecksumSHA256: &sum,
		ACL:            s.acl,
	}
}

// checksumOf turns a hex sha256 into S3's ChecksumSHA256 (base64).
func checksumOf(hexSum string) (string, error) {
	raw, err := hex.DecodeString(hexSum)
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("bad sha256 %q", hexSum)
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// hexOf turns S3's ChecksumSHA256 into hex; ok is false for a missing or a
// composite (multipart, "<base64>-<parts>") checksum.
func hexOf(checksum *string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(checksum))
	if err != nil || len(raw) != sha256.Size {
		return "", false
	}
	return hex.EncodeToString(raw), true
}
