package publisher

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/falcosecurity/dbg/publisher/s3test"
)

// bucketSite serves a bucket's objects over loopback HTTP with their
// stored content types, as an S3 website or CloudFront would.
func bucketSite(t *testing.T, srv *s3test.Server) string {
	c := srv.Client()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := c.GetObject(r.Context(), &s3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(strings.TrimPrefix(r.URL.Path, "/"))})
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchKey" {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer out.Body.Close()
		w.Header().Set("Content-Type", aws.ToString(out.ContentType))
		_, _ = io.Copy(w, out.Body)
	}))
	t.Cleanup(site.Close)
	return site.URL
}

// Index over S3 writes the finder beside index.json under the target's
// prefix; served from the bucket, the page finds a kernel and shows the
// URL of the repo it is served from.
func TestFinderOnS3(t *testing.T) {
	target, srv := s3Target(t, "mirror")
	files := []string{"falco_debian_6.1.192-3-amd64_1.ko", "falco_ubuntu-generic_5.15.0-91-generic_101.ko", "falco_ubuntu-generic_5.15.0-91-generic_101.o"}
	for _, f := range files {
		srv.PutSHA256(t, s3Bucket, "mirror/driver/9.1.0+driver/x86_64/"+f, []byte("artifact "+f))
	}
	if _, err := Index(t.Context(), target, Digests); err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(s3Head(t, srv, "mirror/driver/finder-9.1.0.driver_x86_64.js").ContentType); ct != "text/javascript; charset=utf-8" {
		t.Errorf("data file content type %q", ct)
	}
	base := bucketSite(t, srv)
	dom := string(chromium(t, "--dump-dom", base+"/mirror/driver/index.html?q=5.15.0-91-generic"))
	want := []resultRow{{"ok", "9.1.0+driver/x86_64", files[1]}, {"ok", "9.1.0+driver/x86_64", files[2]}}
	equalRows(t, "?q=5.15.0-91-generic", resultRows(dom), want)
	if u := base + "/mirror/driver/9.1.0%2Bdriver/x86_64/" + files[1]; !strings.Contains(dom, u+"</code>") {
		t.Errorf("the page served from the bucket does not show the URL %s", u)
	}
	// The page's link to the artifact (driver version escaped, "+" as %2B)
	// reaches its key.
	href := "9.1.0%2Bdriver/x86_64/" + files[1]
	if !strings.Contains(dom, `href="`+href+`"`) {
		t.Fatalf("the page does not link %s", href)
	}
	resp, err := http.Get(base + "/mirror/driver/" + href)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "artifact "+files[1] {
		t.Errorf("the artifact link answers %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(dom, `<a href="9.1.0%2Bdriver/x86_64/SHA256SUMS">SHA256SUMS</a>`) || !strings.Contains(dom, `<a class="q" href="?q=ubuntu-generic">ubuntu-generic</a>`) {
		t.Error("the page served from the bucket lacks the SHA256SUMS link or the coverage")
	}
}
