//! LVS-TUN (IPIP) real servers: what the repair writes and runs.
//!
//! The director wraps each client packet in an outer IPv4 header (protocol 4) addressed to the
//! real server's own IP; the real server's ipip module decapsulates it on its fallback device
//! tunl0, which must exist (the module creates it when it loads) and be up (ip_tunnel_lookup
//! only hands packets to the fallback device while it is IFF_UP), and the inner packet,
//! addressed to the VIP, then has to be accepted like a DR one.

use std::net::Ipv4Addr;

/// Loaded at boot by systemd-modules-load, which systemd-sysctl is ordered after, so the
/// tunl0 sysctls in our sysctl.d file find the device.
pub const MODULES_FILE: &str = "/etc/modules-load.d/lbdoctor-ipip.conf";
pub const MODULES_CONTENT: &str =
    "# Written by lbdoctor audit --fix: LVS-TUN real server (decapsulates IPIP on tunl0).\nipip\n";

/// tunl0 comes up at boot through this unit (the module creates it down), with the VIP on it.
pub const UNIT_FILE: &str = "/etc/systemd/system/lbdoctor-tunl0.service";
pub const UNIT_LINK: &str = "/etc/systemd/system/multi-user.target.wants/lbdoctor-tunl0.service";

/// The unit: ipip loaded, tunl0 up and, for each VIP, the VIP on tunl0 as /32. The VIP has to
/// be a local address of the host for the decapsulated packet: a REDIRECT does not do on an
/// LVS-TUN real server, because the inner packet's input device is tunl0, and REDIRECT
/// rewrites to the first IPv4 address of the input device and drops the packet when it has
/// none (nf_nat_redirect_ipv4; seen in the real-IPVS lab, Linux 6.1).
pub fn unit_content(vips: &[Ipv4Addr]) -> String {
    let mut start = "modprobe ipip && ip link set tunl0 up".to_string();
    for v in vips {
        start.push_str(&format!(" && ip addr replace {v}/32 dev tunl0"));
    }
    format!(
        "\
# Written by lbdoctor audit --fix: LVS-TUN real server.
[Unit]
Description=lbdoctor: tunl0 up for LVS-TUN (IPIP) traffic from the director
DefaultDependencies=no
After=systemd-modules-load.service
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c '{start}'

[Install]
WantedBy=multi-user.target
"
    )
}

/// The outer IPv4 header IPIP adds.
pub const IPIP_OVERHEAD: u32 = 20;
/// IPv4 + TCP headers without options.
const TCPIP_HEADERS: u32 = 40;

/// The MSS a TUN real server should advertise so that a client's full-size segment, once
/// the director wraps it, still fits `path_mtu` (1500 -> 1440).
pub fn clamp_mss(path_mtu: u32) -> u32 {
    path_mtu.saturating_sub(IPIP_OVERHEAD + TCPIP_HEADERS)
}

/// mangle OUTPUT rule (as iptables-save prints it) that lowers the MSS in the SYN-ACKs of
/// connections to the VIP. `--ctorigdst` matches whether the VIP is a local address or
/// REDIRECTed (in OUTPUT a REDIRECTed reply still has the real IP as its source).
pub fn mss_spec(vip: Ipv4Addr, mss: u32) -> String {
    format!("-p tcp -m conntrack --ctorigdst {vip} -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss {mss}")
}

pub fn runtime_commands() -> Vec<String> {
    vec!["modprobe ipip".into(), "ip link set tunl0 up".into()]
}

/// The VIP on tunl0, now.
pub fn vip_command(vip: Ipv4Addr) -> String {
    format!("ip addr replace {vip}/32 dev tunl0")
}
