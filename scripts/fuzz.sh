#!/usr/bin/env bash
# Fuzz every parser for a fixed time each, one target at a time.
#
#   scripts/fuzz.sh                  # every target, FUZZ_SECONDS (default 300) each
#   FUZZ_SECONDS=60 scripts/fuzz.sh capture ipvs
#
# The corpus grows under fuzz/corpus/<target>/ (committed seeds + what libFuzzer finds).
# The public corpora in ../shared/corpus are read as extra seed directories at fuzz time;
# they are never copied into the repository. Crashes, hangs (timeouts) and OOMs land in
# fuzz/artifacts/<target>/ (gitignored), are minimized there, and each one must become a
# regression test in tests/fuzz_regressions.rs.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); nightly features are enabled on the stable
# toolchain with RUSTC_BOOTSTRAP=1.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECS=${FUZZ_SECONDS:-300}
SHARED=${SHARED_CORPUS:-$ROOT/../shared/corpus}
ALL=(keepalived decode capture ipvs host_facts host_parsers redact sanitize)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2; exit 2; }

# Extra read-only seed directories per target, from the shared corpus when present.
seeds() {
    case "$1" in
        keepalived) [ -d "$SHARED/keepalived" ] && echo "$SHARED/keepalived" ;;
        capture) [ -d "$SHARED/pcaps" ] && echo "$SHARED/pcaps" ;;
    esac
}

# Largest input libFuzzer generates per target: small inputs run faster and reach the same
# code; big files are the corpus sweeps' and limit tests' job (tests/harden_*.rs).
maxlen() {
    case "$1" in
        capture) echo 65536 ;;
        *) echo 16384 ;;
    esac
}

echo "building fuzz targets..." >&2
cargo fuzz build >/tmp/lbdoctor-fuzz-build.log 2>&1 || {
    tail -30 /tmp/lbdoctor-fuzz-build.log >&2
    exit 2
}

failed=0
printf '%-14s %12s %10s %8s %8s\n' target executions exec/s crashes corpus >"$ROOT/fuzz/last-run.txt"
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    before=$(find "fuzz/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    log="fuzz/artifacts/$t.log"
    echo "== $t: ${SECS}s" >&2
    # shellcheck disable=SC2046
    cargo fuzz run "$t" "fuzz/corpus/$t" $(seeds "$t") -- \
        -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(maxlen "$t")" -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    after=$(find "fuzz/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    new=$((after - before))
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    printf '%-14s %12s %10s %8s %8s\n' "$t" "${execs:-?}" "${eps:-?}" "$new" "$corpus" | tee -a "$ROOT/fuzz/last-run.txt" >&2
    if [ "$new" -gt 0 ] || { [ $rc -ne 0 ] && [ -z "$execs" ]; }; then
        failed=1
        grep -m3 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" >&2
        for a in $(ls -t fuzz/artifacts/"$t"/{crash,timeout,oom,leak}-* 2>/dev/null | head -n "$new"); do
            case "$(basename "$a")" in
                crash-*)
                    cargo fuzz tmin "$t" "$a" -- -runs=20000 >"$a.tmin.log" 2>&1
                    min=$(ls -t fuzz/artifacts/"$t"/minimized-from-* 2>/dev/null | head -1)
                    echo "   crash: $a${min:+ (minimized: $min)}" >&2 ;;
                *) echo "   $(basename "$a" | cut -d- -f1): $a" >&2 ;;
            esac
        done
        echo "   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $t <file>; then add the input to tests/fuzz_regressions.rs (or fixtures/fuzz/) and fix the parser" >&2
    fi
done
cat "$ROOT/fuzz/last-run.txt"
exit $failed
