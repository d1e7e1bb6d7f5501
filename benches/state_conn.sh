#!/bin/sh
# Bench: `lbdoctor state --from` on a large /proc/net/ip_vs_conn (N entries, default 1,000,000)
# against the one-liner operators run to count states (awk | sort | uniq -c), in the same run.
# ipvsadm -Lnc cannot be measured here: it needs the IPVS netlink family even to list
# /proc/net/ip_vs_conn, and this kernel has no IPVS.
# Usage: benches/state_conn.sh [N] [RUNS]   (after cargo build --release)
set -eu
N=${1:-1000000}
RUNS=${2:-5}
BIN=${LBDOCTOR:-target/release/lbdoctor}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 - "$N" "$TMP/ip_vs_conn" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
r = random.Random(1)
states = ["ESTABLISHED"] * 6 + ["TIME_WAIT"] * 2 + ["FIN_WAIT", "SYN_RECV", "CLOSE_WAIT"]
with open(path, "w") as f:
    f.write("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
    for i in range(n):
        f.write("%-3s %08X %04X %08X %04X %08X %04X %-11s %7d\n" % (
            "TCP", r.getrandbits(32), r.randrange(1024, 65535), 0xC0A81514, 80,
            0xC0A81547 + (i % 4), 80, r.choice(states), r.randrange(1, 900)))
PY
echo "entries: $N ($(du -h "$TMP/ip_vs_conn" | cut -f1))"
now() { date +%s%N; }
best() { # best of RUNS, in ms
  b=
  i=0
  while [ $i -lt "$RUNS" ]; do
    t0=$(now); sh -c "$1" >/dev/null; t1=$(now)
    ms=$(( (t1 - t0) / 1000000 ))
    if [ -z "$b" ] || [ $ms -lt $b ]; then b=$ms; fi
    i=$((i + 1))
  done
  echo $b
}
L=$(best "$BIN --format json state --from $TMP/ip_vs_conn")
A=$(best "awk 'NR>1 {print \$8}' $TMP/ip_vs_conn | sort | uniq -c")
AW=$(best "awk 'NR>1 {c[\$8]++} END {for (s in c) print c[s], s}' $TMP/ip_vs_conn")
echo "lbdoctor state --from (parse, per-state and per-server counts, checks, JSON): ${L} ms"
echo "awk '{print \$8}' | sort | uniq -c (state counts only):                      ${A} ms"
echo "awk associative count (state counts only):                                  ${AW} ms"
echo "ratio lbdoctor / (awk|sort|uniq): $(echo "scale=2; $L / $A" | bc)"
echo "ratio lbdoctor / awk-assoc:       $(echo "scale=2; $L / $AW" | bc)"
if command -v /usr/bin/time >/dev/null; then
  /usr/bin/time -f "lbdoctor max RSS: %M KB" "$BIN" --format json state --from "$TMP/ip_vs_conn" >/dev/null
fi
