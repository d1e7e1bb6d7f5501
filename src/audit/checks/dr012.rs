//! DR012: the director forwards to real servers through tunnels (LVS-TUN): says which ones,
//! with which encapsulation, and what each real server then needs.
use crate::audit::parse::ipvs;
use crate::audit::Analysis;
use crate::Finding;

/// A TUN destination: service, real server, and encapsulation ("ipip", "gue port N", "gre").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunDest {
    pub service: String,
    pub real: String,
    pub kind: String,
}

/// From `ipvsadm -S -n` (`-a -t VIP:PORT -r RIP:PORT -i ... [--tun-type gue --tun-port N]`),
/// which alone shows the tunnel type (kernel 5.2+, ipvsadm 1.31+); else /proc/net/ip_vs's
/// "Tunnel" forward column, which is ipip on kernels before 5.2 and unknown after.
pub fn tun_dests(a: &Analysis) -> Vec<TunDest> {
    let mut v = Vec::new();
    if let Some(save) = a.f.ipvsadm_save.as_deref().filter(|s| !s.trim().is_empty()) {
        for l in save.lines() {
            let t: Vec<&str> = l.split_whitespace().collect();
            if t.first() != Some(&"-a") || !t.iter().any(|x| *x == "-i" || *x == "--ipip") {
                continue;
            }
            let after = |flag: &str| {
                t.iter()
                    .position(|x| *x == flag)
                    .and_then(|i| t.get(i + 1))
                    .map(|s| s.to_string())
            };
            let service = ["-t", "-u", "--sctp-service", "-f"]
                .iter()
                .find_map(|f| after(f).map(|a| format!("{} {a}", f.trim_start_matches('-'))))
                .unwrap_or_default();
            let kind = match after("--tun-type").as_deref() {
                Some("gue") => format!(
                    "gue port {}",
                    after("--tun-port").unwrap_or_else(|| "?".into())
                ),
                Some(k) => k.to_string(),
                None => "ipip".into(),
            };
            v.push(TunDest {
                service,
                real: after("-r").unwrap_or_default(),
                kind,
            });
        }
        return v;
    }
    if let Some(text) = a.f.ip_vs.as_deref() {
        for s in ipvs::parse(text).services {
            for r in s.reals.iter().filter(|r| r.2 == "Tunnel") {
                let svc = match (s.addr, s.fwmark) {
                    (Some(ip), _) => format!("{} {ip}:{}", s.proto.to_lowercase(), s.port),
                    (None, Some(m)) => format!("fwmark {m}"),
                    _ => s.proto.clone(),
                };
                v.push(TunDest {
                    service: svc,
                    real: format!("{}:{}", r.0, r.1),
                    kind: "ipip (or GUE/GRE: /proc/net/ip_vs does not say; install ipvsadm to see)"
                        .into(),
                });
            }
        }
    }
    v
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let dests = tun_dests(a);
    if dests.is_empty() {
        return;
    }
    let mut f = Finding::new(
        "DR012",
        &a.f.host,
        format!(
            "{} real server(s) are reached through tunnels (LVS-TUN): each must decapsulate them (ipip: the ipip module with tunl0 up; gue: the fou module and `ip fou add port N gue`; gre: ip_gre with gre0 up), accept the VIP, keep rp_filter off the tunnel device, and clamp its MSS, since the tunnel adds its header to every client packet",
            dests.len()
        ),
    );
    for d in &dests {
        f = f.evidence(format!("{} -> {} via {}", d.service, d.real, d.kind));
    }
    if let Some(p) = a.f.sysctl.get("net.ipv4.vs.pmtu_disc") {
        f = f.evidence(format!(
            "net.ipv4.vs.pmtu_disc = {} ({})",
            p.trim(),
            if p.trim() == "0" {
                "oversized tunnelled packets are fragmented"
            } else {
                "oversized DF packets are dropped with ICMP fragmentation-needed to the client"
            }
        ));
    }
    out.push(f.fix_text("audit the real servers as TUN real servers (lbdoctor checks ipip ones; GUE and GRE decapsulation is not audited)").fix_command("lbdoctor audit --host REAL_SERVER --lvs-method TUN --vip VIP"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{facts::HostFacts, Role, Target};

    fn dests(f: &HostFacts) -> Vec<TunDest> {
        let t = Target::default();
        tun_dests(&Analysis::new(f, &t, Role::Director))
    }

    #[test]
    fn tunnel_types_from_ipvsadm_save_else_proc() {
        let mut f = HostFacts {
            ipvsadm_save: Some("-A -t 192.168.21.20:80 -s rr\n-a -t 192.168.21.20:80 -r 192.168.21.71:80 -i -w 1\n-a -t 192.168.21.20:80 -r 192.168.21.72:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n-a -t 192.168.21.20:80 -r 192.168.21.73:80 -g -w 1\n-A -f 7 -s wlc\n-a -f 7 -r 10.0.0.5:0 -i -w 1 --tun-type gre\n".into()),
            ..Default::default()
        };
        let d = dests(&f);
        assert_eq!(
            d.iter()
                .map(|d| (d.service.as_str(), d.real.as_str(), d.kind.as_str()))
                .collect::<Vec<_>>(),
            [
                ("t 192.168.21.20:80", "192.168.21.71:80", "ipip"),
                ("t 192.168.21.20:80", "192.168.21.72:80", "gue port 6080"),
                ("f 7", "10.0.0.5:0", "gre"),
            ]
        );
        f.ipvsadm_save = None;
        f.ip_vs = Some("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 rr\n  -> C0A81547:0050      Tunnel  1      0          0\n  -> C0A81548:0050      Route   1      0          0\n".into());
        let d = dests(&f);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].real, "192.168.21.71:80");
        assert!(d[0].kind.starts_with("ipip"));
        // No tunnel destination: no finding.
        f.ip_vs = Some(
            "TCP  C0A81514:0050 rr\n  -> C0A81548:0050      Route   1      0          0\n".into(),
        );
        let t = Target::default();
        let mut out = Vec::new();
        run(&Analysis::new(&f, &t, Role::Director), &mut out);
        assert!(out.is_empty());
    }
}
