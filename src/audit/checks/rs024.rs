//! RS024 (--allow-direct, or directors audited alongside): the firewall drops the directors'
//! own connections to the real IPs' service port, which is how keepalived's TCP_CHECK and
//! HTTP_GET test a real server.
use crate::audit::parse::iptables::Walk;
use crate::audit::{blocks, first_host, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if a.t.vip.is_none() {
        return;
    }
    for net in &a.t.allow_direct {
        let src = first_host(net);
        for (iface, ip) in a.real_ips() {
            let (ipt, nft) = a.direct_walks(src, ip, &iface);
            let dropped = |w: &Option<Walk>| w.as_ref().filter(|w| blocks(w)).cloned();
            let Some(w) = dropped(&ipt).or_else(|| dropped(&nft)) else {
                continue;
            };
            out.push(
                Finding::new(
                    "RS024",
                    &a.f.host,
                    format!(
                        "the firewall drops {src}'s direct connections to {ip}:{}: a director health-checking from there (TCP_CHECK, HTTP_GET) sees this real server down and takes it out of the pool",
                        a.t.port
                    ),
                )
                .evidence(format!(
                    "{} for {src} -> {ip}:{} on {iface}: {}",
                    if dropped(&ipt).is_some() { "INPUT" } else { "nftables input hook" },
                    a.t.port,
                    w.decided_by
                ))
                .fix_text(format!(
                    "lbdoctor audit --fix --deny-direct CIDR --allow-direct {net} accepts {net} on port {} before the drop",
                    a.t.port
                )),
            );
        }
    }
}
