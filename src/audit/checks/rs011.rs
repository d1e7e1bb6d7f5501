//! RS011 (--deny-direct CIDR): the service port on the real IPs is still reachable from CIDR.
use crate::audit::parse::iptables::Verdict;
use crate::audit::{first_host, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(net) = a.t.deny_direct else { return };
    let src = first_host(&net);
    // Without iptables, the rules are nft's (not walked like iptables'): a drop for CIDR
    // and the port, such as --fix puts in table ip lbdoctor, answers the question.
    if a.f.iptables_save.is_none() {
        if let Some(rs) = a.f.nft_ruleset.as_deref() {
            if crate::fix::nft::nft_drop_for(rs, &net, a.t.port).is_some() {
                return;
            }
            if let Some((_, ip)) = a.real_ips().first() {
                out.push(
                    Finding::new(
                        "RS011",
                        &a.f.host,
                        format!("direct connections from {net} to {ip}:{} (bypassing the VIP) are not dropped: the nftables ruleset has no drop for them", a.t.port),
                    )
                    .evidence(format!("nft list ruleset: no `ip saddr {net} ... tcp dport {} drop`", a.t.port))
                    .fix_text("lbdoctor audit --fix --deny-direct CIDR adds table ip lbdoctor with rules that spare VIP traffic, SSH and established connections"),
                );
            }
            return;
        }
    }
    for (iface, ip) in a.real_ips() {
        let w = a.input_verdict(&a.ipt, src, ip, ip, a.t.port, &iface);
        if matches!(w.verdict, Verdict::Accept | Verdict::Continue) {
            let mut f = Finding::new(
                "RS011",
                &a.f.host,
                format!(
                    "direct connections from {net} to {ip}:{} (bypassing the VIP) are accepted",
                    a.t.port
                ),
            )
            .evidence(format!(
                "INPUT for {src} -> {ip}:{} on {iface}: {}",
                a.t.port, w.decided_by
            ));
            for u in w.unknown {
                f = f.evidence(format!("not evaluated: {u}"));
            }
            out.push(f.fix_text("lbdoctor audit --fix --deny-direct CIDR adds DROP rules that spare VIP traffic, SSH and established connections"));
        }
    }
}
