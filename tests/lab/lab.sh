#!/usr/bin/env bash
# The lbdoctor lab: a real DSR cluster in network namespaces (issue #7, CONTRACTS C).
#
#   lab.sh up | down | status | scenario NAME | reboot HOST | exec HOST CMD... | probe [N]
#
# Topology: one bridge (lbd-br0) in its own namespace lbd-seg, so the host's network is never
# touched; hosts lbd-client, lbd-lb1, lbd-lb2, lbd-app1, lbd-app2 hang off it with veths.
# Directors: where the kernel has IPVS (the lab VM, tests/lab/vm.sh), keepalived runs in full
# (VRRP and checkers) and programs real IPVS from the lab's keepalived.conf. Where it has none
# (this build machine's own kernel), the master director imitates IPVS DR with an nftables
# netdev ingress rule (rewrite both MACs, pick the real server by a flow hash, send it back out
# of the same NIC), and keepalived (VRRP only, -P) moves the VIP and, via notify scripts, the
# rule. `lab.sh status` and every script say which one ran. Each host except the client has its own mount and UTS namespace, held by a
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
# Waits are multiplied by this: an emulated CPU (the lab VM under TCG) is several times slower.
WAIT_SCALE=${LAB_WAIT_SCALE:-1}
[ "${LBD_VM_ACCEL:-}" != tcg ] || WAIT_SCALE=${LAB_WAIT_SCALE:-5}
# Seconds an HTTP probe waits for its answer. Under TCG a python HTTP server on a busy guest
# was measured answering 2-3.5 s after the request (dr-client.pcap, healthy): 1.5 s would
# count those as failures.
PROBE_TIMEOUT=${PROBE_TIMEOUT:-$([ "$WAIT_SCALE" -gt 1 ] && echo 5 || echo 1.5)}

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

# Sets HOLDER to the pid of host $1's namespace holder. With `read`, not $(cat): every fork
# counts under the VM's emulated CPU, and the lab enters a namespace hundreds of times.
holder_pid() {
  HOLDER=
  read -r HOLDER <"$LAB_DIR/hosts/$1/holder.pid" 2>/dev/null || true
  [ -n "$HOLDER" ] || die "host $1 is not up (run: lab.sh up)"
}

# Runs a command on a lab host: inside its network, mount and UTS namespaces.
hx() {
  local h=$1 HOLDER
  shift
  holder_pid "$h"
  nsenter -t "$HOLDER" --mount --uts --net -- "$@"
}

# Starts a long-running command on a lab host in the background; $! is the command itself
# (nsenter execs it), so it can be stopped by that id.
hx_bg() { # host logfile cmd...
  local h=$1 logf=$2 HOLDER
  shift 2
  holder_pid "$h"
  nsenter -t "$HOLDER" --mount --uts --net -- "$@" </dev/null >>"$logf" 2>&1 &
  BG_PID=$!
  disown "$BG_PID" 2>/dev/null || true
}

# Runs `FN HOST` for every host at once and waits for all of them: the hosts are separate
# namespaces, and under the VM's emulated CPU setting them up one by one was most of `up`
# and of every scenario change.
per_host() { # fn host...
  local fn=$1 h p pids=() failed=0
  shift
  for h in "$@"; do
    "$fn" "$h" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ $failed = 0 ] || die "$fn failed on one of: $*"
}

# "ipvs" (real IPVS programmed by keepalived) or "nft" (the imitation); chosen at `up`.
director_mode() {
  local m=
  read -r m <"$LAB_DIR/state/director" 2>/dev/null || true
  echo "${m:-nft}"
}
director_desc() {
  if [ "$(director_mode)" = ipvs ]; then echo "real IPVS (kernel $(uname -r)), programmed by keepalived"
  else echo "nftables imitation of IPVS DR (kernel $(uname -r) has no IPVS)"; fi
}

# Picks the director implementation: LAB_DIRECTOR=ipvs|nft|auto (auto: IPVS when it loads).
choose_director_mode() {
  local want=${LAB_DIRECTOR:-auto} m
  if [ "$want" != nft ] && modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]; then
    for m in ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_ftp ipip; do modprobe -q "$m" 2>/dev/null || true; done
    echo ipvs
  elif [ "$want" = ipvs ]; then
    die "LAB_DIRECTOR=ipvs, but this kernel ($(uname -r)) has no IPVS (modprobe ip_vs failed); run the lab in the VM: tests/lab/vm.sh run tests/lab/lab.sh ..."
  else
    echo nft
  fi
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
VIP6=2001:db8:21::20
ip6_of() { # host -> its IPv6 address with prefix, from its IPv4 one on the segment
  local e ip
  e=${NICS[$1]%% *}; ip=${e#*:}; ip=${ip%%:*}
  echo "2001:db8:21::${ip##*.}/64"
}

configure_addresses() {
  local h=$1 e nic rest ip
  {
    echo "addr flush dev lo"
    echo "addr add 127.0.0.1/8 dev lo"
    [ ! -e "$LAB_DIR/state/ipv6" ] || echo "addr add ::1/128 dev lo"
    for e in ${NICS[$h]}; do
      nic=${e%%:*}; rest=${e#*:}; ip=${rest%%:*}
      echo "addr flush dev $nic"
      echo "addr add $ip/24 dev $nic"
      # The ipv6 scenario: 2001:db8:21::<last octet> on the segment NIC (ens3, the client's eth0).
      # A link-local address too: IPv6 was off when the lab made the NICs, so they have none,
      # and without one the kernel sends no neighbour solicitation for a packet it did not
      # originate (ndisc_send_ns() takes the link-local source and gives up without it): the
      # director could not resolve a real server for a forwarded SYN, nor a real server the
      # client for its SYN-ACK from the VIP on lo.
      if [ -e "$LAB_DIR/state/ipv6" ] && { [ "$nic" = ens3 ] || [ "$nic" = eth0 ]; }; then
        echo "addr add $(ip6_of "$h") dev $nic nodad"
        echo "addr add fe80::${ip##*.}/64 dev $nic nodad"
      fi
    done
    echo "rule flush"
    echo "rule add pref 32766 table main"
    echo "rule add pref 32767 table default"
  } | hx "$h" ip -batch -
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
    # root's home on a lab server is its own empty directory, as on a fresh server: the build
    # machine's ~/.bashrc (pyenv, cargo) would otherwise run in every SSH session, which costs
    # seconds per session under the VM's emulated CPU.
    setup+=" && mkdir -p '$d/root-home' && sed -i 's|^\\(root:[^:]*:0:0:[^:]*:\\)[^:]*:|\\1$d/root-home:|' /etc/passwd"
  fi
  rm -f "$d/ready"
  nsenter --net="/run/netns/${PREFIX}$h" -- unshare --mount --uts --propagation private -- \
    bash -c "$setup && touch '$d/ready' && exec -a ${PREFIX}holder-$h sleep infinity" \
    </dev/null >"$d/holder.log" 2>&1 &
  echo $! >"$d/holder.pid"
  for _ in $(seq $((50 * WAIT_SCALE))); do [ -e "$d/ready" ] && return 0; sleep 0.1; done
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
  } | hx "$h" sh -c 'rm -rf /etc/network/interfaces.d && mkdir -p /etc/network/interfaces.d && cat >/etc/network/interfaces &&
    rm -rf /etc/sysctl.d && mkdir -p /etc/sysctl.d /etc/iptables /etc/keepalived &&
    printf "# /etc/sysctl.conf - Configuration file for setting system variables\n" >/etc/sysctl.conf &&
    rm -f /etc/iptables/rules.v6 /etc/nftables.conf &&
    printf "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" >/etc/iptables/rules.v4'
  cat >"$(hdir "$h")/lib-sysctl.d/50-default.conf" <<'EOF'
# lbdoctor lab distribution defaults (like systemd's/RHEL's 50-default.conf)
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.all.rp_filter = 1
EOF
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

start_http() { # host [bind address: 0.0.0.0, or :: for both families]
  local h=$1 d
  d=$(hdir "$h")
  echo "$h" >"$d/www/index.html"
  hx_bg "$h" "$d/http.log" "$PY" -m http.server "$PORT" --bind "${2:-0.0.0.0}" --directory "$d/www"
  echo "$BG_PID" >"$d/http.pid"
}

wait_listen() { # host port
  local end=$((SECONDS + 10 * WAIT_SCALE))
  while [ $SECONDS -le $end ]; do
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
if [ "\$1" = log ]; then
  : # real IPVS: keepalived programs the kernel itself; only log the transition
elif [ "\$1" = on ] && [ ! -e "$LAB_DIR/state/dsr-off" ]; then
  nft -f "$LAB_DIR/state/dsr-\$h.nft"
else
  nft delete table netdev lbd_dsr 2>/dev/null || true
fi
echo "\$(date +%T) \$*" >>"$LAB_DIR/hosts/\$h/notify.log"
exit 0
EOF
  chmod 755 "$LAB_DIR/bin/dsr"
}

# The virtual_server the scenario asks for (ipvs mode), kept in $LAB_DIR/state/vs as shell
# assignments: VS_METHOD (DR|NAT|TUN), VS_REALS (ip list), VS_FWMARK (empty: VIP:PORT via the
# group), VS_EXTRA (more lines for the block), VS_RS_EXTRA (more lines per real_server),
# VS_DELAY (delay_loop), VS_NONE=1 (no virtual_server at all), VS_CHECK (empty: TCP_CHECK on
# the real IP; else the lbdoctor binary, run as a MISC_CHECK that tests the VIP path).
vs_reset() {
  cat >"$LAB_DIR/state/vs" <<EOF
VS_METHOD=DR
VS_REALS="$(nic_field app1 ens4 ip) $(nic_field app2 ens4 ip)"
VS_FWMARK=
VS_EXTRA=
VS_RS_EXTRA=
VS_DELAY=10
VS_NONE=
VS_CHECK=
EOF
}
vs_set() { # KEY VALUE: one setting for the next keepalived restart
  [ -s "$LAB_DIR/state/vs" ] || vs_reset
  printf '%s=%q\n' "$1" "$2" >>"$LAB_DIR/state/vs"
}

# keepalived.conf for a director; carries the incident's virtual_server block (lvs_sched rr then
# lb_algo lc). In ipvs mode keepalived runs in full and programs IPVS from it; in nft mode it
# runs VRRP only (-P) and the block is only read by lint.
write_keepalived_conf() { # director vrid
  local h=$1 vrid=${2:-51} state prio notify rs
  if [ "$h" = lb1 ]; then state=MASTER; prio=100; else state=BACKUP; prio=90; fi
  [ -s "$LAB_DIR/state/vs" ] || vs_reset
  local VS_METHOD VS_REALS VS_FWMARK VS_EXTRA VS_RS_EXTRA VS_DELAY VS_NONE VS_CHECK
  # shellcheck disable=SC1091
  . "$LAB_DIR/state/vs"
  if [ "$(director_mode)" = ipvs ]; then
    notify="$LAB_DIR/bin/dsr log"
  else
    notify="$LAB_DIR/bin/dsr"
  fi
  (
    cat <<EOF
! lbdoctor lab director $h (generated by tests/lab/lab.sh; director: $(director_mode))
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
  notify_master "$notify on"
  notify_backup "$notify off"
  notify_fault "$notify off"
  notify_stop "$notify off"
}
EOF
    [ -z "$VS_NONE" ] || exit 0
    if [ -n "$VS_FWMARK" ]; then
      printf '\nvirtual_server fwmark %s {\n' "$VS_FWMARK"
    else
      printf '\nvirtual_server_group app_servers {\n  %s %s\n}\n\nvirtual_server group app_servers {\n' "$VIP" "$PORT"
    fi
    printf '  delay_loop %s\n  lvs_sched rr\n  lvs_method %s\n  lb_algo lc\n  protocol TCP\n' "$VS_DELAY" "$VS_METHOD"
    [ -z "$VS_EXTRA" ] || printf '%b\n' "$VS_EXTRA"
    for rs in $VS_REALS; do
      printf '\n  real_server %s %s {\n' "$rs" "$PORT"
      [ -z "$VS_RS_EXTRA" ] || printf '%b\n' "$VS_RS_EXTRA"
      if [ -n "$VS_CHECK" ]; then
        # issue 16: the VIP path, as IPVS DR reaches the real server, instead of its own IP.
        printf '    MISC_CHECK {\n      misc_path "%s check %s:%s --rs %s --timeout 1 -q"\n      misc_timeout 5\n    }\n  }\n' \
          "$VS_CHECK" "$VIP" "$PORT" "$rs"
      else
        printf '    TCP_CHECK {\n      connect_timeout %s\n    }\n  }\n' "$([ "$VS_DELAY" -lt 10 ] && echo 1 || echo 10)"
      fi
    done
    printf '}\n'
  ) >"$(hdir "$h")/keepalived.conf"
  hx "$h" cp "$(hdir "$h")/keepalived.conf" /etc/keepalived/keepalived.conf
}

start_keepalived() {
  local h=$1 d
  d=$(hdir "$h")
  if [ "$(director_mode)" = ipvs ]; then
    # Full keepalived: VRRP and the checkers, which program the kernel's IPVS table.
    hx_bg "$h" "$d/keepalived.log" keepalived -n -l -D -f "$d/keepalived.conf" -p "$d/keepalived.pid" \
      -r "$d/keepalived-vrrp.pid" -c "$d/keepalived-checkers.pid"
  else
    hx_bg "$h" "$d/keepalived.log" keepalived -P -n -l -D -f "$d/keepalived.conf" -p "$d/keepalived.pid" -r "$d/keepalived-vrrp.pid"
  fi
  echo "$BG_PID" >"$d/keepalived.pid.lab"
}

stop_keepalived() { # director... (stopped together: each takes seconds to withdraw under TCG)
  local h d pid pids=() end
  for h in "$@"; do
    d=$(hdir "$h")
    [ -s "$d/keepalived.pid.lab" ] || continue
    read -r pid <"$d/keepalived.pid.lab" || true
    rm -f "$d/keepalived.pid.lab"
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  end=$((SECONDS + 5 * WAIT_SCALE))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  for h in "$@"; do
    # keepalived removes its IPVS services when it stops; a killed one may leave them.
    hx "$h" sh -c "nft delete table netdev lbd_dsr 2>/dev/null; ip addr del $VIP/32 dev ens3 2>/dev/null
      [ $(director_mode) != ipvs ] || ipvsadm -C 2>/dev/null; true"
  done
}

holds_vip() { [[ $(ip -n "${PREFIX}$1" -4 -o addr show dev ens3) == *" $VIP/"* ]]; }
# The director forwards: the DR rule (nft), or an IPVS service with a real server (ipvs).
has_dsr() {
  if [ "$(director_mode)" = ipvs ]; then
    hx "$1" ipvsadm -Ln 2>/dev/null | grep -q '^  -> [0-9]'
  else
    hx "$1" nft list table netdev lbd_dsr >/dev/null 2>&1
  fi
}

masters() { local h; for h in "${DIRECTORS[@]}"; do if holds_vip "$h"; then echo "$h"; fi; done; }

wait_master() { # expected-count timeout-seconds
  local want=$1 end=$((SECONDS + ${2:-10} * WAIT_SCALE)) n
  while [ $SECONDS -le $end ]; do
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
  stop_keepalived lb2 lb1
  # Neighbour entries learnt under the previous scenario's ARP settings would outlive them.
  hx lb1 ip neigh flush dev ens3
  hx lb2 ip neigh flush dev ens3
  write_keepalived_conf lb1 "${1:-51}"
  write_keepalived_conf lb2 "${2:-51}"
  start_keepalived lb1
  wait_master 1 10
  start_keepalived lb2
  sleep 0.5
  echo normal >"$LAB_DIR/state/vrrp"
  cp "$LAB_DIR/state/vs" "$LAB_DIR/state/vs.running"
  [ "$(director_mode)" != ipvs ] || wait_ipvs lb1 15
}

# keepalived's checkers program the service shortly after start: wait for a real server.
wait_ipvs() { # director timeout-seconds
  local vs_none
  vs_none=$(grep -c '^VS_NONE=1' "$LAB_DIR/state/vs" 2>/dev/null || true)
  [ "$vs_none" = 0 ] || return 0
  local end=$((SECONDS + $2 * WAIT_SCALE))
  while [ $SECONDS -le $end ]; do has_dsr "$1" && return 0; sleep 0.2; done
  tail -5 "$(hdir "$1")/keepalived.log" >&2
  die "director $1: keepalived programmed no IPVS service within $(($2 * WAIT_SCALE)) s (see $(hdir "$1")/keepalived.log)"
}

# ipvs mode: restarts keepalived when the scenario changed the virtual_server.
ipvs_sync() {
  [ "$(director_mode)" = ipvs ] || return 0
  cmp -s "$LAB_DIR/state/vs" "$LAB_DIR/state/vs.running" || restart_vrrp 51 51
}

# ---------------------------------------------------------------- reboot simulation

reset_runtime() {
  local h=$1 conf key keys=()
  for conf in all default lo $(nic_names "$h"); do
    for key in "${RESET_KEYS[@]}"; do keys+=("net.ipv4.conf.$conf.$key=0"); done
  done
  # One process per step: under the VM's emulated CPU every fork counts. The IPIP fallback
  # device exists in every namespace once the ipip module is loaded.
  hx "$h" sh -c 'if [ -e /proc/sys/net/ipv4/conf/tunl0 ]; then
      ip addr flush dev tunl0; ip link set tunl0 down
      for key in '"${RESET_KEYS[*]}"'; do set -- "$@" "net.ipv4.conf.tunl0.$key=0"; done
    fi
    sysctl -qw "$@" net.ipv4.ip_forward=0 net.ipv4.conf.all.send_redirects=1 \
      net.ipv4.conf.default.send_redirects=1 || exit 1
    nft flush ruleset; ip route flush table 100 2>/dev/null; true' sh "${keys[@]}"
  configure_addresses "$h"
}

# Applies the boot-time files the way a Debian system does: systemd-sysctl (sysctl --system:
# /etc/sysctl.d, /run/sysctl.d, /usr/lib/sysctl.d, /etc/sysctl.conf), then NICs appear and take
# conf/default (udev re-applies their per-interface keys), then ifupdown brings up the `auto`
# lo stanzas of /etc/network/interfaces{,.d/*} (ifup-lo.sh: a VIP on lo comes back only if it
# is there; the NICs' own stanzas are what configure_addresses already did), then
# netfilter-persistent restores /etc/iptables/rules.v4. The lbdoctor-*.service units enabled
# in multi-user.target.wants run their ExecStart= lines (before network-pre.target, as ours are).
apply_boot_files() {
  local h=$1
  # shellcheck disable=SC2016 # expanded by the host's shell
  hx "$h" sh -c 'sysctl -q --system >/dev/null 2>&1
    for nic in "$@"; do
      for key in '"${RESET_KEYS[*]}"'; do
        # (not `read v <file`: dash'"'"'s read fails on /proc/sys files and the copy is skipped)
        v=$(cat /proc/sys/net/ipv4/conf/default/$key) && echo "$v" >/proc/sys/net/ipv4/conf/$nic/$key
      done
    done
    sysctl -q --system >/dev/null 2>&1
    # systemd starts the units lbdoctor enabled (tunl0 up; its own rules restore).
    for u in /etc/systemd/system/multi-user.target.wants/lbdoctor-*.service; do
      [ -e "$u" ] || continue
      sed -n "s/^ExecStart=//p" "$u" | while IFS= read -r c; do sh -c "$c" || true; done
    done
    sh "$0"
    [ ! -s /etc/iptables/rules.v4 ] || iptables-restore </etc/iptables/rules.v4
    [ ! -s /etc/iptables/rules.v6 ] || ip6tables-restore </etc/iptables/rules.v6' "$LAB_SRC/ifup-lo.sh" $(nic_names "$h")
}

# A server as freshly installed and booted: the distribution's boot files, then a boot.
fresh_boot() {
  reset_boot_files "$1"
  reset_runtime "$1"
  apply_boot_files "$1"
}

boot_server() { # (lab.sh up)
  fresh_boot "$1"
  start_sshd "$1"
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
  choose_director_mode >"$LAB_DIR/state/director"
  vs_reset
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
  for h in "${HOSTS[@]}"; do make_ns "$h"; done
  per_host start_holder "${HOSTS[@]}"
  configure_addresses client
  gen_ssh
  write_notify_script
  per_host boot_server "${SSH_HOSTS[@]}"
  for h in "${REALS[@]}"; do start_http "$h"; done
  for h in "${DIRECTORS[@]}"; do write_dsr_rule "$h"; done
  # keepalived's first TCP_CHECK must find the servers listening, or it takes them out of
  # the pool until the next check (python starts slowly on an emulated CPU).
  for h in "${REALS[@]}"; do wait_listen "$h" "$PORT"; done
  restart_vrrp 51 51
  for h in "${SSH_HOSTS[@]}"; do wait_listen "$h" 22; done
  wait_master 1 10
  echo base >"$LAB_DIR/state/scenario"
  log "up: $(masters | tr '\n' ' ')is VRRP master; director: $(director_desc); LAB_DIR=$LAB_DIR"
}

status() {
  if ! is_up; then echo "lab: down"; return 3; fi
  local h
  echo "lab: up (LAB_DIR=$LAB_DIR, scenario $(cat "$LAB_DIR/state/scenario" 2>/dev/null || echo ?))"
  echo "  director: $(director_desc)"
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
  hx client "$PY" "$LAB_SRC/probe.py" "${2:-$VIP}" "$PORT" "${1:-20}" "$PROBE_TIMEOUT" "${PROBE_PARALLEL:-8}"
}

# ---------------------------------------------------------------- scenarios

# What app1 had at runtime in the incident (and what the repair needs on every real server).
dsr_runtime() { # real-server
  hx "$1" sh -c "iptables -t nat -A PREROUTING -d $VIP/32 -j REDIRECT &&
    sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.ens3.rp_filter=0 net.ipv4.conf.ens4.rp_filter=0"
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
  if [ -e "$LAB_DIR/state/ipv6" ]; then
    rm -f "$LAB_DIR/state/ipv6"
    hx lb1 ipvsadm -D -t "[$VIP6]:$PORT" 2>/dev/null || true
    hx lb1 ip -6 addr del "$VIP6/64" dev ens3 2>/dev/null || true
  fi
  stop_conn_holder
  for h in "${DIRECTORS[@]}"; do
    d=$(hdir "$h")
    [ ! -s "$d/proxy.pid" ] || { kill "$(cat "$d/proxy.pid")" 2>/dev/null || true; rm -f "$d/proxy.pid"; }
    [ ! -s "$d/http.pid" ] || { kill "$(cat "$d/http.pid")" 2>/dev/null || true; rm -f "$d/http.pid"; }
    write_dsr_rule "$h"
    # One entry into the namespace for the whole reset (each costs a fork and an exec).
    hx "$h" sh -c 'nft delete table inet lbd_lab 2>/dev/null; nft delete table netdev lbd_pingpong 2>/dev/null
      iptables -t nat -F
      [ "$1" = ipvs ] || exit 0
      # What the NAT, fwmark and co-located scenarios change on a director.
      iptables -t mangle -F
      ip rule del pref 100 2>/dev/null; ip route flush table 100 2>/dev/null
      ip addr del "$2/32" dev lo 2>/dev/null; ip route del default 2>/dev/null
      sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.send_redirects=1 net.ipv4.conf.ens3.send_redirects=1 \
        net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0' sh "$(director_mode)" "$VIP"
  done
  if [ "$(director_mode)" = ipvs ]; then
    # Every scenario starts from a freshly started keepalived: new IPVS services whose real
    # servers carry no connection counts from the previous scenario (lc would remember them).
    vs_reset
    rm -f "$LAB_DIR/state/vs.running"
  elif [ "$(cat "$LAB_DIR/state/vrrp" 2>/dev/null)" != normal ] || [ "$(masters | tr '\n' ' ')" != "lb1 " ]; then
    restart_vrrp 51 51
  fi
  [ "$(director_mode)" = ipvs ] || sync_dsr
  per_host fresh_boot "${REALS[@]}"
  for h in "${REALS[@]}"; do
    d=$(hdir "$h")
    if ! { [ -s "$d/http.pid" ] && kill -0 "$(cat "$d/http.pid")" 2>/dev/null; }; then
      start_http "$h"
      wait_listen "$h" "$PORT"
    fi
  done
  [ "$(director_mode)" = ipvs ] || wait_master 1 10
  hx client ip neigh flush dev eth0
}

# A long-lived client connection (a browser's keep-alive) to the VIP, established on whichever
# real server answers: under lc it pins that server's ActiveConn at 1 for 15 minutes.
start_conn_holder() { # no args; the connection is held from the client namespace
  local d
  d=$(hdir client)
  hx_bg client "$d/conn-holder.log" "$PY" -c '
import socket, sys, time
for _ in range(20):
    s = socket.socket(); s.settimeout(1.5)
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
    except OSError:
        s.close(); continue
    print("held", s.getsockname(), flush=True)
    s.settimeout(None)
    s.recv(1)  # blocks: the HTTP server waits for a request line that never comes
    sys.exit(0)
sys.exit("no real server answered")' "$VIP" "$PORT"
  echo "$BG_PID" >"$d/conn-holder.pid"
  local end=$((SECONDS + 30 * WAIT_SCALE))
  while [ $SECONDS -le $end ]; do grep -q held "$d/conn-holder.log" 2>/dev/null && return 0; sleep 0.1; done
  die "the long-lived client connection to $VIP:$PORT was not established (see $d/conn-holder.log)"
}
# One client connection across a VRRP failover: opened through lb1 with half a request sent,
# then lb1's keepalived stops, lb2 takes the VIP, and the request is finished. Prints what the
# client got ("answered BODY", "reset", "timeout"), then brings lb1 back as master.
failover_probe() {
  local d out go end result
  d=$(hdir client); out=$d/failover.log; go=$LAB_DIR/state/failover-go
  rm -f "$out" "$go"
  hx_bg client "$out" "$PY" -c '
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"GET / HTTP/1.0\r\n")
print("sent", flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
s.settimeout(float(sys.argv[4]))
try:
    s.sendall(b"Host: lab\r\n\r\n")
    data = b""
    while True:
        c = s.recv(4096)
        if not c:
            break
        data += c
    print("answered", data.split(b"\r\n\r\n", 1)[-1].decode("ascii", "replace").strip() or "?", flush=True)
except ConnectionResetError:
    print("reset", flush=True)
except socket.timeout:
    print("timeout", flush=True)' "$VIP" "$PORT" "$go" "$((5 * WAIT_SCALE))"
  end=$((SECONDS + 10 * WAIT_SCALE))
  until grep -q '^sent' "$out" 2>/dev/null; do
    [ $SECONDS -le $end ] || die "failover probe: no connection through $VIP (see $out)"
    sleep 0.1
  done
  stop_keepalived lb1
  end=$((SECONDS + 20 * WAIT_SCALE))
  until holds_vip lb2 && has_dsr lb2; do
    [ $SECONDS -le $end ] || die "failover probe: lb2 did not take over $VIP"
    sleep 0.2
  done
  touch "$go"
  end=$((SECONDS + 15 * WAIT_SCALE))
  until result=$(grep -E '^(answered|reset|timeout)' "$out" 2>/dev/null); do
    [ $SECONDS -le $end ] || { result="no outcome: $(tail -2 "$out" | tr '\n' ' ')"; break; }
    sleep 0.2
  done
  start_keepalived lb1
  wait_master 1 20
  end=$((SECONDS + 20 * WAIT_SCALE))
  until holds_vip lb1 && has_dsr lb1; do [ $SECONDS -le $end ] || break; sleep 0.2; done
  echo "$result"
}

stop_conn_holder() {
  local f
  f="$(hdir client)/conn-holder.pid"
  [ -s "$f" ] || return 0
  kill "$(cat "$f")" 2>/dev/null || true
  rm -f "$f" "$(hdir client)/conn-holder.log"
}

sync_dsr() { # re-installs the rule on the current master(s) after a change of variant
  local h
  for h in "${DIRECTORS[@]}"; do
    if holds_vip "$h"; then hx "$h" "$LAB_DIR/bin/dsr" on; else hx "$h" "$LAB_DIR/bin/dsr" off; fi
  done
}

# ---- scenarios that need real IPVS

# LVS-NAT: the director rewrites the destination to the real IP, and the replies must come back
# through it (the real servers route the client via the VIP) to be rewritten to the VIP.
scenario_nat() {
  local h
  vs_set VS_METHOD NAT
  for h in "${DIRECTORS[@]}"; do
    # Replies leave by the NIC they came in on: no ICMP redirects telling the real servers
    # that the client is on-link.
    hx "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.ens3.send_redirects=0
  done
  for h in "${REALS[@]}"; do
    # Only ens4 answers ARP for the real IP, and the route to the client goes back by ens4
    # through the director holding the VIP.
    # rp_filter 0 as in DR: requests (and keepalived's TCP_CHECK) arrive on ens4 while the
    # routes back to the segment leave by ens3; strict mode would drop them.
    hx "$h" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.ens3.rp_filter=0 net.ipv4.conf.ens4.rp_filter=0
    hx "$h" ip route add "$(nic_field client eth0 ip)/32" via "$VIP" dev ens4
  done
}

# LVS-TUN: the director wraps each request in IPIP to the real IP; the real servers hold the
# VIP on tunl0, answer ARP for nothing on it, and reply directly.
scenario_tun() { # [real servers to set up: default all]
  local h c hosts=("$@")
  [ $# -gt 0 ] || hosts=("${REALS[@]}")
  vs_set VS_METHOD TUN
  for h in "${hosts[@]}"; do
    hx "$h" sh -c "ip link set tunl0 up && ip addr add $VIP/32 dev tunl0 &&
      sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.ens3.rp_filter=0 net.ipv4.conf.ens4.rp_filter=0"
  done
}

# A fwmark service (incident 3's policy routing on the director): mangle marks VIP:PORT,
# `ip rule fwmark 1 table 100` with `local 0/0 dev lo` there makes marked packets local, so
# IPVS takes them even on a director that does not hold the VIP.
scenario_fwmark() {
  local h
  vs_set VS_FWMARK 1
  dsr_runtime app1
  dsr_runtime app2
  for h in "${DIRECTORS[@]}"; do
    hx "$h" iptables -t mangle -A PREROUTING -d "$VIP/32" -p tcp --dport "$PORT" -j MARK --set-mark 1
    hx "$h" ip rule add pref 100 fwmark 1 table 100
    hx "$h" ip route add local 0.0.0.0/0 dev lo table 100
    hx "$h" sysctl -qw net.ipv4.conf.ens3.rp_filter=0
  done
}

# Persistence: every connection from one client goes to the same real server for 60 s; the
# kernel keeps a template entry per client in ip_vs_conn.
scenario_persistence() {
  vs_set VS_EXTRA "  persistence_timeout 60"
  dsr_runtime app1
  dsr_runtime app2
}

# A failed check with inhibit_on_failure: keepalived sets the real server's weight to 0
# instead of removing it (fast checks: delay_loop 2).
scenario_inhibit() {
  vs_set VS_DELAY 2
  vs_set VS_RS_EXTRA "    inhibit_on_failure"
  dsr_runtime app1
  dsr_runtime app2
}
inhibit_app2() {
  local d ip
  d=$(hdir app2)
  kill "$(cat "$d/http.pid")" 2>/dev/null || true
  rm -f "$d/http.pid"
  ip=$(nic_field app2 ens4 ip)
  local end=$((SECONDS + 15 * WAIT_SCALE))
  while [ $SECONDS -le $end ]; do
    hx lb1 ipvsadm -Ln | grep -Eq -- "-> $ip:$PORT +Route +0 " && return 0
    sleep 0.1
  done
  die "inhibit: keepalived did not set $ip's weight to 0 (see $(hdir lb1)/keepalived.log)"
}

# Bounds the co-located ping-pong: frames from the peer director to the VIP, 200/s at most.
pingpong_limit() { # director
  local h=$1 peer pmac
  peer=$([ "$h" = lb1 ] && echo lb2 || echo lb1)
  pmac=$(nic_field "$peer" ens3 mac)
  hx "$h" nft -f - <<EOF
table netdev lbd_pingpong {
  chain ingress {
    type filter hook ingress device "ens3" priority 0; policy accept;
    ether saddr $pmac ip daddr $VIP tcp dport $PORT limit rate over 200/second burst 50 packets drop
  }
}
EOF
}

scenario() {
  local name=${1:-}
  is_up || die "the lab is down (run: lab.sh up)"
  case $name in
    incident)
      scenario_base
      dsr_runtime app1 # right at runtime, never persisted; app2 has nothing
      if [ "$(director_mode)" = ipvs ]; then
        ipvs_sync
        start_conn_holder # a browser's keep-alive connection: lc then avoids app1
      fi
      ;;
    healthy)
      scenario_base
      dsr_persist app1
      dsr_persist app2
      per_host reboot_host app1 app2
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
      ipvs_sync
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
      ipvs_sync
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
      if [ "$(director_mode)" = ipvs ]; then
        # Real IPVS: both directors list both directors as real servers (incident 4's
        # colocated config); the backup holds the VIP on lo, so its own IPVS takes what the
        # master forwards to it, and may send it back: ping-pong. A rate limit on each
        # director's ingress bounds the loop (the kernel would not).
        vs_set VS_REALS "$(nic_field lb1 ens3 ip) $(nic_field lb2 ens3 ip)"
        for h in "${DIRECTORS[@]}"; do
          start_http "$h"
          wait_listen "$h" "$PORT"
          hx "$h" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
          hx "$h" ip addr add "$VIP/32" dev lo
          pingpong_limit "$h"
        done
        ipvs_sync
      else
        for h in "${DIRECTORS[@]}"; do
          write_dsr_rule "$h" colocated
          start_http "$h"
          wait_listen "$h" "$PORT"
          hx "$h" iptables -t nat -A PREROUTING -d "$VIP/32" -j REDIRECT
          hx "$h" nft -f "$LAB_DIR/state/dsr-$h.nft"
        done
      fi
      ;;
    syn-flood)
      # Healthy cluster; the flood itself is sent by `lab.sh flood` (bounded in count and time).
      scenario_base
      dsr_runtime app1
      dsr_runtime app2
      if [ "$(director_mode)" = ipvs ]; then
        # A director has a default route; without one the kernel drops the spoofed sources
        # (no route back: reverse-path check) before IPVS sees them. It points at the client,
        # which forwards nothing, so still nothing leaves the lab.
        for h in "${DIRECTORS[@]}"; do
          hx "$h" ip route replace default via "$(nic_field client eth0 ip)" dev ens3
        done
      fi
      ;;
    proxy)
      # No DSR: a TCP relay on the master director terminates VIP:80 and opens its own
      # connection to a real server, so every reply comes from the director's MAC.
      scenario_base
      touch "$LAB_DIR/state/dsr-off"
      if [ "$(director_mode)" = ipvs ]; then
        vs_set VS_NONE 1 # keepalived holds the VIP, IPVS has no service
        ipvs_sync
      else
        sync_dsr
      fi
      local m
      m=$(masters | head -1)
      hx_bg "$m" "$(hdir "$m")/proxy.log" socat "TCP-LISTEN:$PORT,bind=$VIP,fork,reuseaddr" "TCP:$(nic_field app1 ens3 ip):$PORT"
      echo "$BG_PID" >"$(hdir "$m")/proxy.pid"
      wait_listen "$m" "$PORT"
      ;;
    checked)
      # The incident, with `lbdoctor check` as each real server's MISC_CHECK (issue 16):
      # keepalived takes app2 out of the pool by itself. LBDOCTOR: the binary to run.
      [ "$(director_mode)" = ipvs ] || die "scenario checked needs real IPVS (run the lab in the VM: tests/lab/vm.sh)"
      [ -x "${LBDOCTOR:-}" ] || die "scenario checked: set LBDOCTOR to the lbdoctor binary keepalived should run"
      scenario_base
      dsr_runtime app1
      vs_set VS_CHECK "$LBDOCTOR"
      vs_set VS_DELAY 3
      ipvs_sync
      ;;
    tun-broken)
      # TUN, with app2 left as a DR real server would be: no tunl0, no VIP on it, rp_filter
      # as the distribution ships it. The director's IPIP packets for app2 are dropped.
      [ "$(director_mode)" = ipvs ] || die "scenario $name needs real IPVS (run the lab in the VM: tests/lab/vm.sh)"
      scenario_base
      scenario_tun app1
      # rr, not the incident's lc: under lc the SYN_RECV entries app2 collects before the fix
      # count as active (Linux 4.8+) and keep new clients off app2 for about a minute after
      # the fix; this scenario is about the TUN fix, not about lc.
      vs_set VS_EXTRA "  lb_algo rr"
      ipvs_sync
      ;;
    failover)
      # Healthy, scheduled by source hash: both directors send a client to the same real
      # server, so a connection that survives a failover is answered by the server it began on.
      [ "$(director_mode)" = ipvs ] || die "scenario $name needs real IPVS (run the lab in the VM: tests/lab/vm.sh)"
      scenario_base
      dsr_runtime app1
      dsr_runtime app2
      vs_set VS_EXTRA "  lb_algo sh"
      ipvs_sync
      ;;
    ipv6)
      # An IPv6 DR service on real IPVS (issue 15): every host gets 2001:db8:21::<octet>/64,
      # lb1 holds VIP6 on ens3 and an ipvsadm service [VIP6]:80 (rr, DR) to app1 and app2
      # (keepalived leaves a service it did not add alone); the HTTP servers listen on ::.
      # app1 holds VIP6 on lo as /128; app2 has nothing, so its share is dropped.
      [ "$(director_mode)" = ipvs ] || die "scenario $name needs real IPVS (run the lab in the VM: tests/lab/vm.sh)"
      scenario_base
      dsr_runtime app1
      dsr_runtime app2
      ipvs_sync
      touch "$LAB_DIR/state/ipv6"
      local h6
      for h6 in "${HOSTS[@]}"; do
        hx "$h6" sh -c 'sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0; for c in /proc/sys/net/ipv6/conf/*/disable_ipv6; do echo 0 >"$c"; done'
        configure_addresses "$h6"
      done
      # preferred_lft 0, so the director never picks the VIP as a source address (it would
      # solicit the real servers from the VIP, which they hold too, and their answers would
      # stay local). keepalived does so by default only for a /128 VIP.
      hx lb1 ip -6 addr add "$VIP6/64" dev ens3 nodad preferred_lft 0
      hx lb1 ipvsadm -A -t "[$VIP6]:$PORT" -s rr
      hx lb1 ipvsadm -a -t "[$VIP6]:$PORT" -r "[$(ip6_of app1 | cut -d/ -f1)]:$PORT" -g
      hx lb1 ipvsadm -a -t "[$VIP6]:$PORT" -r "[$(ip6_of app2 | cut -d/ -f1)]:$PORT" -g
      for h6 in "${REALS[@]}"; do
        kill "$(cat "$(hdir "$h6")/http.pid")" 2>/dev/null || true
        sleep 0.2
        start_http "$h6" ::
        wait_listen "$h6" "$PORT"
      done
      hx app1 ip -6 addr add "$VIP6/128" dev lo
      ;;
    nat | tun | fwmark | persistence | inhibit)
      [ "$(director_mode)" = ipvs ] || die "scenario $name needs real IPVS (run the lab in the VM: tests/lab/vm.sh)"
      scenario_base
      "scenario_$name"
      ipvs_sync
      [ "$name" != inhibit ] || inhibit_app2
      ;;
    *) die "unknown scenario '$name' (incident healthy arp-problem rp-filter split-brain split-brain-vrid director-is-real-server syn-flood proxy; real IPVS only: nat tun tun-broken fwmark persistence inhibit ipv6 failover)" ;;
  esac
  ipvs_sync
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
                       (real IPVS only) nat|tun|tun-broken|fwmark|persistence|inhibit|checked|ipv6|failover
       lab.sh reboot HOST | exec HOST CMD... | probe [N] | flood [N] | masters
EOF
      exit 2
      ;;
  esac
}

# Sourced by e2e.sh/demo.sh/record-fixtures.sh for the helpers; executed for the CLI.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
