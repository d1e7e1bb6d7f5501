//! RS019: packets for the IPv6 VIP are not accepted (no address, no ip6tables/nft REDIRECT).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip6 else { return };
    if !a.acceptance6().is_empty() {
        return;
    }
    out.push(
        Finding::new(
            "RS019",
            &a.f.host,
            format!("packets for the IPv6 VIP {vip} are not accepted: it is not a local address and no ip6tables or nftables REDIRECT/DNAT takes it; under DSR the director forwards them here unchanged and the kernel drops them, so clients hang"),
        )
        .evidence(format!("no interface holds {vip}"))
        .evidence(match a.f.ip6tables_save {
            Some(_) => format!("ip6tables nat PREROUTING has no REDIRECT/DNAT for {vip}"),
            None => "ip6tables-save is not installed".into(),
        })
        .fix_command(crate::remedy::ipv6::add_command(vip))
        .fix_text("put the VIP on lo as /128 (lo does no duplicate address detection, so it never turns tentative; lbdoctor audit --fix adds it now), or redirect it with ip6tables -t nat -A PREROUTING -d VIP/128 -j REDIRECT"),
    );
}
