#!/usr/bin/env bash
# Placeholder until the lab lands (issue #7): replays the bundled incident fixtures.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release/lbdoctor
for cmd in "lint fixtures/incidents/seed-keepalived.conf" "explain LB001"; do
  echo "\$ lbdoctor $cmd"
  $BIN $cmd
  echo
done
exit 0
