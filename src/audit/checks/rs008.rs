//! RS008: the VIP's REDIRECT/DNAT works now but no boot-time rules file brings it back.
use crate::audit::{Acceptance, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(rule) = a.acceptance.iter().find_map(|x| match x {
        Acceptance::Nat(r) | Acceptance::Nft(r) => Some(r.clone()),
        _ => None,
    }) else {
        return;
    };
    if a.boot_nat_rule().is_some() {
        return;
    }
    let Some(vip) = a.t.vip else { return };
    let nft_conf = crate::remedy::nft::boot_conf(a.f.is_rhel_like());
    let mut f = Finding::new(
        "RS008",
        &a.f.host,
        format!("the VIP's NAT rule is active now but a reboot would lose it: {}", match &a.boot_ipt {
            Some((p, _)) => format!("{p} (restored at boot) does not contain it"),
            None if a.f.packages.nftables_enabled => format!("{nft_conf} (loaded at boot by nftables.service) does not contain it"),
            None if a.f.iptables_save.is_none() && a.f.files.get(nft_conf).and_then(|c| crate::audit::nft_nat_for(c, vip)).is_some() => format!("{nft_conf} contains it, but nftables.service is not enabled, so nothing loads that file at boot"),
            None => "no firewall persistence is set up (netfilter-persistent, iptables-services, lbdoctor-iptables.service or an enabled nftables.service)".into(),
        }),
    )
    .evidence(format!("runtime: {rule}"));
    if let Some((p, _)) = &a.boot_ipt {
        f = f.evidence(format!(
            "{p}: {}",
            if a.f.files.contains_key(p) {
                "no matching rule"
            } else {
                "file absent"
            }
        ));
    }
    out.push(
        f.fix_text("save the rule where the distribution restores it; lbdoctor audit --fix does, and where no restore service is installed it enables its own lbdoctor-iptables.service instead of installing one"),
    );
}
