//! LB034: vrrp_strict silently changes what the VIPs accept: without `accept` in the
//! instance it installs firewall rules that drop traffic to the VIPs, and it disables
//! authentication and unicast.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::parser::NodeKind;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let cfg = &cx.loaded.config;
    let Some(strict) = &cfg.global.vrrp_strict else {
        return;
    };
    let doc = &cx.loaded.doc;
    // instances with `accept` (or a later `no_accept`)
    let mut accepting = Vec::new();
    for r in doc.roots() {
        if !matches!(doc.nodes[r].kind, NodeKind::Block(_)) || doc.kw(r) != "vrrp_instance" {
            continue;
        }
        let mut acc = false;
        for c in doc.children(r) {
            match doc.kw(c) {
                "accept" => acc = true,
                "no_accept" => acc = false,
                _ => {}
            }
        }
        if acc {
            accepting.push(doc.arg(r, 0).unwrap_or("").to_string());
        }
    }
    let mut problems = Vec::new();
    for v in &cfg.vrrp_instances {
        if !accepting.contains(&v.name) && !v.vips.is_empty() {
            let served: Vec<String> = v
                .vip_addrs()
                .into_iter()
                .filter(|ip| {
                    cfg.virtual_servers
                        .iter()
                        .any(|vs| vs.addresses.iter().any(|a| a.0 == *ip))
                })
                .map(|ip| ip.to_string())
                .collect();
            problems.push(format!(
                "vrrp_instance {} has no `accept`: keepalived adds firewall rules that drop traffic to its VIPs{}",
                v.name,
                if served.is_empty() { String::new() } else { format!(", including {} served by a virtual_server", served.join(", ")) }
            ));
        }
        if v.auth_type.is_some() {
            problems.push(format!(
                "vrrp_instance {}: vrrp_strict disables its authentication",
                v.name
            ));
        }
        if !v.unicast_peers.is_empty() {
            problems.push(format!("vrrp_instance {}: vrrp_strict does not allow unicast_peer on a multicast-capable interface", v.name));
        }
    }
    if problems.is_empty() {
        return;
    }
    out.push(
        Finding::new(
            "LB034",
            "global_defs".to_string(),
            format!("vrrp_strict changes what keepalived does without saying so: {}", problems[0]),
        )
        .at(at(strict, "vrrp_strict".len()))
        .evidence_lines(problems.iter().skip(1).cloned())
        .fix_text("remove vrrp_strict unless you need RFC-strict VRRP; otherwise add `accept` to instances whose VIPs must answer"),
    );
}
