package publisher

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var _ StatusStore = (*S3)(nil)

// PutStatus writes a status file of the prefix, with its sha256.
func (s *S3) PutStatus(ctx context.Context, p Prefix, name string, data []byte) error {
	if err := checkStatusName(name); err != nil {
		return err
	}
	return s.putBytes(ctx, s.key(p.Key(name)), data, "application/json")
}

// GetStatus reads a status file of the prefix; missing is (nil, nil).
func (s *S3) GetStatus(ctx context.Context, p Prefix, name string) ([]byte, error) {
	if err := checkStatusName(name); err != nil {
		return nil, err
	}
	return s.getSmall(ctx, s.key(p.Key(name)), maxPrefixFileBytes)
}

// StatusFiles lists the prefix's status files: one listing of the keys
// that start with "status" (one page per 1000).
func (s *S3) StatusFiles(ctx context.Context, p Prefix) ([]string, error) {
	folder := s.key(p.Key(""))
	prefix := folder + "status"
	var out []string
	err := s.eachPage(ctx, prefix, func(page *s3.ListObjectsV2Output) {
		for _, o := range page.Contents {
			if name := strings.TrimPrefix(aws.ToString(o.Key), folder); checkStatusName(name) == nil {
				out = append(out, name)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// DeleteStatus removes a status file of the prefix.
func (s *S3) DeleteStatus(ctx context.Context, p Prefix, name string) error {
	if err := checkStatusName(name); err != nil {
		return err
	}
	key := s.key(p.Key(name))
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
