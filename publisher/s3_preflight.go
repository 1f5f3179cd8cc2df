package publisher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/falcosecurity/dbg/config"
)

// Preflight checks that the bucket exists and that the credentials can
// list and write under driver/, by listing one key there, then putting and
// deleting a small object. It lists rather than HeadBucket: the publishing
// role may list only with an s3:prefix of driver/ (deploy/infra), and
// HeadBucket is a prefix-less list.
func (s *S3) Preflight(ctx context.Context) error {
	prefix, one := s.key(config.RootKey("")), int32(1)
	if _, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix, MaxKeys: &one}); err != nil {
		return fmt.Errorf("preflight %s: bucket %q %s: %w", s, s.bucket, s3Reason(err), err)
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	name := ".dbg-preflight-" + hex.EncodeToString(nonce[:])
	if err := s.PutFile(ctx, name, []byte("dbg preflight\n"), "text/plain"); err != nil {
		return fmt.Errorf("preflight %s: bucket %q: write test %s: %w", s, s.bucket, s3Reason(err), err)
	}
	key := s.key(config.RootKey(name))
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("preflight %s: bucket %q: delete %s %s: %w", s, s.bucket, key, s3Reason(err), err)
	}
	return nil
}

// s3Reason says in words why a request failed.
func s3Reason(err error) string {
	switch s3Status(err) {
	case http.StatusNotFound:
		return "not found"
	case http.StatusForbidden:
		return "access denied (check the credentials and the bucket policy)"
	case http.StatusMovedPermanently, http.StatusBadRequest:
		return "refused (wrong region or endpoint?)"
	}
	var send *smithyhttp.RequestSendError
	switch {
	case errors.As(err, &send):
		return "unreachable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return "failed"
}

// s3Status is the HTTP status of a failed request; 0 when none came back.
func s3Status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func s3Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNoSuchKey tells a missing object (404 NoSuchKey, or NotFound on HEAD)
// from every other failure, which must never read as "missing".
func isNoSuchKey(err error) bool {
	switch s3Code(err) {
	case "NoSuchKey", "NotFound":
		return s3Status(err) == http.StatusNotFound
	}
	return false
}

// isPreconditionFailed tells a conditional write that lost: the key exists.
func isPreconditionFailed(err error) bool {
	return s3Status(err) == http.StatusPreconditionFailed || s3Code(err) == "PreconditionFailed"
}
