//! ST002: a real server with weight 0 gets no new connections (keepalived's
//! inhibit_on_failure sets weight 0 instead of removing a server whose check fails).

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for svc in &input.state.services {
        let live = svc
            .real_servers
            .iter()
            .filter(|r| r.weight.unwrap_or(1) > 0)
            .count();
        if live == 0 {
            // ST003 reports a service with no usable real server.
            continue;
        }
        for rs in svc.real_servers.iter().filter(|r| r.weight == Some(0)) {
            let mut msg = format!(
                "{} has weight 0: IPVS sends it no new connections (it is quiesced); connections it already has continue{}.",
                rs.addr,
                match (rs.active, rs.inactive) {
                    (Some(a), Some(i)) => format!(" ({a} active, {i} inactive now)"),
                    _ => String::new(),
                }
            );
            if svc.persistence.is_some() {
                msg.push_str(match input.state.sysctl("expire_quiescent_template") {
                    Some(0) => " This service is persistent and net.ipv4.vs.expire_quiescent_template is 0 on this director: clients with a persistence template still go to it until the template expires.",
                    Some(_) => " This service is persistent; net.ipv4.vs.expire_quiescent_template is on, so persistence templates pointing at it expire.",
                    None => " This service is persistent: clients with a persistence template still go to it until the template expires, unless net.ipv4.vs.expire_quiescent_template=1.",
                });
            }
            let mut evidence = vec![rs_line(rs)];
            let fix = match config_for(input, svc, rs) {
                Some((_, er)) if er.weight.value == 0 => {
                    msg.push_str(&format!(
                        " keepalived.conf sets weight 0 ({}), so this is intended.",
                        er.weight
                            .at
                            .as_ref()
                            .map_or(er.at.to_string(), |a| a.to_string())
                    ));
                    "Nothing to do if the server is meant to be drained; set its weight above 0 in keepalived.conf to put it back.".to_string()
                }
                Some((_, er)) if er.inhibit_on_failure => {
                    msg.push_str(&format!(
                        " keepalived.conf sets `inhibit_on_failure` for it ({}) and weight {}: its health check failed, and keepalived set weight 0 instead of removing it.",
                        er.at, er.weight.value
                    ));
                    evidence.extend(er.checkers.iter().map(|c| format!("health check: {c}")));
                    format!("Find out why the health check of {} fails (keepalived logs `Keepalived_healthcheckers`: ... DOWN); when the check passes, keepalived restores the weight.", rs.addr)
                }
                Some((_, er)) => {
                    msg.push_str(&format!(
                        " keepalived.conf gives it weight {} and no inhibit_on_failure ({}): someone set weight 0 by hand (ipvsadm -e ... -w 0), or the running keepalived has another config.",
                        er.weight.value, er.at
                    ));
                    "Reload keepalived to reapply its config, or find who changed the weight."
                        .to_string()
                }
                None => {
                    msg.push_str(" keepalived does this when the server's health check fails and `inhibit_on_failure` is set (without it, keepalived removes the server); an operator may also have drained it with `ipvsadm -e ... -w 0`.");
                    "Check keepalived's log for the health check of this server; give --config to see what the config says.".to_string()
                }
            };
            let f = Finding::new("ST002", svc.key.to_string(), msg)
                .evidence_lines(evidence)
                .fix_text(fix);
            out.push(at(f, origin_loc(&rs.origin)));
        }
    }
}
