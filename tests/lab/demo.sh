#!/usr/bin/env bash
# `make demo`: replays the founding incident on the lab (a real DSR cluster in network
# namespaces): detect, lint, state, audit --fix, detect again; prints a short report and tears
# down. Where this machine's kernel has no IPVS, the lab runs in the lab VM (tests/lab/vm.sh,
# Debian's kernel under qemu), so `state --host lb1` reads a real IPVS table that keepalived
# programmed; where no VM boots, the director is the nftables imitation and step 3 says so.
# Without root (or without network namespaces) it replays the bundled fixtures instead, and
# says so.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${LBDOCTOR:-$ROOT/target/release/lbdoctor}
[ -x "$BIN" ] || { echo "demo: $BIN is missing (make demo builds it)" >&2; exit 2; }
VIP=192.168.21.20

say() { if [ -t 1 ]; then printf '\n\033[1m### %s\033[0m\n' "$*"; else printf '\n### %s\n' "$*"; fi; }
show() { printf '$ lbdoctor %s\n' "$*"; }

# ---------------------------------------------------------------- fixture replay (no lab)
replay_fixtures() {
  echo "demo: $1"
  echo "demo: replaying the bundled fixtures instead of the live lab (recorded from the lab by tests/lab/record-fixtures.sh)."
  cd "$ROOT" || exit 2
  local steps=(
    "detect $VIP -r fixtures/detect/lab/incident.pcap"
    "lint fixtures/incidents/seed-keepalived.conf"
    "state --from fixtures/incidents/seed-ipvsadm-Ln.txt --config fixtures/incidents/seed-keepalived.conf"
    "audit --facts fixtures/audit/app2-lab.json --vip $VIP:80"
    "detect $VIP -r fixtures/detect/lab/healthy.pcap"
  )
  local s
  for s in "${steps[@]}"; do
    say "${s%% *}"
    show "$s"
    # shellcheck disable=SC2086 # the step strings are word lists
    "$BIN" $s
    echo "(exit $?)"
  done
  echo
  echo "demo: fixture replay done (run as root for the live lab: sudo make demo)"
  exit 0
}

if [ "$(id -u)" -ne 0 ]; then replay_fixtures "not root: network namespaces are unavailable"; fi
if ! ip netns add lbd-demo-probe 2>/dev/null; then replay_fixtures "cannot create network namespaces here"; fi
ip netns del lbd-demo-probe

if [ -z "${LBD_IN_VM:-}" ] && [ "${LAB_DIRECTOR:-auto}" != nft ] && ! modprobe -q ip_vs 2>/dev/null; then
  if accel=$("$HERE/vm.sh" probe 2>/dev/null); then
    echo "demo: this kernel ($(uname -r)) has no IPVS: booting the lab VM ($accel; about a minute under TCG)"
    exec "$HERE/vm.sh" run "$HERE/demo.sh"
  fi
  echo "demo: no VM can boot here ($accel): the director will be the nftables imitation of IPVS DR"
fi

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$HERE/lab.sh"
set +e
trap 'down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
SSHOPTS=(--ssh-config "$LAB_DIR/ssh/config" --known-hosts "$LAB_DIR/ssh/known_hosts" --identity "$LAB_DIR/ssh/id_ed25519")
# A fix's rollback guard waits for a fresh SSH session to confirm; under the VM's emulated CPU
# a session takes many seconds to open, so the guard gets longer than its 15 s default there.
FIXOPTS=()
[ "${LBD_VM_ACCEL:-}" != tcg ] || FIXOPTS=(--rollback-timeout 120)
declare -A RCS=()

# Runs lbdoctor in the client namespace (on the segment, like the operator's laptop).
run() { # label args...
  local label=$1
  shift
  show "$*"
  hx client "$BIN" "$@"
  RCS[$label]=$?
  echo "(exit ${RCS[$label]})"
}

say "Bringing up the lab: client, two keepalived directors (VRRP, VIP $VIP), app1 and app2 (two NICs each)"
(up) || { echo "demo: the lab did not come up" >&2; exit 1; }
(scenario incident) >/dev/null || { echo "demo: scenario incident failed" >&2; exit 1; }
before=$( (probe 40) )
echo "keepalived (VRRP) master: $(masters | tr '\n' ' ')— director: $(director_desc)"
echo "incident state: app1 has REDIRECT + arp_ignore/arp_announce/rp_filter at runtime only; app2 has nothing"
echo "40 requests from the client: $(jq -r '"\(.answered)/\(.sent) answered, by \(.backends | to_entries | map("\(.key)=\(.value)") | join(" "))"' <<<"$before")"

say "1. What kind of load balancing is this? (live capture in the client namespace)"
run detect1 detect "$VIP" -i eth0 -d 6 --probes 20

say "2. The director's keepalived.conf (the lab's copy carries the incident's lvs_sched rr ... lb_algo lc)"
mkdir -p "$LAB_DIR/demo"
cp "$(hdir lb1)/keepalived.conf" "$LAB_DIR/demo/keepalived.conf"
run lint lint "$LAB_DIR/demo/keepalived.conf"

say "3. The director's IPVS table against its config"
if [ "$(director_mode)" = ipvs ]; then
  echo "(read over SSH from lb1: the kernel's own table, programmed by keepalived from the config above)"
  run state state --host lb1 "${SSHOPTS[@]}"
else
  # No IPVS anywhere here: render what keepalived would have programmed (scheduler lc, the two
  # RIPs, DR), with the connection counts of the requests above: a browser's connection on .71.
  a1=$(jq -r '.backends.app1 // 0' <<<"$before")
  f2=$(jq -r '.failed' <<<"$before")
  cat >"$LAB_DIR/demo/ipvsadm-Ln.txt" <<EOF
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  $VIP:80 lc
  -> 192.168.21.71:80             Route   1      1          $a1
  -> 192.168.21.72:80             Route   1      0          $f2
EOF
  echo "(NOT a kernel table: this machine has no IPVS and no VM booted, so the lab rendered it from its DR rule and keepalived.conf: $LAB_DIR/demo/ipvsadm-Ln.txt)"
  cat "$LAB_DIR/demo/ipvsadm-Ln.txt"
  run state state --from "$LAB_DIR/demo/ipvsadm-Ln.txt" --config "$LAB_DIR/demo/keepalived.conf"
fi

say "4. Audit the real servers over SSH, then repair and persist (app2 lacks everything, app1 is runtime-only)"
run audit audit --host app1 --host app2 --vip "$VIP:80" --role real "${SSHOPTS[@]}"
run fix audit --host app1 --host app2 --vip "$VIP:80" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
after=$( (probe 40) )
(reboot_host app1) >/dev/null 2>&1
(reboot_host app2) >/dev/null 2>&1
rebooted=$( (probe 40) )

say "5. Detect again"
run detect2 detect "$VIP" -i eth0 -d 6 --probes 20

if [ "$(director_mode)" = ipvs ]; then
  say "6. And this is how it never happens again: lbdoctor check as keepalived's health check"
  echo "Back to the incident (app2 broken again), but each real_server now has, instead of TCP_CHECK on its own IP:"
  printf '    MISC_CHECK {\n      misc_path "%s check %s:80 --rs <its IP> --timeout 1 -q"\n      misc_timeout 5\n    }\n' "$BIN" "$VIP"
  (LBDOCTOR=$BIN scenario checked) >/dev/null 2>&1 || echo "demo: scenario checked failed" >&2
  for _ in $(seq 120); do hx lb1 ipvsadm -Ln | grep -q -- '-> 192.168.21.72:80' || break; sleep 1; done
  checked=$( (probe 40) )
  run state2 state --host lb1 "${SSHOPTS[@]}"
fi

say "Report"
summ() { jq -r '"\(.answered)/\(.sent) answered"' <<<"$1" 2>/dev/null || echo "?"; }
checked_line="(needs real IPVS)"
[ -z "${checked:-}" ] || checked_line=$(summ "$checked")
cat <<EOF
  requests to $VIP:80 before the fix:   $(summ "$before")
  after audit --fix:                       $(summ "$after")
  after a simulated reboot of both apps:   $(summ "$rebooted")
  incident again, with lbdoctor check as MISC_CHECK: $checked_line
  exit codes: detect=${RCS[detect1]} lint=${RCS[lint]} state=${RCS[state]} audit=${RCS[audit]} fix=${RCS[fix]} detect-after=${RCS[detect2]}
EOF
echo
echo "demo: tearing the lab down"
