//! LB015 (info): DR/TUN health checks connect to the real server's own address, so they
//! pass on a real server that lacks the VIP setup (VIP on lo or REDIRECT, arp_ignore,
//! arp_announce, rp_filter) and silently drops every balanced request.

use super::{at, Ctx};
use crate::finding::Finding;

const NETWORK_CHECKS: &[&str] = &[
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "UDP_CHECK",
    "DNS_CHECK",
    "PING_CHECK",
];

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        let method = vs.effective_method();
        if !matches!(method, "DR" | "TUN") {
            continue;
        }
        let vips: Vec<std::net::IpAddr> = vs.addresses.iter().map(|a| a.0).collect();
        let mut blind = Vec::new();
        let mut first = None;
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if !NETWORK_CHECKS.contains(&c.kind.as_str()) {
                    continue;
                }
                if c.connect_ip.is_some_and(|ip| vips.contains(&ip)) {
                    continue;
                }
                first.get_or_insert((c.span.clone(), c.kind.len()));
                blind.push(format!(
                    "{} tests {}:{}",
                    c.kind,
                    c.connect_ip.unwrap_or(rs.ip),
                    c.connect_port
                        .or(rs.port)
                        .map_or("(vs port)".to_string(), |p| p.to_string())
                ));
            }
        }
        let Some((span, len)) = first else { continue };
        let hosts: Vec<String> = vs.real_servers.iter().map(|r| r.ip.to_string()).collect();
        out.push(
            Finding::new(
                "LB015",
                format!("virtual_server {}", vs.key),
                format!(
                    "in {method} the health checks connect to each real server's own address, never through the VIP, so a real server missing the VIP setup (VIP on lo or an iptables REDIRECT, arp_ignore=1, arp_announce=2, rp_filter) passes them while it drops every balanced request"
                ),
            )
            .at(at(&span, len))
            .evidence_lines(blind)
            .fix_text("audit the real servers' VIP setup, which the health check cannot see")
            .fix_command(format!("lbdoctor audit --host {}", hosts.join(" --host "))),
        );
    }
}
