//! ST003: a virtual service with no real server that can take a new connection.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    // ipvsadm --stats/--rate list real servers too, so a service read only from -Lnc
    // never reaches here: services come from table sources.
    for svc in &input.state.services {
        let total = svc.real_servers.len();
        let zero = svc
            .real_servers
            .iter()
            .filter(|r| r.weight == Some(0))
            .count();
        let msg = if total == 0 {
            format!("{} has no real server: every new connection to it fails (IPVS finds no destination, so the director answers the packet itself, normally with a reset, or drops it).", svc.key)
        } else if zero == total {
            format!("Every real server of {} has weight 0 ({total} of {total}): no new connection can be scheduled, so new clients fail; only connections already open continue.", svc.key)
        } else {
            continue;
        };
        let mut f = Finding::new("ST003", svc.key.to_string(), msg)
            .evidence_lines(svc.real_servers.iter().map(rs_line))
            .fix_text("Bring at least one real server back: fix its health check (keepalived removes failed servers, or sets weight 0 with inhibit_on_failure), or add a sorry_server to the virtual_server so clients get an answer.");
        if total == 0 {
            f = f.evidence(format!("{} with no `->` line under it", svc.key));
        }
        out.push(at(f, origin_loc(&svc.origin)));
    }
}
