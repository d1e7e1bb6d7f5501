//! LB020: the same real server twice in one virtual server: keepalived removes the second
//! ("real server ... is duplicated - removing second rs"), with its checkers and weight.

use super::{at, line_ref, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        let vport = match vs.key {
            VsKey::Addr { port, .. } => Some(port),
            _ => None,
        };
        for (i, rs) in vs.real_servers.iter().enumerate() {
            let port = rs.port.or(vport);
            if let Some(prev) = vs.real_servers[..i]
                .iter()
                .find(|p| p.ip == rs.ip && p.port.or(vport) == port)
            {
                out.push(
                    Finding::new(
                        "LB020",
                        format!("virtual_server {}", vs.key),
                        format!(
                            "real_server {}{} is listed twice (first at {}); keepalived removes this second one with its checkers and weight",
                            rs.ip,
                            port.map_or(String::new(), |p| format!(":{p}")),
                            line_ref(&prev.span, &rs.span)
                        ),
                    )
                    .at(at(&rs.span, "real_server".len()))
                    .fix_text("delete one of the two real_server blocks, keeping the settings you mean"),
                );
            }
        }
    }
}
