#!/usr/bin/env bash
# Records fixtures/detect/lab/director-side.pcap: the incident seen from the director's NIC.
# A client opens 20 connections to the VIP; the director (which holds the VIP) forwards each
# SYN at layer 2, as IPVS DR does, to app1 (VIP on lo, arp_ignore=1, arp_announce=2) or app2
# (no VIP setup, so it drops them). The kernel here has no IPVS, so the forwarding is an
# nftables netdev ingress rule, as in tests/lab/lab.sh: both MACs rewritten, the real server
# picked by a flow hash, the frame sent back out of the same NIC. tcpdump runs on the
# director's eth0, where both the client's SYNs and their forwarded copies pass; the replies
# go straight from the real servers to the client and do not. Before the probes the director
# connects to each real IP (what keepalived's TCP_CHECK does), so the capture holds the ARP
# that ties each real server's MAC to its IP. Root only; namespaces lbdchk-r*, removed on exit.
#
#   tests/lab/record-director.sh            (writes fixtures/detect/lab/director-side.pcap)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/fixtures/detect/lab}
VIP=192.168.21.20
P=lbdchk-r
PIDS=()
[ "$(id -u)" -eq 0 ] || { echo "record-director: needs root (network namespaces)" >&2; exit 2; }

down() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in seg lb client app1 app2; do ip netns del "$P$n" 2>/dev/null || true; done
  [ -z "${www:-}" ] || rm -rf "$www"
}
trap down EXIT
down

for n in seg lb client app1 app2; do
  ip netns add "$P$n"
  ip -n "$P$n" link set lo up
done
ip -n "${P}seg" link add br0 type bridge
ip -n "${P}seg" link set br0 up
i=0
for spec in lb:2 client:50 app1:11 app2:12; do
  n=${spec%%:*} x=${spec#*:} i=$((i + 1))
  ip -n "${P}seg" link add "p$i" type veth peer name eth0 netns "$P$n"
  ip -n "${P}seg" link set "p$i" master br0 up
  ip -n "$P$n" link set eth0 address "02:00:00:21:00:$(printf %02d "$x")"
  ip -n "$P$n" addr add "192.168.21.$x/24" dev eth0
  ip -n "$P$n" link set eth0 up
done
ip -n "${P}lb" addr add "$VIP/32" dev eth0
ip -n "${P}app1" addr add "$VIP/32" dev lo
ip netns exec "${P}app1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
www=$(mktemp -d /tmp/lbdchk-www.XXXXXX)
for n in app1 app2; do
  mkdir -p "$www/$n"
  echo "$n" >"$www/$n/index.html"
  ip netns exec "$P$n" python3 -m http.server 80 --bind 0.0.0.0 --directory "$www/$n" >/dev/null 2>&1 &
  PIDS+=($!)
done
ip netns exec "${P}lb" nft -f - <<NFT
table netdev lbdchk_dsr {
  chain ingress {
    type filter hook ingress device "eth0" priority 0; policy accept;
    ip daddr $VIP tcp dport 80 ether saddr set 02:00:00:21:00:02 ether daddr set jhash ip saddr . tcp sport mod 2 seed 0x5eed map { 0 : 02:00:00:21:00:11, 1 : 02:00:00:21:00:12 } fwd to "eth0"
  }
}
NFT
sleep 1
tmp=$(mktemp /tmp/lbdchk-director.XXXXXX.pcap)
ip netns exec "${P}lb" ip neigh flush dev eth0
ip netns exec "${P}lb" tcpdump -i eth0 -n -U -s 262144 -w "$tmp" "host $VIP or arp or ip proto 112" 2>"$tmp.log" &
PIDS+=($!)
tpid=$!
for _ in $(seq 50); do grep -q listening "$tmp.log" 2>/dev/null && break; sleep 0.1; done
# The director's health checks: a TCP connection to each real IP (and the ARP it needs).
for x in 11 12; do
  ip netns exec "${P}lb" python3 -c "import socket; socket.create_connection(('192.168.21.$x', 80), 1).close()"
done
# The client: 20 connections, one at a time, each with an HTTP GET (tests/lab/probe.py).
ip netns exec "${P}client" python3 "$ROOT/tests/lab/probe.py" "$VIP" 80 20 1.5 1
echo
sleep 1
kill -INT "$tpid"
wait "$tpid" 2>/dev/null || true
mkdir -p "$OUT"
mv "$tmp" "$OUT/director-side.pcap"
chmod 644 "$OUT/director-side.pcap"
rm -f "$tmp.log"
echo "wrote $OUT/director-side.pcap ($(tcpdump -r "$OUT/director-side.pcap" -n 2>/dev/null | wc -l) packets)"
