//! RS021: the IPv6 VIP is accepted now but a reboot loses it: the address is in no network
//! configuration, or the ip6tables REDIRECT is not in the rules file restored at boot.
use crate::audit::{Acceptance, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip6 else { return };
    let v = vip.to_string();
    for acc in a.acceptance6() {
        match acc {
            Acceptance::Address { iface, prefix } => {
                if super::rs014::persisted(a, &v) {
                    continue;
                }
                out.push(
                    Finding::new("RS021", &a.f.host, format!("the IPv6 VIP {vip}/{prefix} is on {iface} now, but no boot-time network configuration brings it back: after a reboot this real server drops every balanced request while its health check passes"))
                        .evidence(format!("runtime: {vip}/{prefix} on {iface}"))
                        .evidence("not mentioned in /etc/network/interfaces*, /etc/netplan, NetworkManager, ifcfg or systemd-networkd files")
                        .fix_text(crate::remedy::ipv6::persist_hint(vip)),
                );
            }
            Acceptance::Nat(rule) => {
                let boot = ["/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables"]
                    .iter()
                    .find_map(|p| a.f.files.get(*p).map(|t| (*p, t)));
                let kept = boot.is_some_and(|(_, t)| {
                    t.lines().any(|l| {
                        l.contains(&format!("-d {v}/128"))
                            && (l.contains("REDIRECT") || l.contains("DNAT"))
                    })
                });
                if kept {
                    continue;
                }
                out.push(
                    Finding::new("RS021", &a.f.host, format!("the ip6tables rule that accepts the IPv6 VIP {vip} is active now but not restored at boot"))
                        .evidence(format!("runtime: {rule}"))
                        .evidence(match boot {
                            Some((p, _)) => format!("{p}: no matching rule"),
                            None => "no /etc/iptables/rules.v6 or /etc/sysconfig/ip6tables".into(),
                        })
                        .fix_command("ip6tables-save > /etc/iptables/rules.v6")
                        .fix_text("save the rule where the distribution restores IPv6 rules at boot (netfilter-persistent: /etc/iptables/rules.v6; RHEL: /etc/sysconfig/ip6tables)"),
                );
            }
            Acceptance::Nft(_) => {}
        }
    }
}
