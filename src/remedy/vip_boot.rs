//! Where a VIP on lo is persisted, per network stack.

use std::net::IpAddr;

pub const INTERFACES: &str = "/etc/network/interfaces";
pub const IFUPDOWN_DIR: &str = "/etc/network/interfaces.d";
pub const NETPLAN_FILE: &str = "/etc/netplan/60-lbdoctor-vip.yaml";
pub const NETWORKD_FILE: &str = "/etc/systemd/network/60-lbdoctor-vip.network";

/// One file per VIP, e.g. /etc/network/interfaces.d/lbdoctor-vip-192-168-21-20: a second VIP
/// gets a file of its own instead of an edit of ours, whose backup would land in the sourced
/// directory (`source interfaces.d/*` reads `*.bak` too, and would bring the old stanza up
/// twice). The name meets run-parts' rules for `source-directory`: letters, digits, '-'.
pub fn ifupdown_file(vip: impl Into<IpAddr>) -> String {
    format!(
        "{IFUPDOWN_DIR}/lbdoctor-vip-{}",
        vip.into().to_string().replace(['.', ':'], "-")
    )
}

/// The VIP as a host route on lo: /32, or /128 for IPv6.
pub fn host_cidr(vip: IpAddr) -> String {
    match vip {
        IpAddr::V4(v) => format!("{v}/32"),
        IpAddr::V6(v) => format!("{v}/128"),
    }
}
