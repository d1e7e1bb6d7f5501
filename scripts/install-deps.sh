#!/usr/bin/env bash
# Installs what lbdoctor needs to build, test and run its lab, on Debian/Ubuntu. Idempotent:
# packages already present are not reinstalled, and apt-get update runs only when needed.
set -euo pipefail

PKGS=(
  build-essential pkg-config libpcap-dev libssl-dev libssh2-1-dev   # build
  tcpdump tshark iproute2 iptables nftables bridge-utils             # capture, netfilter, lab
  keepalived ipvsadm openssh-server openssh-client socat curl        # lab hosts and tools
  iptables-persistent                                                # audit --fix persistence (Debian layout)
  hping3 jq tcpreplay                                                # lab SYN flood, e2e assertions, live bench
  python3 man-db time procps util-linux                              # scripts, man -l, benches
  qemu-system-x86 linux-image-amd64 busybox-static python3-pip       # the lab VM: a kernel with IPVS (virtme-ng via pip)
  libcap2-bin                                                        # setcap: check's CAP_NET_RAW as a non-root script_user
  dbus python3-dbus python3-gi gir1.2-glib-2.0                       # the unpacked firewalld's runtime (test only)
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 2; }
  SUDO="sudo"
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  # iptables-persistent must not snapshot the build machine's rules at install time.
  printf '%s\n' "iptables-persistent iptables-persistent/autosave_v4 boolean false" \
    "iptables-persistent iptables-persistent/autosave_v6 boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lab VM (tests/lab/vm.sh) boots the distro kernel over this root filesystem with virtme-ng,
# pinned; pip's own index, no other download.
VNG_VERSION=1.42
if ! python3 -c "import virtme_ng.version as v, sys; sys.exit(v.VERSION != '$VNG_VERSION')" 2>/dev/null; then
  echo "install-deps: installing virtme-ng==$VNG_VERSION (pip)"
  python3 -m pip install -q --disable-pip-version-check "virtme-ng==$VNG_VERSION" 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check --break-system-packages "virtme-ng==$VNG_VERSION"
fi

# ufw, for tests/audit_fix_ufw.rs: its .deb is unpacked under /opt/lbdoctor-test/ufw, never
# installed. Installed, it would replace this machine's firewall (its postinst can enable it)
# and apt would remove iptables-persistent (ufw Breaks it). The test runs the unpacked ufw
# inside a network namespace, over a private mount of /usr, /etc and /run.
UFW_ROOT=/opt/lbdoctor-test/ufw
if [ ! -x "$UFW_ROOT/usr/sbin/ufw" ]; then
  echo "install-deps: unpacking ufw (not installing it) into $UFW_ROOT"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q ufw >/dev/null)
  $SUDO mkdir -p "$UFW_ROOT"
  $SUDO dpkg-deb -x "$tmp"/ufw_*.deb "$UFW_ROOT"
  rm -rf "$tmp"
fi

# firewalld, for tests/audit_fix_firewalld.rs: unpacked with python3-firewall and
# python3-nftables under /opt/lbdoctor-test/firewalld, never installed (its postinst enables
# and starts it, which would take over this machine's firewall). The test runs it in a
# network namespace over a private /usr, /etc and /run, on a private system bus.
FWD_ROOT=/opt/lbdoctor-test/firewalld
if [ ! -x "$FWD_ROOT/usr/sbin/firewalld" ]; then
  echo "install-deps: unpacking firewalld (not installing it) into $FWD_ROOT"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q firewalld python3-firewall python3-nftables >/dev/null)
  $SUDO mkdir -p "$FWD_ROOT"
  for d in "$tmp"/*.deb; do $SUDO dpkg-deb -x "$d" "$FWD_ROOT"; done
  rm -rf "$tmp"
fi

# ifupdown, for tests/audit_ipv6.rs (an IPv6 VIP persisted as an `iface lo inet6 static`
# stanza, brought back by a real `ifup -a`): unpacked under /opt/lbdoctor-test/ifupdown, never
# installed (installed, it would take over this machine's interfaces at boot).
IFUPDOWN_ROOT=/opt/lbdoctor-test/ifupdown
if [ ! -x "$IFUPDOWN_ROOT/sbin/ifup" ]; then
  echo "install-deps: unpacking ifupdown (not installing it) into $IFUPDOWN_ROOT"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q ifupdown >/dev/null)
  $SUDO mkdir -p "$IFUPDOWN_ROOT"
  $SUDO dpkg-deb -x "$tmp"/ifupdown_*.deb "$IFUPDOWN_ROOT"
  rm -rf "$tmp"
fi

# keepalived and sshd are started by the lab inside namespaces, never as host services.
for svc in keepalived ssh; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then :; fi
done

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "install-deps: cargo is in ~/.cargo/bin; add it to PATH" >&2
  else
    echo "install-deps: no Rust toolchain; install one with rustup (https://rustup.rs), then rerun" >&2
    exit 2
  fi
fi
