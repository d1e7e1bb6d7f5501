//! Where a VIP on lo is persisted, per network stack.

use std::net::Ipv4Addr;

pub const INTERFACES: &str = "/etc/network/interfaces";
pub const IFUPDOWN_DIR: &str = "/etc/network/interfaces.d";
pub const NETPLAN_FILE: &str = "/etc/netplan/60-lbdoctor-vip.yaml";
pub const NETWORKD_FILE: &str = "/etc/systemd/network/60-lbdoctor-vip.network";

/// One file per VIP, e.g. /etc/network/interfaces.d/lbdoctor-vip-192-168-21-20: a second VIP
/// gets a file of its own instead of an edit of ours, whose backup would land in the sourced
/// directory (`source interfaces.d/*` reads `*.bak` too, and would bring the old stanza up
/// twice). The name meets run-parts' rules for `source-directory`: letters, digits, '-'.
pub fn ifupdown_file(vip: Ipv4Addr) -> String {
    format!(
        "{IFUPDOWN_DIR}/lbdoctor-vip-{}",
        vip.to_string().replace('.', "-")
    )
}
