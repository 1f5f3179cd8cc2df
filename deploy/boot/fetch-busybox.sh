#!/usr/bin/env bash
# Put Debian's static busybox of an architecture where dbg's boot check
# looks for it (--boot-dir, default ~/.cache/dbg/boot):
#
#   fetch-busybox.sh ARCH [DIR]     ARCH amd64 or arm64
#
# writes DIR/busybox-ARCH (atomically: temp file, then rename) from the
# busybox-static package of ARCH, downloaded with apt-get download (checked
# against the signed package index). Another architecture than the
# machine's is added to dpkg first (dpkg --add-architecture, then
# apt-get update; needs root). Does nothing when the file is there. The
# machine's own architecture needs none of this: dbg takes the busybox on
# PATH (Debian's busybox-static) when DIR has none.
set -euo pipefail

log() { printf 'fetch-busybox: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 amd64|arm64 [DIR]" >&2; exit 2; }
ARCH="$1"
DIR="${2:-${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/boot}"
case "$ARCH" in amd64 | arm64) ;; *) die "unsupported architecture '$ARCH' (want amd64 or arm64)" ;; esac
OUT="$DIR/busybox-$ARCH"
if [[ -s "$OUT" ]]; then
  log "$OUT is there"
  exit 0
fi
mkdir -p "$DIR"

HOST_ARCH="$(dpkg --print-architecture)"
if [[ "$ARCH" != "$HOST_ARCH" ]] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
  log "adding architecture $ARCH to dpkg"
  dpkg --add-architecture "$ARCH"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi

tmp="$(mktemp -d "$DIR/.busybox.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
if [[ "$(id -u)" == 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
if ! (cd "$tmp" && apt-get download -qq "busybox-static:$ARCH" </dev/null >&2); then
  # Lists older than the archive name versions it has replaced.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  (cd "$tmp" && apt-get download -qq "busybox-static:$ARCH" </dev/null >&2) || die "apt-get download busybox-static:$ARCH failed"
fi
deb="$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)"
[[ -n "$deb" ]] || die "apt-get download busybox-static:$ARCH left no .deb"
dpkg-deb -x "$deb" "$tmp/root"
bin="$tmp/root/bin/busybox"
[[ -f "$bin" ]] || bin="$tmp/root/usr/bin/busybox"
[[ -f "$bin" ]] || die "busybox-static:$ARCH has no bin/busybox"
install -m 0755 "$bin" "$tmp/busybox"
mv -f "$tmp/busybox" "$OUT"
log "wrote $OUT"
