//! LB024: a virtual server address that no vrrp_instance holds. keepalived balances it,
//! but on failover nothing moves the address to the backup director.

use super::{at, Ctx};
use crate::finding::Finding;
use std::net::IpAddr;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let cfg = &cx.loaded.config;
    if cfg.vrrp_instances.is_empty() {
        // An LVS-only config: the VIP is managed elsewhere (or nowhere); one note per file.
        if let Some(vs) = cfg.virtual_servers.iter().find(|v| !v.addresses.is_empty()) {
            out.push(
                Finding::new(
                    "LB024",
                    format!("virtual_server {}", vs.key),
                    "this config balances virtual addresses but has no vrrp_instance: nothing here moves them to another director on failure".to_string(),
                )
                .severity(crate::finding::Severity::Info)
                .at(at(&vs.span, "virtual_server".len()))
                .fix_text("hold each VIP in a vrrp_instance's virtual_ipaddress, or make sure another tool fails it over"),
            );
        }
        return;
    }
    let held: Vec<IpAddr> = cfg.vrrp_vips();
    for vs in &cfg.virtual_servers {
        let mut missing: Vec<IpAddr> = vs
            .addresses
            .iter()
            .map(|a| a.0)
            .filter(|ip| !held.contains(ip))
            .collect();
        missing.dedup();
        if missing.is_empty() {
            continue;
        }
        let list: Vec<String> = missing.iter().map(IpAddr::to_string).collect();
        out.push(
            Finding::new(
                "LB024",
                format!("virtual_server {}", vs.key),
                format!(
                    "{} {} balanced here but held by no vrrp_instance in this config: when this director fails, VRRP moves the other VIPs and not {}",
                    list.join(", "),
                    if missing.len() == 1 { "is" } else { "are" },
                    if missing.len() == 1 { "this one" } else { "these" }
                ),
            )
            .at(at(&vs.span, "virtual_server".len()))
            .evidence_lines(cfg.vrrp_instances.iter().map(|v| {
                let vips: Vec<&str> = v.vips.iter().map(|x| x.0.as_str()).collect();
                format!("vrrp_instance {} holds {}", v.name, if vips.is_empty() { "nothing".to_string() } else { vips.join(", ") })
            }))
            .fix_text(format!("add {} to a vrrp_instance's virtual_ipaddress block", list.join(", "))),
        );
    }
}
