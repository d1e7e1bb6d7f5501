//! RS011 (--deny-direct CIDR): the service port on the real IPs is still reachable from CIDR.
//! Walks iptables' filter INPUT and nftables' input-hook base chains: a drop in either
//! closes the port.
use crate::audit::parse::iptables::Walk;
use crate::audit::{blocks, first_host_outside, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(net) = a.t.deny_direct else { return };
    let src = first_host_outside(&net, &a.t.allow_direct);
    let fix_ipt = "lbdoctor audit --fix --deny-direct CIDR adds DROP rules that spare VIP traffic, SSH and established connections";
    let fix_nft = "lbdoctor audit --fix --deny-direct CIDR adds table ip lbdoctor with rules that spare VIP traffic, SSH and established connections";
    // A snapshot from before `nft -j` was gathered has only the text ruleset: a drop for CIDR
    // and the port, such as --fix puts in table ip lbdoctor, answers the question.
    if a.f.iptables_save.is_none() && a.nft.is_none() {
        if let Some(rs) = a.f.nft_ruleset.as_deref() {
            if crate::audit::nft_drop_for(rs, &net, a.t.port).is_some() {
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
                    .fix_text(fix_nft),
                );
            }
            return;
        }
    }
    for (iface, ip) in a.real_ips() {
        let (ipt, nft) = a.direct_walks(src, ip, &iface);
        let closed = |w: &Option<Walk>| w.as_ref().is_some_and(blocks);
        if closed(&ipt) || closed(&nft) {
            continue;
        }
        // Nothing walked: nft without an input-hook filter chain, or no firewall tool at all
        // (then iptables' walk of nothing, as before).
        let nothing = ipt.is_none() && nft.is_none();
        let ipt = match (ipt, a.nft.is_some()) {
            (None, false) => Some(a.input_verdict(&a.ipt, src, ip, ip, a.t.port, &iface)),
            (ipt, _) => ipt,
        };
        let mut f = Finding::new(
            "RS011",
            &a.f.host,
            format!(
                "direct connections from {net} to {ip}:{} (bypassing the VIP) are accepted",
                a.t.port
            ),
        );
        if nothing && a.nft.is_some() {
            f = f.evidence(
                "nft list ruleset: no filter chain on the input hook (nothing filters it)",
            );
        }
        let mut unknown = Vec::new();
        if let Some(w) = ipt {
            f = f.evidence(format!(
                "INPUT for {src} -> {ip}:{} on {iface}: {}",
                a.t.port, w.decided_by
            ));
            unknown.extend(w.unknown);
        }
        if let Some(w) = nft {
            f = f.evidence(format!(
                "nftables input hook for {src} -> {ip}:{} on {iface}: {}",
                a.t.port, w.decided_by
            ));
            unknown.extend(w.unknown);
        }
        for u in unknown {
            f = f.evidence(format!("not evaluated: {u}"));
        }
        let fix = if a.f.iptables_save.is_none() {
            fix_nft
        } else {
            fix_ipt
        };
        out.push(f.fix_text(fix));
    }
}
