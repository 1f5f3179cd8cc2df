package publisher

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/falcosecurity/dbg/grid"
)

var _ ProvenanceStore = (*S3)(nil)

// ReadProvenance gets p's provenance bundle (nil when there is none).
func (s *S3) ReadProvenance(ctx context.Context, p Prefix) ([]byte, error) {
	return s.getSmall(ctx, s.key(p.Key(grid.ProvenanceFile)), maxProvenanceBytes)
}

// WriteProvenance puts p's provenance bundle, its sha256 checked by S3
// (deletes it when data is empty).
func (s *S3) WriteProvenance(ctx context.Context, p Prefix, data []byte) error {
	if len(data) == 0 {
		key := s.key(p.Key(grid.ProvenanceFile))
		if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		return nil
	}
	return s.putBytes(ctx, s.key(p.Key(grid.ProvenanceFile)), data, provenanceType)
}

// A bundle's media type, and the most of it dbg reads (about 4 KiB a
// statement: 64 MiB is some 15,000 artifacts in one prefix).
const (
	provenanceType     = "application/jsonl"
	maxProvenanceBytes = 64 << 20
)
