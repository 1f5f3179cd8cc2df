package publisher

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/falcosecurity/dbg/config"
)

// Prefixes lists the driver/<dv>/<arch>/ folders.
func (s *S3) Prefixes(ctx context.Context) ([]Prefix, error) {
	dvs, err := s.folders(ctx, config.RootKey(""))
	if err != nil {
		return nil, err
	}
	var out []Prefix
	for _, dv := range dvs {
		arches, err := s.folders(ctx, config.VersionKey(dv))
		if err != nil {
			return nil, err
		}
		for _, arch := range arches {
			out = append(out, Prefix{DriverVersion: dv, Arch: arch})
		}
	}
	return out, nil
}

// folders lists the names of the "subfolders" of a target-relative folder.
func (s *S3) folders(ctx context.Context, rel string) ([]string, error) {
	prefix := s.key(rel)
	var out []string
	err := s.eachPage(ctx, prefix, func(page *s3.ListObjectsV2Output) {
		for _, cp := range page.CommonPrefixes {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"))
		}
	})
	return out, err
}

// eachPage lists the keys under prefix one level deep ("/" delimits), one
// ListObjectsV2 page of up to 1000 keys at a time, and hands fn each page.
func (s *S3) eachPage(ctx context.Context, prefix string, fn func(*s3.ListObjectsV2Output)) error {
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: &prefix, Delimiter: aws.String("/"), MaxKeys: aws.Int32(1000),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err)
		}
		fn(page)
	}
	return nil
}

// s3Listed is one object of a prefix listing.
type s3Listed struct {
	file     string
	size     int64
	modified time.Time
}

// List lists the prefix in one paginated request (one page per 1000
// keys). Presence stops there. Digests takes each digest from the prefix's
// SHA256SUMS for the files it lists and that were not written after it,
// and from the objects themselves for the others; Verify from the objects
// themselves, always. An object's own digest is its stored checksum
// (HeadObject), else the hash of its bytes (GetObject); those requests run
// s.jobs at a time, with a progress line every 1000 objects or 10 s.
func (s *S3) List(ctx context.Context, p Prefix, how Listing) ([]Object, error) {
	listed, sums, err := s.listPrefix(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Object, len(listed))
	for i, o := range listed {
		out[i] = Object{File: o.file, Size: o.size, Location: p.Key(o.file)}
	}
	if how == Presence {
		for i, o := range listed {
			out[i].Modified = o.modified // for WriteIndex, to vouch for it
		}
		return out, nil
	}
	known := map[string]string{}
	if sums != nil && how == Digests {
		if known, _, err = s.readSums(ctx, p); err != nil {
			return nil, err
		}
	}
	found := make([]bool, len(listed))
	var todo []int
	for i, o := range listed {
		if sum, ok := known[o.file]; ok && !o.modified.After(sums.modified) {
			out[i].SHA256, found[i] = sum, true
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return out, nil
	}
	pr := newDigestProgress(ctx, s.String(), p, len(todo), "HeadObject for stored checksums, GetObject and hashing where there is none")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.jobs)
	for _, i := range todo {
		g.Go(func() (err error) {
			var hashed bool
			out[i].SHA256, found[i], hashed, err = s.digest(gctx, s.key(p.Key(listed[i].file)))
			pr.add(hashed)
			return err
		})
	}
	err = g.Wait()
	pr.finish()
	if err != nil {
		return nil, err
	}
	return compact(out, found), nil
}

// listPrefix lists the artifacts of p and, if there is one, its SHA256SUMS.
func (s *S3) listPrefix(ctx context.Context, p Prefix) (listed []s3Listed, sums *s3Listed, err error) {
	prefix := s.key(p.Key(""))
	err = s.eachPage(ctx, prefix, func(page *s3.ListObjectsV2Output) {
		for _, o := range page.Contents {
			l := s3Listed{strings.TrimPrefix(aws.ToString(o.Key), prefix), aws.ToInt64(o.Size), aws.ToTime(o.LastModified)}
			switch {
			case l.file == config.SumsFile:
				sums = &l
			case IsArtifact(l.file):
				listed = append(listed, l)
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return listed, sums, nil
}

// readSums reads p's SHA256SUMS into file -> hex digest, with the time it
// was written; missing is empty.
func (s *S3) readSums(ctx context.Context, p Prefix) (map[string]string, time.Time, error) {
	key := s.key(p.Key(config.SumsFile))
	resp, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if isNoSuchKey(err) {
		return map[string]string{}, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get %s: %w", key, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get %s: %w", key, err)
	}
	return parseSums(data), aws.ToTime(resp.LastModified), nil
}

// parseSums reads sha256sum's format ("<hex>  <file>" or "<hex> *<file>"),
// skipping lines that are not digests.
func parseSums(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), " ")
		file = strings.TrimPrefix(strings.TrimPrefix(file, " "), "*")
		if raw, err := hex.DecodeString(sum); ok && err == nil && len(raw) == sha256.Size && file != "" {
			out[file] = strings.ToLower(sum)
		}
	}
	return out
}

// digest is the sha256 of a stored object: its stored checksum when it has
// a full-object one, else the hash of its bytes (hashed). found is false
// when the object went away since the listing; any other failure is an
// error.
func (s *S3) digest(ctx context.Context, key string) (sum string, found, hashed bool, err error) {
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: &s.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled,
	})
	if isNoSuchKey(err) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, fmt.Errorf("head %s: %w", key, err)
	}
	if sum, ok := hexOf(head.ChecksumSHA256); ok && head.ChecksumType != types.ChecksumTypeComposite {
		return sum, true, false, nil
	}
	slog.DebugContext(ctx, "no stored sha256, hashing the object", "target", s.String(), "key", key)
	sum, found, err = s.hashObject(ctx, key)
	return sum, found, found, err
}

func (s *S3) hashObject(ctx context.Context, key string) (string, bool, error) {
	resp, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if isNoSuchKey(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get %s: %w", key, err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return "", false, fmt.Errorf("get %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), true, nil
}

// compact keeps the objects that were found.
func compact(objs []Object, found []bool) []Object {
	out := objs[:0]
	for i, o := range objs {
		if found[i] {
			out = append(out, o)
		}
	}
	return out
}

// getSmall reads an object of at most limit bytes (a prefix's own files:
// status, provenance, signature bundles); a missing key is nil, no error.
func (s *S3) getSmall(ctx context.Context, key string, limit int64) ([]byte, error) {
	resp, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if isNoSuchKey(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return data, nil
}
