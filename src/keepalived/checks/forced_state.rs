//! LB041: a `state` keepalived overrides itself (vrrp.c vrrp_complete_instance()): MASTER
//! with AH authentication below priority 255 starts as BACKUP; under vrrp_strict the state
//! follows the priority (MASTER exactly when 255). The VRRP table shows the forced state.

use super::{at, Ctx};
use crate::finding::Finding;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for v in &cx.loaded.config.vrrp_instances {
        let (Some(f), Some(st)) = (&v.forced_state, &v.state) else {
            continue;
        };
        out.push(
            Finding::new(
                "LB041",
                format!("vrrp_instance {}", v.name),
                format!(
                    "`state {}` is not the state keepalived uses: {}",
                    st.value, f.reason
                ),
            )
            .at(at(&st.span, "state".len() + 1 + st.value.len()))
            .evidence_lines(v.priority.as_ref().map(|p| {
                format!(
                    "{}:{}: priority {}",
                    p.span.file.display(),
                    p.span.line,
                    p.value
                )
            }))
            .fix_text(format!(
                "write `state {}` so the config says what runs{}",
                f.state,
                if f.state == "BACKUP" {
                    ", and let priorities pick the master"
                } else {
                    ""
                }
            )),
        );
    }
}
