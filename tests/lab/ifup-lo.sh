#!/bin/sh
# What `ifup -a` does at boot for the loopback stanzas of /etc/network/interfaces{,.d/*}, for
# the reboot simulations (the lab's and tests/audit_fix_vip_boot.rs): ifupdown is not installed
# on the test machines, and installing it would change the /etc every test namespace overlays.
# An honest subset, not ifupdown: for every `auto` lo or lo:N stanza of method static, its
# `address` (with `netmask`, /32 by default) is added as Debian 12's ifupdown 0.8.41 adds it
# (`ip addr add A dev lo label IFACE`, less the `broadcast A` it sets on a /32); the
# `up`/`post-up` commands of `auto` lo stanzas are run. An `iface lo inet6 static` stanza's
# address is added as ifupdown 0.8.41 adds it (`ip -6 addr add A/128 dev lo`, checked with the
# real ifup in tests/audit_ipv6.rs).
# Files named by `source PATTERN` / `source-directory DIR` lines of the main file are read
# too (one level, like the stock Debian file). Other interfaces are left alone.
#
#   ifup-lo.sh [-n] [INTERFACES-FILE]    -n: print the commands instead of running them
set -eu
dry=0
if [ "${1:-}" = -n ]; then dry=1; shift; fi
main=${1:-/etc/network/interfaces}
[ -f "$main" ] || exit 0
set -- "$main"
# shellcheck disable=SC2013 # words, each a glob to expand
for pat in $(awk '$1 == "source" && NF == 2 { print $2 } $1 == "source-directory" && NF == 2 { print $2 "/*" }' "$main"); do
  case $pat in /*) ;; *) pat=/etc/network/$pat ;; esac
  for f in $pat; do
    if [ -f "$f" ]; then set -- "$@" "$f"; fi
  done
done
cmds=$(awk '
  $1 == "auto" { for (i = 2; i <= NF; i++) auto[$i] = 1; cur = ""; next }
  $1 == "iface" { cur = ""; if ($2 ~ /^lo(:[0-9A-Za-z_]+)?$/) { cur = $2 " " $3; name[cur] = $2; fam[cur] = $3; meth[cur] = $4; order[++n] = cur } next }
  $1 ~ /^(allow-|source|mapping)/ { cur = ""; next }
  cur != "" && $1 == "address" { addr[cur] = $2 }
  cur != "" && $1 == "netmask" { mask[cur] = $2 }
  cur != "" && ($1 == "up" || $1 == "post-up") { line = $0; sub(/^[ \t]*(post-)?up[ \t]+/, "", line); up[cur] = up[cur] line "\n" }
  END {
    for (i = 1; i <= n; i++) {
      c = order[i]
      if (!auto[name[c]]) continue
      if (meth[c] == "static" && addr[c] != "" && fam[c] == "inet6") {
        a = addr[c]
        if (a !~ /\//) a = a "/" (mask[c] == "" ? "128" : mask[c])
        printf "ip -6 addr add %s dev lo\n", a
      } else if (meth[c] == "static" && addr[c] != "") {
        a = addr[c]
        if (a !~ /\//) a = a "/" (mask[c] == "" ? "32" : mask[c])
        printf "ip addr add %s dev lo label %s\n", a, name[c]
      }
      printf "%s", up[c]
    }
  }' "$@")
if [ $dry = 1 ]; then
  printf '%s\n' "$cmds"
else
  printf '%s\n' "$cmds" | sh -e
fi
