#!/usr/bin/env bash
# Benchmark: `lbdoctor detect -r` on a 2-million-packet SYN flood with random sources, against
# a bare libpcap read of the same file (`tcpdump -r FILE -w /dev/null`), in the same run, with
# peak RSS from /usr/bin/time -v. Targets: time <= 2x tcpdump's, peak RSS < 100 MB.
# Runs two files: the incident's flood signature (window 0, no options: counted, kept out of
# the flow table) and the same flood with an MSS option on every SYN (each one a tracked flow,
# so the bounded flow table evicts continuously: the worst case).
# Usage: benches/detect.sh [PACKETS (default 2000000)] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
RUNS=${2:-3}
DIR=${BENCH_DIR:-/tmp/lbdoctor-bench}
mkdir -p "$DIR"
for VARIANT in bare options; do
FILE=$DIR/synflood-$VARIANT-$N.pcap
command -v tcpdump >/dev/null || { echo "tcpdump is required" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (package time) is required" >&2; exit 2; }
cargo build --release --quiet --bin lbdoctor --example synflood
if [ ! -s "$FILE" ]; then
  if [ $VARIANT = options ]; then ./target/release/examples/synflood "$FILE" "$N" --options
  else ./target/release/examples/synflood "$FILE" "$N"; fi
fi
echo; echo "== $VARIANT: $FILE"
ls -l "$FILE"
cat "$FILE" >/dev/null # warm the page cache for both readers

measure() { # label cmd... -> prints "label wall_seconds rss_kb cpu_seconds"
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >/dev/null 2>&1 || true
  read -r el rss us ss < <(tail -1 "$tf"); rm -f "$tf"
  echo "$label $el $rss $(awk "BEGIN{print $us+$ss}")"
}

best() { sort -k2 -g | sed -n 1p; }
T=$(for _ in $(seq "$RUNS"); do measure tcpdump tcpdump -r "$FILE" -w /dev/null; done | best)
L=$(for _ in $(seq "$RUNS"); do measure lbdoctor ./target/release/lbdoctor --fail-on never --format json detect 192.168.21.20 -r "$FILE"; done | best)
read -r _ tt trss tcpu <<<"$T"
read -r _ lt lrss lcpu <<<"$L"
echo "best of $RUNS runs each, same file, page cache warm; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s wall %6ss  cpu %6ss  peak RSS %7.1f MB\n' "tcpdump -r FILE -w /dev/null" "$tt" "$tcpu" "$(awk "BEGIN{print $trss/1024}")"
printf '%-34s wall %6ss  cpu %6ss  peak RSS %7.1f MB\n' "lbdoctor detect VIP -r FILE" "$lt" "$lcpu" "$(awk "BEGIN{print $lrss/1024}")"
awk -v l="$lt" -v t="$tt" -v lc="$lcpu" -v tc="$tcpu" -v r="$lrss" -v n="$N" 'BEGIN{
  if (t <= 0 || l <= 0) { print "measurement failed"; exit 1 }
  ratio = l / t; cratio = (tc > 0) ? lc / tc : 0;
  printf "wall-time ratio lbdoctor/tcpdump: %.2fx (target <= 2x): %s\n", ratio, (ratio <= 2 ? "PASS" : "FAIL");
  printf "cpu-time ratio lbdoctor/tcpdump:  %.2fx\n", cratio;
  printf "peak RSS: %.1f MB (target < 100 MB): %s\n", r/1024, (r/1024 < 100 ? "PASS" : "FAIL");
  printf "lbdoctor rate: %.2f Mpps (wall)\n", n / l / 1e6;
}'
./target/release/lbdoctor --format json detect 192.168.21.20 -r "$FILE" | python3 -c '
import json,sys; d=json.load(sys.stdin); v=d["verdict"]; s=d["syn"]
print("verdict:", v["mode"], "flows:", v["flows"]); print("syn:", s)' || true
done
