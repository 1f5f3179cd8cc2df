#!/usr/bin/env bash
# Build the local driver builder image (Debian bookworm) from Debian packages.
#
#   build-image.sh [IMAGE]        default: $DBG_BUILDER_IMAGE or dbg-builder:bookworm
#
# debootstraps a bookworm root with what driverkit's build scripts need to
# build a kernel module (.ko) and a legacy eBPF probe (.o), then imports it
# into Docker (no registry needed). Idempotent: does nothing when the image
# already exists. The rootfs tarball is cached under
#   ${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/builder/
# named after a hash of the recipe (suite, variant, architecture, package
# list), so a changed package list rebuilds and an unchanged one is imported
# straight from the cache.
#
# Needs: root (debootstrap), docker, and either debootstrap or apt-get to
# install it. debootstrap uses its default mirror.
set -euo pipefail

IMAGE="${1:-${DBG_BUILDER_IMAGE:-dbg-builder:bookworm}}"
SUITE=bookworm
VARIANT=minbase
# Bump when the way the root is made changes (not the package list).
RECIPE_REVISION=1

# What a driver build needs. Keep sorted; a change here changes the cache key.
PACKAGES=(
  bash
  bc
  binutils
  bison
  bzip2
  ca-certificates
  clang
  cmake
  coreutils
  cpio
  curl
  dwarves
  file
  findutils
  flex
  gawk
  gcc
  gcc-12
  gzip
  kmod
  libc6-dev
  libelf-dev
  libssl-dev
  llvm
  make
  patch
  rpm2cpio
  sed
  tar
  xz-utils
  zlib1g-dev
  zstd
)

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already exists, nothing to do"
  exit 0
fi

ARCH="$(dpkg --print-architecture 2>/dev/null || true)"
if [[ -z "$ARCH" ]]; then
  case "$(uname -m)" in
    x86_64) ARCH=amd64 ;;
    aarch64) ARCH=arm64 ;;
    *) die "unsupported machine $(uname -m)" ;;
  esac
fi

KEY="$(printf '%s\n' "revision=$RECIPE_REVISION" "suite=$SUITE" "variant=$VARIANT" "arch=$ARCH" "${PACKAGES[@]}" \
  | sha256sum | cut -c1-16)"
CACHE_DIR="${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/builder"
ROOTFS_TAR="$CACHE_DIR/rootfs-$SUITE-$ARCH-$KEY.tar"
mkdir -p "$CACHE_DIR"

# One builder at a time per cache folder; re-check the image once we hold the lock.
exec 9>"$CACHE_DIR/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE already exists, nothing to do"
    exit 0
  fi
fi

ROOT=""
TMP_TAR=""
DEBOOTSTRAP_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$DEBOOTSTRAP_PID" ]]; then
    kill -TERM -- "-$DEBOOTSTRAP_PID" 2>/dev/null || true
    wait "$DEBOOTSTRAP_PID" 2>/dev/null || true
  fi
  if [[ -n "$ROOT" && -d "$ROOT" ]]; then
    # debootstrap mounts proc/sys inside the root; a failed run can leave them.
    local m
    while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done < <(awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
    rm -rf --one-file-system "$ROOT"
  fi
  [[ -n "$TMP_TAR" ]] && rm -f "$TMP_TAR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

import_tar() {
  log "importing $1 as $IMAGE"
  docker import \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    --message "dbg builder $SUITE $ARCH $KEY" \
    - "$IMAGE" <"$1" >/dev/null
  log "done: $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

if [[ -s "$ROOTFS_TAR" ]]; then
  log "using cached rootfs $ROOTFS_TAR"
  import_tar "$ROOTFS_TAR"
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "building the rootfs needs root (debootstrap); run as root or provide $ROOTFS_TAR"

if ! command -v debootstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "debootstrap not found and no apt-get to install it"
  log "installing debootstrap"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
fi

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/dbg-builder-root.XXXXXX")"
chmod 755 "$ROOT"
INCLUDE="$(IFS=,; echo "${PACKAGES[*]}")"
log "debootstrap $SUITE ($VARIANT, $ARCH) into $ROOT; this takes a few minutes"
# In its own process group, waited for with `wait`, so a TERM/INT to this
# script stops debootstrap and its children at once (bash would otherwise run
# the trap only after a foreground debootstrap has finished).
setsid debootstrap --variant="$VARIANT" --arch="$ARCH" --include="$INCLUDE" "$SUITE" "$ROOT" >&2 &
DEBOOTSTRAP_PID=$!
rc=0
wait "$DEBOOTSTRAP_PID" || rc=$?
DEBOOTSTRAP_PID=""
if [[ $rc != 0 ]]; then
  [[ -f "$ROOT/debootstrap/debootstrap.log" ]] && tail -n 40 "$ROOT/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi

log "checking the root"
for f in /bin/bash /usr/bin/gcc-12 /usr/bin/make /usr/bin/cmake /usr/bin/clang /usr/bin/llc \
  /usr/bin/ld /usr/bin/ar /usr/bin/strip /usr/bin/curl /usr/bin/xz /usr/bin/zstd /usr/bin/cpio \
  /usr/bin/rpm2cpio /usr/bin/bc /usr/bin/flex /usr/bin/bison /usr/bin/file /usr/bin/pahole \
  /sbin/modinfo /usr/include/libelf.h /usr/include/openssl/ssl.h; do
  [[ -e "$ROOT$f" || -L "$ROOT$f" ]] || die "missing $f in the root"
done
chroot "$ROOT" /bin/bash -c 'gcc-12 --version >/dev/null && clang --version >/dev/null && modinfo --version >/dev/null' \
  || die "tools in the root do not run"

log "trimming the root"
chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
  "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/* \
  "$ROOT"/var/log/bootstrap.log "$ROOT"/var/log/apt/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
# The image has no network and no package source; drop host-specific files
# (docker provides resolv.conf, hostname and hosts at run time).
rm -f "$ROOT"/etc/apt/sources.list "$ROOT"/etc/resolv.conf "$ROOT"/etc/hostname
: >"$ROOT/etc/hostname"
printf '%s\n' "suite=$SUITE" "arch=$ARCH" "key=$KEY" "packages=${PACKAGES[*]}" >"$ROOT/etc/dbg-builder"

log "writing $ROOTFS_TAR"
TMP_TAR="$(mktemp "$CACHE_DIR/.rootfs.XXXXXX")"
chmod 644 "$TMP_TAR"
tar --numeric-owner --xattrs -C "$ROOT" -cf "$TMP_TAR" .
mv -f "$TMP_TAR" "$ROOTFS_TAR"
TMP_TAR=""
# Drop cached roots of older package lists.
find "$CACHE_DIR" -maxdepth 1 -name "rootfs-$SUITE-$ARCH-*.tar" ! -name "$(basename "$ROOTFS_TAR")" -delete

import_tar "$ROOTFS_TAR"
