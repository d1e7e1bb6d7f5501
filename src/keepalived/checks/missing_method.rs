//! LB035: a virtual_server without lvs_method/lb_kind: keepalived uses NAT ("no forwarding
//! method set, setting default NAT"), while ipvsadm's default, which people expect, is DR.

use super::{at, Ctx};
use crate::finding::Finding;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        if vs.method.is_some()
            || (!vs.real_servers.is_empty() && vs.real_servers.iter().all(|r| r.method.is_some()))
        {
            continue;
        }
        out.push(
            Finding::new(
                "LB035",
                format!("virtual_server {}", vs.key),
                "no lvs_method (or lb_kind): keepalived forwards with NAT, not DR as ipvsadm does by default; in a DR setup the real servers then get packets addressed to themselves and reply from the wrong address".to_string(),
            )
            .at(at(&vs.span, "virtual_server".len()))
            .fix_text("state the method: `lvs_method DR` (or NAT/TUN)"),
        );
    }
}
