#!/usr/bin/env bash
# End-to-end tests on the lab (issue #7): the lab proves itself first (no lbdoctor needed), then
# lbdoctor runs against it: detect live in the client namespace, audit and fix through sshd,
# the reboot simulation, --deny-direct, and a refused host key. Root only; skips (exit 0) with a
# clear message where network namespaces are unavailable. Ends with "N passed, N failed, N skipped"
# and exits 1 on any failure. The lab is always torn down (trap).
#
# Where this kernel has no IPVS, the whole run moves into the lab VM (tests/lab/vm.sh: Debian's
# kernel under qemu), where keepalived programs real IPVS and the real-IPVS scenarios run too
# (NAT, TUN, fwmark, persistence, inhibit_on_failure, the flood). Only where no VM can boot does
# it fall back to the nftables imitation of the director, and it says so.
# LAB_DIRECTOR=nft forces the imitation on this kernel.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "e2e: SKIPPED: the lab needs root (network and mount namespaces); run as root: sudo tests/lab/e2e.sh"
  exit 0
fi
if ! ip netns add lbd-e2e-probe 2>/dev/null; then
  echo "e2e: SKIPPED: cannot create network namespaces here (no CAP_SYS_ADMIN or no netns support)"
  exit 0
fi
ip netns del lbd-e2e-probe

if [ -z "${LBD_IN_VM:-}" ] && [ "${LAB_DIRECTOR:-auto}" != nft ] && ! modprobe -q ip_vs 2>/dev/null; then
  if accel=$("$HERE/vm.sh" probe 2>/dev/null); then
    # Build on this machine: the VM's emulated CPU would take many times longer.
    if [ -z "${LBDOCTOR:-}" ] && [ ! -x "$ROOT/target/debug/lbdoctor" ] && [ ! -x "$ROOT/target/release/lbdoctor" ]; then
      (cd "$ROOT" && cargo build --locked -q) || { echo "e2e: FAIL: cargo build failed"; exit 1; }
    fi
    echo "e2e: this kernel ($(uname -r)) has no IPVS: running the lab in the VM ($accel)"
    "$HERE/vm.sh" run "$HERE/e2e.sh"
    rc=$?
    [ $rc -ne 125 ] || echo "e2e: FAIL: the lab VM did not boot (see above); 0 passed, 1 failed, 0 skipped"
    exit $rc
  fi
  echo "e2e: no VM can boot here ($accel): the director is the nftables imitation of IPVS DR"
fi

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$HERE/lab.sh"
set +e # the tests handle failures themselves; lab helpers run in subshells

BIN=${LBDOCTOR:-}
if [ -z "$BIN" ]; then
  # The newer of the release and debug builds (make test builds debug; make demo release).
  for b in "$ROOT/target/release/lbdoctor" "$ROOT/target/debug/lbdoctor"; do
    if [ -x "$b" ] && { [ -z "$BIN" ] || [ "$b" -nt "$BIN" ]; }; then BIN=$b; fi
  done
  if [ -z "$BIN" ]; then
    echo "e2e: building lbdoctor (cargo build)"
    (cd "$ROOT" && cargo build --locked -q) || { echo "e2e: FAIL: cargo build failed"; exit 1; }
    BIN=$ROOT/target/debug/lbdoctor
  fi
fi
echo "e2e: testing $BIN"
N=${E2E_REQUESTS:-40}
SSHOPTS=(--ssh-config "$LAB_DIR/ssh/config" --known-hosts "$LAB_DIR/ssh/known_hosts" --identity "$LAB_DIR/ssh/id_ed25519")
# A fix's rollback guard waits for a fresh SSH session to confirm; under the VM's emulated CPU
# a session takes many seconds to open, so the guard gets longer than its 15 s default there.
FIXOPTS=()
[ "${LBD_VM_ACCEL:-}" != tcg ] || FIXOPTS=(--rollback-timeout 120)
PASSED=0 FAILED=0 SKIPPED=0
FAILURES=()
START=$(date +%s)

trap 'down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

# Each result says how long it took since the previous one ([+N s]): where the time goes.
# (Not from a $(...) helper: LAST must change in this shell, not in a subshell.)
LAST=$START
pass() { PASSED=$((PASSED + 1)); echo "  PASS  $1 [+$((EPOCHSECONDS - LAST)) s]"; LAST=$EPOCHSECONDS; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); echo "  FAIL  [+$((EPOCHSECONDS - LAST)) s] $1${2:+: $2}"; LAST=$EPOCHSECONDS; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "  SKIP  $1${2:+: $2}" ; echo "  ^^^^  SKIPPED (not a pass): $1"; }
section() { LAST=$EPOCHSECONDS; echo; echo "== $* ($((LAST - START)) s)"; }

# Runs lbdoctor in the client namespace; sets OUT, ERR, RC.
lbd() {
  local o e
  o=$(mktemp) e=$(mktemp)
  hx client "$BIN" "$@" >"$o" 2>"$e"
  RC=$?
  OUT=$(cat "$o") ERR=$(cat "$e")
  rm -f "$o" "$e"
}
# A subcommand answering "not implemented" is a failure now that every issue has landed.
not_implemented() { [ "$RC" -eq 2 ] && grep -q "is not implemented yet" <<<"$ERR"; }
# jq over the last command's JSON output; prints the result, fails on invalid JSON.
j() { jq -r "$1" <<<"$OUT" 2>/dev/null; }
jtest() { jq -e "$1" <<<"$OUT" >/dev/null 2>&1; }
brief() { printf 'rc=%s stderr=%s stdout=%s' "$RC" "$(head -c 400 <<<"$ERR" | tr '\n' ' ')" "$(head -c 600 <<<"$OUT" | tr '\n' ' ')"; }

# N probes to TARGET from the client; sets P_SENT P_OK P_JSON.
requests() { # count [target]
  P_JSON=$( (probe "$1" "${2:-$VIP}") 2>/dev/null)
  P_OK=$(jq -r .answered <<<"$P_JSON" 2>/dev/null || echo -1)
}
lab() { # a lab.sh function (never an external command: `reboot` would be the machine's)
  declare -F "$1" >/dev/null || { echo "e2e: no lab function $1" >&2; return 1; }
  ("$@") >/dev/null 2>"$LAB_DIR/state/last-lab-error" || { cat "$LAB_DIR/state/last-lab-error" >&2; return 1; }; }
all_ok() { requests "$N"; [ "$P_OK" = "$N" ]; }
direct_http() { # ip -> 0 when an HTTP answer came back
  hx client curl -s -o /dev/null -m 2 --connect-timeout 1.5 "http://$1/"
}

section "lab: bring-up"
mkdir -p "$ROOT/target"
if ! (up) >/dev/null 2>"$ROOT/target/e2e-lab-up.log"; then
  cat "$ROOT/target/e2e-lab-up.log" >&2
  fail "lab comes up" "see the error above"
  echo; echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  exit 1
fi
pass "lab comes up (bridge, 5 namespaces, sshd x4, keepalived x2, HTTP x2); director: $(director_desc)"
mkdir -p "$LAB_DIR/state"
IPVS=0
[ "$(director_mode)" != ipvs ] || IPVS=1
echo "e2e: director: $(director_desc)"

# E2E_ONLY=ipvs runs only the bring-up, the real-IPVS section and the host-key test (a shorter
# loop while working on the VM); the default runs everything.
if [ "${E2E_ONLY:-}" != ipvs ]; then
# ---------------------------------------------------------------- lab self-tests
section "lab self-tests (no lbdoctor)"
n=$(masters | wc -l)
if [ $IPVS = 1 ]; then
  table=$(hx lb1 ipvsadm -Ln)
  if [ "$n" -eq 1 ] && [ "$(masters)" = lb1 ] && grep -q "^TCP  $VIP:$PORT lc" <<<"$table" &&
     [ "$(grep -c -- '-> 192.168.21.7[12]:80 *Route' <<<"$table")" = 2 ]; then
    pass "VRRP elects one master (lb1); keepalived programmed IPVS: $VIP:$PORT lc, 2 real servers, Route"
  else fail "VRRP master and IPVS table" "masters: $(masters | tr '\n' ' ') table: $table"; fi
elif [ "$n" -eq 1 ] && [ "$(masters)" = lb1 ] && (has_dsr lb1) && ! (has_dsr lb2); then
  pass "VRRP elects one master (lb1), which alone carries the DR rule"
else fail "VRRP elects one master" "masters: $(masters | tr '\n' ' ')"; fi

lab scenario incident
requests "$N"
ok_share=$((P_OK * 100 / N))
if [ $IPVS = 1 ]; then
  # Real lc, with a browser's connection held on app1: new clients go to app2 until its
  # unanswered SYN_RECV entries (active since Linux 4.8) outweigh app1's inactive ones.
  syn72=$(hx lb1 ipvsadm -Lnc | grep -c 'SYN_RECV .*192\.168\.21\.72:80')
  if [ "$P_OK" -lt "$N" ] && [ "$P_OK" -gt 0 ] && [ "$(jq -r '.backends | keys | join(",")' <<<"$P_JSON")" = app1 ] && [ "$syn72" -gt 0 ]; then
    pass "incident on real IPVS: $P_OK/$N answered, all by app1; $syn72 entries to app2 stuck in SYN_RECV"
  else fail "incident on real IPVS: some requests fail, app2 never answers" "$P_JSON syn_recv(.72)=$syn72"; fi
elif [ "$ok_share" -ge 15 ] && [ "$ok_share" -le 85 ] && [ "$(jq -r '.backends | keys | join(",")' <<<"$P_JSON")" = app1 ]; then
  pass "incident: roughly half of the requests fail ($P_OK/$N answered, all by app1)"
else fail "incident: roughly half of the requests fail" "$P_JSON"; fi

lab scenario healthy
requests "$N"
if [ "$P_OK" = "$N" ] && jq -e '.backends.app1 > 0 and .backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
  pass "healthy: every request answered, by both real servers ($P_JSON)"
else fail "healthy: every request answered by both" "$P_JSON"; fi

lab reboot_host app2
if all_ok; then pass "healthy: a simulated reboot of app2 keeps 100% (persisted settings re-applied)"
else fail "healthy: reboot keeps 100%" "$P_JSON"; fi

lab scenario incident
lab reboot_host app1
redirect=$(hx app1 iptables-save -t nat | grep -c REDIRECT)
ai=$(hx app1 sysctl -n net.ipv4.conf.all.arp_ignore)
rp4=$(hx app1 sysctl -n net.ipv4.conf.ens4.rp_filter)
requests "$N"
if [ "$redirect" = 0 ] && [ "$ai" = 0 ] && [ "$rp4" = 1 ] && [ "$P_OK" = 0 ]; then
  pass "reboot simulation loses app1's runtime-only settings (no REDIRECT, arp_ignore 0, rp_filter 1 from the distribution; 0/$N answered)"
else fail "reboot simulation loses runtime-only settings" "redirect=$redirect arp_ignore=$ai ens4.rp_filter=$rp4 $P_JSON"; fi

if lab scenario split-brain && [ "$(masters | wc -l)" -eq 2 ]; then
  pass "split-brain: peers that cannot hear each other both become MASTER"
else fail "split-brain: two masters" "masters: $(masters | tr '\n' ' ')"; fi

if lab scenario split-brain-vrid && [ "$(masters | wc -l)" -eq 2 ]; then
  pass "split-brain: peers disagreeing on virtual_router_id both become MASTER"
else fail "split-brain (vrid): two masters" "masters: $(masters | tr '\n' ' ')"; fi

lab scenario rp-filter
if [ $IPVS = 1 ]; then
  # Real keepalived: its TCP_CHECK reaches app2's real IP on ens4 too, where strict rp_filter
  # drops it, so keepalived takes app2 out of the pool (connect_timeout 10 s, then removal).
  gone=0
  for _ in $(seq 120); do
    if ! hx lb1 ipvsadm -Ln | grep -q -- '-> 192.168.21.72:80'; then gone=1; break; fi
    sleep 1
  done
  requests "$N"
  if [ $gone = 1 ] && [ "$P_OK" = "$N" ] && [ "$(jq -r '.backends | keys | join(",")' <<<"$P_JSON")" = app1 ]; then
    pass "rp-filter on real IPVS: keepalived's TCP_CHECK to app2 arrives on ens4 and is dropped too, so keepalived takes app2 out of the pool; app1 answers $N/$N"
  else fail "rp-filter on real IPVS: app2 out of the pool, app1 answers all" "removed=$gone $P_JSON"; fi
else
requests "$N"
if [ "$P_OK" -gt 0 ] && [ "$P_OK" -lt "$N" ] && [ "$(jq -r '.backends | keys | join(",")' <<<"$P_JSON")" = app1 ]; then
  pass "rp-filter: strict rp_filter on app2's ens4 drops app2's share ($P_OK/$N answered)"
else fail "rp-filter: app2's share dropped" "$P_JSON"; fi
fi

lab scenario director-is-real-server
requests "$N"
if [ $IPVS = 1 ]; then
  if [ "$P_OK" -gt 0 ] && [ "$P_OK" -lt "$N" ] && jq -e '.backends | keys - ["lb1","lb2"] | length == 0' <<<"$P_JSON" >/dev/null; then
    pass "director-is-real-server on real IPVS: the directors serve some requests themselves, the rest ping-pong between their IPVS tables and fail ($P_JSON)"
  else fail "director-is-real-server: some answered by the directors, some lost" "$P_JSON"; fi
elif [ "$P_OK" -gt 0 ] && [ "$P_OK" -lt "$N" ] && [ "$(jq -r '.backends | keys | join(",")' <<<"$P_JSON")" = lb1 ]; then
  pass "director-is-real-server: lb1 serves its own share, the share sent to its peer ping-pongs and fails ($P_OK/$N)"
else fail "director-is-real-server: only lb1's share answered" "$P_JSON"; fi

lab scenario proxy
requests "$N"
if [ "$P_OK" = "$N" ] && ! (has_dsr lb1); then pass "proxy: the relay on the director answers every request without DR"
else fail "proxy: relay answers" "$P_JSON"; fi

# ---------------------------------------------------------------- lbdoctor
section "lbdoctor detect (live, client namespace), incident"
lab scenario incident
LB_MAC=$(nic_field lb1 ens3 mac)
lbd --format json detect "$VIP:$PORT" -i eth0 -d 6 --probes 20
if not_implemented; then fail "detect live on the incident" "detect answered \"is not implemented yet\""
elif jtest ".verdict.mode == \"dsr\" and .verdict.lb_mac == \"$LB_MAC\" and .verdict.flows.unanswered > 0 and (.verdict.backends | length) >= 1 and .verdict.vip == \"$VIP\" and .verdict.port == $PORT"; then
  pass "detect: incident is DSR via $LB_MAC, $(j '.verdict.flows.unanswered') unanswered, $(j '.verdict.backends | length') backend(s) answering"
  if jtest '[.verdict.backends[].mac] | index("02:00:00:21:00:11") != null' && jtest '[.vrrp[] | select(.vrid == 51)] | length >= 1'; then
    pass "detect: names app1's MAC as a backend and sees lb1's VRRP adverts (vrid 51)"
  else fail "detect: backend MAC and VRRP" "$(brief)"; fi
else fail "detect: incident is DSR with unanswered flows" "$(brief)"; fi

section "lbdoctor audit over sshd, incident"
lbd --format json audit --host app2 --vip "$VIP:$PORT" --role real "${SSHOPTS[@]}"
if not_implemented; then fail "audit finds app2's gaps" "audit answered \"is not implemented yet\""
elif [ "$RC" = 1 ] && jtest '.hosts[0].ok == false and (.findings | length) > 0'; then
  pass "audit: app2 has gaps ($(j '[.findings[].id] | unique | join(" ")'))"
else fail "audit: app2 has gaps (exit 1, hosts[0].ok false, findings)" "$(brief)"; fi

lbd --format json audit --host app1 --vip "$VIP:$PORT" --role real "${SSHOPTS[@]}"
if not_implemented; then fail "audit finds app1's settings runtime-only" "audit answered \"is not implemented yet\""
elif [ "$RC" = 1 ] && jtest '.hosts[0].ok == false and (.findings | length) > 0'; then
  pass "audit: app1's runtime-only settings are flagged ($(j '[.findings[].id] | unique | join(" ")'))"
else fail "audit: app1 runtime-only settings flagged" "$(brief)"; fi

section "lbdoctor audit --fix --yes (app1 and app2)"
lbd --format json audit --host app1 --host app2 --vip "$VIP:$PORT" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
if not_implemented; then fail "audit --fix repairs the cluster" "audit answered \"is not implemented yet\""
else
  if [ "$RC" = 0 ] && jtest '.applied == true and ([.plan[].changes | length] | add) > 0 and (.findings_before | length) > 0'; then
    pass "audit --fix: applied $(j '[.plan[].changes | length] | add') change(s); re-audit clean (exit 0)"
  else fail "audit --fix applied and re-audit clean (exit 0)" "$(brief)"; fi
  if all_ok; then pass "after the fix, $N/$N requests to the VIP succeed ($P_JSON)"
  else fail "after the fix, every request succeeds" "$P_JSON"; fi

  lbd --format json audit --host app1 --host app2 --vip "$VIP:$PORT" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
  if [ "$RC" = 0 ] && jtest '([.plan[]?.changes | length] | add // 0) == 0'; then
    pass "a second --fix plans nothing"
  else fail "a second --fix plans nothing" "$(brief)"; fi

  lab reboot_host app1
  lab reboot_host app2
  if all_ok; then pass "after a simulated reboot of app1 and app2, $N/$N requests succeed"
  else fail "fix survives a reboot" "$P_JSON"; fi

  lbd --format json audit --host app1 --host app2 --vip "$VIP:$PORT" --role real "${SSHOPTS[@]}"
  if [ "$RC" = 0 ] && jtest '[.hosts[].ok] | all'; then pass "after the reboot, audit finds both hosts ok"
  else fail "after the reboot, audit finds both ok" "$(brief)"; fi
fi

section "lbdoctor detect after the fix"
lbd --format json detect "$VIP:$PORT" -i eth0 -d 6 --probes 20
if not_implemented; then fail "detect after the fix" "detect answered \"is not implemented yet\""
elif jtest ".verdict.mode == \"dsr\" and .verdict.flows.unanswered == 0 and (.verdict.backends | length) == 2"; then
  pass "detect after the fix: DSR, 2 backends, 0 unanswered"
else fail "detect after the fix: DSR, 2 backends, 0 unanswered" "$(brief)"; fi

section "lbdoctor audit --fix --deny-direct 192.168.21.0/26"
reachable=1
for ip in 192.168.21.11 192.168.21.71 192.168.21.12 192.168.21.72; do
  if ! direct_http "$ip"; then reachable=0; fi
done
if [ $reachable = 1 ]; then pass "before --deny-direct, direct HTTP to the four real IPs answers (so blocking it is observable)"
else fail "before --deny-direct, direct HTTP to the real IPs answers"; fi
# The CIDR holds the directors too: their health checks (TCP_CHECK on the real IPs) must pass.
DIRECTOR_IPS="$(nic_field lb1 ens3 ip),$(nic_field lb2 ens3 ip)"
lbd --format json audit --host app1 --host app2 --vip "$VIP:$PORT" --role real --fix --yes --deny-direct 192.168.21.0/26 --allow-direct "$DIRECTOR_IPS" "${FIXOPTS[@]}" "${SSHOPTS[@]}"
if not_implemented; then fail "--deny-direct" "audit answered \"is not implemented yet\""
else
  blocked=1
  for ip in 192.168.21.11 192.168.21.71 192.168.21.12 192.168.21.72; do
    if direct_http "$ip"; then blocked=0; fi
  done
  if [ "$RC" = 0 ] && [ $blocked = 1 ]; then pass "--deny-direct: direct HTTP to the four real IPs is blocked from the client"
  else fail "--deny-direct blocks direct HTTP" "blocked=$blocked $(brief)"; fi
  if hx client ssh -F "$LAB_DIR/ssh/config" -o BatchMode=yes -o ConnectTimeout=5 app1 true &&
     hx client ssh -F "$LAB_DIR/ssh/config" -o BatchMode=yes -o ConnectTimeout=5 app2 true; then
    pass "--deny-direct: SSH to app1 and app2 still works"
  else fail "--deny-direct: SSH still works"; fi
  # On real IPVS, keepalived's TCP_CHECKs run every few seconds: wait past one round so a
  # drop of the directors' checks would have emptied the pool.
  [ $IPVS = 0 ] || sleep $((6 * WAIT_SCALE))
  if all_ok; then pass "--deny-direct --allow-direct (the directors): the VIP still answers $N/$N, keepalived's checks pass"
  else fail "--deny-direct: VIP still answers" "$P_JSON $(hx lb1 ipvsadm -Ln 2>/dev/null | tr '\n' ' ')"; fi
  if [ $IPVS = 1 ]; then
    if hx lb1 ipvsadm -Ln | grep -q -- '-> 192.168.21.71:80' && hx lb1 ipvsadm -Ln | grep -q -- '-> 192.168.21.72:80'; then
      pass "--deny-direct: both real servers stay in lb1's IPVS pool (the directors' TCP_CHECKs are spared)"
    else fail "--deny-direct: the pool keeps both real servers" "$(hx lb1 ipvsadm -Ln | tr '\n' ' ')"; fi
  fi
  lab reboot_host app1
  lab reboot_host app2
  blocked=1
  for ip in 192.168.21.11 192.168.21.12; do if direct_http "$ip"; then blocked=0; fi; done
  if [ $blocked = 1 ] && all_ok; then pass "--deny-direct is persisted: after a reboot direct HTTP stays blocked, the VIP answers $N/$N"
  else fail "--deny-direct persisted across a reboot" "blocked=$blocked $P_JSON"; fi
fi

section "lbdoctor audit --fix, VIP on lo (arp-problem): the address is persisted and survives a reboot"
# app2 accepts the VIP on lo (runtime only, ARP sysctls missing); app1 has the runtime REDIRECT.
lab scenario arp-problem
lbd --format json audit --host app1 --host app2 --vip "$VIP:$PORT" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
if [ "$RC" = 0 ] && jtest '.applied == true and ([.findings_before[] | select(.id == "RS014" and .subject == "app2")] | length) == 1 and ([.plan[] | select(.host == "app2") | .changes[] | select(.kind == "address-persist" and .file == "/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20")] | length) == 1'; then
  pass "audit --fix on a VIP-on-lo real server writes /etc/network/interfaces.d/lbdoctor-vip-192-168-21-20 (RS014 before, clean after)"
else fail "audit --fix persists app2's VIP on lo" "$(brief)"; fi
lbd --format json audit --host app2 --vip "$VIP:$PORT" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
if [ "$RC" = 0 ] && jtest '([.plan[]?.changes | length] | add // 0) == 0'; then
  pass "a second --fix on the VIP-on-lo real server plans nothing"
else fail "a second --fix on the VIP-on-lo real server plans nothing" "$(brief)"; fi
lab reboot_host app1
lab reboot_host app2
hx client ip neigh flush dev eth0
if hx app2 ip -4 -o addr show dev lo | grep -q " $VIP/32 " && all_ok; then
  pass "after a simulated reboot app2 has the VIP on lo again (ifupdown lo:0 stanza) and $N/$N requests succeed"
else fail "VIP on lo survives a reboot after --fix" "lo: $(hx app2 ip -4 -o addr show dev lo | tr '\n' ' ') $P_JSON"; fi

fi # E2E_ONLY

if [ $IPVS = 1 ]; then
  # ---------------------------------------------------------------- real IPVS only
  LB1=(--host lb1 "${SSHOPTS[@]}")
  section "real IPVS: lbdoctor state --host lb1 reads the kernel's table over SSH (incident)"
  lab scenario incident
  requests 20
  # As an operator would, a few seconds after the failures: ST005 blames a server whose
  # SYN_RECV entries outlived a handshake (3 s), and the run before this one may have left its
  # counters diluted with answered connections.
  sleep 4
  lbd --format json state "${LB1[@]}" --fail-on never
  if jtest '[.findings[] | select(.severity == "error" and (.message | test("192\\.168\\.21\\.72")) and (.id == "ST005" or .id == "ST001"))] | length >= 1'; then
    pass "state --host lb1 names the silent real server 192.168.21.72 from the kernel's table ($(j '[.findings[] | select(.message | test("192\\.168\\.21\\.72")) | .id] | unique | join(" ")'))"
  else fail "state --host lb1 names the silent real server 192.168.21.72" "$(brief)"; fi
  if jtest '[.findings[] | select(.message | test("stays inactive \\(SYN_RECV\\)"))] | length == 0'; then
    pass "no message claims SYN_RECV entries are inactive (they count as active since Linux 4.8; this kernel: $(uname -r))"
  else fail "no message claims SYN_RECV is inactive" "$(brief)"; fi
  lbd --format json audit --role director "${LB1[@]}" --fail-on never
  # The incident's config: keepalived runs it (DR008 silent), `keepalived -t` exits 5 for the
  # nopreempt it clears (a warning: it starts), and lint's part names the overridden scheduler.
  if [ "$RC" -le 1 ] && jtest '[.findings[] | select(.id == "DR008")] | length == 0' &&
     jtest '[.findings[] | select(.id == "DR009" and (.message | test("rejects")))] | length == 0' &&
     jtest '[.findings[] | select(.id == "DR009") | .evidence[] | select(test("lb_algo|lvs_sched|scheduler"))] | length >= 1'; then
    pass "audit --role director on a real director: keepalived runs; DR009 names the scheduler override and keepalived -t's exit 5 as a warning ($(j '[.findings[] | "\(.id)/\(.severity)"] | unique | join(" ")'))"
  else fail "audit --role director on the real director" "$(brief)"; fi

  section "real IPVS: a VRRP failover and the connections already open (DR016)"
  # DR016's verdict on lb1 (dr016: how many), then what a connection opened through lb1 sees
  # across a failover (res: "reset", or "answered BACKEND").
  failover_round() {
    lbd --format json audit --role director "${LB1[@]}" --fail-on never
    dr016=$(j '[.findings[] | select(.id == "DR016")] | length')
    res=$( (failover_probe) 2>>"$LAB_DIR/state/last-lab-error")
  }
  if lab scenario failover; then
    failover_round
    if [ "$dr016" = 1 ] && [ "$res" = reset ]; then
      pass "DR016 on lb1 (sloppy_tcp=0, no lvs_sync_daemon), and indeed a connection opened through lb1 was reset by lb2 after the failover"
    else fail "DR016 reported and the open connection reset at failover" "DR016 x$dr016, client: $res"; fi
    for h in lb1 lb2; do hx "$h" sysctl -qw net.ipv4.vs.sloppy_tcp=1; done
    failover_round
    if [ "$dr016" = 0 ] && [ "${res%% *}" = answered ]; then
      pass "with sloppy_tcp=1 on both directors DR016 is silent and the same connection survives the failover ($res)"
    else fail "sloppy_tcp=1: no DR016 and the connection survives" "DR016 x$dr016, client: $res"; fi
    for h in lb1 lb2; do hx "$h" sysctl -qw net.ipv4.vs.sloppy_tcp=0; done
  else fail "scenario failover comes up"; fi

  section "real IPVS: NAT, TUN and fwmark forward as the kernel does, and detect names the method"
  for sc in nat tun fwmark; do
    lab scenario "$sc" || { fail "scenario $sc comes up"; continue; }
    requests 20
    if [ "$P_OK" = 20 ] && jq -e '.backends.app1 > 0 and .backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
      pass "$sc: 20/20 answered by both real servers through real IPVS ($P_JSON)"
    else fail "$sc: 20/20 answered by both" "$P_JSON; masters: $(masters | tr '\n' ' '); lb1: $(hx lb1 ipvsadm -Ln --stats | tail -n +4 | tr -s ' ' | tr '\n' ';'); lb2: $(hx lb2 ipvsadm -Ln --stats | tail -n +4 | tr -s ' ' | tr '\n' ';'); lb1 conns: $(hx lb1 ipvsadm -Lnc | awk 'NR>2 {print $3}' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"; fi
    want=$(case $sc in nat) echo nat ;; *) echo dsr ;; esac)
    lbd --format json detect "$VIP:$PORT" -i eth0 -d 5 --probes 10
    if jtest ".verdict.mode == \"$want\""; then
      pass "$sc: detect's verdict from the client is $want ($(j '.verdict.confidence'))"
    else fail "$sc: detect says $want" "$(brief)"; fi
    lbd --format json state "${LB1[@]}" --fail-on error
    if [ "$RC" = 0 ] && jtest '.services | length >= 1'; then
      pass "$sc: state --host lb1 reads the table ($(j '[.services[] | "\(.key) \(.scheduler)"] | join(", ")')) with no error"
    else fail "$sc: state --host lb1 without errors" "$(brief)"; fi
  done

  section "real IPVS: a TUN real server without tunl0 is audited, fixed and survives a reboot"
  if lab scenario tun-broken; then
    requests 20
    if [ "$P_OK" -lt 20 ] && jq -e '.backends.app1 > 0' <<<"$P_JSON" >/dev/null; then
      pass "tun-broken: app2 (no tunl0) drops the director's IPIP packets: $P_OK/20 answered"
    else fail "tun-broken: requests to app2 fail before the fix" "$P_JSON"; fi
    lbd --format json audit --host app2 --vip "$VIP:$PORT" --lvs-method TUN --role real --fail-on never "${SSHOPTS[@]}"
    if jtest '[.findings[] | select(.id == "RS015")] | length >= 1'; then
      pass "audit --lvs-method TUN names what app2 lacks ($(j '[.findings[].id] | unique | join(" ")'))"
    else fail "audit --lvs-method TUN reports RS015 on app2" "$(brief)"; fi
    lbd --format json audit --host app2 --vip "$VIP:$PORT" --lvs-method TUN --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
    requests 20
    if [ "$RC" = 0 ] && [ "$P_OK" = 20 ] && jq -e '.backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
      pass "after audit --fix --lvs-method TUN, 20/20 answered, app2 among them ($P_JSON)"
    else fail "TUN fix: 20/20 with app2 serving" "rc=$RC $P_JSON $(brief)"; fi
    lab reboot_host app2
    requests 20
    if [ "$P_OK" = 20 ] && jq -e '.backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
      pass "TUN fix persisted: after a simulated reboot app2 has tunl0 up again and serves ($P_JSON)"
    else fail "TUN fix survives a reboot" "tunl0: $(hx app2 ip -o link show tunl0 | cut -c1-80) $P_JSON"; fi
    lbd --format json audit --host app2 --vip "$VIP:$PORT" --lvs-method TUN --role real --fix --dry-run "${SSHOPTS[@]}"
    if jtest '[.plan[].changes[]] | length == 0'; then pass "TUN fix is idempotent: a second run plans nothing"
    else fail "TUN fix is idempotent" "$(j '[.plan[].changes[].description] | join("; ")' | cut -c1-300)"; fi
  else fail "scenario tun-broken comes up"; fi

  section "real IPVS: persistence, inhibit_on_failure, a SYN flood"
  lab scenario persistence
  requests 10
  lbd --format json state "${LB1[@]}" --fail-on never
  if [ "$(jq -r '.backends | length' <<<"$P_JSON")" = 1 ] && [ "$P_OK" = 10 ] && jtest '[.services[] | select(.persistent)] | length >= 1'; then
    pass "persistence: one client's 10 connections all go to one real server; state sees the persistence timeout"
  else fail "persistence: one server per client, seen by state" "$P_JSON $(brief)"; fi
  lab scenario inhibit
  lbd --format json state "${LB1[@]}" --fail-on never
  if jtest '[.findings[] | select(.id == "ST002" and (.message | test("192\\.168\\.21\\.72")))] | length == 1'; then
    pass "inhibit_on_failure: keepalived set 192.168.21.72's weight to 0 and state reports it (ST002)"
  else fail "inhibit_on_failure: ST002 for .72" "$(brief)"; fi
  lab scenario syn-flood
  lab flood 2000
  lbd --format json state "${LB1[@]}" --fail-on never
  if jtest '[.findings[] | select(.id == "ST004")] | length == 1'; then
    pass "SYN flood into real IPVS: state reports the SYN_RECV pile-up (ST004: $(j '[.findings[] | select(.id == "ST004") | .message] | first | .[0:100]'))"
  else fail "SYN flood: ST004" "$(brief)"; fi

  section "real IPVS: lbdoctor check as keepalived's MISC_CHECK keeps the incident's clients at 100%"
  if LBDOCTOR=$BIN lab scenario checked; then
    gone=0
    for _ in $(seq 120); do
      if ! hx lb1 ipvsadm -Ln | grep -q -- '-> 192.168.21.72:80'; then gone=1; break; fi
      sleep 1
    done
    requests "$N"
    if [ $gone = 1 ] && [ "$P_OK" = "$N" ]; then
      pass "MISC_CHECK 'lbdoctor check VIP:80 --rs IP': keepalived took app2 (.72) out of the pool by itself; $N/$N answered before any fix"
    else fail "MISC_CHECK takes app2 out and keeps 100%" "removed=$gone $P_JSON"; fi
    lbd --format json audit --host app2 --vip "$VIP:$PORT" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
    back=0
    for _ in $(seq 120); do
      if hx lb1 ipvsadm -Ln | grep -q -- '-> 192.168.21.72:80'; then back=1; break; fi
      sleep 1
    done
    # Two more rounds of the MISC_CHECK (delay_loop 3 s) before the clients: keepalived has
    # settled, and the emulated CPU is not busy with the fix any more.
    sleep $((2 * 3 * WAIT_SCALE / 2))
    requests "$N"
    if [ $back = 1 ] && [ "$P_OK" = "$N" ] && jq -e '.backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
      pass "after audit --fix on app2, its VIP path answers the MISC_CHECK and keepalived puts it back ($P_JSON)"
    else fail "after the fix, app2 comes back into the pool" "back=$back $P_JSON; lb1: $(hx lb1 ipvsadm -Ln | tr '\n' ' '); keepalived: $(tail -5 "$(hdir lb1)/keepalived.log" | tr '\n' ' ') $(brief)"; fi
  else fail "scenario checked comes up"; fi
fi

if [ $IPVS = 1 ]; then
  section "real IPVS: an IPv6 VIP: app2 is audited, fixed (the VIP on lo as /128) and survives a reboot"
  if lab scenario ipv6; then
    requests 20 "$VIP6"
    if [ "$P_OK" -lt 20 ] && jq -e '.backends.app1 > 0' <<<"$P_JSON" >/dev/null; then
      pass "ipv6: through real IPVS (DR), app1 answers and app2 (no VIP on lo) drops its share: $P_OK/20 answered"
    else fail "ipv6: app1 answers, app2 drops" "$P_JSON"; fi
    lbd --format json audit --host app2 --vip "[$VIP6]:$PORT" --role real --fail-on never "${SSHOPTS[@]}"
    if jtest '[.findings[] | select(.id == "RS019")] | length == 1'; then
      pass "audit --vip [$VIP6]:$PORT names what app2 lacks ($(j '[.findings[].id] | unique | join(" ")'))"
    else fail "audit with an IPv6 VIP reports RS019 on app2" "$(brief)"; fi
    lbd --format json audit --host app2 --vip "[$VIP6]:$PORT" --role real --fix --yes "${FIXOPTS[@]}" "${SSHOPTS[@]}"
    fix_rc=$RC
    requests 20 "$VIP6"
    if [ "$fix_rc" = 0 ] && [ "$P_OK" = 20 ] && jq -e '.backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
      pass "after audit --fix with the IPv6 VIP, 20/20 answered, app2 among them ($P_JSON)"
    else fail "IPv6 fix: 20/20 with app2 serving" "rc=$fix_rc $P_JSON $(brief)"; fi
    lab reboot_host app2
    requests 20 "$VIP6"
    if [ "$P_OK" = 20 ] && jq -e '.backends.app2 > 0' <<<"$P_JSON" >/dev/null; then
      pass "IPv6 fix persisted: after a simulated reboot app2's ifupdown stanza puts $VIP6/128 back on lo ($P_JSON)"
    else fail "IPv6 fix survives a reboot" "lo: $(hx app2 ip -6 -o addr show dev lo | tr '\n' ' ') $P_JSON"; fi
    lbd --format json audit --host app2 --vip "[$VIP6]:$PORT" --role real --fix --dry-run "${SSHOPTS[@]}"
    if [ "$RC" = 0 ] && jtest '[.plan[].changes[]] | length == 0'; then pass "IPv6 fix is idempotent: a second run finds nothing and plans nothing"
    else fail "IPv6 fix is idempotent" "$(brief)"; fi
    lbd --format json state "${LB1[@]}" --fail-on error
    if [ "$RC" = 0 ] && jtest "[.services[] | select(.key | test(\"$VIP6\"))] | length == 1"; then
      pass "state --host lb1 reads the IPv6 service from the kernel ($(j '[.services[] | .key] | join(", ")'))"
    else fail "state --host lb1 reads the IPv6 service" "$(brief)"; fi
  else fail "scenario ipv6 comes up"; fi
fi

section "host key verification"
WRONG=$LAB_DIR/ssh/known_hosts.wrong
# app2's entry carries lb1's key: a changed host key.
awk -v k="$(cut -d' ' -f1,2 "$LAB_DIR/ssh/ssh_host_lb1_ed25519_key.pub")" \
  '$1 ~ /^app2,/ {print $1" "k; next} {print}' "$LAB_DIR/ssh/known_hosts" >"$WRONG"
lbd --format json audit --host app2 --vip "$VIP:$PORT" --role real --ssh-config "$LAB_DIR/ssh/config" \
  --known-hosts "$WRONG" --identity "$LAB_DIR/ssh/id_ed25519"
if not_implemented; then fail "a wrong host key is refused" "audit answered \"is not implemented yet\""
elif [ "$RC" = 2 ] && grep -qi "host key has changed" <<<"$ERR"; then pass "a wrong host key is refused (exit 2: $(head -1 <<<"$ERR" | cut -c1-120))"
else fail "a wrong host key is refused with exit 2" "$(brief)"; fi

echo
echo "e2e took $(($(date +%s) - START)) s"
for f in "${FAILURES[@]}"; do echo "failed: $f"; done
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
