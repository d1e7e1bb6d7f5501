//! RS014: the VIP is on lo (or a dummy/NIC) at runtime, but no boot-time network configuration
//! brings it back: the host's ARP settings survive a reboot, its VIP does not.
use crate::audit::{Acceptance, Analysis};
use crate::Finding;

/// Where distributions configure addresses that come back at boot.
pub(crate) const NETWORK_CONFIG_DIRS: [&str; 6] = [
    "/etc/network/interfaces",
    "/etc/netplan/",
    "/etc/NetworkManager/system-connections/",
    "/etc/sysconfig/network-scripts/",
    "/etc/systemd/network/",
    "/etc/keepalived/",
];

/// Does `text` mention `ip` as a whole address (so 192.168.21.2 does not match .20)?
pub(crate) fn mentions(text: &str, ip: &str) -> bool {
    text.match_indices(ip).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + ip.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
        !part(before) && !part(after)
    })
}

/// Is `ip` in any gathered file that configures addresses at boot?
pub(crate) fn persisted(a: &Analysis, ip: &str) -> bool {
    let tun_unit = |p: &str| {
        p == crate::remedy::tun::UNIT_FILE && a.f.files.contains_key(crate::remedy::tun::UNIT_LINK)
    };
    a.f.files.iter().any(|(p, t)| {
        (NETWORK_CONFIG_DIRS.iter().any(|d| p.starts_with(d)) || tun_unit(p)) && mentions(t, ip)
    })
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    let vip_s = vip.to_string();
    for acc in &a.acceptance {
        let Acceptance::Address { iface, prefix } = acc else {
            continue;
        };
        let files: Vec<&String> =
            a.f.files
                .keys()
                .filter(|p| NETWORK_CONFIG_DIRS.iter().any(|d| p.starts_with(d)))
                .collect();
        if persisted(a, &vip_s) {
            continue;
        }
        let mut f = Finding::new(
            "RS014",
            &a.f.host,
            format!(
                "VIP {vip_s}/{prefix} is on {iface} now, but no boot-time network configuration \
                 brings it back: after a reboot this real server drops every balanced request, \
                 while its health check on the real IP still passes"
            ),
        )
        .evidence(format!("runtime: {vip_s}/{prefix} on {iface}"));
        f = if files.is_empty() {
            f.evidence("no network configuration file found (ifupdown, netplan, NetworkManager, ifcfg, systemd-networkd)")
        } else {
            f.evidence(format!(
                "not mentioned in: {}",
                files
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        use crate::audit::netstack::{detect, Stack};
        use crate::remedy::vip_boot;
        // The same choice of network stack as the repair's, so the advice and the plan agree.
        let fix = match detect(a) {
            _ if iface != "lo" => format!("add {vip_s}/32 to {iface}'s boot-time configuration, or move the VIP to lo as /32"),
            Stack::Netplan => format!("`lbdoctor audit --fix` writes `ethernets: lo: addresses: [{vip_s}/32]` to {} (no `netplan apply`)", vip_boot::NETPLAN_FILE),
            Stack::Ifupdown => format!("`lbdoctor audit --fix` writes an `auto lo:N` / `iface lo:N inet static` / `address {vip_s}/32` stanza to {} (or appends it to {} when that does not source interfaces.d)", vip_boot::ifupdown_file(vip), vip_boot::INTERFACES),
            Stack::Networkd => format!("`lbdoctor audit --fix` writes [Match] Name=lo, [Network] Address={vip_s}/32 to {} (or to the .network file that already matches lo)", vip_boot::NETWORKD_FILE),
            Stack::NetworkManager => format!("NetworkManager >= 1.42: `nmcli connection modify lo +ipv4.addresses {vip_s}/32`"),
            Stack::Ifcfg => format!("RHEL: /etc/sysconfig/network-scripts/ifcfg-lo:0 with DEVICE=lo:0, IPADDR={vip_s}, NETMASK=255.255.255.255, ONBOOT=yes"),
            Stack::Unknown => format!("`ip addr add {vip_s}/32 dev lo` in whatever configures the network at boot"),
        };
        out.push(f.fix_text(format!(
            "persist the VIP where the host configures addresses at boot: {fix}; or use the iptables REDIRECT for the VIP, which `lbdoctor audit --fix` applies and persists"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_matches_whole_addresses_only() {
        assert!(mentions("address 192.168.21.20/32", "192.168.21.20"));
        assert!(mentions("IPADDR=192.168.21.20\n", "192.168.21.20"));
        assert!(!mentions("address 192.168.21.201/32", "192.168.21.20"));
        assert!(!mentions("address 10.192.168.21.20", "192.168.21.20"));
        assert!(!mentions("", "192.168.21.20"));
    }
}
