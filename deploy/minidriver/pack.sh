#!/usr/bin/env bash
# Pack the minidriver the way GitHub archives a libs tag:
#   pack.sh VERSION OUTDIR   ->  OUTDIR/VERSION.tar.gz with one top-level folder
# (libs-VERSION/). The archive is reproducible (sorted, fixed mtime and owner).
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 VERSION OUTDIR" >&2; exit 2; }
version="$1" out="$2"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
top="libs-${version}"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  --exclude=./build --exclude=./pack.sh \
  --transform "s,^\.,${top}," -C "$src" -cf - . | gzip -n >"$out/${version}.tar.gz"
echo "$out/${version}.tar.gz"
