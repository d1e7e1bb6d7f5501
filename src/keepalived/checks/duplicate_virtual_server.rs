//! LB021: two virtual_server blocks for the same service (address:port and protocol, or
//! the same fwmark/group): IPVS has one service, and the second block's real servers and
//! scheduler fight the first's.

use super::{at, line_ref, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let vss = &cx.loaded.config.virtual_servers;
    for (i, vs) in vss.iter().enumerate() {
        let proto = vs.effective_protocol();
        for prev in &vss[..i] {
            if prev.effective_protocol() != proto {
                continue;
            }
            let same = match (&vs.key, &prev.key) {
                (VsKey::Group(_), _) | (_, VsKey::Group(_)) => {
                    vs.key == prev.key
                        || vs.addresses.iter().any(|a| prev.addresses.contains(a))
                        || vs.fwmarks.iter().any(|m| prev.fwmarks.contains(m))
                }
                _ => vs.key == prev.key,
            };
            if !same {
                continue;
            }
            out.push(
                Finding::new(
                    "LB021",
                    format!("virtual_server {}", vs.key),
                    format!(
                        "virtual_server {} ({}) is the same IPVS service as virtual_server {} at {}; both blocks configure one kernel service, so their schedulers and real servers overwrite each other",
                        vs.key,
                        proto.unwrap_or("fwmark"),
                        prev.key,
                        line_ref(&prev.span, &vs.span)
                    ),
                )
                .at(at(&vs.span, "virtual_server".len()))
                .fix_text("merge the two blocks into one"),
            );
            break;
        }
    }
}
