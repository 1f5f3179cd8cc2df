#!/usr/bin/env bash
# Make this machine run binaries of another architecture through qemu-user,
# for Docker containers too:
#
#   binfmt.sh [ARCH]        ARCH: arm64 (default) or amd64, Debian spelling
#
# Nothing to do when the machine is ARCH itself. Otherwise, idempotently:
#   1. mounts binfmt_misc at /proc/sys/fs/binfmt_misc when it is not mounted;
#   2. when qemu-<machine> is not registered there with the F flag, installs
#      Debian's qemu-user-static and binfmt-support if missing (apt-get;
#      `apt-get update` only when the install fails) and registers it with
#      update-binfmts (F: the kernel opens the interpreter once, at
#      registration, so it works inside containers and chroots that do not
#      have it); a registration without F is removed and made again;
#   3. verifies by running a tiny static ELF of ARCH (an exit(42) written by
#      this script): exit status 42 means the kernel handed it to qemu.
# When any step is impossible (not root, binfmt_misc cannot be mounted,
# packages not installable, ...) it exits 1 with one line saying why.
set -euo pipefail

log() { printf 'binfmt: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ARCH="${1:-arm64}"
case "$ARCH" in
  arm64 | aarch64) ARCH=arm64 MACHINE=aarch64 ;;
  amd64 | x86_64) ARCH=amd64 MACHINE=x86_64 ;;
  *) die "unsupported architecture '$ARCH' (want arm64 or amd64)" ;;
esac

if [[ "$(uname -m)" == "$MACHINE" ]]; then
  log "this machine is $MACHINE: no emulation needed"
  exit 0
fi

NAME="qemu-$MACHINE"
BINFMT=/proc/sys/fs/binfmt_misc
ENTRY="$BINFMT/$NAME"
PACKAGES=(qemu-user-static binfmt-support)

is_root() { [[ "$(id -u)" == 0 ]]; }

# registered: the entry exists, is enabled, has the F flag, and its interpreter exists.
registered() {
  [[ -r "$ENTRY" ]] || return 1
  grep -qx enabled "$ENTRY" || return 1
  grep -Eq '^flags: *[A-Z]*F' "$ENTRY" || return 1
  local interp
  interp="$(sed -n 's/^interpreter //p' "$ENTRY")"
  [[ -n "$interp" && -x "$interp" ]]
}

# test_binary FILE: write a static ELF executable of ARCH that exits with 42.
test_binary() {
  local hdr code
  # ELF64 little endian, ET_EXEC, one PT_LOAD (R+X) mapping the whole 132
  # bytes at 0x400000, entry right after the headers (0x400078).
  case "$ARCH" in
    arm64)
      hdr='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
      # movz x0, #42; movz x8, #93 (exit); svc #0
      code='\x40\x05\x80\xd2\xa8\x0b\x80\xd2\x01\x00\x00\xd4'
      ;;
    amd64)
      hdr='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00'
      # mov edi, 42; mov eax, 60 (exit); syscall; pad to 12 bytes
      code='\xbf\x2a\x00\x00\x00\xb8\x3c\x00\x00\x00\x0f\x05'
      ;;
  esac
  {
    printf %b "$hdr"
    # e_version, e_entry, e_phoff, e_shoff
    printf '\x01\x00\x00\x00\x78\x00\x40\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    # e_flags, e_ehsize 64, e_phentsize 56, e_phnum 1, e_shentsize, e_shnum, e_shstrndx
    printf '\x00\x00\x00\x00\x40\x00\x38\x00\x01\x00\x00\x00\x00\x00\x00\x00'
    # p_type LOAD, p_flags R+X, p_offset 0, p_vaddr, p_paddr, p_filesz 132, p_memsz 132, p_align
    printf '\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    printf '\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00'
    printf '\x84\x00\x00\x00\x00\x00\x00\x00\x84\x00\x00\x00\x00\x00\x00\x00'
    printf '\x00\x10\x00\x00\x00\x00\x00\x00'
    printf %b "$code"
  } >"$1"
  chmod 755 "$1"
}

# verify: run the test binary; exit status 42 means it ran as ARCH code.
verify() {
  local dir rc=0
  dir="$(mktemp -d "${TMPDIR:-/tmp}/dbg-binfmt.XXXXXX")"
  test_binary "$dir/exit42"
  "$dir/exit42" 2>/dev/null || rc=$?
  rm -rf "$dir"
  [[ $rc == 42 ]] || { log "the $ARCH test binary exited with $rc, not 42"; return 1; }
}

# 1. binfmt_misc mounted.
if [[ ! -e "$BINFMT/register" ]]; then
  is_root || die "binfmt_misc is not mounted at $BINFMT and mounting it needs root"
  log "mounting binfmt_misc at $BINFMT"
  out="$(mount -t binfmt_misc binfmt_misc "$BINFMT" 2>&1)" \
    || die "cannot mount binfmt_misc at $BINFMT: ${out//$'\n'/ } (an unprivileged container cannot; run on the host or with --privileged)"
  [[ -e "$BINFMT/register" ]] || die "binfmt_misc mounted at $BINFMT but it has no register file"
fi

if registered; then
  verify || die "$NAME is registered with the F flag but the $ARCH test binary does not run"
  log "$NAME registered ($(sed -n 's/^flags: //p' "$ENTRY")), $ARCH binaries run"
  exit 0
fi

is_root || die "$NAME is not registered with the F flag in $BINFMT and registering it needs root"

# 2. packages.
missing=()
for p in "${PACKAGES[@]}"; do
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "${missing[*]} not installed and no apt-get to install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    log "install failed; apt-get update and retrying"
    apt-get update -qq >&2 || die "apt-get update failed; cannot install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
  fi
fi
command -v update-binfmts >/dev/null 2>&1 || die "update-binfmts not found after installing binfmt-support"
[[ -f "/usr/share/binfmts/$NAME" ]] || die "qemu-user-static provides no /usr/share/binfmts/$NAME"
grep -Eq '^fix_binary +yes' "/usr/share/binfmts/$NAME" || die "/usr/share/binfmts/$NAME does not ask for the F flag (fix_binary yes)"

# A registration without F (or with a missing interpreter) is replaced.
if [[ -e "$ENTRY" ]] && ! registered; then
  log "$NAME is registered without the F flag or with a missing interpreter; registering it again"
  echo -1 >"$ENTRY" || die "cannot remove the registration $ENTRY"
fi
if ! registered; then
  # The package's postinst registers it, unless binfmt_misc was not mounted
  # then, or update-binfmts was told to leave it disabled.
  out="$(update-binfmts --enable "$NAME" 2>&1)" || die "update-binfmts --enable $NAME failed: ${out//$'\n'/ }"
fi
registered || die "$NAME still not registered with the F flag after update-binfmts --enable: $(tr '\n' ' ' <"$ENTRY" 2>/dev/null || echo "no $ENTRY")"

# 3. verification.
verify || die "$NAME is registered but the $ARCH test binary does not run"
log "$NAME registered ($(sed -n 's/^flags: //p' "$ENTRY")), $ARCH binaries run"
