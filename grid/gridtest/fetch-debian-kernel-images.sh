#!/usr/bin/env bash
# Download the unsigned kernel image packages of real Debian kernels, for
# the boot check's tests (the kernel a module is booted in):
#
#   fetch-debian-kernel-images.sh [--suite SUITE] OUTDIR ARCH UNAME_R=VERSION...
#
# For each UNAME_R=VERSION (6.1.0-57-amd64=6.1.192-3) makes sure OUTDIR holds
# linux-image-UNAME_R-unsigned_VERSION_ARCH.deb, the package in the same
# archive folder as the kernel's headers, with apt-get download (which checks
# it against the signed package index). ARCH is the machine's own (amd64
# here), read with the machine's apt lists, or another one (arm64), read
# with the private apt configuration fetch-debian-headers.sh keeps in
# OUTDIR/.apt-ARCH (run it first, with the same OUTDIR). Files already
# there are not downloaded again. Progress goes to stderr. With --suite, the
# kernels are another Debian release's (bullseye, trixie, sid), read with the
# private apt configuration fetch-debian-suite-headers.sh keeps in
# OUTDIR/.apt-SUITE-ARCH (run it first, with the same OUTDIR). With --binary,
# linux-binary-unsigned-UNAME_R, which holds the image of kernels whose
# linux-image package is a meta package (sid's 7.x), in the same folder.
set -euo pipefail

log() { printf 'fetch-debian-kernel-images: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SUITE="" BINARY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) SUITE="${2:-}"; shift 2 || true ;;
    --binary) BINARY=1; shift ;;
    *) break ;;
  esac
done
[[ -z "$SUITE" || "$SUITE" =~ ^[a-z]+$ ]] || die "SUITE must be a Debian codename, got '$SUITE'"
[[ $# -ge 3 ]] || { echo "usage: $0 [--suite SUITE] OUTDIR ARCH UNAME_R=VERSION..." >&2; exit 2; }
OUTDIR="$1" ARCH="$2"
shift 2
case "$ARCH" in amd64 | arm64) ;; *) die "unsupported architecture '$ARCH' (want amd64 or arm64)" ;; esac
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

HOST_ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
APT=()
if [[ -n "$SUITE" || "$ARCH" != "$HOST_ARCH" ]]; then
  if [[ -n "$SUITE" ]]; then
    P="$OUTDIR/.apt-$SUITE-$ARCH"
    [[ -d "$P/lists" ]] || die "no private $SUITE $ARCH apt lists in $P: run fetch-debian-suite-headers.sh $SUITE $OUTDIR $ARCH first"
  else
    P="$OUTDIR/.apt-$ARCH"
    [[ -d "$P/lists" ]] || die "no private $ARCH apt lists in $P: run fetch-debian-headers.sh --arch $ARCH $OUTDIR first"
  fi
  APT=(
    -o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH"
    -o "Dir::State::Lists=$P/lists" -o "Dir::State::status=$P/status" -o "Dir::Cache=$P/cache"
    -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$P/sources.list.d"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$P/preferences.d"
  )
fi

exec 9>"$OUTDIR/.lock-images"
command -v flock >/dev/null 2>&1 && flock 9

for spec in "$@"; do
  uname_r="${spec%%=*}" version="${spec#*=}"
  [[ "$uname_r" =~ ^[0-9][A-Za-z0-9.+~-]*$ && "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] \
    || die "want UNAME_R=VERSION, got '$spec'"
  pkg="linux-image-$uname_r-unsigned"
  [[ -z "$BINARY" ]] || pkg="linux-binary-unsigned-$uname_r"
  file="${pkg}_${version}_$ARCH.deb"
  if [[ -s "$OUTDIR/$file" ]]; then
    log "cached $file"
    continue
  fi
  log "downloading $file"
  tmp="$(mktemp -d "$OUTDIR/.partial.XXXXXX")"
  if [[ "$(id -u)" == 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  if ! (cd "$tmp" && apt-get "${APT[@]}" download -qq "$pkg=$version" </dev/null >&2); then
    rm -rf "$tmp"
    die "apt-get download $pkg=$version failed"
  fi
  got="$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)"
  [[ -n "$got" ]] || { rm -rf "$tmp"; die "apt-get download $pkg=$version left no .deb"; }
  chmod 644 "$got"
  mv -f "$got" "$OUTDIR/$file"
  rm -rf "$tmp"
done
