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

# Packages the tests run from an unpacked tree, never installed: ROOT, a file that shows it is
# unpacked, then the packages to download and unpack into ROOT.
unpack_debs() {
  local root=$1 probe=$2 tmp d
  shift 2
  [ ! -x "$root/$probe" ] || return 0
  echo "install-deps: unpacking $* (not installing) into $root"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q "$@" >/dev/null)
  $SUDO mkdir -p "$root"
  for d in "$tmp"/*.deb; do $SUDO dpkg-deb -x "$d" "$root"; done
  rm -rf "$tmp"
}

# ufw, for tests/audit_fix_ufw.rs. Installed, it would replace this machine's firewall (its
# postinst can enable it) and apt would remove iptables-persistent (ufw Breaks it). The test
# runs the unpacked ufw inside a network namespace, over a private mount of /usr, /etc and /run.
unpack_debs /opt/lbdoctor-test/ufw usr/sbin/ufw ufw

# firewalld, for tests/audit_fix_firewalld.rs, with python3-firewall and python3-nftables
# (installed, its postinst enables and starts it, which would take over this machine's
# firewall). The test runs it in a network namespace over a private /usr, /etc and /run, on a
# private system bus.
unpack_debs /opt/lbdoctor-test/firewalld usr/sbin/firewalld firewalld python3-firewall python3-nftables

# ifupdown, for tests/audit_ipv6.rs (an IPv6 VIP persisted as an `iface lo inet6 static`
# stanza, brought back by a real `ifup -a`); installed, it would take over this machine's
# interfaces at boot.
unpack_debs /opt/lbdoctor-test/ifupdown sbin/ifup ifupdown

# keepalived and sshd are started by the lab inside namespaces, never as host services
# (nothing here starts or stops the host's own).

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "install-deps: cargo is in ~/.cargo/bin; add it to PATH" >&2
  else
    echo "install-deps: no Rust toolchain; install one with rustup (https://rustup.rs), then rerun" >&2
    exit 2
  fi
fi
