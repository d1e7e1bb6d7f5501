//! ST006: InActConn far above ActiveConn on a service: entries that never established, or
//! are closing, piling up.

use super::*;

/// A service needs at least this many inactive entries to be worth a finding.
pub const MIN_INACTIVE: u64 = 1000;
/// ... and this many times its active ones.
pub const RATIO: u64 = 10;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for svc in &input.state.services {
        let (Some(act), Some(inact)) = (svc.total_active(), svc.total_inactive()) else {
            continue;
        };
        if inact < MIN_INACTIVE || inact < RATIO.saturating_mul(act.saturating_add(1)) {
            continue;
        }
        let msg = format!(
            "{} has {inact} inactive entries against {act} active ones. Inactive entries are connections that are not established as the director sees them: handshakes never completed (SYN_RECV: a SYN flood, or a real server that does not answer) or connections closing (FIN_WAIT, TIME_WAIT: many short connections). Read the connection entries (ipvsadm -Lnc, or --host) to tell which.",
            svc.key
        );
        let f = Finding::new("ST006", svc.key.to_string(), msg)
            .evidence_lines(svc.real_servers.iter().map(rs_line))
            .fix_text("Look at the states: `ipvsadm -Lnc | awk '{print $3}' | sort | uniq -c`. Many SYN_RECV from spread addresses is a flood (see ST004); SYN_RECV toward one real server is a server that does not answer (ST005).")
            .fix_command("ipvsadm -Lnc | awk '{print $3}' | sort | uniq -c");
        out.push(at(f, origin_loc(&svc.origin)));
    }
}
