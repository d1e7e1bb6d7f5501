#!/usr/bin/env bash
# Records fixtures from a real IPVS kernel (the lab VM): for each scenario, the master
# director's /proc/net/ip_vs*, ipvsadm listings and sysctls into fixtures/state/real/<scenario>/,
# and pcaps of the client's view (and, for DR/NAT/TUN, of the director's NIC) into
# fixtures/detect/real/. Each directory gets a truth.json of what the lab set up and measured.
#
#   tests/lab/vm.sh run tests/lab/record-ipvs-fixtures.sh [SCENARIO...]
#
# Where a hand-written or synthesized fixture disagrees with these, these win.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE_OUT=${STATE_OUT:-$ROOT/fixtures/state/real}
PCAP_OUT=${PCAP_OUT:-$ROOT/fixtures/detect/real}
PROBES=${PROBES:-20}
FLOOD=${FLOOD:-2000}
export PROBE_PARALLEL=${PROBE_PARALLEL:-4}
export LAB_DIRECTOR=ipvs
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$HERE/lab.sh"

[ "$(id -u)" -eq 0 ] || die "record-ipvs-fixtures: needs root"
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(incident healthy nat tun fwmark persistence inhibit syn-flood director-is-real-server)
mkdir -p "$STATE_OUT" "$PCAP_OUT"
trap down EXIT
up

# tcpdump on HOST's NIC into FILE; sets CAP_PID.
cap_start() { # host nic file
  rm -f "$3" "$LAB_DIR/state/tcpdump-$1.log"
  hx_bg "$1" "$LAB_DIR/state/tcpdump-$1.log" tcpdump -i "$2" -n -U -s 262144 -w "$3"
  CAP_PID=$BG_PID
  for _ in $(seq 100); do grep -q listening "$LAB_DIR/state/tcpdump-$1.log" 2>/dev/null && return 0; sleep 0.1; done
}
cap_stop() { kill -INT "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Everything `lbdoctor state` and the director audit read, from the master director.
dump_director() { # dir
  local d=$1 h=lb1
  mkdir -p "$d"
  hx "$h" cat /proc/net/ip_vs >"$d/proc-ip_vs.txt"
  hx "$h" cat /proc/net/ip_vs_conn >"$d/proc-ip_vs_conn.txt"
  hx "$h" cat /proc/net/ip_vs_stats >"$d/proc-ip_vs_stats.txt"
  hx "$h" ipvsadm -Ln >"$d/ipvsadm-Ln.txt"
  hx "$h" ipvsadm -Ln --stats >"$d/ipvsadm-Ln-stats.txt"
  hx "$h" ipvsadm -Ln --rate >"$d/ipvsadm-Ln-rate.txt"
  hx "$h" ipvsadm -Lnc >"$d/ipvsadm-Lnc.txt"
  hx "$h" ipvsadm -L --timeout >"$d/ipvsadm-timeout.txt"
  hx "$h" ipvsadm-save -n >"$d/ipvsadm-save.txt"
  hx "$h" sh -c 'for f in /proc/sys/net/ipv4/vs/*; do printf "net.ipv4.vs.%s = %s\n" "${f##*/}" "$(cat "$f" 2>/dev/null | tr "\t" " ")"; done' >"$d/sysctl-vs.txt"
  cp "$(hdir "$h")/keepalived.conf" "$d/keepalived.conf"
  uname -r >"$d/uname-r.txt"
}

record() {
  local s=$1 d=$STATE_OUT/$1 probe_json flood_sent=0 client_pcap= lb_pcap= cpid lpid method
  scenario "$s"
  sleep 1
  method=$(sed -n 's/^VS_METHOD=//p' "$LAB_DIR/state/vs" | tail -1)
  case $s in
    incident | healthy | nat | tun)
      client_pcap=$LAB_DIR/state/client.pcap
      lb_pcap=$LAB_DIR/state/lb1.pcap
      cap_start client eth0 "$client_pcap"; cpid=$CAP_PID
      cap_start lb1 ens3 "$lb_pcap"; lpid=$CAP_PID
      sleep 2.2 # at least two VRRP adverts
      ;;
  esac
  if [ "$s" = syn-flood ]; then
    flood "$FLOOD"
    flood_sent=$FLOOD
  fi
  probe_json=$(probe "$PROBES")
  sleep 1
  if [ -n "$client_pcap" ]; then
    cap_stop "$cpid"; cap_stop "$lpid"
    local name
    name=$(case $s in incident) echo dr-incident ;; healthy) echo dr ;; *) echo "$s" ;; esac)
    mv "$client_pcap" "$PCAP_OUT/$name-client.pcap"
    mv "$lb_pcap" "$PCAP_OUT/$name-director.pcap"
    chmod 644 "$PCAP_OUT/$name-client.pcap" "$PCAP_OUT/$name-director.pcap"
  fi
  dump_director "$d"
  S=$s METHOD=$method PROBE=$probe_json FLOOD_SENT=$flood_sent KERNEL=$(uname -r) \
    KEEPALIVED=$(keepalived --version 2>&1 | head -1) IPVSADM=$(ipvsadm --version 2>&1 | head -1) \
    MASTERS=$(masters | tr '\n' ' ') "$PY" - >"$d/truth.json" <<'EOF'
import json, os
e = os.environ
desc = {
    "incident": "The founding incident on real IPVS: lc (lvs_sched rr overridden by lb_algo lc), DR, a "
                "long-lived client connection held on app1 (.71), app2 (.72) without REDIRECT/ARP "
                "sysctls: app2 never answers, its entries stay in SYN_RECV.",
    "healthy": "Healthy DR: both real servers set up and persisted.",
    "nat": "LVS-NAT (Masq): real servers route the client back through the director (via the VIP on ens4).",
    "tun": "LVS-TUN (IPIP): real servers hold the VIP on tunl0, rp_filter 0 on tunl0/all, arp_ignore 1.",
    "fwmark": "A fwmark service (FWM 1): mangle MARK on VIP:80, ip rule fwmark 1 table 100, local 0/0 dev lo.",
    "persistence": "persistence_timeout 60: one template entry per client in ip_vs_conn.",
    "inhibit": "inhibit_on_failure: app2's HTTP server stopped, TCP_CHECK fails, keepalived sets weight 0.",
    "syn-flood": "hping3 -S -w 0 --rand-source into real IPVS on a healthy cluster, then probes.",
    "director-is-real-server": "Both directors list both directors as real servers (DR); the backup holds "
                               "the VIP on lo: connections ping-pong between the two IPVS tables.",
}[e["S"]]
truth = {
    "scenario": e["S"],
    "description": desc,
    "recorded_by": "tests/lab/record-ipvs-fixtures.sh in the lab VM (tests/lab/vm.sh), from lb1",
    "kernel": e["KERNEL"],
    "keepalived": e["KEEPALIVED"],
    "ipvsadm": e["IPVSADM"],
    "method": e["METHOD"],
    "masters": e["MASTERS"].split(),
    "probes": json.loads(e["PROBE"]),
    "flood_syns": int(e["FLOOD_SENT"]),
    "real_servers": {"app1": "192.168.21.71", "app2": "192.168.21.72"},
}
print(json.dumps(truth, indent=2))
EOF
  log "recorded $s into $d: probes $probe_json"
}

for s in "${SCENARIOS[@]}"; do record "$s"; done

# An IPv6 service beside keepalived's (keepalived leaves services it did not add alone), to
# record the kernel's IPv6 formats; the lab itself runs IPv4 only.
d=$STATE_OUT/ipv6
hx lb1 ipvsadm -A -t '[2001:db8:21::20]:80' -s wrr
hx lb1 ipvsadm -a -t '[2001:db8:21::20]:80' -r '[2001:db8:21::71]:80' -g -w 2
hx lb1 ipvsadm -a -t '[2001:db8:21::20]:80' -r '[2001:db8:21::72]:80' -g -w 1
hx lb1 ipvsadm -A -u '[2001:db8:21::20]:53' -s rr -p 30
hx lb1 ipvsadm -a -u '[2001:db8:21::20]:53' -r '[2001:db8:21::71]:53' -g
dump_director "$d"
printf '{"scenario": "ipv6", "description": "IPv6 TCP (wrr) and UDP (rr, persistent 30 s) DR services added with ipvsadm beside keepalived'"'"'s IPv4 service", "kernel": "%s"}\n' "$(uname -r)" >"$d/truth.json"
hx lb1 ipvsadm -D -t '[2001:db8:21::20]:80'
hx lb1 ipvsadm -D -u '[2001:db8:21::20]:53'
log "recorded ipv6 into $d"
