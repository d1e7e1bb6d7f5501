//! LB012: scheduler flags that do nothing (sh-*/mh-* with another scheduler, ops without
//! UDP, hashed). LB013: sh-*/mh-* written before the lvs_sched line: keepalived checks the
//! scheduler when it reads the flag, so the flag is dropped even though the final scheduler
//! matches.

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::effective::SCHEDULERS;
use crate::keepalived::keywords;
use crate::keepalived::parser::NodeKind;
use crate::keepalived::{finding_at, finding_line};

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    let table = keywords::table();
    let mut vs_iter = cx.loaded.config.virtual_servers.iter();
    for r in doc.roots() {
        let NodeKind::Block(block) = doc.nodes[r].kind else {
            continue;
        };
        if doc.kw(r) != "virtual_server" {
            continue;
        }
        let vs = match vs_iter.next() {
            Some(v) if v.span.line == doc.nodes[r].line => v,
            _ => continue,
        };
        let subject = format!("virtual_server {}", vs.key);
        let final_sched = vs.effective_scheduler().to_string();
        let mut sched_now: Option<String> = None;
        for c in doc.children(r) {
            let kw = doc.kw(c);
            let canon = table.canonical(block, kw);
            if canon == "lvs_sched" {
                if let Some(v) = doc.arg(c, 0).filter(|v| SCHEDULERS.contains(v)) {
                    sched_now = Some(v.to_string());
                }
                continue;
            }
            match kw {
                "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => {
                    let want = &kw[..2];
                    if sched_now.as_deref() == Some(want) {
                        continue;
                    }
                    if final_sched == want {
                        let at_line = vs.scheduler.as_ref().map_or(0, |s| s.span.line);
                        out.push(
                            finding_at(
                                doc,
                                "LB013",
                                c,
                                &subject,
                                format!(
                                    "`{kw}` comes before the `lvs_sched {want}` line ({at_line}); keepalived checks the scheduler when it reads the flag, finds {} and drops it (\"{kw} only applies to sh scheduler - ignoring\")",
                                    sched_now.as_deref().map_or("none yet".to_string(), |s| format!("`{s}`"))
                                ),
                            )
                            .fix_text(format!("move `{kw}` below the `lvs_sched {want}` line")),
                        );
                    } else {
                        out.push(
                            finding_at(
                                doc,
                                "LB012",
                                c,
                                &subject,
                                format!("`{kw}` only applies to the {want} scheduler, but this virtual_server uses {final_sched}; keepalived ignores it"),
                            )
                            .fix_text(format!("remove `{kw}`, or switch to `lvs_sched {want}` if you meant a hashing scheduler")),
                        );
                    }
                }
                "ops" if vs.effective_protocol().is_some_and(|p| p != "UDP") => {
                        out.push(
                            finding_line(
                                doc,
                                "LB012",
                                c,
                                &subject,
                                format!(
                                    "`ops` (one-packet scheduling) needs UDP but this virtual_server is {}; keepalived resets it (\"one packet scheduling requires UDP - resetting\")",
                                    vs.effective_protocol().unwrap_or("UDP")
                                ),
                            )
                            .fix_text("remove `ops`"),
                        );
                }
                "hashed" => out.push(
                    finding_line(
                        doc,
                        "LB012",
                        c,
                        &subject,
                        "`hashed` has done nothing since keepalived 2.1 (commit 22b81182); it only produces \"hashed only applies to sh scheduler\"".to_string(),
                    )
                    .fix_text("remove `hashed`; use `sh-port`/`sh-fallback` after `lvs_sched sh` for hashing options"),
                ),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn flag_before_scheduler_is_dropped() {
        let f = lint_str("virtual_server 10.0.0.1 80 {\n sh-port\n lvs_sched sh\n sh-fallback\n protocol TCP\n}\n", "LB013");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 2);
        let f = lint_str(
            "virtual_server 10.0.0.1 80 {\n lvs_sched rr\n mh-port\n ops\n protocol TCP\n}\n",
            "LB012",
        );
        assert_eq!(f.len(), 2);
    }
}
