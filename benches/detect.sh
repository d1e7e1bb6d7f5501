#!/usr/bin/env bash
# Benchmark: `lbdoctor detect -r` on a 2-million-packet SYN flood with random sources, against
# a bare libpcap read of the same file (`tcpdump -r FILE -w /dev/null`), in the same run, with
# peak RSS from /usr/bin/time -v. Targets: time <= 2x tcpdump's, peak RSS < 100 MB.
# Usage: benches/detect.sh [PACKETS (default 2000000)] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
RUNS=${2:-3}
DIR=${BENCH_DIR:-/tmp/lbdoctor-bench}
mkdir -p "$DIR"
FILE=$DIR/synflood-$N.pcap
command -v tcpdump >/dev/null || { echo "tcpdump is required" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (package time) is required" >&2; exit 2; }
cargo build --release --quiet --bin lbdoctor --example synflood
[ -s "$FILE" ] || ./target/release/examples/synflood "$FILE" "$N"
ls -l "$FILE"
cat "$FILE" >/dev/null # warm the page cache for both readers

measure() { # label cmd... -> prints "label seconds rss_kb"
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -v "$@" >/dev/null 2>/dev/null; } 2>&1 || true)
  local el rss
  el=$(grep 'Elapsed (wall clock)' <<<"$out" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' <<<"$out" | awk '{print $NF}')
  # m:ss.cc -> seconds
  el=$(awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }' <<<"$el")
  echo "$label $el $rss"
}

best() { sort -k2 -g | head -1; }
T=$(for _ in $(seq "$RUNS"); do measure tcpdump tcpdump -r "$FILE" -w /dev/null; done | best)
L=$(for _ in $(seq "$RUNS"); do measure lbdoctor ./target/release/lbdoctor --format json detect 192.168.21.20 -r "$FILE"; done | best)
read -r _ tt trss <<<"$T"
read -r _ lt lrss <<<"$L"
echo
printf '%-40s %8s s  peak RSS %7.1f MB\n' "tcpdump -r FILE -w /dev/null" "$tt" "$(awk "BEGIN{print $trss/1024}")"
printf '%-40s %8s s  peak RSS %7.1f MB\n' "lbdoctor detect VIP -r FILE" "$lt" "$(awk "BEGIN{print $lrss/1024}")"
awk -v l="$lt" -v t="$tt" -v r="$lrss" -v n="$N" 'BEGIN{
  ratio = (t > 0) ? l / t : 0;
  printf "time ratio lbdoctor/tcpdump: %.2fx (target <= 2x): %s\n", ratio, (ratio <= 2 ? "PASS" : "FAIL");
  printf "peak RSS: %.1f MB (target < 100 MB): %s\n", r/1024, (r/1024 < 100 ? "PASS" : "FAIL");
  if (l > 0) printf "lbdoctor rate: %.2f Mpps\n", n / l / 1e6;
}'
./target/release/lbdoctor --format json detect 192.168.21.20 -r "$FILE" | python3 -c '
import json,sys; d=json.load(sys.stdin); v=d["verdict"]; s=d["syn"]
print("verdict:", v["mode"], "flows:", v["flows"]); print("syn:", s)' || true
