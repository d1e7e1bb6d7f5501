//! LB036: an address virtual_server without `protocol`: keepalived creates a UDP service
//! ("no protocol set - defaulting to UDP"), so TCP clients are not balanced at all.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        if vs.protocol.is_some()
            || matches!(vs.key, VsKey::Fwmark(_))
            || (vs.addresses.is_empty() && matches!(vs.key, VsKey::Group(_)))
        {
            continue;
        }
        out.push(
            Finding::new(
                "LB036",
                format!("virtual_server {}", vs.key),
                "no `protocol`: keepalived creates a UDP service for this address, so TCP connections to it are not balanced".to_string(),
            )
            .at(at(&vs.span, "virtual_server".len()))
            .fix_text("add `protocol TCP` (or UDP/SCTP) to the virtual_server block"),
        );
    }
}
