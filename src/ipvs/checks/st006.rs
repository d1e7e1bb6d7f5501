//! ST006: InActConn far above ActiveConn on a service: entries closing (or, before Linux 4.8,
//! never established) piling up.

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
        // tcp_state_active_table (ip_vs_proto_tcp.c): since 4.8 SYN_RECV is active, so a pile
        // of inactive entries is closing connections; before, it may be unanswered handshakes.
        let what = match input.state.syn_recv_active() {
            Some(true) => "On this kernel (Linux 4.8 or later) inactive entries are connections closing or closed as the director sees them (FIN_WAIT, TIME_WAIT, CLOSE: many short connections); SYN_RECV entries, of a flood or of a server that does not answer, count as active.",
            Some(false) => "On this kernel (before Linux 4.8) inactive entries are every connection not ESTABLISHED as the director sees it: handshakes never completed (SYN_RECV: a SYN flood, or a real server that does not answer) or connections closing (FIN_WAIT, TIME_WAIT: many short connections).",
            None => "Inactive entries are connections closing (FIN_WAIT, TIME_WAIT: many short connections); before Linux 4.8 they also include handshakes never completed (SYN_RECV: a SYN flood, or a real server that does not answer), which count as active since.",
        };
        let msg = format!(
            "{} has {inact} inactive entries against {act} active ones. {what} Read the connection entries (ipvsadm -Lnc, or --host) to tell which.",
            svc.key
        );
        let f = Finding::new("ST006", svc.key.to_string(), msg)
            .evidence_lines(svc.real_servers.iter().map(rs_line))
            .fix_text("Look at the states: `ipvsadm -Lnc | awk '{print $3}' | sort | uniq -c`. Many SYN_RECV from spread addresses is a flood (see ST004); SYN_RECV toward one real server is a server that does not answer (ST005).")
            .fix_command("ipvsadm -Lnc | awk '{print $3}' | sort | uniq -c");
        out.push(at(f, origin_loc(&svc.origin)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_inactive_for_the_kernel_it_runs_on() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.0.1:80 wlc\n  -> 10.0.0.71:80 Route 1 3 41250\n";
        let mut st = crate::ipvs::parse_text("t", text).unwrap();
        let msg = |st: &IpvsState| {
            let mut out = Vec::new();
            check(
                &Input {
                    state: st,
                    config: None,
                },
                &mut out,
            );
            assert_eq!(out.len(), 1);
            out[0].message.clone()
        };
        st.kernel = Some("6.1.0-57-amd64".into());
        let m = msg(&st);
        assert!(
            m.contains("count as active") && !m.contains("handshakes never completed"),
            "{m}"
        );
        st.kernel = Some("4.4.0-210-generic".into());
        assert!(msg(&st).contains("handshakes never completed (SYN_RECV"));
    }
}
