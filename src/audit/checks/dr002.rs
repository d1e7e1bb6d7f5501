//! DR002: strict rp_filter on the director where DSR replies come back through it
//! (fwmark policy routing from a NAT-to-DSR migration).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if super::dr004::mark_rules(a).is_empty() {
        return;
    }
    for i in a.segment_ifaces() {
        if a.f.effective(&i.name, "rp_filter") == Some(1) {
            out.push(
                Finding::new("DR002", &a.f.host, format!("rp_filter is strict (1) on {} while packets are marked and routed locally (fwmark policy routing): replies coming back through the director fail the reverse-path check and are dropped", i.name))
                    .evidence_lines(super::runtime_evidence(a, &i.name, "rp_filter"))
                    .fix_command("sysctl -w net.ipv4.conf.all.rp_filter=0")
                    .fix_command(format!("sysctl -w net.ipv4.conf.{}.rp_filter=0", i.name)),
            );
        }
    }
}
