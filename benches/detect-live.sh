#!/usr/bin/env bash
# Live capture benchmark: flood SYNs at PPS (default 200,000/s) into one end of a veth pair,
# `lbdoctor detect --no-probe` capturing on the other end inside a network namespace; prints
# what was sent, what lbdoctor counted, and libpcap's kernel drop counters. Needs root.
# The capture runs for 2*SECONDS+3 s so that a slow sender still finishes inside it.
# Sender: tcpreplay --preload-pcap when installed (SENDER=blast for the built-in one).
# Usage: benches/detect-live.sh [PPS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
PPS=${1:-200000}
SECS=${2:-5}
NS=dtbench-cap
cleanup() { ip netns del $NS 2>/dev/null || true; ip link del dtbench0 2>/dev/null || true; }
trap cleanup EXIT
cleanup
cargo build --release --quiet --bin lbdoctor --example blast --example synflood
ip netns add $NS
ip link add dtbench0 type veth peer name dtbench1
ip link set dtbench1 netns $NS
ip link set dtbench0 up
ip netns exec $NS ip link set dtbench1 up
ip netns exec $NS ./target/release/lbdoctor --fail-on never --format json \
  detect 192.168.21.20 -i dtbench1 --no-probe -d $((SECS * 2 + 3)) >/tmp/dtbench.json &
CAP=$!
sleep 1
if command -v tcpreplay >/dev/null && [ "${SENDER:-tcpreplay}" = tcpreplay ]; then
  # tcpreplay with the whole file preloaded in memory holds a steady rate; it prints the rate
  # it actually achieved, so the figure below is measured, not assumed.
  FLOOD=/tmp/dtbench-flood.pcap
  ./target/release/examples/synflood "$FLOOD" "$((PPS * SECS))" >/dev/null
  tcpreplay -i dtbench0 --pps="$PPS" --preload-pcap "$FLOOD" 2>&1 | grep -E "Actual|Rated|Failed"
  rm -f "$FLOOD"
else
  # Two senders (one sendto per packet is about 150k/s per core here).
  ./target/release/examples/blast dtbench0 "$((PPS / 2))" "$SECS" &
  S1=$!
  ./target/release/examples/blast dtbench0 "$((PPS / 2))" "$SECS"
  wait $S1
fi
wait $CAP
python3 - <<'PY'
import json
d = json.load(open("/tmp/dtbench.json"))
k = d["capture"]["kernel"]
print(f"lbdoctor: {d['capture']['packets']} packets analysed, {d['syn']['syns']} SYNs counted, "
      f"peak {d['syn']['peak_per_second']}/s; libpcap: {k['received']} received by filter, "
      f"{k['dropped']} dropped by kernel, {k['if_dropped']} dropped by interface")
PY
