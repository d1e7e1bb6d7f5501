//! DR003: the VIP is still on a director NIC although traffic for it is fwmark-routed back
//! through the director (the director drops replies sourced from "its own" address).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    let marks = super::dr004::mark_rules(a);
    if marks.is_empty() {
        return;
    }
    if let Some((i, ad)) = a.f.has_address(&vip.to_string()) {
        if i.kind != "loopback" {
            out.push(
                Finding::new("DR003", &a.f.host, format!("VIP {vip} is still on {} while its traffic is marked and routed back through the director: replies carrying the VIP as source arrive at a host that owns that address and are dropped as martians", i.name))
                    .evidence(format!("{vip}/{} on {}", ad.prefix, i.name))
                    .evidence_lines(marks.iter().map(|m| format!("mangle: {m}")))
                    .fix_command(format!("ip addr del {vip}/{} dev {}", ad.prefix, i.name)),
            );
        }
    }
}
