//! RS013: the firewall drops the clients' traffic to the VIP itself, now or, with the rules
//! file the distribution restores, after a reboot (RHEL's default /etc/sysconfig/iptables
//! rejects everything but SSH).
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
