//! ST004: SYN_RECV entries piling up: a SYN flood, or SYNs no real server answers.

use super::*;
use crate::finding::Severity;

/// Below this, SYN_RECV entries are ordinary handshakes in flight.
pub const MIN_SYN_RECV: u64 = 1000;

/// Thousands of SYN_RECV entries, at least half of those read.
pub fn is_flood(c: &ConnTable) -> bool {
    let syn = c.state_count("SYN_RECV");
    let conns = c.connections() - c.not_read.min(c.connections());
    syn >= MIN_SYN_RECV && syn.saturating_mul(2) >= conns
}

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    let Some(c) = &input.state.connections else {
        return;
    };
    if !is_flood(c) {
        return;
    }
    let syn = c.state_count("SYN_RECV");
    let conns = c.connections() - c.not_read.min(c.connections());
    let est = c.state_count("ESTABLISHED");
    let sources = c.syn_recv_clients.len();
    let spread = if sources as u64 >= syn / 2 {
        format!("from {}{sources} different addresses: spread sources, the mark of a flood with forged addresses", if sources >= MAX_CONNECTIONS_KEPT { "at least " } else { "" })
    } else {
        format!("from {sources} addresses")
    };
    let msg = format!(
        "{syn} of {conns} connection entries are in SYN_RECV ({}%), {spread}; {est} are ESTABLISHED. Each entry holds kernel memory until it expires (60 s for SYN_RECV): this is how a SYN flood exhausts a director (`IPVS: ip_vs_conn_new: no memory available`, then the OOM killer).",
        syn.saturating_mul(100) / conns.max(1)
    );
    let mut f = Finding::new("ST004", "connection table", msg)
        .severity(if syn >= 10 * MIN_SYN_RECV { Severity::Error } else { Severity::Warning })
        .evidence(format!(
            "states: {}",
            c.by_state
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .fix_text("Turn on IPVS's own defences and filter upstream: net.ipv4.vs.drop_entry and secure_tcp act when memory runs low (amemthresh); count the flood's packets (TCP window 0, no options, 40-byte packets) with an iptables u32/length rule; check the real servers use SYN cookies.");
    let st = input.state;
    if !st.sysctls.is_empty() {
        f = f.evidence(format!(
            "net.ipv4.vs: {}",
            ["drop_entry", "drop_packet", "secure_tcp", "amemthresh"]
                .iter()
                .filter_map(|k| st.sysctls.get(*k).map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    // Suggest only the defences that are not on already (unknown: suggest).
    for k in ["drop_entry", "secure_tcp"] {
        if st.sysctl(k).map_or(true, |v| v == 0) {
            f = f.fix_command(format!("sysctl -w net.ipv4.vs.{k}=1"));
        }
    }
    if c.not_read > 0 {
        f = f.evidence(format!(
            "{} further entries were counted on the host but not read",
            c.not_read
        ));
    }
    out.push(at(f, origin_loc(&c.origin)));
}
