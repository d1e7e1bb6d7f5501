//! LB016: a real_server without any checker is never taken out of the pool.

use super::{at, Ctx};
use crate::finding::Finding;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        for rs in &vs.real_servers {
            if !rs.checkers.is_empty() {
                continue;
            }
            out.push(
                Finding::new(
                    "LB016",
                    format!("virtual_server {}", vs.key),
                    format!(
                        "real_server {} has no health checker, so keepalived always considers it up and keeps sending it clients when it fails",
                        rs.ip
                    ),
                )
                .at(at(&rs.span, "real_server".len()))
                .fix_text("add a checker (TCP_CHECK, HTTP_GET, ...) to the real_server block"),
            );
        }
    }
}
