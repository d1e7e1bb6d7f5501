//! RS001: the real server accepts packets for the VIP in no way (no REDIRECT/DNAT, no VIP on lo).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    if !a.acceptance.is_empty() {
        return;
    }
    let nft_only = a.f.iptables_save.is_none() && a.f.nft_ruleset.is_some();
    let mut f = Finding::new(
        "RS001",
        &a.f.host,
        format!("packets for VIP {vip} are not accepted: no iptables/nftables REDIRECT or DNAT for it, and it is not a local address; under DSR the director forwards them here unchanged and the kernel drops them, so clients hang"),
    )
    .evidence(if nft_only {
        format!("iptables is not installed; the nftables ruleset has no redirect/dnat for ip daddr {vip}")
    } else {
        format!("iptables nat PREROUTING has no rule matching dst {vip} port {}", a.t.port)
    })
    .evidence(format!("no interface holds {vip}"))
    .fix_text(if a.is_tun() {
        "LVS-TUN: put the VIP on tunl0 as /32 (a REDIRECT drops tunnelled packets: tunl0 has no address to redirect to), with arp_ignore/arp_announce"
    } else {
        "add a REDIRECT for the VIP (or put the VIP on lo as /32 with arp_ignore/arp_announce)"
    });
    let cmds = if a.is_tun() {
        vec![crate::remedy::tun::vip_command(vip)]
    } else if nft_only {
        crate::remedy::nft::redirect_commands(vip)
    } else {
        crate::remedy::redirect_commands(vip)
    };
    for c in cmds {
        f = f.fix_command(c);
    }
    out.push(f);
}
