package publisher

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/falcosecurity/dbg/grid/retry"
)

// S3Options are the S3 settings a target URL does not carry.
type S3Options struct {
	// Endpoint and PathStyle point the client at an S3-compatible server
	// (they override AWS_ENDPOINT_URL_S3 and the shared config).
	Endpoint  string
	PathStyle bool
	Region    string // default: the AWS configuration's, else us-east-1
	// ACL is an optional canned ACL for every object written (public-read);
	// none by default (the bucket policy decides).
	ACL string
	// Concurrency bounds the per-object requests of List (default 16).
	Concurrency int
}

// S3 is a target in an S3 bucket, laid out like download.falco.org:
// s3://BUCKET/[PREFIX/]driver/<driver version>/<arch>/<file>.
type S3 struct {
	client *s3.Client
	bucket string
	root   string // PREFIX without slashes; "" for the bucket's root
	acl    types.ObjectCannedACL
	jobs   int
}

var (
	_ Target     = (*S3)(nil)
	_ SiteWriter = (*S3)(nil)
)

const s3DefaultJobs = 16

// s3Policy is the shared retry policy with S3's attempts (5: a long publish
// meets bursts of 503 SlowDown). The SDK's retryer takes its attempts and
// longest wait from it; its classification and jitter are the SDK's.
func s3Policy() retry.Policy {
	p := retry.Default()
	p.Attempts = 5
	return p
}

// NewS3 makes the target for s3://BUCKET[/PREFIX]. Standard AWS
// configuration applies (env, shared config, AWS_ENDPOINT_URL_S3);
// Endpoint/PathStyle override it for S3-compatible servers. It makes no
// request: Preflight does.
func NewS3(ctx context.Context, bucket, prefix string, opts S3Options) (*S3, error) {
	if opts.ACL != "" && !slices.Contains(types.ObjectCannedACL("").Values(), types.ObjectCannedACL(opts.ACL)) {
		return nil, fmt.Errorf("s3://%s: unknown canned ACL %q", bucket, opts.ACL)
	}
	jobs := opts.Concurrency
	if jobs <= 0 {
		jobs = s3DefaultJobs
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(newS3Retryer), config.WithHTTPClient(newS3HTTPClient(jobs)))
	if err != nil {
		return nil, fmt.Errorf("s3://%s: load AWS configuration: %w", bucket, err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Region != "" {
			o.Region = opts.Region
		}
		if o.Region == "" {
			o.Region = "us-east-1"
		}
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = o.UsePathStyle || opts.PathStyle
	})
	return &S3{client: client, bucket: bucket, root: strings.Trim(prefix, "/"), acl: types.ObjectCannedACL(opts.ACL), jobs: jobs}, nil
}

// newS3Retryer retries network errors, 5xx, throttling and S3's 409
// ConditionalRequestConflict, with s3Policy's attempts and longest wait and
// no client-side retry quota (a long publish must not fail on a burst of
// 503 SlowDown).
func newS3Retryer() aws.Retryer {
	p := s3Policy()
	return awsretry.NewStandard(func(o *awsretry.StandardOptions) {
		o.MaxAttempts = p.Attempts
		o.MaxBackoff = p.Cap
		o.RateLimiter = ratelimit.None
		o.Retryables = append(slices.Clone(o.Retryables), awsretry.RetryableErrorCode{
			Codes: map[string]struct{}{"ConditionalRequestConflict": {}},
		})
	})
}

func newS3HTTPClient(jobs int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = jobs + 4
	})
}

func (s *S3) String() string {
	if s.root == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.root
}

// key is the bucket key of a target-relative key (driver/...).
func (s *S3) key(rel string) string {
	if s.root == "" {
		return rel
	}
	return s.root + "/" + rel
}
