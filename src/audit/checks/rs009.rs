//! RS009: the boot files would set a needed sysctl right, but the running value differs
//! (the file was written but never loaded).
use super::{boot_effective, boot_sources, knob_ok, runtime_effective, sysctl_requirements};
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    for r in sysctl_requirements(a) {
        let (now, boot) = (runtime_effective(a, &r), boot_effective(a, &r));
        if !knob_ok(r.knob, now) && knob_ok(r.knob, boot) {
            out.push(
                Finding::new("RS009", &a.f.host, format!(
                    "{} on {} is persisted as {boot} but the running value is {now}: the file was never loaded",
                    r.knob, r.iface))
                .evidence_lines(boot_sources(a, &r.iface, r.knob))
                .fix_command("sysctl --system"),
            );
        }
    }
}
