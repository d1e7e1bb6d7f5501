//! LB026: nopreempt with state MASTER: keepalived (2.0+) clears nopreempt, so the instance
//! preempts after all and takes the VIP back as soon as it returns.

use super::{at, Ctx};
use crate::finding::Finding;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for v in &cx.loaded.config.vrrp_instances {
        let (Some(np), "MASTER") = (&v.nopreempt_span, v.effective_state()) else {
            continue;
        };
        if !v.nopreempt {
            continue;
        }
        let state_line = v.state.as_ref().map_or("priority 255".to_string(), |s| {
            crate::keepalived::span_ref(&cx.loaded.doc, &s.span)
        });
        out.push(
            Finding::new(
                "LB026",
                format!("vrrp_instance {}", v.name),
                format!(
                    "nopreempt with initial state MASTER ({state_line}): keepalived clears nopreempt (\"nopreempt will not work with initial state MASTER - clearing\"), so this node takes the VIP back whenever it returns, interrupting connections twice"
                ),
            )
            .at(at(np, "nopreempt".len()))
            .fix_text("set `state BACKUP` on every node and use priorities; nopreempt only works when no node starts as MASTER"),
        );
    }
}
