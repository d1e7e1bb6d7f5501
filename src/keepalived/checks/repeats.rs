//! LB042: a setting keepalived keeps from its first line and ignores when given again,
//! across the whole config: the LVS sync daemon interface, set by `lvs_sync_daemon` in
//! global_defs or the deprecated `lvs_sync_daemon_interface` in a vrrp_instance (both write
//! global_data->lvs_syncd; global_parser.c lvs_syncd_handler: "lvs_sync_daemon has already
//! been specified as ... - ignoring", vrrp_parser.c vrrp_lvs_syncd_handler:
//! "lvs_sync_daemon_interface has already been specified as ... - ignoring"; 2.0 to 2.4).

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::finding_line;
use crate::keepalived::parser::NodeKind;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    let mut first: Option<usize> = None;
    let mut visit = |n: usize, out: &mut Vec<Finding>| {
        let kw = doc.kw(n);
        if doc.nodes[n].kind != NodeKind::Plain
            || !matches!(kw, "lvs_sync_daemon" | "lvs_sync_daemon_interface")
            || doc.nargs(n) == 0
        {
            return;
        }
        match first {
            None => first = Some(n),
            Some(f) => {
                let fspan = doc.span(f);
                out.push(
                    finding_line(
                        doc,
                        "LB042",
                        n,
                        kw,
                        format!(
                            "the LVS sync daemon is already set by `{}` at {}:{}; keepalived keeps that one and ignores this line (\"{kw} has already been specified as {} - ignoring\")",
                            doc.words(f).join(" "),
                            fspan.file.display(),
                            fspan.line,
                            doc.arg(f, 0).unwrap_or("")
                        ),
                    )
                    .fix_text("keep one `lvs_sync_daemon IFNAME [VRRP_INSTANCE]` line in global_defs and delete the others"),
                );
            }
        }
    };
    // keepalived reads global_defs and vrrp_instance blocks in file order
    for r in doc.roots() {
        match doc.kw(r) {
            "global_defs" | "vrrp_instance" => {
                for c in doc.children(r) {
                    visit(c, out);
                }
            }
            _ => {}
        }
    }
}
