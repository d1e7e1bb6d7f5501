#!/usr/bin/env bash
# Runs every benchmark, each against the tool users would otherwise run, in the same run:
#   lint   vs keepalived -t          (10,000 virtual servers x 10 real servers)
#   detect vs tcpdump -r -w /dev/null (2-million-packet SYN flood)
#   state  vs awk | sort | uniq -c    (1,000,000 IPVS connection entries)
#   audit  16 hosts vs 1 host over real sshd (root only)
# Benchmarks are never part of `make test`: speed is measured here, not asserted in tests.
set -uo pipefail
cd "$(dirname "$0")/.."
export LBDOCTOR=${LBDOCTOR:-target/release/lbdoctor}
[ -x "$LBDOCTOR" ] || cargo build --release --locked --quiet
status=0
for b in lint detect state_conn audit; do
  echo "==== benches/$b.sh"
  if ! "benches/$b.sh"; then
    echo "benches/$b.sh failed" >&2
    status=1
  fi
done
exit $status
