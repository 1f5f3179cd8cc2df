package grid

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/falcosecurity/dbg/config"
)

func checkWritable(dir string) error {
	probe, err := os.CreateTemp(dir, "probe-*")
	if err != nil {
		return err
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// removeStaleTemps deletes temp files left by killed runs. Recent ones may
// belong to another run sharing the cache, and are left alone.
func (f *Fetcher) removeStaleTemps() {
	entries, err := os.ReadDir(f.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleTempAge {
			continue
		}
		if err := os.Remove(filepath.Join(f.tmpDir(), e.Name())); err == nil {
			slog.Debug("removed stale download", "file", e.Name())
		}
	}
}

// receive streams body into a temp file in the cache while hashing and
// counting it. It returns the temp file and the blob it will become; on
// error the temp file is removed.
func (f *Fetcher) receive(rawURL string, body io.Reader) (tmp string, b Blob, err error) {
	file, err := os.CreateTemp(f.tmpDir(), "download-*")
	if err != nil {
		return "", Blob{}, fmt.Errorf("fetch %s: create temp file: %w", rawURL, err)
	}
	defer func() {
		if err != nil {
			os.Remove(file.Name())
		}
	}()
	b, err = f.copyBody(rawURL, file, body)
	if cerr := file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("fetch %s: save to cache: %w", rawURL, cerr)
	}
	return file.Name(), b, err
}

func (f *Fetcher) copyBody(rawURL string, file *os.File, body io.Reader) (Blob, error) {
	h := sha256.New()
	src := &bodyReader{r: io.LimitReader(body, f.opts.MaxSize+1)}
	n, err := io.Copy(io.MultiWriter(file, h), src)
	switch {
	case src.err != nil:
		return Blob{}, &FetchError{URL: rawURL, Err: fmt.Errorf("read body: %w", src.err)}
	case err != nil:
		return Blob{}, fmt.Errorf("fetch %s: save to cache: %w", rawURL, err)
	case n > f.opts.MaxSize:
		return Blob{}, f.tooLarge(rawURL)
	}
	if err := errors.Join(file.Chmod(0o644), file.Sync()); err != nil {
		return Blob{}, fmt.Errorf("fetch %s: save to cache: %w", rawURL, err)
	}
	return Blob{URL: rawURL, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// bodyReader remembers a read error, to tell the network's failures
// (transient) from the disk's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// store moves a complete download into place and records its URL. A blob
// with the same content may already be there (another URL): renaming over
// it is atomic and changes nothing.
func (f *Fetcher) store(tmp string, b Blob) (Blob, error) {
	b.Path = f.blobPath(b.SHA256)
	if err := os.Rename(tmp, b.Path); err != nil {
		os.Remove(tmp)
		return Blob{}, fmt.Errorf("fetch %s: store blob: %w", b.URL, err)
	}
	if err := f.writeRecord(b); err != nil {
		return Blob{}, fmt.Errorf("fetch %s: record URL: %w", b.URL, err)
	}
	return b, nil
}

// urlRecord is the JSON kept for each URL under urls/.
type urlRecord struct {
	URL       string    `json:"url"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	FetchedAt time.Time `json:"fetched_at"`
}

func (f *Fetcher) writeRecord(b Blob) error {
	data, err := json.Marshal(urlRecord{URL: b.URL, SHA256: b.SHA256, Size: b.Size, FetchedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	return config.WriteFile(f.recordPath(b.URL), data)
}

// lookup finds rawURL's blob in the cache: a record for the URL and a blob
// of the recorded size. Anything missing or damaged is a miss.
func (f *Fetcher) lookup(rawURL string) (Blob, bool) {
	data, err := os.ReadFile(f.recordPath(rawURL))
	if err != nil {
		return Blob{}, false
	}
	var rec urlRecord
	if json.Unmarshal(data, &rec) != nil || rec.URL != rawURL || !isSHA256(rec.SHA256) {
		return Blob{}, false
	}
	path := f.blobPath(rec.SHA256)
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != rec.Size {
		return Blob{}, false
	}
	return Blob{URL: rawURL, Path: path, SHA256: rec.SHA256, Size: rec.Size}, true
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

func (f *Fetcher) blobDir() string { return filepath.Join(f.dir, "blobs", "sha256") }

func (f *Fetcher) urlDir() string { return filepath.Join(f.dir, "urls") }

func (f *Fetcher) tmpDir() string { return filepath.Join(f.dir, "tmp") }

func (f *Fetcher) blobPath(sum string) string { return filepath.Join(f.blobDir(), sum) }

func (f *Fetcher) recordPath(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return filepath.Join(f.urlDir(), hex.EncodeToString(sum[:])+".json")
}
