//! ST015: a real server of keepalived.conf is not in the kernel's table.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        for er in &es.real_servers {
            let present = ks
                .real_servers
                .iter()
                .any(|r| r.addr.ip() == er.ip && port_matches(er.port, r.addr.port()));
            if present {
                continue;
            }
            let name = match er.port {
                Some(p) => std::net::SocketAddr::new(er.ip, p).to_string(),
                None => er.ip.to_string(),
            };
            let msg = format!(
                "keepalived.conf lists real server {name} for {key} ({}), but the kernel's service has no such real server. keepalived removes a real server whose health check fails (unless inhibit_on_failure is set, which keeps it with weight 0){}; otherwise keepalived was not reloaded after it was added.",
                er.at,
                if er.checkers.is_empty() {
                    String::new()
                } else {
                    format!(": its check is {}", er.checkers.join(", "))
                }
            );
            let msg = match input.state.sysctl("expire_nodest_conn") {
                Some(0) => format!("{msg} net.ipv4.vs.expire_nodest_conn is 0 on this director: packets of connections that were open to it are dropped silently until their entries expire (clients hang)."),
                _ => msg,
            };
            let f = Finding::new("ST015", key.to_string(), msg)
                .evidence(format!(
                    "kernel real servers: {}",
                    if ks.real_servers.is_empty() {
                        "none".to_string()
                    } else {
                        ks.real_servers
                            .iter()
                            .map(|r| r.addr.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ))
                .fix_text(format!(
                    "Look for the health check of {name} in keepalived's log (`journalctl -u keepalived | grep {}`) and make the check pass; reload keepalived if the server was added recently.",
                    er.ip
                ));
            out.push(f.at(conf_loc(&er.at)));
        }
    }
}
