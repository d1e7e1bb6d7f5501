#!/usr/bin/env bash
# The lab VM: boots Debian's distro kernel (which ships the ip_vs modules) under qemu, over this
# machine's own root filesystem (virtme-ng: 9p, read-only, with /etc and /tmp as overlays), and
# runs one command in it as root, with the repository writable. This is how the lab gets a real
# LVS director on a build machine whose own kernel has no IPVS.
#
#   vm.sh probe          prints the accelerator that boots ("kvm" or "tcg") and exits 0, or
#                        prints why no VM can boot here and exits 1
#   vm.sh run CMD...     runs CMD inside the VM (cwd: the repository); exits with CMD's status,
#                        or 125 when the VM itself did not boot
#   vm.sh kernel         prints the kernel image the VM boots
#   vm.sh shell          an interactive root shell in the VM (on this terminal; exit leaves it)
#
# KVM is used where a short boot test shows it works (a nested KVM guest can hang or abort);
# otherwise qemu's TCG emulates the CPU (about 20-30 s to boot, every instruction slower).
# LAB_VM_ACCEL=kvm|tcg forces one; LAB_VM_KERNEL=/boot/vmlinuz-... picks the kernel;
# LAB_VM_MEMORY (default 2G) and LAB_VM_CPUS (default: this machine's cores, at most 4).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE=$ROOT/target/lab-vm
# Environment variables handed to the command inside the VM (vng does not pass the host's).
PASS_ENV=(CI E2E_REQUESTS LBDOCTOR LAB_DIRECTOR LAB_KEEP PROBES FLOOD OUT RUST_BACKTRACE NO_COLOR
  LBDOCTOR_LOG E2E_ONLY PROBE_TIMEOUT LAB_WAIT_SCALE)

say() { printf 'vm: %s\n' "$*" >&2; }

# Where the guest mounts the lab's tmpfs: an empty directory of the root filesystem that
# does not hold the checkout (/mnt, else /media).
lab_mnt() { case $ROOT/ in /mnt/*) echo /media ;; *) echo /mnt ;; esac; }

# A python that has virtme-ng (scripts/install-deps.sh installs it with pip).
vng_python() {
  local p
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import virtme_ng' 2>/dev/null; then
      command -v "$p"
      return 0
    fi
  done
  return 1
}

# The newest installed distro kernel whose modules include IPVS.
pick_kernel() {
  if [ -n "${LAB_VM_KERNEL:-}" ]; then
    [ -r "$LAB_VM_KERNEL" ] || { echo "LAB_VM_KERNEL=$LAB_VM_KERNEL is not readable"; return 1; }
    echo "$LAB_VM_KERNEL"
    return 0
  fi
  local k v best=
  for k in /boot/vmlinuz-*; do
    [ -r "$k" ] || continue
    v=${k#/boot/vmlinuz-}
    [ -d "/lib/modules/$v/kernel/net/netfilter/ipvs" ] || continue
    best=$k
  done
  [ -n "$best" ] || { echo "no /boot/vmlinuz-* with IPVS modules (apt-get install linux-image-amd64)"; return 1; }
  echo "$best"
}

why_not() { # prints a reason and returns 1 when a VM cannot be attempted here
  [ "$(id -u)" -eq 0 ] || { echo "not root"; return 1; }
  command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"; return 1; }
  command -v busybox >/dev/null || { echo "busybox is missing (apt-get install busybox-static)"; return 1; }
  vng_python >/dev/null || { echo "virtme-ng is missing (pip install virtme-ng; scripts/install-deps.sh does it)"; return 1; }
  pick_kernel >/dev/null || { pick_kernel; return 1; }
}

# Boots the VM once and runs a script file in it. $1: accel (kvm|tcg), $2: script, rest: vng args.
boot() {
  local accel=$1 script=$2 py kernel cpus
  shift 2
  py=$(vng_python)
  kernel=$(pick_kernel)
  cpus=${LAB_VM_CPUS:-$(nproc)}
  [ "$cpus" -le 4 ] || cpus=4
  local args=(--run "$kernel" --user root --cpus "$cpus" --memory "${LAB_VM_MEMORY:-2G}" --rwdir "$ROOT" --cwd "$ROOT")
  [ "$accel" = kvm ] || args+=(--disable-kvm)
  "$py" -c 'import sys; from virtme_ng.run import main; sys.exit(main())' "${args[@]}" "$@" --exec "bash $script"
}

# kvm, tcg, or nothing: KVM when a 30 s boot test passes, else TCG when a boot test passes.
# Cached per kernel and qemu build in target/lab-vm/accel.
probe() {
  local reason key cached
  reason=$(why_not) || { echo "$reason"; return 1; }
  key="$(pick_kernel) $(qemu-system-x86_64 --version | head -1) ${LAB_VM_ACCEL:-auto}"
  mkdir -p "$STATE"
  if [ -s "$STATE/accel" ] && [ "$(sed -n 2p "$STATE/accel")" = "$key" ]; then
    cached=$(head -1 "$STATE/accel")
    if [ "$cached" = none ]; then sed -n 3p "$STATE/accel"; return 1; fi
    echo "$cached"
    return 0
  fi
  local t=$STATE/probe.sh accel out
  printf 'echo lbdoctor-vm-ok; modprobe ip_vs && test -e /proc/net/ip_vs && echo lbdoctor-ipvs-ok\n' >"$t"
  for accel in ${LAB_VM_ACCEL:-kvm tcg}; do
    [ "$accel" != kvm ] || [ -w /dev/kvm ] || continue
    out=$(timeout "$([ "$accel" = kvm ] && echo 30 || echo 240)" "$HERE/vm.sh" __boot "$accel" "$t" 2>&1 </dev/null) || true
    if grep -q lbdoctor-ipvs-ok <<<"$out"; then
      printf '%s\n%s\n' "$accel" "$key" >"$STATE/accel"
      echo "$accel"
      return 0
    fi
    say "a $accel boot test failed: $(grep -v '^\s*$' <<<"$out" | tail -2 | tr '\n' ' ' | cut -c1-200)"
  done
  printf 'none\n%s\n%s\n' "$key" "no accelerator booted the VM with IPVS (kvm and tcg boot tests failed)" >"$STATE/accel"
  sed -n 3p "$STATE/accel"
  return 1
}

run() {
  [ $# -gt 0 ] || { say "usage: vm.sh run CMD..."; exit 2; }
  local accel
  accel=$(probe) || { say "no VM: $accel"; exit 125; }
  mkdir -p "$STATE"
  local script=$STATE/run-$$.sh v q
  {
    echo '#!/bin/bash'
    echo 'set -e'
    # The lab's state goes on a tmpfs of its own: the guest's /tmp is an overlay, and a tmpfs
    # over /tmp would hide a checkout that lives under /tmp (as CI's may).
    echo "mount -t tmpfs -o mode=755 lbdoctor-lab $(lab_mnt)"
    echo "export LAB_DIR=$(lab_mnt)/lbdoctor-lab"
    # The system's directories first: every command looked up through the host's PATH
    # (pyenv shims, ~/.cargo/bin...) costs a round trip to the 9p root per miss.
    echo "export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$(printf '%q' "$PATH") HOME=/root LBD_IN_VM=1 LBD_VM_ACCEL=$accel"
    for v in "${PASS_ENV[@]}"; do
      [ -z "${!v+x}" ] || echo "export $v=$(printf '%q' "${!v}")"
    done
    printf 'echo "vm: kernel $(uname -r), accelerator %s, $(nproc) CPU(s)" >&2\n' "$accel"
    echo "echo lbdoctor-vm-booted >$STATE/booted-$$"
    echo 'set +e'
    printf 'cd %q\n' "$ROOT"
    printf '%q ' "$@"
    echo
    echo 'rc=$?'
    echo "echo \$rc >$STATE/rc-$$"
    echo 'exit $rc'
  } >"$script"
  rm -f "$STATE/booted-$$" "$STATE/rc-$$"
  say "booting $(pick_kernel) ($accel) for: $*"
  local t0=$SECONDS rc
  # A hung guest must not hang CI: LAB_VM_TIMEOUT seconds at most (default 60 minutes).
  # Through a pipe: the guest's console is reopened by path, which truncates a log file that
  # stdout was redirected to (everything printed before the VM was lost).
  timeout "${LAB_VM_TIMEOUT:-3600}" "$HERE/vm.sh" __boot "$accel" "$script" </dev/null 2>&1 | cat || true
  if [ ! -e "$STATE/booted-$$" ]; then
    say "the VM did not boot ($((SECONDS - t0)) s)"
    rm -f "$script"
    exit 125
  fi
  rc=$(cat "$STATE/rc-$$" 2>/dev/null || echo 125)
  say "the VM ran for $((SECONDS - t0)) s; exit $rc"
  rm -f "$script" "$STATE/booted-$$" "$STATE/rc-$$"
  exit "$rc"
}

case ${1:-} in
  probe) probe ;;
  run) shift; run "$@" ;;
  kernel) pick_kernel ;;
  __boot) shift; boot "$@" ;;
  shell)
    accel=$(probe) || { say "no VM: $accel"; exit 125; }
    mkdir -p "$STATE"
    printf 'mount -t tmpfs -o mode=755 lbdoctor-lab %s\nexport LAB_DIR=%s/lbdoctor-lab LBD_IN_VM=1 LBD_VM_ACCEL=%s\ncd %q\necho "lab VM: try tests/lab/lab.sh up"\nexec bash -i\n' "$(lab_mnt)" "$(lab_mnt)" "$accel" "$ROOT" >"$STATE/shell.sh"
    boot "$accel" "$STATE/shell.sh"
    ;;
  *) echo "usage: vm.sh probe | run CMD... | shell | kernel" >&2; exit 2 ;;
esac
