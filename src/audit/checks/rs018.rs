//! RS018: an LVS-TUN real server advertises a full-size MSS, so clients' full-size segments
//! no longer fit once the director adds the 20-byte IPIP header.
use crate::audit::Analysis;
use crate::remedy::tun;
use crate::Finding;

/// The clamp rule already in place (iptables mangle TCPMSS or nft `maxseg size set`).
pub fn clamp_present(a: &Analysis) -> Option<String> {
    let ipt =
        a.f.iptables_save
            .as_deref()
            .unwrap_or("")
            .lines()
            .find(|l| l.contains("-j TCPMSS"));
    let nft =
        a.f.nft_ruleset
            .as_deref()
            .unwrap_or("")
            .lines()
            .find(|l| l.contains("maxseg size set"));
    ipt.or(nft).map(|l| l.trim().to_string())
}

/// The largest MTU of the segment NICs (what the director's path to us most likely has).
pub fn segment_mtu(a: &Analysis) -> Option<u32> {
    a.segment_ifaces()
        .iter()
        .filter_map(|i| a.f.mtu.get(&i.name).copied())
        .max()
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    if !a.is_tun() || clamp_present(a).is_some() {
        return;
    }
    let Some(mtu) = segment_mtu(a) else { return };
    // An MTU already lowered by the overhead makes the kernel advertise a small enough MSS.
    if mtu + tun::IPIP_OVERHEAD <= 1500 {
        return;
    }
    let mss = tun::clamp_mss(mtu);
    out.push(
        Finding::new(
            "RS018",
            &a.f.host,
            format!(
                "this TUN real server advertises the MSS of its {mtu}-byte MTU ({}), so a client's full-size segment to {vip} becomes {} bytes once the director adds the 20-byte IPIP header: the director drops it and sends ICMP fragmentation-needed to the client, and where that ICMP is filtered large requests (uploads, POSTs) stall",
                mtu.saturating_sub(40),
                mtu + tun::IPIP_OVERHEAD
            ),
        )
        .evidence(format!("segment MTU {mtu}; no TCPMSS rule in iptables mangle, no `maxseg size set` in nftables"))
        .fix_command(format!("iptables -t mangle -A OUTPUT {}", tun::mss_spec(vip, mss)))
        .fix_text(format!("clamp the MSS of connections to the VIP to {mss} (lbdoctor audit --fix adds and persists the rule), or rely on PMTU discovery only where ICMP reaches clients")),
    );
}
