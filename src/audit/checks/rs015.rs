//! RS015: an LVS-TUN real server cannot decapsulate: the ipip module is not loaded, or its
//! fallback device tunl0 is down (ip_tunnel_lookup hands packets to it only while it is up).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if !a.is_tun() {
        return;
    }
    let loaded = a.f.tunnel_modules.iter().any(|m| m == "ipip");
    let tunl0 = a.tunl0();
    let problem = match (loaded, tunl0) {
        (false, _) | (_, None) => "the ipip module is not loaded, so there is no tunl0 to decapsulate the director's IPIP packets: the kernel answers them with ICMP protocol-unreachable and clients hang",
        (true, Some(t)) if !t.up => "tunl0 is down: the kernel hands IPIP packets only to an up tunl0, so every packet the director tunnels here is dropped and clients hang",
        (true, Some(t)) => {
            // Decapsulated, the request's input device is tunl0: a REDIRECT rewrites it to
            // tunl0's first IPv4 address, and netfilter drops it when tunl0 has none.
            let redirect_only = !a.vip_is_local() && !a.acceptance.is_empty();
            if redirect_only && !t.addrs.iter().any(|x| x.ip.parse::<std::net::Ipv4Addr>().is_ok()) {
                if let Some(vip) = a.tun_vip() {
                    out.push(
                        Finding::new("RS015", &a.f.host, format!("the VIP {vip} is accepted only by a REDIRECT, which drops tunnelled requests: a packet decapsulated on tunl0 has tunl0 as its input device, REDIRECT rewrites its destination to that device's first IPv4 address, and tunl0 has none, so netfilter drops it (nf_nat_redirect_ipv4) while the audit of a DR server would pass"))
                            .evidence("tunl0: up, no IPv4 address")
                            .evidence(format!("VIP accepted by: {}", a.acceptance.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join("; ")))
                            .fix_command(crate::remedy::tun::vip_command(vip))
                            .fix_text("put the VIP on tunl0 as /32 (lbdoctor audit --fix does, and persists it in lbdoctor-tunl0.service); seen in the real-IPVS lab on Linux 6.1"),
                    );
                }
            }
            return;
        }
    };
    let mut f = Finding::new("RS015", &a.f.host, problem.to_string())
        .evidence(format!(
            "tunnel modules loaded: {}",
            if a.f.tunnel_modules.is_empty() {
                "none".to_string()
            } else {
                a.f.tunnel_modules.join(", ")
            }
        ))
        .evidence(match tunl0 {
            Some(t) => format!("tunl0: {}", if t.up { "up" } else { "down" }),
            None => "no tunl0 interface".to_string(),
        });
    for c in crate::remedy::tun::runtime_commands() {
        f = f.fix_command(c);
    }
    out.push(
        f.fix_text("load ipip and bring tunl0 up (lbdoctor audit --fix does, and persists both)"),
    );
}
