#!/usr/bin/env bash
# The body of kernel-configs.yml's pull request (Markdown, on stdout), from
# the JSON reports of dbg generate -o json, one per architecture:
#
#   configs-pr-body.sh x86_64=generate-x86_64.json aarch64=generate-aarch64.json
#
# A report is {"added":N,"changed":N,"unchanged":N,"removed":[paths],
# "skipped":{"reason":N,...},"by_distro":{"distro":N,...}} (removed,
# skipped and by_distro may be null). The body has, per architecture, the
# added, changed, unchanged, removed and skipped counts, then the skipped
# entries per reason and the kernels per crawler distro, one column per
# architecture. Needs jq.
set -euo pipefail

die() {
  printf 'configs-pr-body: %s\n' "$*" >&2
  exit 2
}

(($# > 0)) || die "usage: configs-pr-body.sh ARCH=REPORT.json..."
reports=()
for a in "$@"; do
  [[ "$a" == ?*=?* ]] || die "argument '$a': want ARCH=REPORT.json"
  arch="${a%%=*}" file="${a#*=}"
  [[ -r "$file" ]] || die "$arch: cannot read $file"
  reports+=("$(jq -c --arg arch "$arch" '{arch: $arch} + .' "$file")") || die "$arch: $file is not JSON"
done

run=""
if [[ -n "${GITHUB_SERVER_URL:-}" && -n "${GITHUB_REPOSITORY:-}" && -n "${GITHUB_RUN_ID:-}" ]]; then
  run="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
fi

printf '%s\n' "${reports[@]}" | jq -rs --arg run "$run" '
  def cell: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");
  def row: "| " + (map(cell) | join(" | ")) + " |";
  def table($head; $rows): ([$head | row, ($head | map("---") | row)] + ($rows | map(row))) | join("\n");
  . as $r
  | ($r | map(.arch)) as $arches
  | ([$r[] | (.skipped // {}) | keys[]] | unique) as $reasons
  | ([$r[] | (.by_distro // {}) | keys[]] | unique) as $distros
  | [
      "Kernel configs written by `dbg generate --prune` from kernel-crawler'"'"'s lists (`https://falcosecurity.github.io/kernel-crawler/<arch>/list.json`)"
        + (if $run != "" then ", by [this run](\($run))" else "" end)
        + ". `kernel-pr.yml` validates them and builds the changed kernels; nothing is published before the merge.",
      "",
      table(["arch", "added", "changed", "unchanged", "removed", "skipped"];
        $r | map([.arch, (.added // 0), (.changed // 0), (.unchanged // 0), ((.removed // []) | length), ((.skipped // {}) | add // 0)])),
      "",
      "### Skipped entries, by reason",
      "",
      (if ($reasons | length) == 0 then "None."
       else table(["reason"] + $arches; $reasons | map(. as $k | [$k] + ($r | map((.skipped // {})[$k] // 0))))
       end),
      "",
      "### Kernels, by crawler distro",
      "",
      (if ($distros | length) == 0 then "None."
       else table(["distro"] + $arches; $distros | map(. as $k | [$k] + ($r | map((.by_distro // {})[$k] // 0))))
       end)
    ]
  | join("\n")'
