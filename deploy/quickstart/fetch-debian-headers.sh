#!/usr/bin/env bash
# Download the header packages of real Debian kernels, amd64 or arm64, for
# tests and the quickstart:
#
#   fetch-debian-headers.sh [--arch amd64|arm64] OUTDIR [COUNT]
#     amd64 (default): COUNT default 6, at least 6
#     arm64:           COUNT default 2, at least 1
#
# amd64: picks COUNT kernels from the package lists apt already knows, newest
# release first, alternating between the 6.12 and the 6.1 families, all three
# flavours (amd64, cloud-amd64, rt-amd64) of a release before the next one,
# so that any COUNT >= 6 holds both families and all flavours.
# arm64: the same order with the plain arm64 flavour only (COUNT 2: the
# newest 6.12 and the newest 6.1 kernel). The choice only depends on the
# package lists, so it is the same on every run of a day.
#
# An architecture other than the machine's (arm64 here) is read with a
# private apt configuration in OUTDIR/.apt-<arch>/: the Debian bookworm
# entries of the machine's own apt sources (deb822 or one-line), copied
# without their architecture restrictions, and APT::Architecture=<arch>;
# its lists are updated there when older than a day (no root needed). The
# machine's apt configuration and dpkg architectures are left alone.
#
# Each kernel needs three .deb files: the flavour headers, the common headers
# its Depends names (common-rt for rt) and the linux-kbuild package (its host
# tools are binaries of the kernel's architecture: on another machine they run
# through qemu-user, see deploy/builder/binfmt.sh). Files already in OUTDIR
# with the archive's SHA256 are not downloaded again; downloads are checked
# against the SHA256 of the (signed) package index. The arm64 and amd64 kernels
# of one release share their common headers (Architecture: all), so one OUTDIR
# can hold both.
#
# Writes, one line per kernel, OUTDIR/kernels.tsv for amd64 and
# OUTDIR/kernels-<arch>.tsv for another architecture:
#   <consumer-visible kernelrelease> TAB <uname -r> TAB <file1>,<file2>,<file3>
# where the consumer-visible release is what falcoctl computes on the host:
# the package version matched by \d+\.\d+\.\d+-\d+ plus the flavour suffix
# (6.12.117-1~deb12u1 of linux-headers-6.12.117+deb12-cloud-amd64 gives
# 6.12.117-1-cloud-amd64; 6.1.192-3 of linux-headers-6.1.0-57-arm64 gives
# 6.1.192-3-arm64). Progress goes to stderr.
#
# Needs apt-get and apt-cache (Debian or a derivative); for the machine's own
# architecture runs `apt-get update` (root) only when the package lists are
# missing or older than a day.
set -euo pipefail

log() { printf 'fetch-debian-headers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ARCH=amd64
if [[ "${1:-}" == --arch ]]; then
  [[ $# -ge 2 ]] || { echo "usage: $0 [--arch amd64|arm64] OUTDIR [COUNT]" >&2; exit 2; }
  ARCH="$2"
  shift 2
elif [[ "${1:-}" == --arch=* ]]; then
  ARCH="${1#--arch=}"
  shift
fi
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 [--arch amd64|arm64] OUTDIR [COUNT]" >&2; exit 2; }
OUTDIR="$1"
case "$ARCH" in
  amd64 | x86_64)
    ARCH=amd64 FLAVOURS=(amd64 cloud-amd64 rt-amd64) MIN=6 TSV_NAME=kernels.tsv
    MIN_WHY="both families, three flavours"
    ;;
  arm64 | aarch64)
    ARCH=arm64 FLAVOURS=(arm64) MIN=1 TSV_NAME=kernels-arm64.tsv
    MIN_WHY="one kernel"
    ;;
  *) die "unsupported architecture '$ARCH' (want amd64 or arm64)" ;;
esac
COUNT="${2:-$((MIN > 2 ? MIN : 2))}"
[[ "$COUNT" =~ ^[0-9]+$ ]] || die "COUNT must be a number, got '$COUNT'"
((COUNT >= MIN)) || die "COUNT must be at least $MIN for $ARCH ($MIN_WHY), got $COUNT"

if ! command -v apt-get >/dev/null 2>&1 || ! command -v apt-cache >/dev/null 2>&1; then
  die "apt-get and apt-cache not found: fetching Debian kernel headers needs a Debian host"
fi

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
TSV="$OUTDIR/$TSV_NAME"

# One fetch at a time per folder (tests of several packages share the cache).
exec 9>"$OUTDIR/.lock"
command -v flock >/dev/null 2>&1 && flock 9

FLAVOUR_RE="^linux-headers-([0-9]+\\.[0-9]+\\.[0-9]+(-[0-9]+|\\+deb[0-9]+))-($(IFS='|'; echo "${FLAVOURS[*]}"))\$"

HOST_ARCH="$(dpkg --print-architecture 2>/dev/null || true)"
if [[ -z "$HOST_ARCH" ]]; then
  case "$(uname -m)" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; esac
fi
APT=() # options of every apt-get and apt-cache call
if [[ "$ARCH" == "$HOST_ARCH" ]]; then
  PRIVATE=0
  LISTS=/var/lib/apt/lists
  STAMP="$OUTDIR/.apt-updated" # apt-get update leaves unchanged lists' times alone
else
  # A private apt for ARCH: the bookworm entries of the machine's sources.
  PRIVATE=1
  P="$OUTDIR/.apt-$ARCH"
  LISTS="$P/lists"
  STAMP="$P/updated"
  mkdir -p "$LISTS/partial" "$P/cache/archives/partial" "$P/sources.list.d" "$P/preferences.d"
  [[ -f "$P/status" ]] || : >"$P/status"
  srcs="$(
    {
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
    } | awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) ~ /^bookworm/) print }' \
      | sed -E 's/([[ ])arch[+-]?=[^] ]*/\1/g; s/\[ *\]//'
  )"
  [[ -z "$srcs" ]] || printf '%s\n' "$srcs" >"$P/sources.list.d/.new.list"
  # deb822 stanzas of binary packages (deb) for a bookworm suite, without Architectures.
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
    BEGIN { RS = ""; ORS = "\n\n" }
    /(^|\n)Types:[^\n]*[ \t]deb([ \t]|\n|$)/ && /(^|\n)Suites:[^\n]*[ \t]bookworm/ {
      n = split($0, l, "\n"); out = ""
      for (i = 1; i <= n; i++) if (l[i] !~ /^Architectures(-Add|-Remove)?:/) out = out l[i] "\n"
      printf "%s\n", out
    }' >"$P/sources.list.d/.new.sources"
  [[ -s "$P/sources.list.d/.new.list" || -s "$P/sources.list.d/.new.sources" ]] \
    || die "the machine's apt sources have no Debian bookworm entry to read the $ARCH packages from"
  for ext in list sources; do
    if [[ -s "$P/sources.list.d/.new.$ext" ]]; then
      if ! cmp -s "$P/sources.list.d/.new.$ext" "$P/sources.list.d/host.$ext"; then
        mv -f "$P/sources.list.d/.new.$ext" "$P/sources.list.d/host.$ext"
        rm -f "$STAMP"
      fi
    else
      [[ ! -e "$P/sources.list.d/host.$ext" ]] || { rm -f "$P/sources.list.d/host.$ext" "$STAMP"; }
    fi
    rm -f "$P/sources.list.d/.new.$ext"
  done
  APT=(
    -o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH"
    -o "Dir::State::Lists=$LISTS" -o "Dir::State::status=$P/status" -o "Dir::Cache=$P/cache"
    -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$P/sources.list.d"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$P/preferences.d"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false"
  )
fi

# knows_headers: apt has a candidate for the flavour's meta package.
knows_headers() {
  local out
  out="$(apt-cache "${APT[@]}" policy "linux-headers-$ARCH" 2>/dev/null)" || return 1
  [[ "$out" == *"Candidate: "[0-9]* ]]
}

# lists_fresh: apt knows kernel headers, and its lists (or our last update) are younger than a day.
lists_fresh() {
  knows_headers || return 1
  [[ -n "$(find "$LISTS" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]] \
    || [[ -n "$(find "$STAMP" -mmin -1440 2>/dev/null)" ]]
}

apt_update() {
  ((PRIVATE)) || [[ "$(id -u)" == 0 ]] || return 1
  log "apt-get update${APT:+ ($ARCH, private lists in $LISTS)}"
  DEBIAN_FRONTEND=noninteractive apt-get "${APT[@]}" update -qq >&2 && touch "$STAMP"
}

UPDATED=0
if ! lists_fresh; then
  if apt_update; then
    UPDATED=1
  elif ((PRIVATE)); then
    die "apt-get update of the private $ARCH package lists failed"
  elif knows_headers; then
    log "warning: package lists are older than a day and updating them needs root; using them as they are"
  else
    die "apt knows no kernel headers and updating the package lists needs root (run apt-get update)"
  fi
fi

# up_to_date: the kernel list was written after the package lists changed, for
# COUNT kernels, and every file it names is here (files only arrive checked).
up_to_date() {
  local tsv="$TSV" f
  [[ -s "$tsv" && "$(wc -l <"$tsv")" == "$COUNT" ]] || return 1
  [[ -z "$(find "$LISTS" -maxdepth 1 -name '*_Packages*' -newer "$tsv" 2>/dev/null | head -n1)" ]] || return 1
  for f in $(cut -f3 "$tsv" | tr ',' ' '); do [[ -s "$OUTDIR/$f" ]] || return 1; done
}

if ((UPDATED == 0)) && up_to_date; then
  log "$TSV is up to date ($COUNT $ARCH kernels)"
  exit 0
fi

# apt-cache is slow to start (about half a second a call), so package data is
# read in batches into two tables:
#   RECORDS: "pkg<TAB>version<TAB>filename<TAB>sha256<TAB>depends", every version
#   CANDIDATES: "pkg<TAB>candidate version"
RECORDS=""
CANDIDATES=""

# load PKG...: add the packages' records and candidates to the tables.
load() {
  RECORDS+="$(apt-cache "${APT[@]}" show "$@" 2>/dev/null | awk -v OFS='\t' '
    /^Package: / { p = $2 } /^Version: / { v = $2 } /^Filename: / { f = $2 } /^SHA256: / { h = $2 }
    /^Depends: / { d = substr($0, 10) }
    /^$/ { if (p != "") print p, v, f, h, d; p = v = f = h = d = "" }
    END { if (p != "") print p, v, f, h, d }')"$'\n'
  CANDIDATES+="$(apt-cache "${APT[@]}" policy "$@" 2>/dev/null | awk -v OFS='\t' '
    /^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
    $1 == "Candidate:" && $2 != "(none)" { print p, $2 }')"$'\n'
}

# record PKG VERSION COLUMN: one column (3 filename, 4 sha256, 5 depends) of one version.
record() {
  awk -F '\t' -v p="$1" -v v="$2" -v c="$3" '$1 == p && $2 == v { print $c; exit }' <<<"$RECORDS"
}

# candidate PKG: the version apt would install ("" when none).
candidate() {
  awk -F '\t' -v p="$1" '$1 == p { print $2; exit }' <<<"$CANDIDATES"
}

# header_deps PKG VERSION: "name op version" of the linux-headers-*/linux-kbuild-*
# packages it depends on (op and version empty when unversioned).
header_deps() {
  record "$1" "$2" 5 | tr ',' '\n' | sed 's/|.*//; s/^ *//; s/ *$//' \
    | sed -nE 's/^(linux-(headers|kbuild)-[^ ]+)( \(([<>=]+) ([^)]+)\))?$/\1 \4 \5/p'
}

# resolve NAME OP VERSION: the version to download, satisfying the constraint.
resolve() {
  local name="$1" op="$2" want="$3" v
  if [[ "$op" == "=" ]]; then
    [[ -n "$(record "$name" "$want" 3)" ]] || return 1
    echo "$want"
    return
  fi
  v="$(candidate "$name")"
  [[ -n "$v" ]] || return 1
  if [[ -n "$op" ]]; then
    local dop="$op"
    case "$op" in '>>') dop=gt ;; '<<') dop=lt ;; '>=') dop=ge ;; '<=') dop=le ;; esac
    dpkg --compare-versions "$v" "$dop" "$want" || return 1
  fi
  echo "$v"
}

# fetch NAME VERSION: make sure OUTDIR holds the .deb with the archive's
# SHA256; sets FETCHED to its file name.
declare -A VERIFIED=()
FETCHED=""
fetch() {
  local name="$1" version="$2" file sum tmp got
  file="$(record "$name" "$version" 3)"
  file="${file##*/}"
  sum="$(record "$name" "$version" 4)"
  [[ -n "$file" && -n "$sum" ]] || { log "no Filename/SHA256 for $name=$version"; return 1; }
  FETCHED="$file"
  [[ -n "${VERIFIED[$file]:-}" ]] && return 0
  if [[ -f "$OUTDIR/$file" ]] && [[ "$(sha256sum <"$OUTDIR/$file" | cut -d' ' -f1)" == "$sum" ]]; then
    log "cached $file"
    VERIFIED[$file]=1
    return 0
  fi
  log "downloading $file"
  tmp="$(mktemp -d "$OUTDIR/.partial.XXXXXX")"
  # apt downloads as the unprivileged _apt user when it can write the folder.
  if [[ "$(id -u)" == 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  if ! (cd "$tmp" && apt-get "${APT[@]}" download -qq "$name=$version" </dev/null >&2); then
    rm -rf "$tmp"
    log "apt-get download $name=$version failed"
    return 1
  fi
  got="$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)"
  if [[ -z "$got" ]] || [[ "$(sha256sum <"$got" | cut -d' ' -f1)" != "$sum" ]]; then
    rm -rf "$tmp"
    log "$name=$version: downloaded file missing or its SHA256 differs from the archive's"
    return 1
  fi
  chmod 644 "$got"
  mv -f "$got" "$OUTDIR/$file"
  rm -rf "$tmp"
  VERIFIED[$file]=1
}

# select_kernels: COUNT flavour header package names, in the documented order.
select_kernels() {
  local names
  names="$(apt-cache "${APT[@]}" search --names-only "^linux-headers-[0-9].*-($(IFS='|'; echo "${FLAVOURS[*]}"))\$" \
    | awk '{ print $1 }' | grep -E "$FLAVOUR_RE" | sort -u)" || true
  [[ -n "$names" ]] || return 1
  # One line per release: "<family> <release>", newest first within a family.
  local releases
  releases="$(sed -E "s/$FLAVOUR_RE/\1/" <<<"$names" | sort -u \
    | awk '{ split($1, v, "."); print v[1] "." v[2], $1 }' | sort -k1,1V -k2,2Vr)"
  # Interleave families (newest family first), then the three flavours.
  local order
  order="$(awk '
    { fam[$1] = fam[$1] " " $2; if (!($1 in seen)) { order[++n] = $1; seen[$1] = 1 } }
    END {
      for (i = 1; i <= n; i++) { cnt[i] = split(substr(fam[order[i]], 2), rel, " "); for (j = 1; j <= cnt[i]; j++) r[i, j] = rel[j] }
      for (j = 1; ; j++) {
        any = 0
        for (i = n; i >= 1; i--) if (j <= cnt[i]) { print r[i, j]; any = 1 }
        if (!any) break
      }
    }' <<<"$releases")"
  local rel fl all=""
  while read -r rel; do
    for fl in "${FLAVOURS[@]}"; do
      grep -Fqx "linux-headers-$rel-$fl" <<<"$names" && all+="linux-headers-$rel-$fl"$'\n'
    done
  done <<<"$order"
  printf '%s' "$all" | sed -n "1,${COUNT}p"
}

run() {
  local kernels pkg version rel flavour line dname dop dver dv deps n=0
  local tsv="" fams="" flavs=""
  RECORDS="" CANDIDATES=""
  kernels="$(select_kernels)" || { log "apt knows no Debian $ARCH kernel headers"; return 1; }
  # shellcheck disable=SC2086 # package names have no spaces
  load $kernels
  deps="$(while read -r pkg; do header_deps "$pkg" "$(candidate "$pkg")"; done <<<"$kernels" \
    | awk '{ print $1 }' | sort -u)"
  # shellcheck disable=SC2086
  [[ -z "$deps" ]] || load $deps
  while read -r pkg; do
    version="$(candidate "$pkg")"
    [[ -n "$version" ]] || { log "$pkg has no candidate version"; return 1; }
    rel="$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+-[0-9]+' <<<"$version" | head -n1)"
    [[ -n "$rel" ]] \
      || { log "$pkg: version $version does not match \\d+.\\d+.\\d+-\\d+"; return 1; }
    flavour="$(sed -E "s/$FLAVOUR_RE/\3/" <<<"$pkg")"
    fetch "$pkg" "$version" || return 1
    local files="$FETCHED" common="" kbuild=""
    while read -r dname dop dver; do
      [[ -n "$dname" ]] || continue
      dv="$(resolve "$dname" "$dop" "$dver")" || { log "$pkg: no version of $dname satisfies '$dop $dver'"; return 1; }
      fetch "$dname" "$dv" || return 1
      case "$dname" in
        linux-headers-*) common="$FETCHED" ;;
        linux-kbuild-*) kbuild="$FETCHED" ;;
      esac
    done < <(header_deps "$pkg" "$version")
    [[ -n "$common" && -n "$kbuild" ]] || { log "$pkg does not depend on a common headers and a kbuild package"; return 1; }
    files+=",$common,$kbuild"
    line="$rel-$flavour"$'\t'"${pkg#linux-headers-}"$'\t'"$files"
    tsv+="$line"$'\n'
    fams+="${rel%.*} "
    flavs+="$flavour "
    n=$((n + 1))
    log "kernel $n/$COUNT: $rel-$flavour (${pkg#linux-headers-})"
  done <<<"$kernels"
  ((n == COUNT)) || { log "found $n kernels, want $COUNT"; return 1; }
  # Check the promise: both families (from 2 kernels on) and, for amd64
  # (COUNT >= 6), all three flavours.
  local want
  if ((COUNT >= 2)); then
    for want in 6.1 6.12; do [[ " $fams" == *" $want "* ]] || { log "no $want kernel among the chosen"; return 1; }; done
  fi
  if ((COUNT >= ${#FLAVOURS[@]})); then
    for want in "${FLAVOURS[@]}"; do [[ " $flavs" == *" $want "* ]] || { log "no $want kernel among the chosen"; return 1; }; done
  fi
  local tmp
  tmp="$(mktemp "$OUTDIR/.$TSV_NAME.XXXXXX")"
  printf '%s' "$tsv" >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$TSV"
  local bytes=0 file
  for file in "${!VERIFIED[@]}"; do bytes=$((bytes + $(stat -c %s "$OUTDIR/$file"))); done
  log "wrote $TSV: $n $ARCH kernels, ${#VERIFIED[@]} packages, $((bytes / 1000000)) MB"
}

if ! run; then
  # Lists a few hours old may name versions the archive has replaced since.
  if ((UPDATED)) || ! apt_update; then die "could not fetch the kernel headers"; fi
  log "retrying with fresh package lists"
  run || die "could not fetch the kernel headers"
fi
