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

/// Above this many virtual servers the advice is given once, listing them.
const PER_VS_MAX: usize = 5;

struct Blind<'a> {
    vs: &'a crate::keepalived::model::VirtualServer,
    span: crate::keepalived::model::Span,
    len: usize,
    method: &'a str,
}

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let mut found: Vec<Blind> = Vec::new();
    for vs in &cx.loaded.config.virtual_servers {
        let method = vs.effective_method();
        if !matches!(method, "DR" | "TUN") {
            continue;
        }
        let blind = vs
            .real_servers
            .iter()
            .flat_map(|rs| rs.checkers.iter())
            .find(|c| {
                NETWORK_CHECKS.contains(&c.kind.as_str())
                    && !c
                        .connect_ip
                        .is_some_and(|ip| vs.addresses.iter().any(|a| a.0 == ip))
            });
        if let Some(c) = blind {
            found.push(Blind {
                vs,
                span: c.span.clone(),
                len: c.kind.len(),
                method,
            });
        }
    }
    let many = found.len() > PER_VS_MAX;
    for b in found.iter().take(if many { 1 } else { found.len() }) {
        let vs = b.vs;
        let mut evidence: Vec<String> = Vec::new();
        for rs in &vs.real_servers {
            for c in rs
                .checkers
                .iter()
                .filter(|c| NETWORK_CHECKS.contains(&c.kind.as_str()))
            {
                if evidence.len() == 8 {
                    evidence.push("...".into());
                }
                if evidence.len() < 8 {
                    evidence.push(format!(
                        "{} tests {}:{}",
                        c.kind,
                        c.connect_ip.unwrap_or(rs.ip),
                        c.connect_port
                            .or(rs.port)
                            .map_or("(vs port)".to_string(), |p| p.to_string())
                    ));
                }
            }
        }
        let mut msg = format!(
            "in {} the health checks connect to each real server's own address, never through the VIP, so a real server missing the VIP setup (VIP on lo or an iptables REDIRECT, arp_ignore=1, arp_announce=2, rp_filter) passes them while it drops every balanced request",
            b.method
        );
        if many {
            msg.push_str(&format!(
                "; the same holds for {} more virtual servers in DR/TUN in this file",
                found.len() - 1
            ));
            evidence.extend(
                found[1..]
                    .iter()
                    .take(10)
                    .map(|o| format!("virtual_server {} at line {}", o.vs.key, o.vs.span.line)),
            );
            if found.len() > 11 {
                evidence.push(format!("... and {} more", found.len() - 11));
            }
        }
        let hosts: Vec<String> = vs
            .real_servers
            .iter()
            .take(10)
            .map(|r| r.ip.to_string())
            .collect();
        out.push(
            Finding::new("LB015", format!("virtual_server {}", vs.key), msg)
                .at(at(&b.span, b.len))
                .evidence_lines(evidence)
                .fix_text("audit the real servers' VIP setup, which the health check cannot see")
                .fix_command(format!("lbdoctor audit --host {}", hosts.join(" --host "))),
        );
        if let Some(f) = out.last_mut() {
            add_misc_check(f, vs);
        }
    }
}

/// In DR, `lbdoctor check` tests the path the health checks miss: add it to the fix, as a
/// command to run now and as the MISC_CHECK block to paste into each real_server. (TUN
/// reaches real servers through IPIP, which check does not send.)
fn add_misc_check(f: &mut Finding, vs: &crate::keepalived::model::VirtualServer) {
    let (Some((std::net::IpAddr::V4(vip), port)), Some(rs)) =
        (vs.addresses.first(), vs.real_servers.first())
    else {
        return;
    };
    if vs.effective_method() != "DR" {
        return;
    }
    let Some(fix) = f.fix.as_mut() else { return };
    fix.text.push_str(&format!(
        "; and make the VIP path each real server's health check, `lbdoctor check` as a MISC_CHECK in every real_server (its own address after --rs; leave misc_dynamic off, or exit status 2 would set weight 0 instead of marking the server down):\n    MISC_CHECK {{\n        misc_path \"/usr/local/bin/lbdoctor check {vip}:{port} --rs {} --timeout 0.5 -q\"\n        misc_timeout 2\n    }}",
        rs.ip
    ));
    let all: Vec<String> = vs
        .real_servers
        .iter()
        .take(10)
        .map(|r| r.ip.to_string())
        .collect();
    fix.commands.push(format!(
        "lbdoctor check {vip}:{port} --rs {}   # the VIP path, as the director forwards",
        all.join(" --rs ")
    ));
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn dr_fix_shows_the_misc_check_block_and_tun_does_not() {
        let conf = |m: &str| {
            format!("virtual_server 10.0.0.20 80 {{\n lvs_method {m}\n protocol TCP\n real_server 10.0.0.11 80 {{\n  TCP_CHECK {{\n  }}\n }}\n real_server 10.0.0.12 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n")
        };
        let f = lint_str(&conf("DR"), "LB015");
        let fix = f[0].fix.as_ref().unwrap();
        assert!(fix.text.contains("MISC_CHECK {\n        misc_path \"/usr/local/bin/lbdoctor check 10.0.0.20:80 --rs 10.0.0.11 --timeout 0.5 -q\"\n        misc_timeout 2\n    }"), "{}", fix.text);
        assert!(fix.commands.iter().any(|c| c.starts_with("lbdoctor check 10.0.0.20:80 --rs 10.0.0.11 --rs 10.0.0.12")), "{:?}", fix.commands);
        let f = lint_str(&conf("TUN"), "LB015");
        assert!(!f[0].fix.as_ref().unwrap().text.contains("MISC_CHECK"));
    }

    #[test]
    fn one_finding_per_vs_then_one_for_many() {
        let vs = |i: u32| {
            format!("virtual_server 10.0.0.{i} 80 {{\n lvs_method DR\n protocol TCP\n real_server 10.1.0.{i} 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n")
        };
        let few: String = (1..=3).map(vs).collect();
        assert_eq!(lint_str(&few, "LB015").len(), 3);
        let many: String = (1..=30).map(vs).collect();
        let f = lint_str(&many, "LB015");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("29 more virtual servers"),
            "{}",
            f[0].message
        );
        // a checker aimed at the VIP sees the VIP path
        let aimed = "virtual_server 10.0.0.1 80 {\n lvs_method DR\n real_server 10.1.0.1 80 {\n TCP_CHECK {\n connect_ip 10.0.0.1\n }\n }\n}\n";
        assert!(lint_str(aimed, "LB015").is_empty());
    }
}
