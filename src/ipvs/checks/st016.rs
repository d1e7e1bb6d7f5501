//! ST016: the kernel sends connections to a real server keepalived.conf does not list.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        for rs in &ks.real_servers {
            if expected_real(es, rs).is_some() {
                continue;
            }
            let msg = format!(
                "The kernel's {key} sends connections to {}, which keepalived.conf ({}) does not list. Someone added it by hand (ipvsadm -a), the running keepalived reads another config or was not reloaded after it was removed, or it is the virtual_server's sorry_server (added when every real server is down).",
                rs.addr, es.label
            );
            let f = Finding::new("ST016", key.to_string(), msg)
                .evidence(rs_line(rs))
                .fix_text("Add it to the config if it belongs there; otherwise remove it and reload keepalived.")
                .fix_command(match key {
                    ServiceKey::Addr { proto, addr } => format!(
                        "ipvsadm -d {} {} -r {}",
                        match proto {
                            Proto::Tcp => "-t",
                            Proto::Udp => "-u",
                            Proto::Sctp => "--sctp-service",
                        },
                        addr,
                        rs.addr
                    ),
                    ServiceKey::Fwmark { mark, .. } => format!("ipvsadm -d -f {mark} -r {}", rs.addr),
                });
            out.push(at(f, origin_loc(&rs.origin)));
        }
    }
}
