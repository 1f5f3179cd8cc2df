#!/usr/bin/env bash
# The build matrix of publish-shards.yml and kernel-pr.yml: shards per
# architecture, each on a runner of that architecture (publish-shards.yml's
# publish jobs run over the same matrix, one per build shard).
#
#   jq -r 'group_by(.arch)[] | "\(.[0].arch) \(length) \([.[].config] | unique | length)"' plan.json |
#     bash .github/scripts/shard-matrix.sh
#
# stdin   one line per architecture with planned builds: ARCH BUILDS KERNELS
#         (ARCH as dbg plan -o json spells it: x86_64 or aarch64)
# env     BUILDS_PER_SHARD  planned builds per shard (default 400)
#         MAX_SHARDS        at most this many shards per architecture (default 20)
#         SHARDS            shards per architecture; empty or 0: ceil(BUILDS / BUILDS_PER_SHARD)
# stdout  {"include":[{"arch":"x86_64","shard":"1/2","runner":"ubuntu-24.04","name":"x86_64-1-of-2"},...]}
#
# Each architecture gets N shards, 1/N to N/N, with N at least 1, at most
# MAX_SHARDS and at most its kernels (a shard holds whole kernels: dbg --arch
# ARCH --shard I/N deals that architecture's selected kernels round-robin).
# An architecture with no builds gets no shard; x86_64 comes first. "name" is
# the shard without a slash, for artifact and session names. Bad input
# (an unknown architecture, one given twice, a count that is not a number)
# exits 2.
set -euo pipefail

BUILDS_PER_SHARD="${BUILDS_PER_SHARD:-400}"
MAX_SHARDS="${MAX_SHARDS:-20}"
SHARDS="${SHARDS:-0}"

die() {
  printf 'shard-matrix: %s\n' "$*" >&2
  exit 2
}

# The architectures, in matrix order, and their runners.
ARCHES=(x86_64 aarch64)
declare -A RUNNER=([x86_64]=ubuntu-24.04 [aarch64]=ubuntu-24.04-arm)

# integer NAME VALUE MIN: VALUE in base 10, or exit 2.
integer() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be an integer, not '$2'"
  local v=$((10#$2))
  ((v >= $3)) || die "$1 must be at least $3, not $v"
  printf '%d' "$v"
}

BUILDS_PER_SHARD="$(integer BUILDS_PER_SHARD "$BUILDS_PER_SHARD" 1)"
MAX_SHARDS="$(integer MAX_SHARDS "$MAX_SHARDS" 1)"
SHARDS="$(integer SHARDS "$SHARDS" 0)"

declare -A BUILDS=() KERNELS=()
while read -r arch builds kernels extra; do
  [[ -z "$arch" ]] && continue
  [[ -z "${extra:-}" ]] || die "line '$arch $builds $kernels $extra': want ARCH BUILDS KERNELS"
  [[ -n "${RUNNER[$arch]:-}" ]] || die "unknown architecture '$arch' (want one of ${ARCHES[*]})"
  [[ -z "${BUILDS[$arch]:-}" ]] || die "architecture $arch given twice"
  builds="$(integer "$arch builds" "${builds:-}" 0)"
  kernels="$(integer "$arch kernels" "${kernels:-}" 0)"
  ((builds == 0 || kernels > 0)) || die "$arch: $builds builds of 0 kernels"
  BUILDS[$arch]="$builds"
  KERNELS[$arch]="$kernels"
done

entries=()
for arch in "${ARCHES[@]}"; do
  builds="${BUILDS[$arch]:-0}"
  ((builds > 0)) || continue
  kernels="${KERNELS[$arch]}"
  if ((SHARDS > 0)); then
    n="$SHARDS"
  else
    n=$(((builds + BUILDS_PER_SHARD - 1) / BUILDS_PER_SHARD))
  fi
  ((n <= MAX_SHARDS)) || n="$MAX_SHARDS"
  ((n <= kernels)) || n="$kernels"
  ((n >= 1)) || n=1
  for ((i = 1; i <= n; i++)); do
    entries+=("$(printf '{"arch":"%s","shard":"%d/%d","runner":"%s","name":"%s-%d-of-%d"}' \
      "$arch" "$i" "$n" "${RUNNER[$arch]}" "$arch" "$i" "$n")")
  done
done

(IFS=,; printf '{"include":[%s]}\n' "${entries[*]}")
