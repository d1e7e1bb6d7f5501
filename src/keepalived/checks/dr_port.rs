//! LB014: in DR and TUN the kernel ignores the real server's port (packets keep the
//! virtual port), so a different port is a remap that cannot happen. keepalived rewrites
//! the port for address VSs and keeps it, unchanged and misleading, for group VSs.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        let subject = format!("virtual_server {}", vs.key);
        let vs_ports: Vec<u16> = match &vs.key {
            VsKey::Addr { port, .. } => vec![*port],
            VsKey::Group(_) => {
                let mut p: Vec<u16> = vs.addresses.iter().map(|a| a.1).collect();
                p.sort_unstable();
                p.dedup();
                p
            }
            VsKey::Fwmark(_) => vec![],
        };
        for rs in &vs.real_servers {
            let method = rs
                .method
                .as_ref()
                .map_or(vs.effective_method(), |m| m.value.as_str());
            if !matches!(method, "DR" | "TUN") {
                continue;
            }
            let Some(rport) = rs.port else { continue };
            let len = "real_server".len();
            if let VsKey::Fwmark(_) = vs.key {
                if rport != 0 {
                    out.push(
                        Finding::new(
                            "LB014",
                            subject.clone(),
                            format!("real_server {} has port {rport}, but a fwmark virtual_server in {method} forwards packets with their original port; keepalived clears it (\"fwmark virtual server ..., real server ... has port specified - clearing\")", rs.ip),
                        )
                        .at(at(&rs.span, len))
                        .fix_text("drop the port from the real_server line"),
                    );
                }
                continue;
            }
            if vs_ports.is_empty() || vs_ports.contains(&rport) {
                continue;
            }
            let vp = vs_ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join("/");
            let consequence = match vs.key {
                VsKey::Addr { .. } => format!("keepalived resets it to {vp} (\"ports don't match - resetting\"), so the service must listen on {vp} on the real server"),
                _ => format!("keepalived keeps the written port without a warning prefix, but the kernel still delivers to port {vp}"),
            };
            out.push(
                Finding::new(
                    "LB014",
                    subject.clone(),
                    format!(
                        "real_server {}:{rport} in {method} cannot receive on a different port than the virtual server ({vp}): {method} only rewrites the MAC{}; {consequence}",
                        rs.ip,
                        if method == "TUN" { " (or encapsulates)" } else { "" }
                    ),
                )
                .at(at(&rs.span, len))
                .fix_text(format!("use port {vp} on the real_server line and make the service listen there, or use lvs_method NAT if you need a port remap")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn dr_port_remap() {
        let f = lint_str("virtual_server 10.0.0.1 80 {\n lvs_method DR\n protocol TCP\n real_server 10.0.0.2 8080 {\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n TCP_CHECK {\n }\n }\n}\n", "LB014");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 4);
        let f = lint_str(
            "virtual_server 10.0.0.1 80 {\n lvs_method NAT\n real_server 10.0.0.2 8080 {\n }\n}\n",
            "LB014",
        );
        assert!(f.is_empty());
    }
}
