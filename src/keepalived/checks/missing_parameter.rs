//! LB038: a keyword alone on its line whose handler reads a parameter unconditionally.
//! keepalived's strvec_slot() then calls null_strvec() (lib/parser.c, since 1.3.0), which
//! logs "*** Configuration line starting `KW` is missing a parameter ..." and exits with
//! KEEPALIVED_EXIT_CONFIG: keepalived does not start. Which keywords do that is measured,
//! not guessed: src/keepalived/required_args.json, written by
//! scripts/gen-keepalived-required-args.py from keepalived -t runs.

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::finding_at;
use crate::keepalived::keywords;
use crate::keepalived::parser::NodeKind;
use std::collections::HashSet;
use std::sync::OnceLock;

#[derive(serde::Deserialize)]
struct Raw {
    source: String,
    required: Vec<String>,
}

/// The measurement's source, the "block.keyword" entries, and the bare keyword names (a
/// cheap first filter: a large config has 100,000 `inhibit_on_failure` lines alone).
type Table = (String, HashSet<String>, HashSet<String>);

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let raw: Raw = serde_json::from_str(include_str!("../required_args.json"))
            .expect("embedded required_args.json is valid");
        let names = raw
            .required
            .iter()
            .map(|k| k.rsplit('.').next().unwrap_or(k).to_string())
            .collect();
        (raw.source, raw.required.into_iter().collect(), names)
    })
}

/// Does `keyword` in the block at `path` need a parameter?
pub fn required(path: &str, keyword: &str) -> bool {
    let key = if path.is_empty() {
        keyword.to_string()
    } else {
        format!("{path}.{keyword}")
    };
    table().1.contains(&key)
}

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    let kws = keywords::table();
    for (i, n) in doc.nodes.iter().enumerate() {
        if n.ntok != 1 || n.kind != NodeKind::Plain {
            continue;
        }
        let kw = doc.kw(i);
        if !table().2.contains(kw) {
            continue;
        }
        let path = &kws.block(n.parent_block).path;
        if !required(path, kw) {
            continue;
        }
        out.push(
            finding_at(
                doc,
                "LB038",
                i,
                &format!("`{kw}`"),
                format!(
                    "`{kw}` needs a value: keepalived stops at this line and exits without starting (\"*** Configuration line starting `{kw}` is missing a parameter after keyword `{kw}` at word position 2\"); measured with {}",
                    table().0.split(':').next().unwrap_or("keepalived")
                ),
            )
            .fix_text(format!("give `{kw}` its value, or delete the line")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measured_table_has_the_issue_cases() {
        assert!(required("vrrp_instance", "lvs_sync_daemon_interface"));
        assert!(required("virtual_server", "lb_algo"));
        assert!(required("vrrp_instance", "state"));
        // keepalived defaults these when they stand alone
        assert!(!required("virtual_server", "persistence_timeout"));
        assert!(!required("vrrp_instance", "nopreempt"));
    }
}
