//! RS002: the VIP is configured, but wrongly: on lo/dummy with a prefix wider than /32, or on a
//! segment-facing NIC (the real server then answers ARP for it).
use crate::audit::{Acceptance, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    for acc in &a.acceptance {
        let Acceptance::Address { iface, prefix } = acc else {
            continue;
        };
        let seg = a.segment_ifaces().iter().any(|i| &i.name == iface);
        if seg {
            out.push(
                Finding::new("RS002", &a.f.host, format!("VIP {vip} is on {iface}, a NIC facing the segment: this real server will answer ARP for the VIP and take traffic meant for the director"))
                    .evidence(format!("{vip}/{prefix} on {iface}"))
                    .fix_text("move the VIP to lo (as /32) or use an iptables REDIRECT instead")
                    .fix_command(format!("ip addr del {vip}/{prefix} dev {iface}"))
                    .fix_command(format!("ip addr add {vip}/32 dev lo")),
            );
        } else if *prefix != 32 {
            out.push(
                Finding::new("RS002", &a.f.host, format!("VIP {vip} is on {iface} as /{prefix}: every address of that prefix becomes local to this host; use /32"))
                    .evidence(format!("{vip}/{prefix} on {iface}"))
                    .fix_command(format!("ip addr del {vip}/{prefix} dev {iface}"))
                    .fix_command(format!("ip addr add {vip}/32 dev {iface}")),
            );
        }
    }
}
