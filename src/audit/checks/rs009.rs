//! RS009: the boot files would set needed sysctls right, but the running values differ
//! (the file was written but never loaded).
use super::{boot_effective, boot_sources, knob_ok, runtime_effective, sysctl_requirements};
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let mut stale = Vec::new();
    let mut evidence = Vec::new();
    for r in sysctl_requirements(a) {
        let (now, boot) = (runtime_effective(a, &r), boot_effective(a, &r));
        if !knob_ok(r.knob, now) && knob_ok(r.knob, boot) {
            stale.push(format!(
                "{} on {} ({boot} in the files, {now} running)",
                r.knob, r.iface
            ));
            for e in boot_sources(a, &r.iface, r.knob) {
                if !evidence.contains(&e) {
                    evidence.push(e);
                }
            }
        }
    }
    if stale.is_empty() {
        return;
    }
    out.push(
        Finding::new(
            "RS009",
            &a.f.host,
            format!(
                "persisted but not in effect (the files were never loaded): {}",
                stale.join(", ")
            ),
        )
        .evidence_lines(evidence)
        .fix_command("sysctl --system"),
    );
}
