//! RS012: the firewall drops new SSH connections (from the --deny-direct CIDR, or anyone).
//! Both firewalls are walked: iptables' filter INPUT and nftables' input-hook base chains
//! (a drop in either stops the packet).
use crate::audit::parse::nft::decided_chain;
use crate::audit::{blocks, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let src = a.probe_client();
    for port in a.ssh_ports() {
        for (iface, ip) in a.real_ips() {
            let message = format!("new SSH connections from {src} to {ip}:{port} are dropped: a reboot or a lost session would lock operators out");
            let w = a.input_verdict(&a.ipt, src, ip, ip, port, &iface);
            if blocks(&w) {
                out.push(
                    Finding::new("RS012", &a.f.host, message)
                        .evidence(format!("INPUT on {iface}: {}", w.decided_by))
                        .fix_command(format!(
                            "iptables -I INPUT 1 -p tcp --dport {port} -j ACCEPT"
                        )),
                );
                continue;
            }
            let Some(w) = a.nft_input_verdict(src, ip, ip, port, &iface) else {
                continue;
            };
            if blocks(&w) {
                let mut f = Finding::new("RS012", &a.f.host, message)
                    .evidence(format!("nftables input hook on {iface}: {}", w.decided_by));
                for u in &w.unknown {
                    f = f.evidence(format!("not evaluated: {u}"));
                }
                if let Some((fam, table, chain)) = decided_chain(&w.decided_by) {
                    f = f.fix_command(format!(
                        "nft insert rule {fam} {table} {chain} tcp dport {port} accept"
                    ));
                }
                out.push(f);
            }
        }
    }
}
