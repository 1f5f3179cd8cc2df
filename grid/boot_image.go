package grid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// errNoImage: the kernel has no image the boot check can fetch; the
// result is not_booted with this reason, and the build is not failed.
var errNoImage = errors.New("no kernel image")

// imageURLs are where the image of the kernel whose headers say unameR can
// be fetched, in the order they are tried: the config's kernelimageurls
// when it lists some, else, on Debian, the unsigned image package in the
// archive folder of the headers' flavour package
// (linux-headers-<uname -r>_<version>_<arch>.deb gives
// linux-image-<uname -r>-unsigned_<version>_<arch>.deb), then the package
// that holds the image since Debian split it (sid's 7.x kernels: the
// linux-image package is a meta package, the unsigned image is
// linux-binary-unsigned-<uname -r>_<version>_<arch>.deb, same folder).
func imageURLs(k *config.Kernel, unameR string) ([]string, error) {
	if len(k.KernelImageURLs) > 0 {
		return k.KernelImageURLs, nil
	}
	if k.Target != "debian" {
		return nil, fmt.Errorf("%w: target %s has no image URL dbg can derive; list it in kernelimageurls", errNoImage, k.Target)
	}
	for _, u := range k.KernelURLs {
		if imgs, ok := debianImageURLs(u, unameR); ok {
			return imgs, nil
		}
	}
	return nil, fmt.Errorf("%w: no header package linux-headers-%s_*.deb among kernelurls to derive the image package from", errNoImage, unameR)
}

// debianImageURLs derives the image packages' URLs from the URL of the
// headers' flavour package, if u is that package (config checked u: no
// query or fragment). The name keeps the headers' escaping: the image's
// name is made of the same <uname -r> and <version>_<arch>.deb.
func debianImageURLs(u, unameR string) ([]string, bool) {
	i := strings.LastIndex(u, "/")
	dir, base := u[:i+1], u[i+1:]
	rest, ok := strings.CutPrefix(base, "linux-headers-")
	if !ok {
		return nil, false
	}
	rawUname, rawTail, ok := strings.Cut(rest, "_")
	if name, err := url.PathUnescape(rawUname); !ok || err != nil || name != unameR || !strings.HasSuffix(rawTail, ".deb") {
		return nil, false
	}
	return []string{
		dir + "linux-image-" + rawUname + "-unsigned_" + rawTail,
		dir + "linux-binary-unsigned-" + rawUname + "_" + rawTail,
	}, true
}

// kernelImage fetches the kernel's image (imageURLs, the first that holds
// one) and returns the file to boot and its URL. A URL ending in .deb is a
// Debian package, whose boot/vmlinuz-<uname -r> is extracted once into the
// boot cache; any other is the image itself. An image that is missing (a
// permanent fetch error, a package without vmlinuz) is errNoImage; a
// transient fetch error is returned as it is (infrastructure).
func (b *Booter) kernelImage(ctx context.Context, k *config.Kernel, unameR string) (file, from string, err error) {
	urls, err := imageURLs(k, unameR)
	if err != nil {
		return "", "", err
	}
	var why []string
	for _, u := range urls {
		blob, err := b.fetcher.Fetch(ctx, u)
		var fe *FetchError
		switch {
		case errors.As(err, &fe) && fe.Permanent():
			why = append(why, err.Error())
			continue
		case err != nil:
			return "", u, fmt.Errorf("fetch kernel image: %w", err)
		}
		if !strings.HasSuffix(u, ".deb") {
			return blob.Path, u, nil
		}
		file, err := b.extractVmlinuz(blob, unameR)
		if errors.Is(err, errNoImage) {
			why = append(why, err.Error())
			continue
		}
		return file, u, err
	}
	return "", strings.Join(urls, " "), fmt.Errorf("%w: %s", errNoImage, strings.Join(why, "; "))
}

// extractVmlinuz writes the package's kernel image into the boot cache
// (named after the package's digest, written atomically) unless it is
// there, and returns its path. The image is boot/vmlinuz-<uname -r>, or,
// in the packages of Debian's split layout (sid's 7.x
// linux-binary[-unsigned]-<uname -r>), usr/lib/modules/<uname -r>/vmlinuz
// or vmlinuz.unsigned.
func (b *Booter) extractVmlinuz(blob Blob, unameR string) (string, error) {
	dst := filepath.Join(b.opts.Dir, "vmlinuz", blob.SHA256)
	if info, err := os.Stat(dst); err == nil && info.Size() > 0 {
		return dst, nil
	}
	f, err := os.Open(blob.Path)
	if err != nil {
		return "", fmt.Errorf("read kernel image package: %w", err)
	}
	defer f.Close()
	images := []string{"boot/vmlinuz-" + unameR, "usr/lib/modules/" + unameR + "/vmlinuz", "usr/lib/modules/" + unameR + "/vmlinuz.unsigned"}
	want := strings.Join(images, " or ")
	found := false
	err = debFile(f, func(name string) bool { return !found && slices.Contains(images, name) }, func(_ string, r io.Reader) error {
		found = true
		return config.ReplaceFile(dst, func(w io.Writer) error {
			_, err := io.Copy(w, io.LimitReader(r, maxImageBytes))
			return err
		})
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("extract %s from %s: %w", want, blob.URL, err)
	case !found:
		return "", fmt.Errorf("%w: %s holds no %s", errNoImage, path.Base(blob.URL), want)
	}
	return dst, nil
}

// maxImageBytes caps an extracted kernel image (Debian's are about 8 MB).
const maxImageBytes = 256 << 20
