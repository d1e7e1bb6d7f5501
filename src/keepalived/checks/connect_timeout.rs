//! LB017 (info): a checker whose connect_timeout is not shorter than its delay_loop. A real
//! server that stops answering SYNs is then taken out only after the timeout and its retries
//! (keepalived's defaults: retry 1, delay_before_retry 1 s; check_api.c), each as long as
//! the check interval. keepalived does not overlap checks of one checker (the next one is
//! scheduled when the previous ends), so this is slow detection, not a fault: advice.
//! Values inherit checker > real_server > virtual_server, with keepalived's defaults of 5 s
//! and 60 s.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::span_ref;

const DEFAULT_CONNECT_TIMEOUT: f64 = 5.0;
const DEFAULT_DELAY_LOOP: f64 = 60.0;

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if matches!(c.kind.as_str(), "MISC_CHECK" | "FILE_CHECK" | "BFD_CHECK") {
                    continue;
                }
                let ct = c
                    .connect_timeout
                    .as_deref()
                    .or(rs.connect_timeout.as_deref())
                    .or(vs.connect_timeout.as_ref());
                let dl = c
                    .delay_loop
                    .as_deref()
                    .or(rs.delay_loop.as_deref())
                    .or(vs.delay_loop.as_ref());
                let ctv = ct.map_or(DEFAULT_CONNECT_TIMEOUT, |s| s.value);
                let dlv = dl.map_or(DEFAULT_DELAY_LOOP, |s| s.value);
                if ctv < dlv {
                    continue;
                }
                let (loc, ct_where) = match ct {
                    Some(s) => (
                        at(&s.span, s.keyword.len()),
                        span_ref(&cx.loaded.doc, &s.span),
                    ),
                    None => (
                        at(&c.span, c.kind.len()),
                        "keepalived's default".to_string(),
                    ),
                };
                let dl_where = dl.map_or("keepalived's default".to_string(), |s| {
                    span_ref(&cx.loaded.doc, &s.span)
                });
                out.push(
                    Finding::new(
                        "LB017",
                        format!("virtual_server {}", vs.key),
                        format!(
                            "{} of real_server {}: connect_timeout {}s ({ct_where}) is not shorter than delay_loop {}s ({dl_where}); a real server that stops answering is taken out only after about {}s (the timeout twice plus 1s with keepalived's default retry 1 and delay_before_retry 1s), while clients are still sent to it",
                            c.kind, rs.ip, fmt(ctv), fmt(dlv), fmt(2.0 * ctv + 1.0)
                        ),
                    )
                    .at(loc)
                    .fix_text(format!("make connect_timeout well below delay_loop, e.g. connect_timeout {} with delay_loop {}", fmt((dlv / 3.0).floor().max(1.0)), fmt(dlv))),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn inherited_values() {
        let f = lint_str("virtual_server 10.0.0.1 80 {\n delay_loop 10\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n connect_timeout 10\n }\n }\n real_server 10.0.0.3 80 {\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n", "LB017");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 5);
        let f = lint_str(
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
            "LB017",
        );
        assert!(f.is_empty());
    }
}
