#!/usr/bin/env bash
# Records the detect fixtures from the lab: for each scenario, tcpdump in the client namespace
# while the client probes the VIP, into fixtures/detect/lab/<scenario>.pcap, with a sidecar
# <scenario>.json holding what the lab knows to be true (CONTRACTS C). Root only.
#
#   tests/lab/record-fixtures.sh [SCENARIO...]     (default: all of them)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/fixtures/detect/lab}
PROBES=${PROBES:-20}
FLOOD=${FLOOD:-2000}
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$HERE/lab.sh"

[ "$(id -u)" -eq 0 ] || { echo "record-fixtures: needs root (network namespaces)" >&2; exit 2; }
command -v tcpdump >/dev/null || die "tcpdump is missing (run scripts/install-deps.sh)"
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(incident healthy proxy split-brain arp-problem syn-flood rp-filter)
mkdir -p "$OUT"
trap down EXIT
up

mac() { nic_field "$1" "$2" mac; }
ipof() { nic_field "$1" "$2" ip; }

record() {
  local s=$1 pcap=$OUT/$1.pcap tmp=$LAB_DIR/state/$1.pcap probe_json flood_sent=0 masters_now
  scenario "$s"
  hx client ip neigh flush dev eth0
  rm -f "$tmp" "$LAB_DIR/state/tcpdump.log"
  hx_bg client "$LAB_DIR/state/tcpdump.log" tcpdump -i eth0 -n -U -s 262144 -w "$tmp"
  local tpid=$BG_PID
  for _ in $(seq 50); do grep -q listening "$LAB_DIR/state/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  sleep 2.2 # at least two VRRP adverts (advert_int 1)
  if [ "$s" = syn-flood ]; then
    flood "$FLOOD"
    flood_sent=$FLOOD
  fi
  probe_json=$(probe "$PROBES")
  sleep 1.2
  kill -INT "$tpid"
  wait "$tpid" 2>/dev/null || true
  masters_now=$(masters | tr '\n' ' ')
  local neigh
  neigh=$(hx client ip neigh show "$VIP" dev eth0 | awk '{for(i=1;i<=NF;i++) if($i=="lladdr") print $(i+1)}')
  mv "$tmp" "$pcap"
  chmod 644 "$pcap"
  S=$s PROBE=$probe_json FLOOD_SENT=$flood_sent MASTERS=$masters_now NEIGH=$neigh VIP=$VIP PORT=$PORT \
  LB1_MAC=$(mac lb1 ens3) LB2_MAC=$(mac lb2 ens3) CLIENT_MAC=$(mac client eth0) \
  APP1_MAC=$(mac app1 ens3) APP2_MAC=$(mac app2 ens3) APP1_MAC4=$(mac app1 ens4) APP2_MAC4=$(mac app2 ens4) \
  APP1_IP=$(ipof app1 ens3) APP2_IP=$(ipof app2 ens3) APP1_IP4=$(ipof app1 ens4) APP2_IP4=$(ipof app2 ens4) \
  PACKETS=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l) "$PY" - >"$OUT/$s.json" <<'EOF'
import json, os
e = os.environ
s = e["S"]
probe = json.loads(e["PROBE"])
lb1, lb2 = e["LB1_MAC"], e["LB2_MAC"]
app = {
    "app1": {"mac": e["APP1_MAC"], "ip": e["APP1_IP"], "rip": e["APP1_IP4"], "rip_mac": e["APP1_MAC4"]},
    "app2": {"mac": e["APP2_MAC"], "ip": e["APP2_IP"], "rip": e["APP2_IP4"], "rip_mac": e["APP2_MAC4"]},
}
masters = e["MASTERS"].split()
master_mac = {"lb1": lb1, "lb2": lb2}
adverts = [{"vrid": 51, "src_mac": master_mac[m], "src_ip": {"lb1": "192.168.21.2", "lb2": "192.168.21.3"}[m],
            "priority": {"lb1": 100, "lb2": 90}[m], "interval": 1, "vips": [e["VIP"]], "version": 2}
           for m in masters]
# Which backends answered: replies leave the real server by ens3 (the route to the client), so
# the MAC the client sees is ens3's; the director delivered the request to ens4 (the RIP).
answered_by = probe["backends"]
backends = [dict(name=n, mac=app[n]["mac"], ip=app[n]["ip"], rip=app[n]["rip"], rip_mac=app[n]["rip_mac"],
                 flows=answered_by.get(n, 0)) for n in ("app1", "app2") if answered_by.get(n, 0) > 0]
desc = {
    "incident": "The founding incident: DSR via the master director; app1 has REDIRECT + arp_ignore=1, "
                "arp_announce=2, rp_filter=0 at runtime, app2 has none of it, so the flows hashed to app2 "
                "are never answered.",
    "healthy": "Healthy DSR: both real servers set up (and persisted); every probe answered, replies from both "
               "real servers' MACs.",
    "proxy": "Proxy front (detect's negative case): socat on the master director terminates VIP:80 and relays "
             "to app1; every reply comes from the director's MAC.",
    "split-brain": "VRRP split brain: the directors cannot hear each other (VRRP dropped on input), so both "
                   "advertise vrid 51 as MASTER and both hold the VIP.",
    "arp-problem": "ARP problem: app2 has the VIP on lo without arp_ignore/arp_announce, so app2 answers ARP for "
                   "the VIP on both NICs, racing the director.",
    "syn-flood": "SYN flood: hping3 -S -w 0 --rand-source (window 0, no TCP options, 40-byte IP packets, spoofed "
                 "sources) at the VIP, then normal probes on a healthy cluster.",
    "rp-filter": "Strict rp_filter (1) on app2's ens4, where the director delivers requests while the route back "
                 "to the client leaves by ens3: app2 drops every request.",
}[s]
mode = {"proxy": "proxy"}.get(s, "dsr")
truth = {
    "scenario": s,
    "description": desc,
    "recorded_by": "tests/lab/record-fixtures.sh (tcpdump -i eth0 in the lbd-client namespace)",
    "vip": e["VIP"], "port": int(e["PORT"]),
    "client": {"mac": e["CLIENT_MAC"], "ip": "192.168.21.50"},
    "mode": mode,
    "lb_mac": master_mac[masters[0]] if masters else None,
    "lb_macs": [master_mac[m] for m in masters],
    "backends": backends if mode == "dsr" else [],
    "probes": {"sent": probe["sent"], "answered": probe["answered"], "unanswered": probe["failed"],
               "by_backend": answered_by},
    "expected": {"unanswered": probe["failed"], "completed": probe["answered"], "attempted": probe["sent"]},
    "vrrp": adverts,
    "split_brain": len(masters) > 1,
    "client_vip_neighbour": e["NEIGH"] or None,
    "packets": int(e["PACKETS"]),
    "notes": "Each probe is one TCP connection with an HTTP/1.0 GET and a 1.5 s timeout; an unanswered SYN may "
             "be retransmitted once within that time (same flow). MACs are fixed by the lab.",
}
if s == "arp-problem":
    truth["vip_arp_macs"] = sorted({master_mac[masters[0]], app["app2"]["mac"], app["app2"]["rip_mac"]})
    truth["notes"] += (" vip_arp_macs: every MAC that answers ARP for the VIP (the director, and app2 on both"
                       " NICs). Which one the client used is client_vip_neighbour; when it is app2's, the probes"
                       " bypassed the director.")
if s == "syn-flood":
    n = int(e["FLOOD_SENT"])
    truth["flood"] = {"syns": n, "window": 0, "tcp_options": False, "ip_len": 40, "random_sources": True,
                      "tool": "hping3 -S -w 0 --rand-source -p 80 -c %d -i u200" % n}
    truth["notes"] += (" The flood's SYN-ACKs are sent to the spoofed sources and dropped by the real servers"
                       " (no route), so they do not appear in the capture.")
print(json.dumps(truth, indent=2))
EOF
  log "recorded $s: $(du -h "$pcap" | cut -f1), probes $(echo "$probe_json" | tr -d '\n')"
}

for s in "${SCENARIOS[@]}"; do record "$s"; done
