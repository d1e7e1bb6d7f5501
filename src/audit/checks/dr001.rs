//! DR001: LVS-NAT without IP forwarding (NAT replies pass through FORWARD).
use crate::audit::parse::ipvs;
use crate::audit::Analysis;
use crate::Finding;

/// IPVS forwards with Masq, or keepalived.conf says lvs_method NAT.
pub fn uses_nat(a: &Analysis) -> bool {
    nat_in_kernel(a) || a.t.method.as_deref() == Some("NAT")
}

fn nat_in_kernel(a: &Analysis) -> bool {
    a.f.ip_vs
        .as_deref()
        .map(|t| {
            ipvs::parse(t)
                .services
                .iter()
                .any(|s| s.reals.iter().any(|r| r.2 == "Masq"))
        })
        .unwrap_or(false)
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let nat_in_kernel = nat_in_kernel(a);
    if uses_nat(a) && a.f.sysctl_u32("net.ipv4.ip_forward") == Some(0) {
        out.push(
            Finding::new("DR001", &a.f.host, "the virtual service uses LVS-NAT but net.ipv4.ip_forward is 0: replies from the real servers are not forwarded back to clients")
                .evidence("net.ipv4.ip_forward = 0")
                .evidence(if nat_in_kernel { "IPVS forwards with Masq (NAT)".to_string() } else { "keepalived.conf: lvs_method NAT".to_string() })
                .fix_command("sysctl -w net.ipv4.ip_forward=1"),
        );
    }
}
