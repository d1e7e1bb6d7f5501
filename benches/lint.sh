#!/usr/bin/env bash
# Benchmark: `lbdoctor lint` against `keepalived -t` on the same generated keepalived.conf
# (10,000 virtual servers x 10 real servers, ~1.4 million lines), in the same run.
# Wall time and peak RSS come from /usr/bin/time; each tool runs RUNS times, alternating,
# and the median is reported. Targets (issue #3): lbdoctor <= 1/4 of keepalived -t's wall
# time, peak RSS < 400 MB, in every output format (issue 14).
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

# Every output format, each to /dev/null; json with its default model (--model auto: a
# summary at this size) and with --model full for reference (no target).
FORMATS="human json sarif json-full"
for _ in $(seq "$RUNS"); do
    for fmt in $FORMATS; do
        case $fmt in
            json-full) run "lb-$fmt" "$LBDOCTOR" --format json lint --model full "$conf" ;;
            *) run "lb-$fmt" "$LBDOCTOR" --format "$fmt" lint "$conf" ;;
        esac
    done
    [ $have_ka = 1 ] && run keepalived "${ka_cmd[@]}"
done

echo "input: $VS virtual servers x $RS real servers, $lines lines, $((bytes / 1024 / 1024)) MB; $RUNS runs each, medians"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-48s %9s %12s %14s %8s\n' "tool" "wall (s)" "CPU (s)" "peak RSS (MB)" "ratio"
ka_wall=0
if [ $have_ka = 1 ]; then
    ka_wall=$(cut -d' ' -f1 "$work/keepalived" | median)
    ka_rss=$(cut -d' ' -f2 "$work/keepalived" | median)
    ka_cpu=$(awk '{printf "%.2f\n", $3 + $4}' "$work/keepalived" | median)
fi
status=0
for fmt in $FORMATS; do
    f="$work/lb-$fmt"
    wall=$(cut -d' ' -f1 "$f" | median)
    rss=$(cut -d' ' -f2 "$f" | median)
    cpu=$(awk '{printf "%.2f\n", $3 + $4}' "$f" | median)
    ratio=$(awk -v a="$wall" -v b="$ka_wall" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    case $fmt in
        json-full) label="lbdoctor lint --format json --model full" ;;
        *) label="lbdoctor lint --format $fmt" ;;
    esac
    printf '%-48s %9s %12s %14s %8s\n' "$label" "$wall" "$cpu" "$((rss / 1024))" "$ratio"
    [ "$fmt" = json-full ] && continue
    if [ $have_ka = 1 ]; then
        awk -v r="$ratio" 'BEGIN {exit !(r <= 0.25)}' || { echo "MISSED: wall-time target for $fmt"; status=1; }
    fi
    [ "$rss" -lt $((400 * 1024)) ] || { echo "MISSED: peak RSS target (400 MB) for $fmt"; status=1; }
done
if [ $have_ka = 1 ]; then
    printf '%-48s %9s %12s %14s\n' "keepalived -t ($ka_version)" "$ka_wall" "$ka_cpu" "$((ka_rss / 1024))"
    echo "ratio = lbdoctor/keepalived wall time (target <= 0.25 for human, json, sarif)"
else
    echo "keepalived not installed: no ratio (apt-get install keepalived)"
fi
exit $status
