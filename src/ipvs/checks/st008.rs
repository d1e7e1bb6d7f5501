//! ST008: InActConn grew between two snapshots of the table (two `ipvsadm -Ln` given oldest
//! first): entries that never establish are accumulating.

use super::*;

/// Growth below this is ordinary churn.
pub const MIN_GROWTH: u64 = 100;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    let Some(prev) = &input.state.previous else {
        return;
    };
    let then = prev
        .sources
        .first()
        .map_or("the earlier snapshot".into(), |s| s.file.clone());
    for svc in &input.state.services {
        let Some(old) = prev.services.iter().find(|s| same_key(&s.key, &svc.key)) else {
            continue;
        };
        let (Some(i1), Some(i0), Some(a1), Some(a0)) = (
            svc.total_inactive(),
            old.total_inactive(),
            svc.total_active(),
            old.total_active(),
        ) else {
            continue;
        };
        if i1 < i0.saturating_add(MIN_GROWTH) || i1 < i0.saturating_mul(2) {
            continue;
        }
        let mut evidence = Vec::new();
        let mut worst: Option<(&RealServer, u64)> = None;
        for rs in &svc.real_servers {
            let before = old
                .real_servers
                .iter()
                .find(|r| r.addr == rs.addr)
                .and_then(|r| r.inactive)
                .unwrap_or(0);
            let now = rs.inactive.unwrap_or(0);
            evidence.push(format!("{}: InActConn {before} -> {now}", rs.addr));
            let grew = now.saturating_sub(before);
            if worst.map_or(true, |(_, w)| grew > w) {
                worst = Some((rs, grew));
            }
        }
        let msg = format!(
            "InActConn of {} grew from {i0} to {i1} since {then} (ActiveConn {a0} -> {a1}){}. Inactive entries that keep growing while active ones do not are handshakes that never complete: a SYN flood, or a real server that does not answer.",
            svc.key,
            worst
                .map(|(r, g)| format!("; most of it at {} (+{g})", r.addr))
                .unwrap_or_default()
        );
        let f = Finding::new("ST008", svc.key.to_string(), msg)
            .evidence_lines(evidence)
            .fix_text("Read the connection entries (`ipvsadm -Lnc`, or lbdoctor state --host) to see whether the SYN_RECV entries come from spread sources (flood: ST004) or go to one server (ST005).");
        out.push(at(f, origin_loc(&svc.origin)));
    }
}
