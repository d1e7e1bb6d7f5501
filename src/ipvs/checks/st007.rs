//! ST007: the connection hash table (`size=4096`) against the number of connections.

use super::*;
use crate::finding::Severity;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    let st = input.state;
    let Some(size) = st.table_size.filter(|s| *s > 0) else {
        return;
    };
    let (conns, how) = match &st.connections {
        Some(c) => (c.total, "connection entries (templates included)"),
        None => {
            let sum: Option<u64> = st.services.iter().try_fold(0u64, |acc, s| {
                Some(acc.saturating_add(s.total_active()?.saturating_add(s.total_inactive()?)))
            });
            match sum {
                Some(n) => (n, "ActiveConn + InActConn over all services"),
                None => return,
            }
        }
    };
    if conns <= size.saturating_mul(2) {
        return;
    }
    let chain = conns / size;
    let bits = (64 - (conns - 1).leading_zeros()).clamp(8, 20);
    let msg = format!(
        "{conns} {how} share {size} hash buckets: about {chain} entries per bucket, which every packet's lookup walks. size= is the number of buckets of the connection table (2^conn_tab_bits), not a limit on connections: entries are limited only by memory. The kernel's advice is a table not far smaller than connections per second × their average lifetime."
    );
    let f = Finding::new("ST007", "connection table", msg)
        .severity(if chain >= 8 { Severity::Warning } else { Severity::Info })
        .evidence(format!("IP Virtual Server (size={size}); {conns} entries"))
        .fix_text(format!(
            "Load ip_vs with a bigger table (it cannot change while loaded): conn_tab_bits={bits} gives {} buckets.",
            1u64 << bits
        ))
        .fix_command(format!(
            "echo 'options ip_vs conn_tab_bits={bits}' > /etc/modprobe.d/ip_vs.conf"
        ));
    out.push(f);
}
