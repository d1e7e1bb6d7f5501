//! RS007: a sysctl is right now but a reboot would undo it ("lost at reboot").
use super::{boot_effective, boot_sources, knob_ok, runtime_effective, sysctl_requirements};
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    for r in sysctl_requirements(a) {
        let (now, boot) = (runtime_effective(a, &r), boot_effective(a, &r));
        if knob_ok(r.knob, now) && !knob_ok(r.knob, boot) {
            out.push(
                Finding::new("RS007", &a.f.host, format!(
                    "{} on {} is {now} now but would be {boot} after a reboot: the setting is runtime-only and will be lost",
                    r.knob, r.iface))
                .evidence_lines(super::runtime_evidence(a, &r.iface, r.knob))
                .evidence_lines(boot_sources(a, &r.iface, r.knob))
                .fix_text(format!("persist it in {} (lbdoctor audit --fix writes it)", crate::fix::SYSCTL_FILE)),
            );
        }
    }
}
