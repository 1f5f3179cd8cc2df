#!/usr/bin/env bash
# Build a local driver builder image of one Debian release from Debian
# packages, for amd64 or arm64:
#
#   build-image.sh [IMAGE] [ARCH] [RELEASE]
#     ARCH     amd64 or arm64 (x86_64, aarch64 accepted); default
#              $DBG_BUILDER_ARCH, else this machine's
#     RELEASE  bullseye, bookworm, trixie or sid; default
#              $DBG_BUILDER_RELEASE, else bookworm
#     IMAGE    default $DBG_BUILDER_IMAGE, else dbg-builder:<RELEASE>-<ARCH>
#              (an empty IMAGE means the default too)
#
# One image per Debian release, each with the gcc that release builds its
# kernels with (the compiler dbg picks from a kernel's CONFIG_CC_VERSION_TEXT,
# grid/builders.go):
#   release   gcc                      root     clang  cmake
#   bullseye  gcc-10 (10.2.1-6)        bookworm 14     3.25
#   bookworm  gcc-12 (12.2.0-14)       bookworm 14     3.25
#   trixie    gcc-14 (14.2.0-19)       trixie   19     3.31
#   sid       gcc-16 (16.2.0-4)        sid      21     4.x
# bullseye's image is a bookworm root with bullseye's own gcc-10 packages
# added from the bullseye suite: bullseye's cmake (3.18) is older than what
# libs' CMakeLists.txt requires (3.24, checked on 9.x and 10.x +driver).
#
# Image names: dbg-builder:<RELEASE>-amd64 and dbg-builder:<RELEASE>-arm64.
# The bookworm amd64 image is also tagged dbg-builder:bookworm (dbg's old
# default builder image): when this script imports it under its default name,
# and when that alias is missing. Every image records its architecture in the
# label dev.falcosecurity.dbg.arch (amd64 or arm64; `docker import --platform`
# is passed too, but Docker 20.10 ignores it and the image says amd64
# whatever it holds), the major version of its gcc in
# dev.falcosecurity.dbg.gcc (checked against `gcc-N -dumpfullversion` in the
# root), its release in dev.falcosecurity.dbg.release, all of it in
# /etc/dbg-builder, and its recipe hash in the label
# dev.falcosecurity.dbg.builder. $DBG_BUILDER_REPO (default dbg-builder)
# replaces the repository part of the default names.
#
# debootstraps a root with what driverkit's build scripts need to build a
# kernel module (.ko) and a legacy eBPF probe (.o), then imports it into
# Docker (no registry needed). An ARCH other than the machine's runs through
# qemu-user: binfmt.sh (beside this script) is run first, every time (a
# reboot drops the registration), and the image is checked to run ARCH
# binaries (`uname -m` in a container). Idempotent: does nothing more when the
# image already exists (it fails when the image's labels name another
# architecture or gcc). The rootfs tarball is cached under
#   ${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/builder/
# named after its release, architecture and a hash of the recipe (suite,
# variant, architecture, package list), so a changed package list rebuilds
# and an unchanged one is imported straight from the cache.
#
# Needs: root (debootstrap; binfmt for a foreign ARCH), docker, and either
# debootstrap or apt-get to install it. debootstrap uses its default mirror.
# Seen on 2 cores: the arm64 debootstrap (its second stage emulated) took
# 3 min 47 s, the whole first run 4 min; importing a cached root takes under
# 10 s. Times and sizes of every release: README, "Builder images".
set -euo pipefail

[[ $# -le 3 ]] || { echo "usage: $0 [IMAGE] [ARCH] [RELEASE]" >&2; exit 2; }

RELEASE="${3:-${DBG_BUILDER_RELEASE:-bookworm}}"
# SUITE: the root's suite; GCC: the major of the kernel compiler the image
# carries; GCC_SUITE: where that gcc comes from when not from SUITE.
GCC_SUITE=""
case "$RELEASE" in
  bullseye) SUITE=bookworm GCC=10 GCC_SUITE=bullseye ;;
  bookworm) SUITE=bookworm GCC=12 ;;
  trixie) SUITE=trixie GCC=14 ;;
  sid) SUITE=sid GCC=16 ;;
  *) echo "build-image: error: unsupported release '$RELEASE' (want bullseye, bookworm, trixie or sid)" >&2; exit 1 ;;
esac
VARIANT=minbase
# Bump when the way the root is made changes (not the package list).
RECIPE_REVISION=1

# What a driver build needs. Keep sorted; a change here changes the cache key.
# gcc-N of the release is added below (from GCC_SUITE when set).
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
if [[ -z "$GCC_SUITE" ]]; then
  # Sorted in (gcc < gcc-N < gzip): the bookworm list, and so its cache key,
  # is the one of the single-release script.
  mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" "gcc-$GCC" | LC_ALL=C sort)
fi
# Packages installed from GCC_SUITE into the root after debootstrap.
GCC_SUITE_PACKAGES=()
[[ -n "$GCC_SUITE" ]] && GCC_SUITE_PACKAGES=("gcc-$GCC")

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The image repository of the default names (a knob for tests).
REPO="${DBG_BUILDER_REPO:-dbg-builder}"
ARCH_LABEL=dev.falcosecurity.dbg.arch
KEY_LABEL=dev.falcosecurity.dbg.builder
GCC_LABEL=dev.falcosecurity.dbg.gcc
RELEASE_LABEL=dev.falcosecurity.dbg.release

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
DEFAULT_IMAGE="$REPO:$RELEASE-$ARCH"
IMAGE="${1:-${DBG_BUILDER_IMAGE:-$DEFAULT_IMAGE}}"
# The amd64 image's compatibility name, dbg's default builder image.
ALIAS=""
[[ "$RELEASE" == bookworm && "$ARCH" == amd64 && "$IMAGE" == "$DEFAULT_IMAGE" ]] && ALIAS="$REPO:$RELEASE"

command -v docker >/dev/null 2>&1 || die "docker not found"

if [[ "$ARCH" != "$HOST_ARCH" ]]; then
  bash "$(dirname "${BASH_SOURCE[0]}")/binfmt.sh" "$ARCH" || die "$ARCH binaries cannot run on this $(uname -m) machine (see binfmt.sh's error above)"
fi

# image_label NAME LABEL: a label of an existing image ("" when none).
image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//'
}
image_arch() { image_label "$1" "$ARCH_LABEL"; }

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
  a="$(image_label "$IMAGE" "$GCC_LABEL")"
  [[ -z "$a" || "$a" == "$GCC" ]] || die "image $IMAGE exists but carries gcc $a ($GCC_LABEL), not $GCC ($RELEASE)"
  if [[ -n "$ALIAS" ]] && ! docker image inspect "$ALIAS" >/dev/null 2>&1; then
    docker tag "$IMAGE" "$ALIAS"
    log "tagged $IMAGE as $ALIAS"
  fi
  # A foreign image can stop running (binfmt lost on reboot): check it each time.
  [[ "$ARCH" == "$HOST_ARCH" ]] || check_runs "$IMAGE"
  log "image $IMAGE already exists, nothing to do"
}

done_exists && exit 0

KEY_LINES=("revision=$RECIPE_REVISION" "suite=$SUITE" "variant=$VARIANT" "arch=$ARCH" "${PACKAGES[@]}")
[[ -n "$GCC_SUITE" ]] && KEY_LINES+=("from=$GCC_SUITE" "${GCC_SUITE_PACKAGES[@]}")
KEY="$(printf '%s\n' "${KEY_LINES[@]}" | sha256sum | cut -c1-16)"
CACHE_DIR="${DBG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg}/builder"
ROOTFS_TAR="$CACHE_DIR/rootfs-$RELEASE-$ARCH-$KEY.tar"
mkdir -p "$CACHE_DIR"

# One builder at a time per cache folder and architecture; re-check the image
# once we hold the lock.
# (bookworm keeps the lock name of the single-release script.)
LOCK="$CACHE_DIR/.lock-$RELEASE-$ARCH"
[[ "$RELEASE" == bookworm ]] && LOCK="$CACHE_DIR/.lock-$ARCH"
exec 9>"$LOCK"
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

# add_from_suite: installs GCC_SUITE_PACKAGES from GCC_SUITE into the root
# with apt in a chroot (the suite pinned low, so only what the root lacks
# comes from it), then removes that source again.
add_from_suite() {
  local src="$ROOT/etc/apt/sources.list.d/dbg-$GCC_SUITE.list" mirror
  mirror="$(awk '$1 == "deb" { print $2; exit }' "$ROOT/etc/apt/sources.list")"
  [[ -n "$mirror" ]] || die "no deb line in the root's sources.list to take the mirror from"
  log "adding ${GCC_SUITE_PACKAGES[*]} from $GCC_SUITE"
  echo "deb $mirror $GCC_SUITE main" >"$src"
  printf '%s\n' "Package: *" "Pin: release n=$GCC_SUITE" "Pin-Priority: 100" >"$ROOT/etc/apt/preferences.d/dbg-$GCC_SUITE"
  [[ -s "$ROOT/etc/resolv.conf" ]] || cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  chroot "$ROOT" apt-get update -qq >&2 || die "apt-get update in the root failed"
  DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -qq --no-install-recommends \
    "${GCC_SUITE_PACKAGES[@]}" >&2 || die "installing ${GCC_SUITE_PACKAGES[*]} from $GCC_SUITE failed"
  rm -f "$src" "$ROOT/etc/apt/preferences.d/dbg-$GCC_SUITE"
}

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
    --change "LABEL $ARCH_LABEL=$ARCH $KEY_LABEL=$KEY $GCC_LABEL=$GCC $RELEASE_LABEL=$RELEASE" \
    --message "dbg builder $RELEASE $ARCH gcc-$GCC $KEY" \
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
log "debootstrap $SUITE ($VARIANT, $ARCH) into $ROOT for $RELEASE; this takes a few minutes"
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

if [[ -n "$GCC_SUITE" ]]; then
  add_from_suite
fi

log "checking the root"
for f in /bin/bash /usr/bin/gcc-$GCC /usr/bin/make /usr/bin/cmake /usr/bin/clang /usr/bin/llc \
  /usr/bin/ld /usr/bin/ar /usr/bin/strip /usr/bin/curl /usr/bin/xz /usr/bin/zstd /usr/bin/cpio \
  /usr/bin/rpm2cpio /usr/bin/bc /usr/bin/flex /usr/bin/bison /usr/bin/file /usr/bin/pahole \
  /sbin/modinfo /usr/include/libelf.h /usr/include/openssl/ssl.h; do
  [[ -e "$ROOT$f" || -L "$ROOT$f" ]] || die "missing $f in the root"
done
# For a foreign ARCH these run through binfmt (F flag: no qemu in the root).
chroot "$ROOT" /bin/bash -c 'clang --version >/dev/null && modinfo --version >/dev/null' \
  || die "tools in the root do not run"
got="$(chroot "$ROOT" "gcc-$GCC" -dumpfullversion)" || die "gcc-$GCC in the root does not run"
[[ "${got%%.*}" == "$GCC" ]] || die "gcc-$GCC in the root is version $got, want $GCC"
log "gcc-$GCC is $got; $(chroot "$ROOT" clang --version | head -n1); $(chroot "$ROOT" cmake --version | head -n1)"
GCC_FULL="$got"
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
{
  printf '%s\n' "release=$RELEASE" "suite=$SUITE" "arch=$ARCH" "gcc=$GCC" "gcc_version=$GCC_FULL" "key=$KEY" "packages=${PACKAGES[*]}"
  [[ -z "$GCC_SUITE" ]] || echo "from_$GCC_SUITE=${GCC_SUITE_PACKAGES[*]}"
} >"$ROOT/etc/dbg-builder"

log "writing $ROOTFS_TAR"
TMP_TAR="$(mktemp "$CACHE_DIR/.rootfs.XXXXXX")"
chmod 644 "$TMP_TAR"
tar --numeric-owner --xattrs -C "$ROOT" -cf "$TMP_TAR" .
mv -f "$TMP_TAR" "$ROOTFS_TAR"
TMP_TAR=""
log "rootfs tarball: $(stat -c %s "$ROOTFS_TAR" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
# Drop cached roots of older package lists.
find "$CACHE_DIR" -maxdepth 1 -name "rootfs-$RELEASE-$ARCH-*.tar" ! -name "$(basename "$ROOTFS_TAR")" -delete

import_tar "$ROOTFS_TAR"
