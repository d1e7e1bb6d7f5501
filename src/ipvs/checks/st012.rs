//! ST012: a real server's forwarding method in the kernel differs from lvs_method.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        for rs in &ks.real_servers {
            let Some(fwd) = rs.forward else { continue };
            // Local: the real server is an address of the director itself; IPVS hands the
            // packet to the local stack whatever the configured method.
            if fwd == Forward::Local || fwd.keepalived_name() == es.method.value {
                continue;
            }
            let said = match &es.method.at {
                Some(at) => format!("`{} {}` at {at}", at.keyword, es.method.value),
                None => "no lvs_method line, so keepalived's default NAT".to_string(),
            };
            let msg = format!(
                "The kernel forwards {key} to {} by {} ({}), but keepalived.conf ({}) says {}: {said}. The methods need different real-server setups (DR: VIP accepted locally and hidden from ARP; NAT: the director as default gateway), so a server set up for one fails with the other.",
                rs.addr,
                fwd.as_str(),
                fwd.keepalived_name(),
                es.label,
                es.method.value
            );
            let f = Finding::new("ST012", key.to_string(), msg)
                .evidence(rs_line(rs))
                .fix_text("Set lvs_method to the method the real servers are built for and reload keepalived.");
            out.push(f.at(conf_loc(es.method.at.as_ref().unwrap_or(&es.at))));
        }
    }
}
