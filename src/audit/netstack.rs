//! Which network stack restores addresses at boot on a host, from its gathered files: RS014's
//! advice and the repair that persists a VIP (fix::vip_boot) make the same choice.

use crate::audit::Analysis;
use crate::remedy::vip_boot::INTERFACES;

/// Which network stack restores addresses at boot, as far as the gathered files tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    Netplan,
    Ifupdown,
    Networkd,
    NetworkManager,
    Ifcfg,
    Unknown,
}

pub(crate) fn any_under(a: &Analysis, dir: &str, ext: &[&str]) -> bool {
    a.f.files
        .keys()
        .any(|p| p.starts_with(dir) && (ext.is_empty() || ext.iter().any(|e| p.ends_with(e))))
}

/// Does /etc/network/interfaces configure anything (not just comments)?
fn interfaces_in_use(a: &Analysis) -> bool {
    a.f.files.get(INTERFACES).is_some_and(|t| {
        t.lines().any(|l| {
            let w = l.split_whitespace().next().unwrap_or("");
            w == "iface" || w == "auto" || w.starts_with("allow-") || w.starts_with("source")
        })
    })
}

pub fn detect(a: &Analysis) -> Stack {
    // netplan renders the other stacks' files from its YAML: when present, it is the source.
    if any_under(a, "/etc/netplan/", &[".yaml", ".yml"]) {
        Stack::Netplan
    } else if interfaces_in_use(a) {
        Stack::Ifupdown
    } else if any_under(a, "/etc/systemd/network/", &[".network"]) {
        Stack::Networkd
    } else if a.f.files.contains_key(INTERFACES) {
        Stack::Ifupdown
    } else if any_under(a, "/etc/NetworkManager/system-connections/", &[]) {
        Stack::NetworkManager
    } else if any_under(a, "/etc/sysconfig/network-scripts/", &[]) || a.f.is_rhel_like() {
        Stack::Ifcfg
    } else {
        Stack::Unknown
    }
}
