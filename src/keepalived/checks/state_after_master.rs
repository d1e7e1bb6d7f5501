//! LB033: a second `state` after `state MASTER` is ignored ("state previously set as
//! MASTER - ignoring"), unlike every other keyword where the last line wins.

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::finding_line;
use crate::keepalived::parser::NodeKind;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    for r in doc.roots() {
        if !matches!(doc.nodes[r].kind, NodeKind::Block(_)) || doc.kw(r) != "vrrp_instance" {
            continue;
        }
        let mut master_at = None;
        for c in doc.children(r) {
            if doc.kw(c) != "state" {
                continue;
            }
            match (&master_at, doc.arg(c, 0)) {
                (None, Some("MASTER")) => master_at = Some(crate::keepalived::node_ref(doc, c)),
                (Some(m), Some(v)) => out.push(
                    finding_line(
                        doc,
                        "LB033",
                        c,
                        &format!("vrrp_instance {}", doc.arg(r, 0).unwrap_or("")),
                        format!("`state {v}` is ignored: `state MASTER` ({m}) came first and keepalived keeps it (\"state previously set as MASTER - ignoring {v}\"), unlike other keywords where the later line wins"),
                    )
                    .fix_text("keep one `state` line"),
                ),
                _ => {}
            }
        }
    }
}
