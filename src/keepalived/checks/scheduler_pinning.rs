//! LB011: a connection-counting scheduler (lc, wlc, sed, nq) in DR/TUN with two or more real
//! servers. One long-lived client connection (a browser's keep-alive) makes its server look
//! busy, so every new client goes to the other server; if that server is broken on the VIP
//! path, which DR/TUN health checks cannot see, most clients fail while the pinned one works.
//! lc/wlc are sound schedulers, so this is advice (info); it is a warning only when another
//! line of the same block set a different scheduler and lost (the founding incident: the
//! config says rr, IPVS runs lc).

use super::{at, Ctx};
use crate::finding::{Finding, Severity};

const COUNTING: &[&str] = &["lc", "wlc", "sed", "nq"];

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for vs in &cx.loaded.config.virtual_servers {
        let sched = vs.effective_scheduler();
        let method = vs.effective_method();
        // one real server: there is nothing to balance, nothing to pin
        if !COUNTING.contains(&sched)
            || !matches!(method, "DR" | "TUN")
            || vs.real_servers.len() < 2
        {
            continue;
        }
        // the incident's shape: an earlier scheduler line lost to this one
        let overrides = vs
            .scheduler
            .as_ref()
            .is_some_and(|s| !s.overridden.is_empty());
        let subject = format!("virtual_server {}", vs.key);
        let (loc, how) = match &vs.scheduler {
            Some(s) => (
                at(&s.span, s.keyword.len()),
                format!("`{} {}`", s.keyword, s.value),
            ),
            None => match vs.rejected_schedulers.last() {
                Some(r) => (
                    at(&r.span, r.keyword.len()),
                    format!(
                        "`{} {}`, which keepalived rejects (LB010), so it runs its default wlc",
                        r.keyword, r.value
                    ),
                ),
                None => (
                    at(&vs.span, "virtual_server".len()),
                    "no scheduler line (keepalived's default is wlc)".to_string(),
                ),
            },
        };
        let mut f = Finding::new(
            "LB011",
            subject,
            format!(
                "{how} with {method}: {sched} sends new clients to the server with the fewest connections, so one long-lived connection (a browser's keep-alive) pins its server as busy and every other client lands on the other servers; if one of those is broken on the VIP path, the {method} health check does not notice and clients fail \"only sometimes\". {}",
                if overrides {
                    "Another line of this block set a different scheduler and lost (LB001): the config does not say what runs"
                } else {
                    "This is advice: it matters when clients hold long-lived connections and a real server's VIP setup can be broken"
                }
            ),
        )
        .at(loc);
        if overrides {
            f = f.severity(Severity::Warning);
        }
        if let Some(m) = &vs.method {
            f = f.evidence(format!(
                "{}:{}: {} {}",
                m.span.file.display(),
                m.span.line,
                m.keyword,
                m.value
            ));
        }
        let checkers: Vec<String> = vs
            .real_servers
            .iter()
            .map(|rs| {
                let kinds: Vec<&str> = rs.checkers.iter().map(|c| c.kind.as_str()).collect();
                format!(
                    "real_server {}: {}",
                    rs.ip,
                    if kinds.is_empty() {
                        "no checker".to_string()
                    } else {
                        kinds.join(", ")
                    }
                )
            })
            .collect();
        f = f.evidence_lines(checkers);
        f = f.fix_text(format!(
            "use `lvs_sched rr` or `wrr` unless you need {sched}, and audit every real server's VIP setup (`lbdoctor audit --host <rs>`) since {method} health checks only test the real IP"
        ));
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn lc_in_dr_is_flagged_rr_is_not() {
        let rs = " real_server 10.0.0.2 80 {\n }\n real_server 10.0.0.3 80 {\n }\n";
        let f = lint_str(
            &format!("virtual_server 10.0.0.1 80 {{\n lvs_sched lc\n lvs_method DR\n protocol TCP\n{rs}}}\n"),
            "LB011",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 2);
        // a deliberate lc is advice
        assert_eq!(f[0].severity, Severity::Info);
        let f = lint_str(
            &format!("virtual_server 10.0.0.1 80 {{\n lvs_sched rr\n lvs_method DR\n{rs}}}\n"),
            "LB011",
        );
        assert!(f.is_empty());
        let f = lint_str(
            &format!("virtual_server 10.0.0.1 80 {{\n lvs_sched lc\n lvs_method NAT\n{rs}}}\n"),
            "LB011",
        );
        assert!(f.is_empty());
        // no scheduler at all: keepalived's wlc
        let f = lint_str(
            &format!("virtual_server 10.0.0.1 80 {{\n lvs_method DR\n{rs}}}\n"),
            "LB011",
        );
        assert_eq!(f.len(), 1);
        // one real server: nothing to pin
        let f = lint_str(
            "virtual_server 10.0.0.1 80 {\n lvs_sched lc\n lvs_method DR\n real_server 10.0.0.2 80 {\n }\n}\n",
            "LB011",
        );
        assert!(f.is_empty());
        // an invalid lb_algo: keepalived's wlc, said so at that line
        let f = lint_str(
            &format!("virtual_server 10.0.0.1 80 {{\n lvs_method DR\n lb_algo conhash\n{rs}}}\n"),
            "LB011",
        );
        assert_eq!(f[0].location.as_ref().unwrap().line, 3);
        assert!(f[0]
            .message
            .contains("`lb_algo conhash`, which keepalived rejects"));
        // the founding incident: rr written, lc runs
        let f = lint_str(
            &format!("virtual_server 10.0.0.1 80 {{\n lvs_sched rr\n lvs_method DR\n lb_algo lc\n{rs}}}\n"),
            "LB011",
        );
        assert_eq!(f[0].severity, Severity::Warning);
    }
}
