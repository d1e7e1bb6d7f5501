//! RS012: the firewall drops new SSH connections (from the --deny-direct CIDR, or anyone).
use crate::audit::parse::iptables::Verdict;
use crate::audit::{first_host, Analysis};
use crate::Finding;
use std::net::Ipv4Addr;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let src =
        a.t.deny_direct
            .map(|n| first_host(&n))
            .unwrap_or(Ipv4Addr::new(198, 51, 100, 7));
    for port in a.ssh_ports() {
        for (iface, ip) in a.real_ips() {
            let w = a.input_verdict(&a.ipt, src, ip, ip, port, &iface);
            if matches!(w.verdict, Verdict::Drop | Verdict::Reject) {
                out.push(
                    Finding::new("RS012", &a.f.host, format!("new SSH connections from {src} to {ip}:{port} are dropped: a reboot or a lost session would lock operators out"))
                        .evidence(format!("INPUT on {iface}: {}", w.decided_by))
                        .fix_command(format!("iptables -I INPUT 1 -p tcp --dport {port} -j ACCEPT")),
                );
            }
        }
    }
}
