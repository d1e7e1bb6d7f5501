#!/usr/bin/env bash
# The lbdoctor lab: a real DSR cluster in network namespaces (issue #7, CONTRACTS C).
#
#   lab.sh up | down | status | scenario NAME | reboot HOST | exec HOST CMD... | probe [N]
#
# Topology: one bridge (lbd-br0) in its own namespace lbd-seg, so the host's network is never
# touched; hosts lbd-client, lbd-lb1, lbd-lb2, lbd-app1, lbd-app2 hang off it with veths.
# The kernel has no IPVS, so the master director does what IPVS DR does to a packet with an
# nftables netdev ingress rule (rewrite both MACs, pick the real server by a flow hash, send
# it back out of the same NIC). keepalived (VRRP only) moves the VIP and, via notify scripts,
# the rule. Each host except the client has its own mount and UTS namespace, held by a
# "holder" process: a private /run, an overlay over /etc (so /etc/sysctl.d, /etc/sysctl.conf
# and /etc/iptables are the host's own) and the lab distribution's /usr/lib/sysctl.d.
# sshd and the HTTP servers run inside those namespaces, so SSH sessions see the host's files.
set -euo pipefail

LAB_DIR=${LAB_DIR:-/tmp/lbdoctor-lab}
LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VIP=192.168.21.20
PORT=80
PREFIX=${LAB_PREFIX:-lbd-} # another prefix (and LAB_DIR) lets two labs run side by side
HOSTS=(client lb1 lb2 app1 app2)
SSH_HOSTS=(lb1 lb2 app1 app2)
DIRECTORS=(lb1 lb2)
REALS=(app1 app2)
# The sysctls the reboot simulation resets to kernel defaults (all of them default to 0).
RESET_KEYS=(arp_ignore arp_announce rp_filter arp_filter accept_local proxy_arp)
PY=$(command -v /usr/bin/python3 || command -v python3)

# host -> "nic:ip:mac ..." (deterministic MACs make the recorded fixtures reproducible)
declare -A NICS=(
  [client]="eth0:192.168.21.50:02:00:00:21:00:50"
  [lb1]="ens3:192.168.21.2:02:00:00:21:00:02"
  [lb2]="ens3:192.168.21.3:02:00:00:21:00:03"
  [app1]="ens3:192.168.21.11:02:00:00:21:00:11 ens4:192.168.21.71:02:00:00:21:00:71"
  [app2]="ens3:192.168.21.12:02:00:00:21:00:12 ens4:192.168.21.72:02:00:00:21:00:72"
)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 2; }

nic_names() { local e; for e in ${NICS[$1]}; do printf '%s\n' "${e%%:*}"; done; }
nic_field() { # host nic field(ip|mac)
  local e rest
  for e in ${NICS[$1]}; do
    [ "${e%%:*}" = "$2" ] || continue
    rest=${e#*:}
    if [ "$3" = ip ]; then printf '%s\n' "${rest%%:*}"; else printf '%s\n' "${rest#*:}"; fi
  done
}
host_ip() { nic_field "$1" "$(nic_names "$1" | head -1)" ip; }
hdir() { printf '%s/hosts/%s\n' "$LAB_DIR" "$1"; }

holder_pid() {
  local f
  f="$(hdir "$1")/holder.pid"
  [ -s "$f" ] || die "host $1 is not up (run: lab.sh up)"
  cat "$f"
}

# Runs a command on a lab host: inside its network, mount and UTS namespaces.
hx() {
  local h=$1
  shift
  nsenter -t "$(holder_pid "$h")" --mount --uts --net -- "$@"
}

# Starts a long-running command on a lab host in the background; $! is the command itself
# (nsenter execs it), so it can be stopped by that id.
hx_bg() { # host logfile cmd...
  local h=$1 logf=$2 pid
  shift 2
  pid=$(holder_pid "$h")
  nsenter -t "$pid" --mount --uts --net -- "$@" </dev/null >>"$logf" 2>&1 &
  BG_PID=$!
  disown "$BG_PID" 2>/dev/null || true
}

is_up() { ip netns list 2>/dev/null | grep -q "^${PREFIX}seg\b" && [ -s "$(hdir client)/holder.pid" ]; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "the lab needs root (network and mount namespaces)"
  local t
  for t in ip nsenter unshare nft iptables-restore keepalived sshd ssh-keygen "$PY"; do
    command -v "$t" >/dev/null || die "missing $t (run scripts/install-deps.sh)"
  done
}

# ---------------------------------------------------------------- teardown

down() {
  local ns pids
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}" || true); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
  done
  sleep 0.3
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}" || true); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ -f "$LAB_DIR/.lbdoctor-lab" ] && [ "${LAB_KEEP:-0}" != 1 ]; then
    rm -rf "${LAB_DIR:?}/hosts" "${LAB_DIR:?}/state" "${LAB_DIR:?}/bin" "${LAB_DIR:?}/ssh" "${LAB_DIR:?}/demo"
    rm -f "$LAB_DIR/.lbdoctor-lab"
    rmdir "$LAB_DIR" 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------- bring-up

make_ns() {
  local h=$1 e nic rest ip mac
  ip netns add "${PREFIX}$h"
  ip -n "${PREFIX}$h" link set lo up
  # No IPv6: keeps captures to the lab's IPv4 traffic (no router solicitations, no MLD).
  ip netns exec "${PREFIX}$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  for e in ${NICS[$h]}; do
    nic=${e%%:*}; rest=${e#*:}; ip=${rest%%:*}; mac=${rest#*:}
    ip link add "$nic" netns "${PREFIX}$h" address "$mac" type veth peer name "$h-$nic" netns "${PREFIX}seg"
    ip -n "${PREFIX}seg" link set "$h-$nic" master lbd-br0 up
    ip -n "${PREFIX}$h" link set "$nic" up
    # A static FDB entry, as a switch that has learnt every NIC: the real servers' ens4 never
    # transmit (replies leave by ens3), and flooding unknown unicast would hand the rewritten
    # requests to every port (and, in a split brain, loop them between the two directors).
    bridge -n "${PREFIX}seg" fdb replace "$mac" dev "$h-$nic" master static
  done
}

# Base addresses, as ifupdown would configure them at boot (also used by the reboot simulation).
configure_addresses() {
  local h=$1 e nic rest ip
  hx "$h" ip addr flush dev lo
  hx "$h" ip addr add 127.0.0.1/8 dev lo
  for e in ${NICS[$h]}; do
    nic=${e%%:*}; rest=${e#*:}; ip=${rest%%:*}
    hx "$h" ip addr flush dev "$nic"
    hx "$h" ip addr add "$ip/24" dev "$nic"
  done
  hx "$h" ip rule flush
  hx "$h" ip rule add pref 32766 table main
  hx "$h" ip rule add pref 32767 table default
}

start_holder() {
  local h=$1 d
  d=$(hdir "$h")
  mkdir -p "$d/ovl" "$d/lib-sysctl.d" "$d/www"
  local setup="mount -t sysfs ${PREFIX}sys-$h /sys && hostname $h"
  if [ "$h" != client ]; then
    setup+=" && mount -t tmpfs ${PREFIX}run-$h /run && mkdir -p /run/sshd && chmod 755 /run/sshd"
    setup+=" && mount -t tmpfs ${PREFIX}etc-$h '$d/ovl' && mkdir '$d/ovl/upper' '$d/ovl/work'"
    setup+=" && mount -t overlay ${PREFIX}etc-$h -o 'lowerdir=/etc,upperdir=$d/ovl/upper,workdir=$d/ovl/work' /etc"
    setup+=" && mount --bind '$d/lib-sysctl.d' /usr/lib/sysctl.d"
  fi
  rm -f "$d/ready"
  nsenter --net="/run/netns/${PREFIX}$h" -- unshare --mount --uts --propagation private -- \
    bash -c "$setup && touch '$d/ready' && exec -a ${PREFIX}holder-$h sleep infinity" \
    </dev/null >"$d/holder.log" 2>&1 &
  echo $! >"$d/holder.pid"
  for _ in $(seq 50); do [ -e "$d/ready" ] && return 0; sleep 0.1; done
  cat "$d/holder.log" >&2
  die "host $h: could not set up its mount namespace"
}

# The host's boot-time files: an empty /etc/sysctl.d, a comment-only /etc/sysctl.conf, the
# Debian iptables-persistent layout with an empty saved ruleset, and Debian's ifupdown
# /etc/network/interfaces (sourcing an empty interfaces.d) with the host's NICs; the lab
# distribution ships strict reverse-path filtering (as systemd's and RHEL's 50-default.conf do).
reset_boot_files() {
  local h=$1 e nic rest ip
  {
    printf '# interfaces(5) file used by ifup(8) and ifdown(8)\n# Include files from /etc/network/interfaces.d:\nsource /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n'
    for e in ${NICS[$h]}; do
      nic=${e%%:*}; rest=${e#*:}; ip=${rest%%:*}
      printf '\nauto %s\niface %s inet static\n    address %s/24\n' "$nic" "$nic" "$ip"
    done
  } | hx "$h" sh -c 'rm -rf /etc/network/interfaces.d && mkdir -p /etc/network/interfaces.d && cat >/etc/network/interfaces'
  cat >"$(hdir "$h")/lib-sysctl.d/50-default.conf" <<'EOF'
# lbdoctor lab distribution defaults (like systemd's/RHEL's 50-default.conf)
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.all.rp_filter = 1
EOF
  hx "$h" sh -c 'rm -rf /etc/sysctl.d && mkdir -p /etc/sysctl.d /etc/iptables /etc/keepalived &&
    printf "# /etc/sysctl.conf - Configuration file for setting system variables\n" >/etc/sysctl.conf &&
    rm -f /etc/iptables/rules.v6 /etc/nftables.conf &&
    printf "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" >/etc/iptables/rules.v4'
}

gen_ssh() {
  local s=$LAB_DIR/ssh h ip
  mkdir -p "$s"
  chmod 700 "$s"
  ssh-keygen -q -t ed25519 -N '' -C lbdoctor-lab-client -f "$s/id_ed25519"
  cp "$s/id_ed25519.pub" "$s/authorized_keys"
  : >"$s/known_hosts"
  : >"$s/config"
  for h in "${SSH_HOSTS[@]}"; do
    ip=$(host_ip "$h")
    ssh-keygen -q -t ed25519 -N '' -C "lbdoctor-lab-$h" -f "$s/ssh_host_${h}_ed25519_key"
    printf '%s,%s %s\n' "$h" "$ip" "$(cut -d' ' -f1,2 "$s/ssh_host_${h}_ed25519_key.pub")" >>"$s/known_hosts"
    cat >>"$s/config" <<EOF
Host $h
  HostName $ip
  User root
  Port 22
  IdentityFile $s/id_ed25519
  UserKnownHostsFile $s/known_hosts
  StrictHostKeyChecking yes
  IdentitiesOnly yes

EOF
    cat >"$(hdir "$h")/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $s/ssh_host_${h}_ed25519_key
PidFile $(hdir "$h")/sshd.pid
AuthorizedKeysFile $s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
  done
}

start_sshd() {
  local h=$1
  hx "$h" "$(command -v sshd)" -f "$(hdir "$h")/sshd_config" -E "$(hdir "$h")/sshd.log"
}

start_http() {
  local h=$1 d
  d=$(hdir "$h")
  echo "$h" >"$d/www/index.html"
  hx_bg "$h" "$d/http.log" "$PY" -m http.server "$PORT" --bind 0.0.0.0 --directory "$d/www"
  echo "$BG_PID" >"$d/http.pid"
}

wait_listen() { # host port
  for _ in $(seq 100); do
    hx "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  die "host $1: nothing listens on port $2"
}

# ---------------------------------------------------------------- directors

# The DSR rule: what IPVS DR does to a request, on the director's NIC ingress.
write_dsr_rule() { # director [variant]
  local h=$1 variant=${2:-dsr} mac m1 m2 body
  mac=$(nic_field "$h" ens3 mac)
  m1=$(nic_field app1 ens4 mac)
  m2=$(nic_field app2 ens4 mac)
  case $variant in
    dsr)
      body="ip daddr $VIP tcp dport $PORT ether saddr set $mac ether daddr set jhash ip saddr . tcp sport mod 2 seed 0x5eed map { 0 : $m1, 1 : $m2 } fwd to \"ens3\""
      ;;
    colocated)
      # Co-located: this director is also a real server. Half the flows stay here (served
      # locally), half go to the peer director, whose own IPVS sends them back: ping-pong.
      local peer
      peer=$([ "$h" = lb1 ] && echo lb2 || echo lb1)
      local pmac
      pmac=$(nic_field "$peer" ens3 mac)
      body="ip daddr $VIP tcp dport $PORT ether saddr != $pmac jhash ip saddr . tcp sport mod 2 seed 0x5eed 0 accept
    ip daddr $VIP tcp dport $PORT limit rate 200/second burst 50 packets ether saddr set $mac ether daddr set $pmac fwd to \"ens3\"
    ip daddr $VIP tcp dport $PORT drop"
      ;;
    *) die "unknown DSR variant $variant" ;;
  esac
  cat >"$LAB_DIR/state/dsr-$h.nft" <<EOF
table netdev lbd_dsr
delete table netdev lbd_dsr
table netdev lbd_dsr {
  chain ingress {
    type filter hook ingress device "ens3" priority 0; policy accept;
    $body
  }
}
EOF
}

write_notify_script() {
  mkdir -p "$LAB_DIR/bin"
  # enable_script_security refuses scripts on paths others can write to.
  chmod 755 "$LAB_DIR" "$LAB_DIR/bin"
  cat >"$LAB_DIR/bin/dsr" <<EOF
#!/bin/sh
# keepalived notify hook: the DSR rule follows the VIP (installed on MASTER only).
h=\$(hostname)
if [ "\$1" = on ] && [ ! -e "$LAB_DIR/state/dsr-off" ]; then
  nft -f "$LAB_DIR/state/dsr-\$h.nft"
else
  nft delete table netdev lbd_dsr 2>/dev/null || true
fi
echo "\$(date +%T) \$1" >>"$LAB_DIR/hosts/\$h/notify.log"
exit 0
EOF
  chmod 755 "$LAB_DIR/bin/dsr"
}

# keepalived.conf for a director; carries the incident's virtual_server block (lvs_sched rr then
# lb_algo lc). keepalived runs VRRP only here (-P): the kernel has no IPVS.
write_keepalived_conf() { # director vrid
  local h=$1 vrid=${2:-51} state prio
  if [ "$h" = lb1 ]; then state=MASTER; prio=100; else state=BACKUP; prio=90; fi
  cat >"$(hdir "$h")/keepalived.conf" <<EOF
! lbdoctor lab director $h (generated by tests/lab/lab.sh)
global_defs {
  router_id $h
  script_user root
  enable_script_security
}

vrrp_instance VI_1 {
  state $state
  interface ens3
  virtual_router_id $vrid
  priority $prio
  nopreempt
  advert_int 1
  virtual_ipaddress {
    $VIP
  }
  notify_master "$LAB_DIR/bin/dsr on"
  notify_backup "$LAB_DIR/bin/dsr off"
  notify_fault "$LAB_DIR/bin/dsr off"
  notify_stop "$LAB_DIR/bin/dsr off"
}

virtual_server_group app_servers {
  $VIP $PORT
}

virtual_server group app_servers {
  delay_loop 10
  lvs_sched rr
  lvs_method DR
  lb_algo lc
  protocol TCP

  real_server $(nic_field app1 ens4 ip) $PORT {
    TCP_CHECK {
      connect_timeout 10
    }
  }
  real_server $(nic_field app2 ens4 ip) $PORT {
    TCP_CHECK {
      connect_timeout 10
    }
  }
}
EOF
  hx "$h" cp "$(hdir "$h")/keepalived.conf" /etc/keepalived/keepalived.conf
}

start_keepalived() {
  local h=$1 d
  d=$(hdir "$h")
  hx_bg "$h" "$d/keepalived.log" keepalived -P -n -l -D -f "$d/keepalived.conf" -p "$d/keepalived.pid" -r "$d/keepalived-vrrp.pid"
  echo "$BG_PID" >"$d/keepalived.pid.lab"
}

stop_keepalived() {
  local h=$1 d pid
  d=$(hdir "$h")
  [ -s "$d/keepalived.pid.lab" ] || return 0
  pid=$(cat "$d/keepalived.pid.lab")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$d/keepalived.pid.lab"
  hx "$h" nft delete table netdev lbd_dsr 2>/dev/null || true
  hx "$h" ip addr del "$VIP/32" dev ens3 2>/dev/null || true
}

holds_vip() { hx "$1" ip -4 -o addr show dev ens3 | grep -q " $VIP/"; }
has_dsr() { hx "$1" nft list table netdev lbd_dsr >/dev/null 2>&1; }

masters() { local h; for h in "${DIRECTORS[@]}"; do if holds_vip "$h"; then echo "$h"; fi; done; }

wait_master() { # expected-count timeout-seconds
  local want=$1 t=${2:-10} n
  for _ in $(seq $((t * 10))); do
    n=$(masters | wc -l)
    if [ "$n" -eq "$want" ]; then
      local m ok=1
      for m in $(masters); do [ -e "$LAB_DIR/state/dsr-off" ] || has_dsr "$m" || ok=0; done
      [ $ok = 1 ] && return 0
    fi
    sleep 0.1
  done
  die "expected $want VRRP master(s) holding $VIP, found: $(masters | tr '\n' ' ')"
}

# Restarts keepalived on both directors with the given vrids (lb1 first, so it wins).
restart_vrrp() { # vrid-lb1 vrid-lb2
  stop_keepalived lb2
  stop_keepalived lb1
  write_keepalived_conf lb1 "${1:-51}"
  write_keepalived_conf lb2 "${2:-51}"
  start_keepalived lb1
  wait_master 1 10
  start_keepalived lb2
  sleep 0.5
  echo normal >"$LAB_DIR/state/vrrp"
}

# ---------------------------------------------------------------- reboot simulation

reset_runtime() {
  local h=$1 conf key
  for conf in all default lo $(nic_names "$h"); do
    for key in "${RESET_KEYS[@]}"; do
      hx "$h" sysctl -qw "net.ipv4.conf.$conf.$key=0"
    done
  done
  hx "$h" sysctl -qw net.ipv4.ip_forward=0
  hx "$h" nft flush ruleset
  configure_addresses "$h"
}

# Applies the boot-time files the way a Debian system does: systemd-sysctl (sysctl --system:
# /etc/sysctl.d, /run/sysctl.d, /usr/lib/sysctl.d, /etc/sysctl.conf), then NICs appear and take
# conf/default (udev re-applies their per-interface keys), then ifupdown brings up the `auto`
# lo stanzas of /etc/network/interfaces{,.d/*} (ifup-lo.sh: a VIP on lo comes back only if it
# is there; the NICs' own stanzas are what configure_addresses already did), then
# netfilter-persistent restores /etc/iptables/rules.v4.
apply_boot_files() {
  local h=$1 nic key v
  hx "$h" sysctl -q --system >/dev/null 2>&1 || true
  for nic in $(nic_names "$h"); do
    for key in "${RESET_KEYS[@]}"; do
      v=$(hx "$h" cat "/proc/sys/net/ipv4/conf/default/$key")
      hx "$h" sysctl -qw "net.ipv4.conf.$nic.$key=$v"
    done
  done
  hx "$h" sysctl -q --system >/dev/null 2>&1 || true
  hx "$h" sh "$LAB_SRC/ifup-lo.sh"
  hx "$h" sh -c '[ ! -s /etc/iptables/rules.v4 ] || iptables-restore </etc/iptables/rules.v4'
  hx "$h" sh -c '[ ! -s /etc/iptables/rules.v6 ] || ip6tables-restore </etc/iptables/rules.v6'
}

reboot_host() {
  local h=$1 director=0 d
  for d in "${DIRECTORS[@]}"; do [ "$d" = "$h" ] && director=1; done
  [ "$h" != client ] || die "reboot: the client is not a lab server"
  [ $director = 0 ] || stop_keepalived "$h"
  reset_runtime "$h"
  apply_boot_files "$h"
  if [ $director = 1 ]; then
    start_keepalived "$h"
    sleep 0.5
  fi
}

# ---------------------------------------------------------------- up / status

up() {
  require_root
  down
  mkdir -p "$LAB_DIR/state" "$LAB_DIR/hosts"
  touch "$LAB_DIR/.lbdoctor-lab"
  ip netns add "${PREFIX}seg"
  ip -n "${PREFIX}seg" link set lo up
  ip netns exec "${PREFIX}seg" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  # If the host loaded br_netfilter (Docker does), keep bridged lab frames out of iptables.
  # shellcheck disable=SC2016 # expanded by the inner shell
  ip netns exec "${PREFIX}seg" sh -c 'for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e "$f" ] && echo 0 >"$f"; done; true'
  ip -n "${PREFIX}seg" link add lbd-br0 type bridge
  ip -n "${PREFIX}seg" link set lbd-br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip -n "${PREFIX}seg" link set lbd-br0 up
  local h
  for h in "${HOSTS[@]}"; do
    make_ns "$h"
    start_holder "$h"
  done
  configure_addresses client
  gen_ssh
  write_notify_script
  for h in "${SSH_HOSTS[@]}"; do
    reset_boot_files "$h"
    reset_runtime "$h"
    apply_boot_files "$h"
    start_sshd "$h"
  done
  for h in "${REALS[@]}"; do start_http "$h"; done
  for h in "${DIRECTORS[@]}"; do write_dsr_rule "$h"; done
  restart_vrrp 51 51
  for h in "${REALS[@]}"; do wait_listen "$h" "$PORT"; done
  for h in "${SSH_HOSTS[@]}"; do wait_listen "$h" 22; done
  wait_master 1 10
  echo base >"$LAB_DIR/state/scenario"
  log "up: $(masters | tr '\n' ' ')is VRRP master; LAB_DIR=$LAB_DIR"
}

status() {
  if ! is_up; then echo "lab: down"; return 3; fi
  local h
  echo "lab: up (LAB_DIR=$LAB_DIR, scenario $(cat "$LAB_DIR/state/scenario" 2>/dev/null || echo ?))"
  for h in "${DIRECTORS[@]}"; do
    printf '  %-6s vip=%s dsr=%s keepalived=%s\n' "$h" \
      "$(holds_vip "$h" && echo yes || echo no)" "$(has_dsr "$h" && echo yes || echo no)" \
      "$([ -s "$(hdir "$h")/keepalived.pid.lab" ] && kill -0 "$(cat "$(hdir "$h")/keepalived.pid.lab")" 2>/dev/null && echo running || echo stopped)"
  done
  for h in "${REALS[@]}"; do
    printf '  %-6s redirect=%s arp_ignore(all)=%s rp_filter(all)=%s\n' "$h" \
      "$(hx "$h" iptables-save -t nat 2>/dev/null | grep -q REDIRECT && echo yes || echo no)" \
      "$(hx "$h" sysctl -n net.ipv4.conf.all.arp_ignore)" "$(hx "$h" sysctl -n net.ipv4.conf.all.rp_filter)"
  done
}

# Runs N HTTP probes to the VIP from the client; prints the probe JSON.
probe() { # [count] [target]
  hx client "$PY" "$LAB_SRC/probe.py" "${2:-$VIP}" "$PORT" "${1:-20}" 1.5 "${PROBE_PARALLEL:-8}"
}

# ---------------------------------------------------------------- scenarios

# What app1 had at runtime in the incident (and what the repair needs on every real server).
dsr_runtime() { # real-server
  local h=$1 conf
  hx "$h" iptables -t nat -A PREROUTING -d "$VIP/32" -j REDIRECT
  hx "$h" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  for conf in all ens3 ens4; do hx "$h" sysctl -qw "net.ipv4.conf.$conf.rp_filter=0"; done
}

dsr_persist() { # real-server
  local h=$1
  hx "$h" sh -c "cat >/etc/sysctl.d/90-lvs-dr.conf <<'EOF'
# LVS-DR real server: only the director answers ARP for the VIP; replies leave by ens3
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.arp_announce = 2
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.ens3.rp_filter = 0
net.ipv4.conf.ens4.rp_filter = 0
EOF
printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d $VIP/32 -j REDIRECT\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' >/etc/iptables/rules.v4"
}

# Every scenario starts from freshly booted real servers with clean boot files, and directors
# back to normal VRRP (restarted only when a scenario changed it) with the DR rule on the master.
scenario_base() {
  local h d
  rm -f "$LAB_DIR/state/dsr-off"
  for h in "${DIRECTORS[@]}"; do
    d=$(hdir "$h")
    [ ! -s "$d/proxy.pid" ] || { kill "$(cat "$d/proxy.pid")" 2>/dev/null || true; rm -f "$d/proxy.pid"; }
    [ ! -s "$d/http.pid" ] || { kill "$(cat "$d/http.pid")" 2>/dev/null || true; rm -f "$d/http.pid"; }
    hx "$h" nft delete table inet lbd_lab 2>/dev/null || true
    hx "$h" iptables -t nat -F
    write_dsr_rule "$h"
  done
  if [ "$(cat "$LAB_DIR/state/vrrp" 2>/dev/null)" != normal ] || [ "$(masters | tr '\n' ' ')" != "lb1 " ]; then
    restart_vrrp 51 51
  fi
  sync_dsr
  for h in "${REALS[@]}"; do
    reset_boot_files "$h"
    reset_runtime "$h"
    apply_boot_files "$h"
  done
  wait_master 1 10
  hx client ip neigh flush dev eth0
}

sync_dsr() { # re-installs the rule on the current master(s) after a change of variant
  local h
  for h in "${DIRECTORS[@]}"; do
    if holds_vip "$h"; then hx "$h" "$LAB_DIR/bin/dsr" on; else hx "$h" "$LAB_DIR/bin/dsr" off; fi
  done
}

scenario() {
  local name=${1:-}
  is_up || die "the lab is down (run: lab.sh up)"
  case $name in
    incident)
      scenario_base
      dsr_runtime app1 # right at runtime, never persisted; app2 has nothing
      ;;
    healthy)
      scenario_base
      dsr_persist app1
      dsr_persist app2
      reboot_host app1
      reboot_host app2
      ;;
    arp-problem)
      # app2 carries the VIP on lo (as the VIP-on-lo method does) but without arp_ignore and
      # arp_announce: it answers ARP for the VIP on both NICs, racing the director.
      scenario_base
      dsr_runtime app1
      hx app2 ip addr add "$VIP/32" dev lo
      hx app2 sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.ens3.rp_filter=0 net.ipv4.conf.ens4.rp_filter=0
      ;;
    rp-filter)
      # Everything right, but strict reverse-path filtering on app2's second NIC (where the
      # director delivers the requests; the route back to the client leaves by ens3).
      scenario_base
      dsr_runtime app1
      dsr_runtime app2
      hx app2 sysctl -qw net.ipv4.conf.ens4.rp_filter=1
      ;;
    split-brain)
      # The peers cannot hear each other (VRRP dropped on input): both become MASTER.
      scenario_base
      echo split >"$LAB_DIR/state/vrrp"
      dsr_runtime app1
      dsr_runtime app2
      for h in "${DIRECTORS[@]}"; do
        hx "$h" nft -f - <<'EOF'
table inet lbd_lab {
  chain input {
    type filter hook input priority -10; policy accept;
    ip protocol vrrp drop
  }
}
EOF
      done
      wait_master 2 10
      ;;
    split-brain-vrid)
      # The peers disagree on virtual_router_id (51 and 52): both become MASTER for the VIP.
      scenario_base
      echo split >"$LAB_DIR/state/vrrp"
      dsr_runtime app1
      dsr_runtime app2
      stop_keepalived lb2
      write_keepalived_conf lb2 52
      start_keepalived lb2
      wait_master 2 10
      ;;
    director-is-real-server)
      # Co-located: both directors also serve HTTP (the VIP is local on the master; the
      # backup accepts it via REDIRECT) and list each other as real servers.
      scenario_base
      for h in "${DIRECTORS[@]}"; do
        write_dsr_rule "$h" colocated
        start_http "$h"
        wait_listen "$h" "$PORT"
        hx "$h" iptables -t nat -A PREROUTING -d "$VIP/32" -j REDIRECT
        hx "$h" nft -f "$LAB_DIR/state/dsr-$h.nft"
      done
      ;;
    syn-flood)
      # Healthy cluster; the flood itself is sent by `lab.sh flood` (bounded in count and time).
      scenario_base
      dsr_runtime app1
      dsr_runtime app2
      ;;
    proxy)
      # No DSR: a TCP relay on the master director terminates VIP:80 and opens its own
      # connection to a real server, so every reply comes from the director's MAC.
      scenario_base
      touch "$LAB_DIR/state/dsr-off"
      sync_dsr
      local m
      m=$(masters | head -1)
      hx_bg "$m" "$(hdir "$m")/proxy.log" socat "TCP-LISTEN:$PORT,bind=$VIP,fork,reuseaddr" "TCP:$(nic_field app1 ens3 ip):$PORT"
      echo "$BG_PID" >"$(hdir "$m")/proxy.pid"
      wait_listen "$m" "$PORT"
      ;;
    *) die "unknown scenario '$name' (incident healthy arp-problem rp-filter split-brain split-brain-vrid director-is-real-server syn-flood proxy)" ;;
  esac
  echo "$name" >"$LAB_DIR/state/scenario"
  log "scenario $name ready"
}

# A SYN flood from spoofed sources: window 0, no TCP options (40-byte IP packets), bounded.
flood() { # [count]
  local n=${1:-2000}
  command -v hping3 >/dev/null || die "hping3 is missing (run scripts/install-deps.sh)"
  hx client timeout 30 hping3 -q -S -w 0 --rand-source -p "$PORT" -c "$n" -i u200 "$VIP" >/dev/null 2>&1 || true
}

main() {
  local cmd=${1:-}
  [ $# -eq 0 ] || shift
  case $cmd in
    up) up ;;
    down | teardown) require_root; down ;;
    status) status ;;
    scenario) require_root; scenario "$@" ;;
    reboot) require_root; [ $# -eq 1 ] || die "usage: lab.sh reboot HOST"; reboot_host "$1" ;;
    exec) [ $# -ge 2 ] || die "usage: lab.sh exec HOST CMD..."; hx "$@" ;;
    probe) probe "$@" ;;
    flood) flood "$@" ;;
    masters) masters ;;
    *)
      cat >&2 <<'EOF'
usage: lab.sh up|down|status
       lab.sh scenario incident|healthy|arp-problem|rp-filter|split-brain|split-brain-vrid|director-is-real-server|syn-flood|proxy
       lab.sh reboot HOST | exec HOST CMD... | probe [N] | flood [N] | masters
EOF
      exit 2
      ;;
  esac
}

# Sourced by e2e.sh/demo.sh/record-fixtures.sh for the helpers; executed for the CLI.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
