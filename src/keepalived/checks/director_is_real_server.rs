//! LB025: a real server that is an address of the director itself (given with
//! --director-addr, or known from the config: a VIP, unicast_src_ip). With one OS per box
//! the director answers before IPVS, or packets ping-pong between two directors that each
//! list the other as a real server.

use super::{at, Ctx};
use crate::finding::Finding;
use std::net::IpAddr;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let cfg = &cx.loaded.config;
    let mut own: Vec<(IpAddr, String)> = cx
        .opts
        .director_addrs
        .iter()
        .map(|a| (*a, "given with --director-addr".to_string()))
        .collect();
    for v in &cfg.vrrp_instances {
        if let Some(src) = v.unicast_src_ip {
            own.push((src, format!("unicast_src_ip of vrrp_instance {}", v.name)));
        }
        for ip in v.vip_addrs() {
            own.push((ip, format!("a VIP of vrrp_instance {}", v.name)));
        }
    }
    for vs in &cfg.virtual_servers {
        for rs in &vs.real_servers {
            let Some((_, why)) = own.iter().find(|(a, _)| *a == rs.ip) else {
                continue;
            };
            out.push(
                Finding::new(
                    "LB025",
                    format!("virtual_server {}", vs.key),
                    format!(
                        "real_server {} is the director itself ({why}): when IPVS picks it, the local service answers outside IPVS, and with two such directors listing each other packets ping-pong between them with the VIP as both source and destination",
                        rs.ip
                    ),
                )
                .at(at(&rs.span, "real_server".len()))
                .fix_text("run the real servers on other hosts, or if the directors must also serve, set net.ipv4.vs.backup_only=1 on both and mark director traffic so the backup does not re-balance it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_with;

    #[test]
    fn director_addr() {
        let text = "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.5 80 {\n }\n real_server 10.0.0.6 80 {\n }\n}\n";
        let f = lint_with(text, "LB025", &["10.0.0.5".parse().unwrap()]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 2);
        assert!(lint_with(text, "LB025", &[]).is_empty());
    }
}
