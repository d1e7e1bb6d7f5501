//! IPv6 VIPs on DR real servers: what the repair runs and says.
use std::net::Ipv6Addr;

/// The VIP on lo as /128. lo does no duplicate address detection (addrconf skips DAD on
/// IFF_LOOPBACK devices), and `nodad` makes that explicit should the line be reused on a
/// dummy device, where DAD would otherwise run.
pub fn add_command(vip: Ipv6Addr) -> String {
    format!("ip -6 addr add {vip}/128 dev lo nodad")
}

/// How to carry the VIP across a reboot, per network stack.
pub fn persist_hint(vip: Ipv6Addr) -> String {
    format!("persist it where the host configures addresses at boot: ifupdown `iface lo inet6 static` / `address {vip}/128` (in an interfaces.d file), netplan `ethernets: lo: addresses: [\"{vip}/128\"]`, systemd-networkd `[Match] Name=lo` / `[Address] Address={vip}/128`, or NetworkManager `nmcli connection modify lo +ipv6.addresses {vip}/128`; `lbdoctor audit --fix` writes it for ifupdown, netplan and systemd-networkd")
}
