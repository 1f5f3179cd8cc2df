#!/usr/bin/env bash
# Download the flavour header package of one real Debian kernel of another
# Debian release than the machine's (bullseye, trixie, sid, ...), for tests
# that read what the kernel's headers say about it (its .config):
#
#   fetch-debian-suite-headers.sh [--build] SUITE OUTDIR [ARCH]    (ARCH default amd64)
#
# Picks the newest plain-flavour package of SUITE (linux-headers-<uname
# -r>, <uname -r> ending in -ARCH, not -cloud- or -rt-), downloads it into
# OUTDIR checked against the SHA256 of the (signed) package index, and
# writes OUTDIR/suite-SUITE-ARCH.tsv:
#   <uname -r> TAB <file>
# When that list exists and names a file in OUTDIR, nothing is asked of the
# network: the choice is made once per cache and stays.
#
# With --build, the packages a build of a module needs come too: the
# flavour package's linux-headers-*-common and linux-kbuild-* dependencies
# (at the versions it depends on), and the list written is
# OUTDIR/suite-SUITE-ARCH-build.tsv, in fetch-debian-headers.sh's format:
#   <consumer-visible kernelrelease> TAB <uname -r> TAB <file1>,<file2>,<file3>
# (the consumer-visible release: the package version's \d+.\d+.\d+-\d+ plus
# the flavour suffix, as falcoctl computes it on a Debian host).
#
# The suite is read with a private apt configuration in
# OUTDIR/.apt-SUITE-ARCH/: one deb822 source with the URIs and Signed-By of
# the machine's own Debian archive entry (its first deb entry whose suite
# is a plain codename, deb822 or one-line), with Suites: SUITE and
# Components: main, and APT::Architecture=ARCH; its lists are updated there
# when older than a day (no root needed). The machine's apt configuration
# is left alone, and no mirror is named here. Progress goes to stderr.
set -euo pipefail

log() { printf 'fetch-debian-suite-headers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

BUILD=""
if [[ "${1:-}" == --build ]]; then BUILD=1; shift; fi
[[ $# -ge 2 && $# -le 3 ]] || { echo "usage: $0 [--build] SUITE OUTDIR [ARCH]" >&2; exit 2; }
SUITE="$1" OUTDIR="$2" ARCH="${3:-amd64}"
[[ "$SUITE" =~ ^[a-z]+$ ]] || die "SUITE must be a Debian codename (bullseye, trixie, sid), got '$SUITE'"
case "$ARCH" in
  amd64 | x86_64) ARCH=amd64 ;;
  arm64 | aarch64) ARCH=arm64 ;;
  *) die "unsupported architecture '$ARCH' (want amd64 or arm64)" ;;
esac
if ! command -v apt-get >/dev/null 2>&1 || ! command -v apt-cache >/dev/null 2>&1; then
  die "apt-get and apt-cache not found: fetching Debian kernel headers needs a Debian host"
fi

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
TSV="$OUTDIR/suite-$SUITE-$ARCH${BUILD:+-build}.tsv"

# One fetch at a time per folder (tests of several packages share the cache).
exec 9>"$OUTDIR/.lock"
command -v flock >/dev/null 2>&1 && flock 9

if [[ -s "$TSV" ]]; then
  file="$(awk -F '\t' '{ print $NF }' "$TSV" | tr ',' '\n' | while read -r f; do [[ -s "$OUTDIR/$f" ]] || echo missing; done)"
  if [[ -z "$file" ]]; then
    log "$TSV is up to date ($file)"
    exit 0
  fi
fi

P="$OUTDIR/.apt-$SUITE-$ARCH"
mkdir -p "$P/lists/partial" "$P/cache/archives/partial" "$P/sources.list.d" "$P/preferences.d"
[[ -f "$P/status" ]] || : >"$P/status"

# The machine's Debian archive: URIs and Signed-By of the first deb entry
# whose suite is a plain codename (not -updates, -security, -backports).
archive="$(
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
    BEGIN { RS = ""; FS = "\n" }
    {
      types = uris = suites = signed = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Types:/) types = substr($i, 7)
        if ($i ~ /^URIs:/) uris = substr($i, 6)
        if ($i ~ /^Suites:/) suites = substr($i, 8)
        if ($i ~ /^Signed-By:/) signed = substr($i, 11)
      }
      if (types !~ /(^|[ \t])deb([ \t]|$)/) next
      n = split(suites, s, /[ \t]+/)
      for (j = 1; j <= n; j++) if (s[j] ~ /^[a-z]+$/) { gsub(/^[ \t]+/, "", uris); gsub(/^[ \t]+/, "", signed); print uris "\t" signed; exit }
    }'
)"
if [[ -z "$archive" ]]; then
  # One-line format: deb [options] URI SUITE COMPONENTS...
  archive="$(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
      $1 == "deb" {
        i = 2; signed = ""
        if ($2 ~ /^\[/) {
          while (i <= NF) { if ($i ~ /^\[?signed-by=/) { signed = $i; sub(/^\[?signed-by=/, "", signed); sub(/\]$/, "", signed) } if ($i ~ /\]$/) break; i++ }
          i++
        }
        if ($(i + 1) ~ /^[a-z]+$/) { print $i "\t" signed; exit }
      }'
  )"
fi
[[ -n "$archive" ]] || die "the machine's apt sources have no Debian archive entry (deb, a plain codename suite) to read $SUITE from"
uris="${archive%%$'\t'*}"
signed="${archive#*$'\t'}"
{
  echo "Types: deb"
  echo "URIs: $uris"
  echo "Suites: $SUITE"
  echo "Components: main"
  [[ -z "$signed" ]] || echo "Signed-By: $signed"
} >"$P/sources.list.d/.new.sources"
STAMP="$P/updated"
if ! cmp -s "$P/sources.list.d/.new.sources" "$P/sources.list.d/suite.sources"; then
  mv -f "$P/sources.list.d/.new.sources" "$P/sources.list.d/suite.sources"
  rm -f "$STAMP"
fi
rm -f "$P/sources.list.d/.new.sources"

APT=(
  -o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH"
  -o "Dir::State::Lists=$P/lists" -o "Dir::State::status=$P/status" -o "Dir::Cache=$P/cache"
  -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$P/sources.list.d"
  -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$P/preferences.d"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false"
)
# As root, apt would drop to the _apt user, who cannot reach a cache in
# root's home: it warns and goes on as root. Say so up front.
if [[ "$(id -u)" == 0 ]]; then APT+=(-o "APT::Sandbox::User=root"); fi

if [[ -z "$(find "$STAMP" -mmin -1440 2>/dev/null)" ]]; then
  log "apt-get update ($SUITE $ARCH, private lists in $P/lists)"
  DEBIAN_FRONTEND=noninteractive apt-get "${APT[@]}" update -qq >&2 \
    || die "apt-get update of the private $SUITE package lists failed"
  touch "$STAMP"
fi

# The newest plain-flavour headers of the suite.
pkg="$(apt-cache "${APT[@]}" search --names-only "^linux-headers-[0-9].*-$ARCH\$" 2>/dev/null \
  | awk '{ print $1 }' | grep -E "^linux-headers-[0-9]+\\.[0-9]+(\\.[0-9]+)?(-[0-9]+|\\+deb[0-9]+)-$ARCH\$" \
  | sort -V | tail -n1)" || true
[[ -n "$pkg" ]] || die "$SUITE has no linux-headers-*-$ARCH package"

# download PKG [VERSION]: OUTDIR holds PKG's .deb (the candidate, or
# VERSION) with the archive's SHA256; sets file and version.
download() {
  local record filename sum tmp got
  record="$(apt-cache "${APT[@]}" show "$1${2:+=$2}" 2>/dev/null | awk '
    /^Version: / { v = $2 } /^Filename: / { f = $2 } /^SHA256: / { h = $2 }
    /^$/ { if (v != "") { print v "\t" f "\t" h; exit } }
    END { if (v != "") print v "\t" f "\t" h }' | head -n1)"
  IFS=$'\t' read -r version filename sum <<<"$record"
  [[ -n "$version" && -n "$filename" && -n "$sum" ]] || die "no Version/Filename/SHA256 for $1${2:+=$2}"
  file="${filename##*/}"
  if [[ -f "$OUTDIR/$file" ]] && [[ "$(sha256sum <"$OUTDIR/$file" | cut -d' ' -f1)" == "$sum" ]]; then
    log "cached $file"
    return
  fi
  log "downloading $file"
  tmp="$(mktemp -d "$OUTDIR/.partial.XXXXXX")"
  (cd "$tmp" && apt-get "${APT[@]}" download -qq "$1=$version" </dev/null >&2) \
    || { rm -rf "$tmp"; die "apt-get download $1=$version failed"; }
  got="$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)"
  if [[ -z "$got" ]] || [[ "$(sha256sum <"$got" | cut -d' ' -f1)" != "$sum" ]]; then
    rm -rf "$tmp"
    die "$1=$version: downloaded file missing or its SHA256 differs from the archive's"
  fi
  chmod 644 "$got"
  mv -f "$got" "$OUTDIR/$file"
  rm -rf "$tmp"
}

download "$pkg"
uname_r="${pkg#linux-headers-}"
line="$uname_r"$'\t'"$file"
if [[ -n "$BUILD" ]]; then
  pkg_version="$version" files="$file"
  # Its linux-headers-*-common and linux-kbuild-* dependencies, at the
  # versions named (Debian pins them with = or >=).
  deps="$(apt-cache "${APT[@]}" show "$pkg=$pkg_version" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n' \
    | sed 's/|.*//; s/^ *//; s/ *$//' | sed -nE 's/^(linux-(headers|kbuild)-[^ ]+)( \(= ([^)]+)\))?.*$/\1 \4/p')"
  [[ -n "$deps" ]] || die "$pkg=$pkg_version depends on no linux-headers-*/linux-kbuild-* package"
  while read -r dep dep_version; do
    download "$dep" "$dep_version"
    files+=",$file"
  done <<<"$deps"
  base="$(grep -oE '^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+' <<<"$pkg_version")" || die "version $pkg_version of $pkg has no N.N.N-N"
  flavour="$(sed -E 's/^[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+|\+deb[0-9]+)-//' <<<"$uname_r")"
  line="$base-$flavour"$'\t'"$uname_r"$'\t'"$files"
fi

out="$(mktemp "$OUTDIR/.suite-$SUITE-$ARCH.XXXXXX")"
printf '%s\n' "$line" >"$out"
chmod 644 "$out"
mv -f "$out" "$TSV"
log "wrote $TSV: $line"
