#!/usr/bin/env bash
# Benchmark: `lbdoctor lint` against `keepalived -t` on the same generated keepalived.conf
# (10,000 virtual servers x 10 real servers, ~1.4 million lines), in the same run.
# Wall time and peak RSS come from /usr/bin/time; each tool runs RUNS times, alternating,
# and the median is reported. Targets (issue #3): lbdoctor <= 1/4 of keepalived -t's wall
# time, peak RSS < 400 MB.
#
# Usage: benches/lint.sh [VS] [RS]     (env: RUNS=5, LBDOCTOR=path/to/lbdoctor)
set -euo pipefail
cd "$(dirname "$0")/.."
VS=${1:-10000}
RS=${2:-10}
RUNS=${RUNS:-5}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [ -z "${LBDOCTOR:-}" ]; then
    cargo build --release --locked --quiet
    LBDOCTOR=target/release/lbdoctor
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
conf="$work/keepalived.conf"
benches/gen-keepalived.sh "$VS" "$RS" > "$conf"
lines=$(wc -l < "$conf")
bytes=$(wc -c < "$conf")

# keepalived -t reads the host's interfaces and may touch /run: give it a throwaway
# network and mount namespace with its own /run when we are root.
have_ka=0
if command -v keepalived >/dev/null; then
    have_ka=1
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
        ka_cmd=(unshare --mount --net --fork sh -c "mount -t tmpfs tmpfs /run && exec keepalived -t -f '$conf' -l -D")
    else
        ka_cmd=(keepalived -t -f "$conf" -l -D)
    fi
    ka_version=$(keepalived --version 2>&1 | sed -n 1p)  # sed reads to the end: no SIGPIPE under pipefail
fi

# run NAME CMD...: append "wall_seconds max_rss_kb" to $work/NAME
run() {
    local name=$1; shift
    "$TIME" -f "%e %M %U %S" -o "$work/$name.one" "$@" > /dev/null 2>&1 || true
    cat "$work/$name.one" >> "$work/$name"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for _ in $(seq "$RUNS"); do
    run lbdoctor "$LBDOCTOR" lint "$conf"
    [ $have_ka = 1 ] && run keepalived "${ka_cmd[@]}"
done

lb_wall=$(cut -d' ' -f1 "$work/lbdoctor" | median)
lb_rss=$(cut -d' ' -f2 "$work/lbdoctor" | median)
lb_cpu=$(awk '{printf "%.2f\n", $3 + $4}' "$work/lbdoctor" | median)
echo "input: $VS virtual servers x $RS real servers, $lines lines, $((bytes / 1024 / 1024)) MB; $RUNS runs each, medians"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-48s %9s %12s %14s\n' "tool" "wall (s)" "CPU (s)" "peak RSS (MB)"
printf '%-48s %9s %12s %14s\n' "lbdoctor lint" "$lb_wall" "$lb_cpu" "$((lb_rss / 1024))"
status=0
if [ $have_ka = 1 ]; then
    ka_wall=$(cut -d' ' -f1 "$work/keepalived" | median)
    ka_rss=$(cut -d' ' -f2 "$work/keepalived" | median)
    ka_cpu=$(awk '{printf "%.2f\n", $3 + $4}' "$work/keepalived" | median)
    printf '%-48s %9s %12s %14s\n' "keepalived -t ($ka_version)" "$ka_wall" "$ka_cpu" "$((ka_rss / 1024))"
    ratio=$(awk -v a="$lb_wall" -v b="$ka_wall" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    cpu_ratio=$(awk -v a="$lb_cpu" -v b="$ka_cpu" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    echo "ratio lbdoctor/keepalived wall time: $ratio (target <= 0.25); CPU time: $cpu_ratio"
    awk -v r="$ratio" 'BEGIN {exit !(r <= 0.25)}' || { echo "MISSED: wall-time target"; status=1; }
else
    echo "keepalived not installed: no ratio (apt-get install keepalived)"
fi
[ "$lb_rss" -lt $((400 * 1024)) ] || { echo "MISSED: peak RSS target (400 MB)"; status=1; }
exit $status
