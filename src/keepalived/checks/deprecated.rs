//! LB043: keywords keepalived still accepts but logs as deprecated (the table's deprecated
//! list, from keepalived 2.4.3's handlers), and route options it warns about
//! (vrrp_iproute.c: "\"gw\" for routes is deprecated. Please use \"via\"", "\"or\" for
//! routes is deprecated. Please use \"nexthop\""; vrrp_ipaddress.c: "'default6' is
//! deprecated - please replace with 'inet6 default'"). Each says what replaces it.

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::keywords;
use crate::keepalived::parser::{Document, NodeKind};
use crate::keepalived::{finding_at, finding_line};

/// The replacement for a deprecated keyword, and since when keepalived warns.
fn replacement(kw: &str, canonical: &str) -> String {
    match kw {
        "lvs_sync_daemon_interface" => {
            "`lvs_sync_daemon IFNAME [VRRP_INSTANCE]` in global_defs (deprecated since 1.2.20)"
                .into()
        }
        "nb_get_retry" => "`retry` (deprecated since 2.0)".into(),
        "host" => "one SMTP_CHECK per server, each with its own connect_ip".into(),
        "linkbeat_use_polling" => "a top-level `linkbeat_interfaces` block".into(),
        "global_tracking" => "track_interface/track_script/track_file on the sync group".into(),
        "vrrp_track_file" => "`track_file`".into(),
        "vmac_garp_intvl" => "`garp_extra_if` (deprecated since 2.2.2)".into(),
        "vrrp_vmac_garp_intvl" => "`vrrp_garp_extra_if` (deprecated since 2.2.2)".into(),
        "lvs_process_name" => "`checker_process_name`".into(),
        k if k.ends_with("_rlimit_rtime") => format!("`{}rttime`", &k[..k.len() - 5]),
        _ if canonical != kw => format!("`{canonical}`"),
        _ => "the current keyword (see keepalived.conf(5))".into(),
    }
}

/// Route options keepalived warns about, with their replacement.
const ROUTE_WORDS: &[(&str, &str)] = &[
    ("gw", "via"),
    ("or", "nexthop"),
    ("default6", "inet6 default"),
];

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    let table = keywords::table();
    // a config can have 1.4 million lines: look a keyword up in the table only when its
    // name is deprecated somewhere
    let names = table.deprecated_names();
    for (i, n) in doc.nodes.iter().enumerate() {
        match n.kind {
            NodeKind::Plain | NodeKind::Block(_) => {
                let kw = doc.kw(i);
                if !names.contains(kw) || !table.is_deprecated(n.parent_block, kw) {
                    continue;
                }
                let canon = table.canonical(n.parent_block, kw);
                out.push(
                    finding_at(
                        doc,
                        "LB043",
                        i,
                        kw,
                        format!(
                            "`{kw}` is deprecated: keepalived still reads it and logs a warning; use {} instead",
                            replacement(kw, canon)
                        ),
                    )
                    .fix_text(format!("replace `{kw}` with {}", replacement(kw, canon))),
                );
            }
            NodeKind::Value if matches!(doc.kw(i), "virtual_routes" | "static_routes") => {
                for line in doc.children(i) {
                    route_words(doc, line, doc.kw(i), out);
                }
            }
            _ => {}
        }
    }
}

fn route_words(doc: &Document, i: usize, parent: &str, out: &mut Vec<Finding>) {
    for &(w, new) in ROUTE_WORDS {
        if doc.words(i).contains(&w) {
            out.push(
                finding_line(
                    doc,
                    "LB043",
                    i,
                    parent,
                    format!("`{w}` in a route is deprecated: keepalived still reads it and logs a warning; write `{new}`"),
                )
                .fix_text(format!("replace `{w}` with `{new}`")),
            );
        }
    }
}
