//! ST018: the kernel has a virtual service keepalived.conf does not define.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    let Some(cfg) = input.config else { return };
    for svc in &input.state.services {
        if cfg
            .services
            .iter()
            .any(|es| es.keys.iter().any(|k| same_key(k, &svc.key)))
        {
            continue;
        }
        // Same address, other protocol: ST017 tells that story from the config's side.
        let other_proto =
            cfg.services
                .iter()
                .flat_map(|es| &es.keys)
                .any(|k| match (k, &svc.key) {
                    (
                        ServiceKey::Addr { proto: a, addr: x },
                        ServiceKey::Addr { proto: b, addr: y },
                    ) => x == y && a != b,
                    _ => false,
                });
        if other_proto {
            continue;
        }
        let msg = format!(
            "The kernel has {} ({} real server{}), which {} does not define. It was added by hand (ipvsadm -A), by another tool (kube-proxy in IPVS mode, docker swarm), or by a keepalived with another config.",
            svc.key,
            svc.real_servers.len(),
            if svc.real_servers.len() == 1 { "" } else { "s" },
            cfg.file
        );
        let f = Finding::new("ST018", svc.key.to_string(), msg)
            .evidence_lines(svc.real_servers.iter().map(rs_line))
            .fix_text("Add it to keepalived.conf if it belongs to this director; otherwise find what created it before removing it (ipvsadm -D).");
        out.push(at(f, origin_loc(&svc.origin)));
    }
}
