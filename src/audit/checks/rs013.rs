//! RS013: the firewall drops the clients' traffic to the VIP itself, now or, with the rules
//! file the distribution restores, after a reboot (RHEL's default /etc/sysconfig/iptables
//! rejects everything but SSH). At runtime both iptables' filter INPUT and nftables'
//! input-hook base chains are walked.
use crate::audit::parse::nft::decided_chain;
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    let fix = "accept traffic whose original destination is the VIP before any DROP/REJECT: -m conntrack --ctorigdst VIP -j ACCEPT (lbdoctor audit --fix adds it, now and in the boot rules file)";
    // Nothing accepts the VIP yet: RS001 says so; the walk below would only repeat it.
    if !a.acceptance.is_empty() {
        if let Some((iface, dst, w)) = a.vip_input_blocked(&a.ipt) {
            out.push(
                Finding::new("RS013", &a.f.host, format!("the firewall drops client traffic to the VIP {vip}:{} arriving on {iface}: the service is down through the load balancer", a.t.port))
                    .evidence(format!("INPUT for a client -> {dst}:{} (original destination {vip}): {}", a.t.port, w.decided_by))
                    .fix_text(fix),
            );
            return;
        }
        if let Some((iface, dst, w)) = a.vip_input_blocked_nft() {
            let mut f = Finding::new("RS013", &a.f.host, format!("the nftables ruleset drops client traffic to the VIP {vip}:{} arriving on {iface}: the service is down through the load balancer", a.t.port))
                .evidence(format!("nftables input hook for a client -> {dst}:{} (original destination {vip}): {}", a.t.port, w.decided_by));
            for u in &w.unknown {
                f = f.evidence(format!("not evaluated: {u}"));
            }
            let chain = decided_chain(&w.decided_by)
                .map(|(fam, t, c)| format!("{fam} {t} {c}"))
                .unwrap_or_else(|| "FAMILY TABLE CHAIN".into());
            out.push(f.fix_text(format!("accept traffic whose original destination is the VIP before that drop: nft insert rule {chain} ct original ip daddr {vip} tcp dport {} accept (an accept in another table does not override a drop here)", a.t.port)));
            return;
        }
    }
    if let Some((path, rs)) = &a.boot_ipt {
        if let Some((iface, dst, w)) = a.vip_input_blocked(rs) {
            out.push(
                Finding::new("RS013", &a.f.host, format!("after a reboot, the rules restored from {path} drop client traffic to the VIP {vip}:{} arriving on {iface}: the service goes down at the next boot", a.t.port))
                    .evidence(format!("{path}: INPUT for a client -> {dst}:{} (original destination {vip}): {}", a.t.port, w.decided_by))
                    .fix_text(fix),
            );
        }
    }
}
