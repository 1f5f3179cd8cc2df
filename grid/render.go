package grid

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"text/template"

	"github.com/falcosecurity/driverkit/pkg/driverbuilder/builder"
	"github.com/falcosecurity/driverkit/pkg/kernelrelease"

	"github.com/falcosecurity/dbg/config"
)

// Container paths of a build job's inputs and outputs.
const (
	srcDir       = "/dbg/src"                 // driver source tarballs: <driver version>.tar.gz
	headersDir   = "/dbg/headers"             // header packages: <index>/<basename>
	kernelConfig = "/driverkit/kernel.config" // where driverkit's templates read the .config
)

// offlineUnsupported are targets whose driverkit recipe needs the network
// while rendering (flatcar fetches release metadata) or inside the container
// (redhat and sles install headers with the package manager).
var offlineUnsupported = map[string]string{
	"flatcar": "flatcar's recipe fetches release metadata over the network while rendering",
	"redhat":  "redhat's recipe installs headers with the package manager inside the container",
	"sles":    "sles's recipe installs headers with the package manager inside the container",
}

// buildScripts are the scripts of one build: unpack the driver source,
// then build one kind of artifact.
type buildScripts struct {
	Libs, Build string
}

// headerPath is where the i-th header URL is copied in the container.
func headerPath(i int, url string) string {
	return fmt.Sprintf("%s/%d/%s", headersDir, i, path.Base(url))
}

// renderHeaders renders driverkit's header script for k offline: its URLs
// are file:// paths of inputs the grid already fetched and copies in.
func renderHeaders(k *config.Kernel) (string, error) {
	if why, ok := offlineUnsupported[k.Target]; ok {
		return "", fmt.Errorf("target %s cannot be built offline: %s", k.Target, why)
	}
	b, err := builder.Factory(builder.Type(k.Target))
	if err != nil {
		return "", fmt.Errorf("render headers script: %w", err)
	}
	inputs := headerURLs(k)
	urls := make([]string, len(inputs))
	for i, u := range inputs {
		urls[i] = "file://" + headerPath(i, u)
	}
	kr := kernelRelease(k)
	data := b.KernelTemplateData(kr, urls)
	if k.Target == "debian" {
		data = debianTemplateData(kr, urls)
	}
	if err, ok := data.(error); ok {
		return "", fmt.Errorf("render headers script: %w", err)
	}
	return execTemplate(b.Name()+"-headers", b.TemplateKernelUrlsScript(), data)
}

func kernelRelease(k *config.Kernel) kernelrelease.KernelRelease {
	kr := kernelrelease.FromString(k.KernelRelease)
	kr.Architecture = kernelrelease.Architecture(k.Architecture)
	kr.KernelVersion = k.KernelVersion
	return kr
}

// headerURLs are the header packages a kernel's build needs. Debian configs
// (like kernel-crawler's) list the packages of every flavour of a kernel:
// only the config's flavour, its common package and the rest (kbuild) are
// kept, which halves what is copied and unpacked. When nothing would match,
// every URL is kept and the headers pattern still picks the right folder.
func headerURLs(k *config.Kernel) []string {
	if k.Target != "debian" {
		return k.KernelURLs
	}
	flavour, arch, ok := config.DebianFlavour(k.KernelRelease)
	if !ok {
		return k.KernelURLs
	}
	var keep []string
	found := false
	for _, u := range k.KernelURLs {
		name, _, _ := strings.Cut(path.Base(u), "_")
		switch {
		case !strings.HasPrefix(name, "linux-headers-"):
			keep = append(keep, u)
		case strings.HasSuffix(name, "-common"):
			if flavour != "rt-" {
				keep = append(keep, u)
			}
		case strings.HasSuffix(name, "-common-rt"):
			if flavour == "rt-" {
				keep = append(keep, u)
			}
		default:
			if fl, a, ok := config.DebianFlavour(name); ok && fl == flavour && a == arch {
				keep, found = append(keep, u), true
			}
		}
	}
	if !found {
		return k.KernelURLs
	}
	return keep
}

// renderVersion renders the libs download and build scripts of one kind of
// one driver version, with the builder image and gcc forced so that
// driverkit never lists registry tags, and dbg's patches applied.
func renderVersion(k *config.Kernel, dv config.DriverVersion, kind config.Kind, image, gcc string) (buildScripts, error) {
	// driverkit lists registry tags (and exits the process when it finds
	// none) unless both an image and a gcc are forced; "auto" means none.
	// Both reach the script or the Docker API: allowlisted like config values.
	if !config.ValidImage(image) || strings.HasPrefix(image, "auto") || !config.ValidGCCVersion(gcc) {
		return buildScripts{}, fmt.Errorf("render build script: a valid builder image and gcc version are required (got %q, %q)", image, gcc)
	}
	b, err := builder.Factory(builder.Type(k.Target))
	if err != nil {
		return buildScripts{}, fmt.Errorf("render build script: %w", err)
	}
	build := &builder.Build{
		TargetType:       builder.Type(k.Target),
		KernelConfigData: k.KernelConfigData,
		KernelRelease:    k.KernelRelease,
		KernelVersion:    k.KernelVersion,
		DriverVersion:    dv.Version,
		Architecture:     string(k.Architecture),
		BuilderImage:     image,
		GCCVersion:       gcc,
		KernelUrls:       k.KernelURLs,
	}
	// driverkit only tests these for being set: the wrapper collects the
	// artifact from where the script leaves it (builtPath).
	switch kind {
	case config.Module:
		build.ModuleFilePath = outDir + "/" + artifactFile
	case config.Probe:
		build.ProbeFilePath = outDir + "/" + artifactFile
	}
	cfg := builder.Config{DriverName: config.DriverName, DeviceName: config.DriverName, DownloadBaseURL: "file://" + srcDir, Build: build}
	var vs buildScripts
	if vs.Libs, err = builder.LibsDownloadScript(cfg); err != nil {
		return vs, fmt.Errorf("render libs script: %w", err)
	}
	script, err := builder.Script(b, cfg, kernelRelease(k))
	if err != nil {
		return vs, fmt.Errorf("render build script: %w", err)
	}
	vs.Build, err = patchScript(script)
	return vs, err
}

func execTemplate(name, text string, data any) (string, error) {
	t, err := template.New(name).Parse(text)
	if err != nil {
		return "", fmt.Errorf("parse template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("render template %s: %w", name, err)
	}
	return buf.String(), nil
}
