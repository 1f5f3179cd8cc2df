package publisher

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

func TestS3ListPaginatesAndReadsSums(t *testing.T) {
	target, srv := s3Target(t, "")
	const n = 1100
	arts := make([]Artifact, n)
	objs := make([]Object, n)
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(16)
	for i := range arts {
		arts[i] = s3Artifact(t, s3Prefix, fmt.Sprintf("falco_t_%04d_1.ko", i), fmt.Sprint(i))
		objs[i] = Object{File: arts[i].File, SHA256: arts[i].SHA256, Size: arts[i].Size}
		g.Go(func() error { return target.Put(ctx, arts[i], false) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := target.WriteIndex(t.Context(), s3Prefix, objs); err != nil {
		t.Fatal(err)
	}
	for _, verify := range []bool{false, true} {
		srv.ResetRequests()
		got, err := target.List(t.Context(), s3Prefix, listing(verify))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("List(verify=%v) returned %d objects, want %d", verify, len(got), n)
		}
		for i, o := range got {
			if o.SHA256 != arts[i].SHA256 || o.File != arts[i].File {
				t.Fatalf("List(verify=%v)[%d] = %+v, want %s %s", verify, i, o, arts[i].File, arts[i].SHA256)
			}
		}
		lists, other := s3CountRequests(srv)
		t.Logf("List(verify=%v): %d list requests, %d others", verify, lists, other)
		if lists != 2 {
			t.Errorf("List(verify=%v) made %d list requests, want 2", verify, lists)
		}
		if !verify && other != 1 {
			t.Errorf("List with a complete SHA256SUMS made %d requests besides listing, want 1", other)
		}
		if verify && other != n {
			t.Errorf("List(verify) made %d requests besides listing, want one HEAD per object (%d)", other, n)
		}
	}
}

func s3CountRequests(srv *s3test.Server) (lists, other int) {
	for _, r := range srv.Requests() {
		if r.IsList() {
			lists++
		} else {
			other++
		}
	}
	return lists, other
}

func TestS3ListDigestSources(t *testing.T) {
	target, srv := s3Target(t, "")
	a := s3Artifact(t, s3Prefix, "falco_a_1_1.ko", "a")
	b := s3Artifact(t, s3Prefix, "falco_b_1_1.ko", "b")
	for _, art := range []Artifact{a, b} {
		if err := target.Put(t.Context(), art, false); err != nil {
			t.Fatal(err)
		}
	}
	// The index holds a's digest and a made-up one for b.
	fake := strings.Repeat("0", 64)
	if err := target.WriteIndex(t.Context(), s3Prefix, []Object{{File: a.File, SHA256: a.SHA256}, {File: b.File, SHA256: fake}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // Last-Modified has a 1 s resolution
	// Then a is replaced (its index entry is stale) and c is written by
	// another tool, without a stored sha256 (the SDK's default CRC32 only).
	a2 := s3Artifact(t, s3Prefix, a.File, "a2")
	if err := target.Put(t.Context(), a2, true); err != nil {
		t.Fatal(err)
	}
	c := s3Artifact(t, s3Prefix, "falco_c_1_1.ko", "c")
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(s3Bucket), Key: aws.String(c.Key()), Body: strings.NewReader("c"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if head := s3Head(t, srv, c.Key()); head.ChecksumSHA256 != nil {
		t.Fatalf("test setup: %s has a sha256 (%s)", c.Key(), *head.ChecksumSHA256)
	}
	for _, tc := range []struct {
		verify bool
		want   []string
	}{
		{false, []string{a2.SHA256, fake, c.SHA256}},
		{true, []string{a2.SHA256, b.SHA256, c.SHA256}},
	} {
		objs, err := target.List(t.Context(), s3Prefix, listing(tc.verify))
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 3 {
			t.Fatalf("List(verify=%v) = %+v", tc.verify, objs)
		}
		for i, o := range objs {
			if o.SHA256 != tc.want[i] {
				t.Errorf("List(verify=%v): %s: sha256 %q, want %s", tc.verify, o.File, o.SHA256, tc.want[i])
			}
		}
	}
}

func TestS3ListFailuresAreNotMissing(t *testing.T) {
	target, srv := s3Target(t, "")
	a := s3Artifact(t, s3Prefix, "falco_x_1_1.ko", "x")
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatal(err)
	}
	if err := target.WriteIndex(t.Context(), s3Prefix, []Object{{File: a.File, SHA256: a.SHA256}}); err != nil {
		t.Fatal(err)
	}
	isSums := func(r s3test.Request) bool { return strings.HasSuffix(r.Path, "/"+config.SumsFile) }
	isHead := func(r s3test.Request) bool { return r.Method == "HEAD" }
	for _, tc := range []struct {
		name   string
		match  func(s3test.Request) bool
		status int
		verify bool
	}{
		{"list denied", s3test.Request.IsList, 403, false},
		{"SHA256SUMS denied", isSums, 403, false},
		{"SHA256SUMS failing", isSums, 500, false}, // retried until the deadline
		{"HEAD denied", isHead, 403, true},
	} {
		srv.Fail(tc.match, 100, tc.status)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		objs, err := target.List(ctx, s3Prefix, listing(tc.verify))
		cancel()
		srv.Fail(nil, 0, 0)
		if err == nil {
			t.Errorf("%s: List = %+v, nil; want an error", tc.name, objs)
		}
	}
}

// listing is the Listing the tests written for List(verify) mean.
func listing(verify bool) Listing {
	if verify {
		return Verify
	}
	return Digests
}
