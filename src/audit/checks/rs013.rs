//! RS013: the firewall drops the clients' traffic to the VIP itself.
use crate::audit::parse::iptables::Verdict;
use crate::audit::{first_host, Acceptance, Analysis};
use crate::Finding;
use std::net::Ipv4Addr;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    let src =
        a.t.deny_direct
            .map(|n| first_host(&n))
            .unwrap_or(Ipv4Addr::new(198, 51, 100, 7));
    let mut cases: Vec<(String, Ipv4Addr)> = Vec::new();
    for acc in &a.acceptance {
        match acc {
            // After REDIRECT the INPUT chain sees dst = the receiving interface's address.
            Acceptance::Nat(_) | Acceptance::Nft(_) => cases.extend(a.real_ips()),
            Acceptance::Address { .. } => {
                cases.extend(a.segment_ifaces().iter().map(|i| (i.name.clone(), vip)))
            }
        }
    }
    for (iface, dst) in cases {
        let w = a.input_verdict(&a.ipt, src, dst, vip, a.t.port, &iface);
        if matches!(w.verdict, Verdict::Drop | Verdict::Reject) {
            out.push(
                Finding::new("RS013", &a.f.host, format!("the firewall drops client traffic to the VIP {vip}:{} arriving on {iface}: the service is down through the load balancer", a.t.port))
                    .evidence(format!("INPUT for {src} -> {dst}:{} (original destination {vip}): {}", a.t.port, w.decided_by))
                    .fix_text("accept traffic whose original destination is the VIP before any DROP: -m conntrack --ctorigdst VIP -j ACCEPT"),
            );
            return;
        }
    }
}
