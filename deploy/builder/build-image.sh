#!/usr/bin/env bash
# Build the local driver builder image (Debian bookworm) from Debian packages,
# for amd64 or arm64:
#
#   build-image.sh [IMAGE] [ARCH]
#     ARCH   amd64 or arm64 (x86_64, aarch64 accepted); default
#            $DBG_BUILDER_ARCH, else this machine's
#     IMAGE  default $DBG_BUILDER_IMAGE, else dbg-builder:bookworm-<ARCH>
#            (an empty IMAGE means the default too)
#
# Image names: dbg-builder:bookworm-amd64 and dbg-builder:bookworm-arm64, the
# same package set for both. The amd64 image is also tagged
# dbg-builder:bookworm (dbg's default builder image): when this script imports
# it under its default name, and when that alias is missing. Every image
# records its architecture in the label dev.falcosecurity.dbg.arch (amd64 or
# arm64; `docker import --platform` is passed too, but Docker 20.10 ignores it
# and the image says amd64 whatever it holds) and in /etc/dbg-builder, and its
# recipe hash in the label dev.falcosecurity.dbg.builder. $DBG_BUILDER_REPO
# (default dbg-builder) replaces the repository part of the default names.
#
# debootstraps a bookworm root with what driverkit's build scripts need to
# build a kernel module (.ko) and a legacy eBPF probe (.o), then imports it
# into Docker (no registry needed). An ARCH other than the machine's runs
# through qemu-user: binfmt.sh (beside this script) is run first, every time
# (a reboot drops the registration), and the image is checked to run ARCH
# binaries (`uname -m` in a container). Idempotent: does nothing more when the
# image already exists (it fails when the image's label names another
# architecture). The rootfs tarball is cached under
#   ${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/builder/
# named after its architecture and a hash of the recipe (suite, variant,
# architecture, package list), so a changed package list rebuilds and an
# unchanged one is imported straight from the cache.
#
# Needs: root (debootstrap; binfmt for a foreign ARCH), docker, and either
# debootstrap or apt-get to install it. debootstrap uses its default mirror.
# Seen on 2 cores: the arm64 debootstrap (its second stage emulated) took
# 3 min 47 s, the whole first run 4 min; importing a cached root takes under
# 10 s. Images: amd64 734 MB, arm64 722 MB (cached roots 758 MB and 746 MB).
set -euo pipefail

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

[[ $# -le 2 ]] || { echo "usage: $0 [IMAGE] [ARCH]" >&2; exit 2; }

# The image repository of the default names (a knob for tests).
REPO="${DBG_BUILDER_REPO:-dbg-builder}"
ARCH_LABEL=dev.falcosecurity.dbg.arch
KEY_LABEL=dev.falcosecurity.dbg.builder

case "$(uname -m)" in
  x86_64) HOST_ARCH=amd64 ;;
  aarch64) HOST_ARCH=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac
ARCH="${2:-${DBG_BUILDER_ARCH:-$HOST_ARCH}}"
case "$ARCH" in
  amd64 | x86_64) ARCH=amd64 MACHINE=x86_64 ;;
  arm64 | aarch64) ARCH=arm64 MACHINE=aarch64 ;;
  *) die "unsupported architecture '$ARCH' (want amd64 or arm64)" ;;
esac
DEFAULT_IMAGE="$REPO:$SUITE-$ARCH"
IMAGE="${1:-${DBG_BUILDER_IMAGE:-$DEFAULT_IMAGE}}"
# The amd64 image's compatibility name, dbg's default builder image.
ALIAS=""
[[ "$ARCH" == amd64 && "$IMAGE" == "$DEFAULT_IMAGE" ]] && ALIAS="$REPO:$SUITE"

command -v docker >/dev/null 2>&1 || die "docker not found"

if [[ "$ARCH" != "$HOST_ARCH" ]]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/binfmt.sh" "$ARCH" || die "$ARCH binaries cannot run on this $(uname -m) machine (see binfmt.sh's error above)"
fi

# image_arch NAME: the architecture label of an existing image ("" when none).
image_arch() {
  docker image inspect --format "{{ index .Config.Labels \"$ARCH_LABEL\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//'
}

# check_runs NAME: a container of the image runs ARCH binaries.
check_runs() {
  local got
  got="$(docker run --rm --network none --entrypoint uname "$1" -m 2>&1)" \
    || die "image $1 does not run on this machine: ${got//$'\n'/ }"
  [[ "$got" == "$MACHINE" ]] || die "image $1 runs as '$got', want $MACHINE"
  log "image $1 runs $MACHINE binaries (uname -m)"
}

# done_exists: the image exists (and its label does not name another
# architecture); tags the alias when it is missing.
done_exists() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 || return 1
  local a
  a="$(image_arch "$IMAGE")"
  [[ -z "$a" || "$a" == "$ARCH" ]] || die "image $IMAGE exists but is for $a ($ARCH_LABEL), not $ARCH"
  if [[ -n "$ALIAS" ]] && ! docker image inspect "$ALIAS" >/dev/null 2>&1; then
    docker tag "$IMAGE" "$ALIAS"
    log "tagged $IMAGE as $ALIAS"
  fi
  # A foreign image can stop running (binfmt lost on reboot): check it each time.
  [[ "$ARCH" == "$HOST_ARCH" ]] || check_runs "$IMAGE"
  log "image $IMAGE already exists, nothing to do"
}

done_exists && exit 0

KEY="$(printf '%s\n' "revision=$RECIPE_REVISION" "suite=$SUITE" "variant=$VARIANT" "arch=$ARCH" "${PACKAGES[@]}" \
  | sha256sum | cut -c1-16)"
CACHE_DIR="${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/builder"
ROOTFS_TAR="$CACHE_DIR/rootfs-$SUITE-$ARCH-$KEY.tar"
mkdir -p "$CACHE_DIR"

# One builder at a time per cache folder and architecture; re-check the image
# once we hold the lock.
exec 9>"$CACHE_DIR/.lock-$ARCH"
if command -v flock >/dev/null 2>&1; then
  flock 9
  done_exists && exit 0
fi

# Another name of the same recipe (the other of amd64's two names, say) is
# tagged instead of imported again.
SAME="$(docker image ls -q --filter "label=$KEY_LABEL=$KEY" | head -n1)"
if [[ -n "$SAME" && "$(image_arch "$SAME")" == "$ARCH" ]]; then
  docker tag "$SAME" "$IMAGE"
  log "tagged image $SAME (recipe $KEY) as $IMAGE"
  done_exists && exit 0
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
  local t0=$SECONDS
  log "importing $1 as $IMAGE"
  docker import \
    --platform "linux/$ARCH" \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    --change "LABEL $ARCH_LABEL=$ARCH $KEY_LABEL=$KEY" \
    --message "dbg builder $SUITE $ARCH $KEY" \
    - "$IMAGE" <"$1" >/dev/null
  log "imported in $((SECONDS - t0)) s"
  check_runs "$IMAGE"
  if [[ -n "$ALIAS" ]]; then
    docker tag "$IMAGE" "$ALIAS"
    log "tagged $IMAGE as $ALIAS"
  fi
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
T0=$SECONDS
setsid debootstrap --variant="$VARIANT" --arch="$ARCH" --include="$INCLUDE" "$SUITE" "$ROOT" >&2 &
DEBOOTSTRAP_PID=$!
rc=0
wait "$DEBOOTSTRAP_PID" || rc=$?
DEBOOTSTRAP_PID=""
if [[ $rc != 0 ]]; then
  [[ -f "$ROOT/debootstrap/debootstrap.log" ]] && tail -n 40 "$ROOT/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi
log "debootstrap took $((SECONDS - T0)) s"

log "checking the root"
for f in /bin/bash /usr/bin/gcc-12 /usr/bin/make /usr/bin/cmake /usr/bin/clang /usr/bin/llc \
  /usr/bin/ld /usr/bin/ar /usr/bin/strip /usr/bin/curl /usr/bin/xz /usr/bin/zstd /usr/bin/cpio \
  /usr/bin/rpm2cpio /usr/bin/bc /usr/bin/flex /usr/bin/bison /usr/bin/file /usr/bin/pahole \
  /sbin/modinfo /usr/include/libelf.h /usr/include/openssl/ssl.h; do
  [[ -e "$ROOT$f" || -L "$ROOT$f" ]] || die "missing $f in the root"
done
# For a foreign ARCH these run through binfmt (F flag: no qemu in the root).
chroot "$ROOT" /bin/bash -c 'gcc-12 --version >/dev/null && clang --version >/dev/null && modinfo --version >/dev/null' \
  || die "tools in the root do not run"
got="$(chroot "$ROOT" uname -m)"
[[ "$got" == "$MACHINE" ]] || die "the root runs as '$got', want $MACHINE"

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
log "rootfs tarball: $(stat -c %s "$ROOTFS_TAR" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
# Drop cached roots of older package lists.
find "$CACHE_DIR" -maxdepth 1 -name "rootfs-$SUITE-$ARCH-*.tar" ! -name "$(basename "$ROOTFS_TAR")" -delete

import_tar "$ROOTFS_TAR"
