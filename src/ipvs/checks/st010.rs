//! ST010: the kernel runs another scheduler than keepalived.conf says.

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        let Some(kernel) = ks.scheduler.as_deref() else {
            continue;
        };
        let want = &es.scheduler;
        if kernel == want.value {
            continue;
        }
        let said = match &want.at {
            Some(at) => format!("`{} {}` at {at}", at.keyword, want.value),
            None => format!("no scheduler line, so keepalived's default {}", want.value),
        };
        let mut msg = format!(
            "The kernel runs {kernel} for {key}; keepalived.conf ({}) asks for {}: {said}.",
            es.label, want.value
        );
        if let Some((old, _)) = want.overridden.iter().find(|(_, v)| v == kernel) {
            msg.push_str(&format!(
                " {kernel} is what the earlier, overridden line {old} (`{} {kernel}`) says: the running keepalived was started before the later line was added and has not been reloaded.",
                old.keyword
            ));
        } else {
            msg.push_str(" keepalived has not been reloaded since the config changed, someone changed the service with `ipvsadm -E`, or the running keepalived reads another file.");
        }
        let f = Finding::new("ST010", key.to_string(), msg)
            .evidence(format!("kernel: {key} {kernel}"))
            .fix_text("Decide which scheduler you mean, keep one line for it in the virtual_server, and reload keepalived (it rewrites the kernel's service).")
            .fix_command("systemctl reload keepalived");
        out.push(f.at(conf_loc(want.at.as_ref().unwrap_or(&es.at))));
    }
}
