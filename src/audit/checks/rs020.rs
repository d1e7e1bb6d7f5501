//! RS020: this real server can answer neighbour discovery for the IPv6 VIP on the segment.
//! IPv6 has no arp_ignore: ndisc_recv_ns (net/ipv6/ndisc.c) answers a solicitation only for
//! an address on the receiving interface (ipv6_get_ifaddr(..., dev, strict=1)), an anycast
//! address there, or a proxy NDP entry with forwarding and proxy_ndp on. A VIP on lo is
//! therefore never advertised; on a NIC it is, and its DAD fights the director's.
use crate::audit::{Acceptance, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip6 else { return };
    let v = vip.to_string();
    for acc in a.acceptance6() {
        let Acceptance::Address { iface, prefix } = acc else {
            continue;
        };
        let nic =
            a.f.interfaces
                .iter()
                .find(|i| i.name == iface)
                .is_some_and(|i| i.kind != "loopback" && i.kind != "dummy" && i.name != "lo");
        let flags =
            a.f.addr6_flags
                .get(&format!("{iface} {v}"))
                .cloned()
                .unwrap_or_default();
        if nic {
            let mut f = Finding::new("RS020", &a.f.host, format!("the IPv6 VIP {vip} is on {iface}, a NIC facing the segment: this real server answers neighbour solicitations for it and takes traffic meant for the director (and duplicate address detection fights the director's copy)"))
                .evidence(format!("{vip}/{prefix} on {iface}"));
            if !flags.is_empty() {
                f = f.evidence(format!("address flags: {}", flags.join(", ")));
            }
            out.push(
                f.fix_command(format!("ip -6 addr del {vip}/{prefix} dev {iface}"))
                    .fix_command(crate::remedy::ipv6::add_command(vip))
                    .fix_text("move the VIP to lo as /128: IPv6 answers neighbour solicitations only for addresses on the interface they arrive on, so a VIP on lo is never advertised"),
            );
        } else if prefix != 128 {
            out.push(
                Finding::new("RS020", &a.f.host, format!("the IPv6 VIP {vip} is on {iface} as /{prefix}: every address of that prefix becomes local to this host; use /128"))
                    .evidence(format!("{vip}/{prefix} on {iface}"))
                    .fix_command(format!("ip -6 addr del {vip}/{prefix} dev {iface}"))
                    .fix_command(crate::remedy::ipv6::add_command(vip)),
            );
        }
    }
    // A proxy NDP entry makes the host answer for the VIP on that NIC (with forwarding and
    // proxy_ndp on, which `ip -6 neigh add proxy` setups turn on).
    for e in
        a.f.ndp_proxy
            .iter()
            .filter(|e| e.split_whitespace().next() == Some(v.as_str()))
    {
        let dev = e
            .split_whitespace()
            .skip_while(|w| *w != "dev")
            .nth(1)
            .unwrap_or("?");
        out.push(
            Finding::new("RS020", &a.f.host, format!("a proxy NDP entry for the IPv6 VIP {vip} on {dev}: with forwarding and proxy_ndp on, this host answers neighbour solicitations for the VIP and takes traffic meant for the director"))
                .evidence(format!("ip -6 neigh show proxy: {e}"))
                .fix_command(format!("ip -6 neigh del proxy {vip} dev {dev}")),
        );
    }
}
