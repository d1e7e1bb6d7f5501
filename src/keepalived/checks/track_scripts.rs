//! LB044: a vrrp_script no track_script uses (vrrp.c: "Warning - script chk is not used",
//! and keepalived frees it unrun), and a track_script naming a vrrp_script that does not
//! exist (vrrp_track.c: "(VI_1) track script chk not found, ignoring..."): the instance is
//! not tracked by it, so the failover the script was meant to cause never happens.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::parser::NodeKind;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    let cfg = &cx.loaded.config;
    // track_script entries of vrrp_instance and vrrp_sync_group blocks: (name, node)
    let mut uses: Vec<(&str, usize, String)> = Vec::new();
    for r in doc.roots() {
        let owner = doc.kw(r);
        if !matches!(owner, "vrrp_instance" | "vrrp_sync_group") {
            continue;
        }
        for c in doc.children(r) {
            if doc.kw(c) != "track_script" || doc.nodes[c].kind != NodeKind::Value {
                continue;
            }
            for e in doc.children(c) {
                uses.push((doc.kw(e), e, doc.words(r).join(" ")));
            }
        }
    }
    // a vrrp_script without a `script` line is removed ("No script set for vrrp_script X -
    // removing"), so tracking it finds nothing
    let mut scriptless: Vec<&str> = Vec::new();
    for r in doc.roots() {
        if doc.kw(r) != "vrrp_script" || !matches!(doc.nodes[r].kind, NodeKind::Block(_)) {
            continue;
        }
        let has_script = doc
            .children(r)
            .any(|c| doc.kw(c) == "script" && doc.nargs(c) > 0);
        if let (false, Some(name)) = (has_script, doc.arg(r, 0)) {
            scriptless.push(name);
            out.push(
                crate::keepalived::finding_at(
                    doc,
                    "LB044",
                    r,
                    &format!("vrrp_script {name}"),
                    format!("vrrp_script {name} has no `script` line: keepalived removes it (\"No script set for vrrp_script {name} - removing\"), and every track_script naming it is ignored"),
                )
                .fix_text("add `script \"/path/to/check\"` to the block"),
            );
        }
    }
    for (name, n, owner) in &uses {
        if cfg.vrrp_scripts.iter().any(|(s, _)| s == name) && !scriptless.contains(name) {
            continue;
        }
        let known: Vec<&str> = cfg.vrrp_scripts.iter().map(|(s, _)| s.as_str()).collect();
        let mut msg = format!(
            "{owner} tracks `{name}`, but no vrrp_script of that name exists: keepalived ignores the entry (\"track script {name} not found, ignoring...\"), so this instance does not react to it"
        );
        if !known.is_empty() {
            msg.push_str(&format!("; defined scripts: {}", known.join(", ")));
        }
        out.push(
            crate::keepalived::finding_at(doc, "LB044", *n, owner, msg)
                .fix_text("use the name of a `vrrp_script NAME { ... }` block, or define it"),
        );
    }
    for (name, span) in &cfg.vrrp_scripts {
        if uses.iter().any(|(u, _, _)| u == name) || scriptless.contains(&name.as_str()) {
            continue;
        }
        out.push(
            Finding::new(
                "LB044",
                format!("vrrp_script {name}"),
                format!("vrrp_script {name} is defined but no track_script uses it: keepalived removes it without running it (\"Warning - script {name} is not used\"), so whatever it was meant to detect changes nothing"),
            )
            .at(at(span, "vrrp_script".len()))
            .fix_text(format!("add `{name}` to the track_script block of the vrrp_instance it should steer, or delete the vrrp_script")),
        );
    }
}
