//! ST017: a virtual_server of keepalived.conf has no service in the kernel.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    if !input.state.has_service_table() {
        return;
    }
    for (es, key, ks) in pairs(input) {
        if ks.is_some() {
            continue;
        }
        let mut msg = format!(
            "keepalived.conf defines {key} ({}), but the kernel has no such service: clients of that address get no load balancing.",
            es.label
        );
        // The usual cause: a missing `protocol` line makes keepalived create a UDP service.
        let other_proto = input.state.services.iter().find(|s| match (&s.key, key) {
            (ServiceKey::Addr { proto: a, addr: x }, ServiceKey::Addr { proto: b, addr: y }) => {
                x == y && a != b
            }
            _ => false,
        });
        if let Some(o) = other_proto {
            msg.push_str(&format!(
                " The kernel has {} instead: the protocol differs. A virtual_server without a `protocol` line is UDP in keepalived.",
                o.key
            ));
        } else {
            msg.push_str(" keepalived is not running, its checker process failed to start, the virtual_server's quorum is not met, or the running keepalived reads another config.");
        }
        let f = Finding::new("ST017", key.to_string(), msg).fix_text(
            "Check `systemctl status keepalived` and its log; run `lbdoctor lint` on the config.",
        );
        out.push(f.at(conf_loc(&es.at)));
    }
}
