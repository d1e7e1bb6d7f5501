//! ST005: a real server whose connections never get established while others' do: in DR mode,
//! it does not answer.

use super::*;
use crate::finding::Severity;

/// This many SYN_RECV entries, of any age, are enough (several clients failing at once).
pub const MIN_STUCK: u64 = 3;

/// One SYN_RECV entry older than this is enough: an answered handshake completes within a
/// round trip, and a client still waiting retransmits its SYN after 1 s, then 2, 4, 8 s
/// (Linux TCP_TIMEOUT_INIT), each retransmission restarting the entry's 60 s timer.
pub const MIN_AGE_SECS: u64 = 3;

/// States the director reaches only after the client acknowledged the server's SYN-ACK.
const ANSWERED: [&str; 2] = ["ESTABLISHED", "FIN_WAIT"];

fn answered(states: &std::collections::BTreeMap<String, u64>) -> u64 {
    ANSWERED
        .iter()
        .map(|s| states.get(*s).copied().unwrap_or(0))
        .sum()
}

/// The kernel's per-server counters for one destination, from --stats or /proc/net/ip_vs
/// sources (the first service that lists it).
fn dest_stats(st: &IpvsState, dest: &std::net::SocketAddr) -> Option<Stats> {
    st.services
        .iter()
        .flat_map(|s| &s.real_servers)
        .find(|r| &r.addr == dest)
        .and_then(|r| r.stats.clone())
}

/// Most packets a connection that was never answered brings the director: the SYN and its
/// retransmissions before the client gives up (a served one adds the ACK, the request, ...).
pub const MAX_SYN_ONLY_PKTS: u64 = 3;

/// Do the kernel's counters say this server's connections carried only SYNs, while a peer in
/// the same service carried more? (Since the counters were zeroed, so a silent server's past
/// good days dilute it; only used together with its SYN_RECV entries.)
fn syns_only(st: &IpvsState, dest: &std::net::SocketAddr) -> bool {
    st.services.iter().any(|svc| {
        let per_conn = |r: &RealServer| {
            r.stats
                .as_ref()
                .filter(|s| s.conns >= 2)
                .map(|s| (s.inpkts, s.conns))
        };
        let Some((p, c)) = svc
            .real_servers
            .iter()
            .find(|r| &r.addr == dest)
            .and_then(per_conn)
        else {
            return false;
        };
        p <= MAX_SYN_ONLY_PKTS * c
            && svc
                .real_servers
                .iter()
                .filter(|r| &r.addr != dest)
                .filter_map(per_conn)
                .any(|(p, c)| p > MAX_SYN_ONLY_PKTS * c)
    })
}

/// The kernel's FIN_WAIT timeout (`tcpfin`, 120 s unless `ipvsadm --set` changed it).
const FIN_WAIT_TIMEOUT_SECS: u64 = 120;

/// Did a connection to `dest` close after its latest unanswered handshake? Compares the
/// youngest FIN_WAIT entry's age with the youngest SYN_RECV entry's (age = the state's
/// timeout minus the entry's Expires).
fn served_since_last_syn(st: &IpvsState, c: &ConnTable, dest: &std::net::SocketAddr) -> bool {
    let (Some(syn), Some(fin)) = (c.newest_syn_recv.get(dest), c.newest_fin_wait.get(dest)) else {
        return false;
    };
    let fin_timeout = st.timeouts.map_or(FIN_WAIT_TIMEOUT_SECS, |t| t.tcpfin);
    let syn_age = SYN_RECV_TIMEOUT_SECS.saturating_sub(*syn);
    let fin_age = fin_timeout.saturating_sub(*fin);
    fin_age < syn_age
}

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    let Some(c) = &input.state.connections else {
        return;
    };
    // Under a flood, forged SYNs stay in SYN_RECV at every server: no single server is to blame.
    if super::st004::is_flood(c) {
        return;
    }
    for (dest, states) in &c.by_dest {
        let syn = states.get("SYN_RECV").copied().unwrap_or(0);
        let established = states.get("ESTABLISHED").copied().unwrap_or(0);
        if syn == 0 || established > 0 {
            continue;
        }
        let oldest_age = c
            .oldest_syn_recv
            .get(dest)
            .map(|e| SYN_RECV_TIMEOUT_SECS.saturating_sub(*e));
        let aged = oldest_age.is_some_and(|a| a >= MIN_AGE_SECS);
        // FIN_WAIT entries are connections it served, up to 2 min ago (seen on the real-IPVS
        // lab: a server that broke a minute earlier still had 21): they do not clear it, but
        // then only entries that outlived a handshake count.
        let served_earlier = answered(states);
        if served_earlier > 0 && !aged {
            continue;
        }
        // ... unless one of them closed after its latest unanswered SYN: the server answered
        // again since (seen on the real-IPVS lab: SYN_RECV entries from before a real server
        // was repaired, FIN_WAIT entries from the clients it served after).
        if served_since_last_syn(input.state, c, dest) {
            continue;
        }
        if syn < MIN_STUCK && !aged && !syns_only(input.state, dest) {
            continue;
        }
        let others: Vec<String> = c
            .by_dest
            .iter()
            .filter(|(d, s)| *d != dest && answered(s) > 0)
            .map(|(d, s)| {
                ANSWERED
                    .iter()
                    .filter_map(|k| s.get(*k).map(|v| format!("{v} {k}")))
                    .collect::<Vec<_>>()
                    .join(", ")
                    .to_string()
                    + &format!(" at {d}")
            })
            .collect();
        if others.is_empty() {
            continue;
        }
        let mut msg = format!(
            "{syn} connection{} sent to {dest} {} in SYN_RECV and none reached ESTABLISHED, while other real servers' did ({}).",
            if syn == 1 { "" } else { "s" },
            if syn == 1 { "is" } else { "are" },
            others.join("; ")
        );
        if let Some(age) = oldest_age.filter(|_| aged) {
            msg.push_str(&format!(
                " The oldest has waited {age} s since the client's last SYN (the kernel restarts the {SYN_RECV_TIMEOUT_SECS} s SYN_RECV timer at each packet; an answered handshake completes within a round trip)."
            ));
        }
        if served_earlier > 0 {
            msg.push_str(&format!(
                " Its {served_earlier} FIN_WAIT entr{} are connections it served earlier: the director keeps them up to 2 min after they close, so they can predate the failure.",
                if served_earlier == 1 { "y" } else { "ies" }
            ));
        }
        msg.push_str(&format!(
            " The director moves an entry to ESTABLISHED when it sees the client acknowledge the server's SYN-ACK; with DR it sees only the client side. So {dest} does not answer now: clients sent there hang."
        ));
        msg.push_str(match input.state.syn_recv_active() {
            Some(true) => " On this kernel (Linux 4.8 or later) each SYN_RECV entry counts as an ActiveConn, so lc/wlc steer new clients away from the silent server until the entry expires: it collects only a few entries at a time, and a few failed clients in every round.",
            Some(false) => " On this kernel (before Linux 4.8) SYN_RECV entries count as InActConn, so under lc/wlc the silent server looks idle and attracts ever more new clients.",
            None => " Since Linux 4.8 SYN_RECV entries count as ActiveConn (lc/wlc then steer clients away from the silent server until they expire); before 4.8 they count as InActConn and make it look idle, so it attracts more clients.",
        });
        let mut f = Finding::new("ST005", dest.to_string(), msg)
            .severity(Severity::Error)
            .evidence(format!(
                "entries to {dest}: {}",
                states
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .fix_text(format!(
                "Audit the real server: in DR it must accept packets for the VIP (VIP on lo or an iptables REDIRECT), not answer ARP for it (arp_ignore=1, arp_announce=2) and not drop them by rp_filter: lbdoctor audit --host {}",
                dest.ip()
            ));
        if let Some(age) = oldest_age {
            f = f.evidence(format!(
                "oldest SYN_RECV entry to {dest}: expires in {} s, last client packet {age} s ago",
                SYN_RECV_TIMEOUT_SECS.saturating_sub(age)
            ));
        }
        // In DR a connection to a silent server carries only the client's SYN and its
        // retransmissions; one that was served carries the request and the ACKs too.
        if let Some(s) = dest_stats(input.state, dest).filter(|s| s.conns > 0) {
            f = f.evidence(format!(
                "kernel counters for {dest}: {} connections, {} packets in ({:.1} per connection)",
                s.conns,
                s.inpkts,
                s.inpkts as f64 / s.conns as f64
            ));
        }
        let loc = c.origin.as_ref().map(|o| {
            let line = c
                .first_line
                .get(dest)
                .and_then(|m| m.get("SYN_RECV"))
                .copied()
                .unwrap_or(o.line);
            // Column 0: the renderer's snippet step points at the destination column.
            crate::finding::Location::new(o.file.clone(), line as u32, 0)
        });
        out.push(at(f, loc));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(lines: &str) -> IpvsState {
        let text = format!("IPVS connection entries\npro expire state       source             virtual            destination\n{lines}");
        crate::ipvs::parse_text("c", &text).unwrap()
    }

    fn st005(st: &IpvsState) -> Vec<Finding> {
        let mut out = Vec::new();
        check(
            &Input {
                state: st,
                config: None,
            },
            &mut out,
        );
        out
    }

    // What the lead saw on Debian's 6.1 kernel: lc, a long connection on .71, .72 silent;
    // .72 collected only two SYN_RECV entries (both active), aged 3 s and 10 s.
    const REAL_6_1: &str =
        "TCP 14:50  ESTABLISHED 192.168.21.50:51716 192.168.21.20:80   192.168.21.71:80\n\
TCP 01:57  FIN_WAIT    192.168.21.50:54580 192.168.21.20:80   192.168.21.71:80\n\
TCP 00:57  SYN_RECV    192.168.21.50:54566 192.168.21.20:80   192.168.21.72:80\n\
TCP 00:50  SYN_RECV    192.168.21.50:51706 192.168.21.20:80   192.168.21.72:80\n";

    #[test]
    fn two_aged_syn_recv_entries_name_the_silent_server() {
        let mut st = conns(REAL_6_1);
        st.kernel = Some("6.1.0-57-amd64".into());
        let f = st005(&st);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].subject, "192.168.21.72:80");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("waited 10 s"), "{}", f[0].message);
        assert!(
            f[0].message.contains("Linux 4.8 or later"),
            "{}",
            f[0].message
        );
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e == "oldest SYN_RECV entry to 192.168.21.72:80: expires in 50 s, last client packet 10 s ago"));
    }

    /// A table with app1 (.71) holding one ESTABLISHED entry, and app2 (.72) one FIN_WAIT
    /// entry per Expires in `fin` and one SYN_RECV entry per Expires in `syn`.
    fn app2_table(fin: &[&str], syn: &[&str]) -> String {
        let mut lines = String::from(
            "TCP 14:50  ESTABLISHED 192.168.21.50:51716 192.168.21.20:80   192.168.21.71:80\n",
        );
        for (state, expires, port) in [("FIN_WAIT", fin, 40000), ("SYN_RECV", syn, 50000)] {
            for (p, e) in expires.iter().enumerate() {
                lines.push_str(&format!(
                    "TCP {e}  {state:<11} 192.168.21.50:{} 192.168.21.20:80   192.168.21.72:80\n",
                    port + p
                ));
            }
        }
        lines
    }

    /// The full e2e run on the real kernel: app2 served connections a minute earlier (their
    /// FIN_WAIT entries linger 2 min), then broke; its new SYN_RECV entries are 4 s old.
    #[test]
    fn a_server_that_broke_recently_is_named_despite_its_fin_wait_history() {
        let f = st005(&conns(&app2_table(&["01:10"; 21], &["00:56"; 5])));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].subject, "192.168.21.72:80");
        assert!(
            f[0].message
                .contains("21 FIN_WAIT entries are connections it served earlier"),
            "{}",
            f[0].message
        );
        // The same history with handshakes still in flight (younger than 3 s): not blamed.
        assert!(st005(&conns(&app2_table(&["01:10"; 21], &["00:59"; 5]))).is_empty());
    }

    #[test]
    fn a_server_that_answered_after_its_failed_handshakes_is_not_named() {
        // The real-IPVS lab's IPv6 scenario after the fix: SYN_RECV entries from before app2
        // was repaired (36-40 s old), FIN_WAIT entries from the clients it served after
        // (16-25 s old).
        let syn = ["00:20", "00:21", "00:22", "00:23", "00:24"];
        let fin = [
            "01:35", "01:36", "01:37", "01:38", "01:39", "01:40", "01:41", "01:42", "01:43",
            "01:44",
        ];
        assert!(st005(&conns(&app2_table(&fin, &syn))).is_empty());
        // The other order (served 76-85 s ago, then broke 6-10 s ago: the incident) is named.
        let syn = ["00:50", "00:51", "00:52", "00:53", "00:54"];
        let fin = [
            "00:35", "00:36", "00:37", "00:38", "00:39", "00:40", "00:41", "00:42", "00:43",
            "00:44",
        ];
        assert_eq!(st005(&conns(&app2_table(&fin, &syn))).len(), 1);
    }

    #[test]
    fn fresh_handshakes_and_lone_servers_are_not_blamed() {
        // Two entries younger than MIN_AGE_SECS: handshakes in flight.
        let st = conns(
            "TCP 14:50  ESTABLISHED 192.168.21.50:51716 192.168.21.20:80   192.168.21.71:80\n\
TCP 00:59  SYN_RECV    192.168.21.50:54566 192.168.21.20:80   192.168.21.72:80\n\
TCP 00:58  SYN_RECV    192.168.21.50:51706 192.168.21.20:80   192.168.21.72:80\n",
        );
        assert!(st005(&st).is_empty());
        // An old SYN_RECV, but the same server also established: it answers (a lost client).
        let st = conns(
            "TCP 14:50  ESTABLISHED 192.168.21.50:51716 192.168.21.20:80   192.168.21.72:80\n\
TCP 00:20  SYN_RECV    192.168.21.50:54566 192.168.21.20:80   192.168.21.72:80\n",
        );
        assert!(st005(&st).is_empty());
        // Nobody established anywhere: nothing to compare with.
        let st = conns(
            "TCP 00:20  SYN_RECV    192.168.21.50:54566 192.168.21.20:80   192.168.21.72:80\n",
        );
        assert!(st005(&st).is_empty());
    }

    #[test]
    fn fresh_entries_with_syn_only_counters_are_enough() {
        // Two young SYN_RECV entries, but the kernel's counters (real 6.1 numbers) show .72's
        // connections carried 2 packets each while .71's carried ~6.
        let mut st = conns(
            "TCP 14:50  ESTABLISHED 192.168.21.50:51716 192.168.21.20:80   192.168.21.71:80\n\
TCP 00:59  SYN_RECV    192.168.21.50:54566 192.168.21.20:80   192.168.21.72:80\n\
TCP 00:58  SYN_RECV    192.168.21.50:51706 192.168.21.20:80   192.168.21.72:80\n",
        );
        assert!(st005(&st).is_empty());
        let stats = crate::ipvs::parse_text("s", "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\nTCP  192.168.21.20:80                   22      116        0     7096        0\n  -> 192.168.21.71:80                   19      110        0     6736        0\n  -> 192.168.21.72:80                    3        6        0      360        0\n").unwrap();
        crate::ipvs::merge(&mut st, stats);
        let f = st005(&st);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("3 connections, 6 packets in (2.0 per connection)")),
            "{f:?}"
        );
    }

    #[test]
    fn unknown_kernel_states_both_behaviours() {
        let f = st005(&conns(REAL_6_1));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("Since Linux 4.8") && f[0].message.contains("before 4.8"),
            "{}",
            f[0].message
        );
    }
}
