//! ST005: a real server whose connections never get established while others' do: in DR mode,
//! it does not answer.

use super::*;
use crate::finding::Severity;

/// Fewer SYN_RECV entries than this can be handshakes in flight.
pub const MIN_STUCK: u64 = 3;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    let Some(c) = &input.state.connections else {
        return;
    };
    // Under a flood, forged SYNs stay in SYN_RECV at every server: no single server is to blame.
    if super::st004::is_flood(c) {
        return;
    }
    let any_established = c
        .by_dest
        .values()
        .any(|s| s.get("ESTABLISHED").copied().unwrap_or(0) > 0);
    if !any_established {
        return;
    }
    for (dest, states) in &c.by_dest {
        let syn = states.get("SYN_RECV").copied().unwrap_or(0);
        let est = states.get("ESTABLISHED").copied().unwrap_or(0);
        if syn < MIN_STUCK || est > 0 {
            continue;
        }
        let others: Vec<String> = c
            .by_dest
            .iter()
            .filter(|(d, s)| *d != dest && s.get("ESTABLISHED").copied().unwrap_or(0) > 0)
            .map(|(d, s)| format!("{d}: {} ESTABLISHED", s["ESTABLISHED"]))
            .collect();
        let msg = format!(
            "{syn} connections sent to {dest} are in SYN_RECV and none is ESTABLISHED, while other real servers have established ones ({}). The director moves an entry to ESTABLISHED when it sees the client acknowledge the server's SYN-ACK; with DR it sees only the client side. So {dest} never answers: clients sent there hang.",
            others.join("; ")
        );
        let f = Finding::new("ST005", dest.to_string(), msg)
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
