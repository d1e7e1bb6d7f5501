//! LB018: MISC_CHECK without misc_timeout: keepalived then waits up to the whole
//! delay_loop for the script, so a hung script stalls the check for a full interval.

use super::{at, Ctx};
use crate::finding::Finding;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        for rs in &vs.real_servers {
            for c in rs.checkers.iter().filter(|c| c.kind == "MISC_CHECK") {
                if c.misc_timeout.is_some() {
                    continue;
                }
                let dl = c
                    .delay_loop
                    .as_deref()
                    .or(rs.delay_loop.as_deref())
                    .or(vs.delay_loop.as_ref())
                    .map_or(60.0, |s| s.value);
                out.push(
                    Finding::new(
                        "LB018",
                        format!("virtual_server {}", vs.key),
                        format!(
                            "MISC_CHECK of real_server {} has no misc_timeout, so keepalived lets the script run for the whole delay_loop ({dl}s) before it counts as failed; a hung script leaves the server in the pool that long",
                            rs.ip
                        ),
                    )
                    .at(at(&c.span, c.kind.len()))
                    .fix_text("add `misc_timeout N` (seconds, well below delay_loop) to the MISC_CHECK block"),
                );
            }
        }
    }
}
