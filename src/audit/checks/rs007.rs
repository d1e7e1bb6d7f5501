//! RS007: needed sysctls are right now but a reboot would undo them ("lost at reboot").
use super::{boot_effective, boot_sources, knob_ok, runtime_effective, sysctl_requirements};
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let mut lost = Vec::new();
    let mut evidence = Vec::new();
    for r in sysctl_requirements(a) {
        let (now, boot) = (runtime_effective(a, &r), boot_effective(a, &r));
        if knob_ok(r.knob, now) && !knob_ok(r.knob, boot) {
            lost.push(format!(
                "{} on {} ({now} now, {boot} after reboot)",
                r.knob, r.iface
            ));
            for e in boot_sources(a, &r.iface, r.knob) {
                if !evidence.contains(&e) {
                    evidence.push(e);
                }
            }
        }
    }
    if lost.is_empty() {
        return;
    }
    out.push(
        Finding::new(
            "RS007",
            &a.f.host,
            format!(
                "runtime-only settings, lost at the next reboot: {}",
                lost.join(", ")
            ),
        )
        .evidence_lines(evidence)
        .fix_text(format!(
            "persist them in {} (lbdoctor audit --fix writes it, named to sort after any file that sets them otherwise)",
            crate::remedy::SYSCTL_FILE
        )),
    );
}
