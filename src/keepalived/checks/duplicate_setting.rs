//! LB001: one field set by several lines of one block (a keyword twice, or two aliases such
//! as lvs_sched/lb_algo). keepalived runs each line's handler in order, so the last valid
//! line wins; notify/quorum scripts are the exception (the first wins).

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::effective::{FIRST_WINS, SCHEDULERS};
use crate::keepalived::keywords::{self, BlockId};
use crate::keepalived::parser::{Document, NodeKind, FLAG_DISPLACED};
use crate::keepalived::{finding_line, node_ref, Loaded};

/// Keywords that accumulate rather than overwrite, and the first-wins settings LB042
/// follows across blocks.
const REPEATABLE: &[&str] = &[
    "status_code",
    "interface",
    "regex",
    "digest",
    "lvs_sync_daemon",
    "lvs_sync_daemon_interface",
];

/// Keywords that write the same field without sharing a handler.
fn field_of(canon: &str) -> &str {
    match canon {
        "preempt" | "nopreempt" => "preempt",
        "accept" | "no_accept" => "accept",
        other => other,
    }
}

/// What a field means, for the message.
fn describe(field: &str) -> &str {
    match field {
        "lvs_sched" => "the scheduler",
        "lvs_method" => "the forwarding method",
        "preempt" => "preemption",
        "accept" => "accept mode",
        _ => "the same setting",
    }
}

/// Lines keepalived rejects do not win (LB010 reports them).
fn accepted(doc: &Document, n: usize, field: &str) -> bool {
    match (field, doc.arg(n, 0)) {
        ("lvs_sched", Some(v)) => SCHEDULERS.contains(&v),
        ("lvs_method", Some(v)) => matches!(v, "NAT" | "DR" | "TUN"),
        _ => true,
    }
}

fn subject(doc: &Document, block_node: Option<usize>) -> String {
    match block_node {
        Some(b) => doc.words(b).join(" "),
        None => "top level".to_string(),
    }
}

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    let table = keywords::table();
    // (field, node) of one block's keyword lines, reused across blocks
    let mut buf: Vec<(&str, usize)> = Vec::new();
    let owners =
        std::iter::once((None, BlockId::ROOT)).chain(doc.nodes.iter().enumerate().filter_map(
            |(i, n)| match n.kind {
                NodeKind::Block(b) => Some((Some(i), b)),
                _ => None,
            },
        ));
    for (owner, block) in owners {
        buf.clear();
        let children = match owner {
            Some(b) => doc.children(b),
            None => doc.roots(),
        };
        for c in children {
            let node = &doc.nodes[c];
            if node.kind != NodeKind::Plain || node.flags & FLAG_DISPLACED != 0 {
                continue;
            }
            let kw = doc.kw(c);
            if REPEATABLE.contains(&kw) {
                continue;
            }
            let field = field_of(table.canonical(block, kw));
            if accepted(doc, c, field) {
                buf.push((field, c));
            }
        }
        if buf.len() < 2 {
            continue;
        }
        buf.sort_unstable();
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for w in buf.chunk_by(|a, b| a.0 == b.0) {
            if w.len() > 1 {
                groups.push((w[0].0, w.iter().map(|x| x.1).collect()));
            }
        }
        groups.sort_by_key(|(_, v)| v[0]);
        for (field, lines) in groups {
            report(cx.loaded, owner, field, &lines, out);
        }
    }
}

fn report(
    loaded: &Loaded,
    owner: Option<usize>,
    field: &str,
    lines: &[usize],
    out: &mut Vec<Finding>,
) {
    let doc = &loaded.doc;
    let subj = subject(doc, owner);
    let text = |n: usize| doc.words(n).join(" ");
    let line = |n: usize| doc.nodes[n].line;
    if field == "state" {
        // `state` after MASTER is ignored: LB033 reports that case
        if doc.arg(lines[0], 0) == Some("MASTER") {
            return;
        }
    }
    let first_wins = FIRST_WINS.contains(&field);
    let (winner, losers): (usize, Vec<usize>) = if first_wins {
        (lines[0], lines[1..].to_vec())
    } else {
        (
            *lines.last().expect("two lines"),
            lines[..lines.len() - 1].to_vec(),
        )
    };
    let same_kw = lines.iter().all(|&n| doc.kw(n) == doc.kw(lines[0]));
    let what = if same_kw {
        format!(
            "`{}` is set {} times in this block",
            doc.kw(lines[0]),
            lines.len()
        )
    } else {
        let kws: Vec<String> = lines.iter().map(|&n| format!("`{}`", doc.kw(n))).collect();
        let all = if kws.len() == 2 { "both" } else { "all" };
        format!("{} {all} set {}", kws.join(" and "), describe(field))
    };
    let effective = match doc.arg(winner, 0) {
        Some(_) => {
            let v: Vec<&str> = doc.args(winner).collect();
            format!("`{}`", v.join(" "))
        }
        None => format!("`{}`", doc.kw(winner)),
    };
    let msg = if first_wins {
        format!(
            "{what}; keepalived keeps the first, {} ({}), and ignores the others (\"script already specified - ignoring\")",
            text(winner),
            node_ref(doc, winner)
        )
    } else {
        format!(
            "{what}; the later line wins, so keepalived uses {effective} from {} and silently drops {}",
            node_ref(doc, winner),
            losers
                .iter()
                .map(|&n| format!("`{}` ({})", text(n), node_ref(doc, n)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut f = finding_line(doc, "LB001", winner, &subj, msg);
    for &n in lines {
        f = f.evidence(format!(
            "{}:{}: {}{}",
            doc.path(doc.nodes[n].file).display(),
            line(n),
            text(n),
            if n == winner { "   <- effective" } else { "" }
        ));
    }
    f = f.fix_text(format!(
        "keep one line with the value you mean and delete the other{}",
        if losers.len() > 1 { "s" } else { "" }
    ));
    out.push(f);
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn lvs_sched_then_lb_algo() {
        let f = lint_str("virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lvs_method DR\n lb_algo lc\n protocol TCP\n}\n", "LB001");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 4);
        assert!(
            f[0].message.contains("uses `lc` from line 4"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("`lvs_sched rr` (line 2)"));
    }

    #[test]
    fn invalid_later_value_does_not_win_and_repeatables_pass() {
        let f = lint_str(
            "virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lb_algo RR\n}\n",
            "LB001",
        );
        assert!(f.is_empty());
        let f = lint_str("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n HTTP_GET {\n url {\n status_code 200\n status_code 301\n }\n }\n }\n}\n", "LB001");
        assert!(f.is_empty());
    }

    #[test]
    fn first_notify_wins_and_preempt_conflict() {
        let f = lint_str(
            "vrrp_instance V {\n notify_master /a\n notify_master /b\n nopreempt\n preempt\n}\n",
            "LB001",
        );
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("keeps the first"));
        assert_eq!(f[0].location.as_ref().unwrap().line, 2);
        assert!(f[1].message.contains("preemption"));
    }
}
