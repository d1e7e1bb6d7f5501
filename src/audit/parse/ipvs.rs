//! /proc/net/ip_vs (ip_vs_ctl.c ip_vs_info_seq_show): hex addresses and ports.

use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub proto: String,
    pub addr: Option<Ipv4Addr>,
    pub port: u16,
    pub fwmark: Option<u32>,
    pub sched: String,
    pub reals: Vec<(Ipv4Addr, u16, String)>,
}

pub struct Table {
    pub size: Option<u64>,
    pub services: Vec<Service>,
}

fn hex_addr_port(s: &str) -> Option<(Ipv4Addr, u16)> {
    let (a, p) = s.split_once(':')?;
    let a = u32::from_str_radix(a, 16).ok()?;
    let p = u16::from_str_radix(p, 16).ok()?;
    Some((Ipv4Addr::from(a), p))
}

pub fn parse(text: &str) -> Table {
    let mut t = Table {
        size: None,
        services: Vec::new(),
    };
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if l.starts_with("IP Virtual Server") {
            t.size = l
                .split("size=")
                .nth(1)
                .and_then(|s| s.trim_end_matches(')').parse().ok());
            continue;
        }
        match f.first().copied() {
            Some(p @ ("TCP" | "UDP" | "SCTP")) if f.len() >= 3 => {
                if let Some((a, port)) = hex_addr_port(f[1]) {
                    t.services.push(Service {
                        proto: p.into(),
                        addr: Some(a),
                        port,
                        fwmark: None,
                        sched: f[2].into(),
                        reals: vec![],
                    });
                }
            }
            Some("FWM") if f.len() >= 3 => {
                let m = u32::from_str_radix(f[1], 16).ok();
                t.services.push(Service {
                    proto: "FWM".into(),
                    addr: None,
                    port: 0,
                    fwmark: m,
                    sched: f[2].into(),
                    reals: vec![],
                });
            }
            Some("->") if f.len() >= 3 => {
                if let (Some((a, p)), Some(s)) = (hex_addr_port(f[1]), t.services.last_mut()) {
                    s.reals.push((a, p, f[2].to_string()));
                }
            }
            _ => {}
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_proc_net_ip_vs() {
        let t = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 lc \n  -> C0A81548:0050      Route   1      0          12\n  -> C0A81547:0050      Route   1      1          0\nFWM  00000001 rr \n";
        let p = super::parse(t);
        assert_eq!(p.size, Some(4096));
        assert_eq!(p.services.len(), 2);
        assert_eq!(p.services[0].addr, Some("192.168.21.20".parse().unwrap()));
        assert_eq!(p.services[0].port, 80);
        assert_eq!(
            p.services[0].reals[1].0,
            "192.168.21.71".parse::<std::net::Ipv4Addr>().unwrap()
        );
        assert_eq!(p.services[0].reals[0].2, "Route");
        assert_eq!(p.services[1].fwmark, Some(1));
    }
}
