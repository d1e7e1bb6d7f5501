//! What a repair looks like, as both sides need it: the files lbdoctor writes and the commands
//! it runs. audit quotes them in findings' fixes, fix plans and applies them; keeping them here
//! lets data flow audit -> fix only (fix imports audit, audit never imports fix). This module
//! depends on nothing of the crate's, so it cannot close a cycle.

pub mod firewalld;
pub mod iptables_boot;
pub mod ipv6;
pub mod nft;
pub mod tun;
pub mod vip_boot;

use std::net::Ipv4Addr;

/// Our sysctl.d file on real servers. "90-" sorts after distribution defaults (50-*, 60-*);
/// it is renamed to sort later still (SYSCTL_FILE_LATE) when a later file would override a
/// value we set.
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/90-lbdoctor-lvs-dr.conf";
pub const SYSCTL_FILE_LATE: &str = "/etc/sysctl.d/zz-lbdoctor-lvs-dr.conf";
/// The same pair on directors.
pub const DIRECTOR_SYSCTL_FILE: &str = "/etc/sysctl.d/90-lbdoctor-lvs-director.conf";
pub const DIRECTOR_SYSCTL_FILE_LATE: &str = "/etc/sysctl.d/zz-lbdoctor-lvs-director.conf";

/// sysctl name for an interface: dots inside an interface name are written as '/'.
pub fn sysctl_key(scope: &str, knob: &str) -> String {
    format!("net.ipv4.conf.{}.{knob}", scope.replace('.', "/"))
}

/// The runtime commands that set `knob` to `want` for `iface`. arp_ignore/arp_announce: `all`
/// is enough, since the kernel uses max(all, iface). rp_filter must be low on both `all` and
/// the interface.
pub fn sysctl_commands(knob: &str, iface: &str, want: u32) -> Vec<String> {
    let mut v = vec![format!("sysctl -w {}={want}", sysctl_key("all", knob))];
    if knob == "rp_filter" {
        v.push(format!("sysctl -w {}={want}", sysctl_key(iface, knob)));
    }
    v
}

/// The incident's REDIRECT for the VIP, as an iptables rule spec.
pub fn redirect_spec(vip: Ipv4Addr) -> String {
    format!("-d {vip}/32 -j REDIRECT")
}

pub fn redirect_commands(vip: Ipv4Addr) -> Vec<String> {
    vec![format!(
        "iptables -t nat -A PREROUTING {}",
        redirect_spec(vip)
    )]
}

#[cfg(test)]
mod tests {
    #[test]
    fn sysctl_commands_set_all_and_the_interface_for_rp_filter_only() {
        assert_eq!(
            super::sysctl_commands("arp_ignore", "eth0", 1),
            ["sysctl -w net.ipv4.conf.all.arp_ignore=1"]
        );
        assert_eq!(
            super::sysctl_commands("rp_filter", "eth0.10", 0),
            [
                "sysctl -w net.ipv4.conf.all.rp_filter=0",
                "sysctl -w net.ipv4.conf.eth0/10.rp_filter=0"
            ]
        );
    }
}
