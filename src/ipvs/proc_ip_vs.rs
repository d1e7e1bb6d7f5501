//! /proc/net/ip_vs, as printed by `ip_vs_info_seq_show` (net/netfilter/ipvs/ip_vs_ctl.c):
//!
//! ```text
//! IP Virtual Server version 1.2.1 (size=4096)
//! Prot LocalAddress:Port Scheduler Flags
//!   -> RemoteAddress:Port Forward Weight ActiveConn InActConn
//! TCP  C0A81514:0050 lc  persistent 90000 FFFFFFFF
//!   -> C0A81547:0050      Route   1      1          3
//! FWM  00000001 wlc
//! ```
//! Addresses and ports are hex, the fwmark is hex, the persistence timeout is raw jiffies.

use super::model::*;
use super::source::{self, Lines};

/// `IP Virtual Server version 1.2.1 (size=4096)` -> ("1.2.1", 4096).
pub fn parse_version_line(
    lines: &Lines,
    n: usize,
    l: &str,
) -> anyhow::Result<(String, Option<u64>)> {
    let rest = l
        .trim()
        .strip_prefix("IP Virtual Server version ")
        .ok_or_else(|| lines.err(n, "expected `IP Virtual Server version X.Y.Z (size=N)`"))?;
    let mut it = rest.split_whitespace();
    let version = it.next().unwrap_or_default().to_string();
    if version.split('.').count() != 3 || !version.split('.').all(|p| p.parse::<u32>().is_ok()) {
        return Err(lines.err(n, format!("bad IPVS version {version:?}")));
    }
    let size = match it.next() {
        Some(s) => {
            let v = s
                .strip_prefix("(size=")
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| lines.err(n, format!("bad table size {s:?}: expected (size=N)")))?;
            Some(source::dec_u64(lines, n, v, "table size")?)
        }
        None => None,
    };
    Ok((version, size))
}

/// The entry lines of an IPVS listing (/proc/net/ip_vs or `ipvsadm -Ln[ --stats|--rate]`):
/// blank lines skipped, the version line recorded in the state, the column title lines
/// counted (an entry before `titles_needed` of them is an error), the entry count bounded.
pub struct Entries {
    titles_needed: usize,
    titles_seen: usize,
    count: usize,
}

impl Entries {
    pub fn new(titles_needed: usize) -> Entries {
        Entries {
            titles_needed,
            titles_seen: 0,
            count: 0,
        }
    }

    /// Whether every column title line was seen (checked at the end for truncated input).
    pub fn titled(&self) -> bool {
        self.titles_seen >= self.titles_needed
    }

    /// The next entry: its line number and trimmed text; None at the end of the input.
    pub fn next(
        &mut self,
        lines: &mut Lines,
        st: &mut IpvsState,
    ) -> anyhow::Result<Option<(usize, String)>> {
        while let Some((n, l)) = lines.next_line()? {
            let t = l.trim();
            if t.is_empty() {
                continue;
            }
            if t.starts_with("IP Virtual Server version") {
                let (v, size) = parse_version_line(lines, n, t)?;
                st.version = Some(v);
                st.table_size = size;
                continue;
            }
            if t.starts_with("Prot LocalAddress:Port") || t.starts_with("-> RemoteAddress:Port") {
                self.titles_seen += 1;
                continue;
            }
            if !self.titled() {
                return Err(lines.err(n, "service line before the column titles"));
            }
            self.count += 1;
            source::check_table_size(lines, n, self.count)?;
            return Ok(Some((n, t.to_string())));
        }
        Ok(None)
    }
}

pub fn parse(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut st = IpvsState::default();
    let mut entries = Entries::new(2);
    while let Some((n, t)) = entries.next(lines, &mut st)? {
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks[0] == "->" {
            let rs = source::real_server_line(lines, n, &toks, source::proc_addr_port)?;
            let Some(svc) = st.services.last_mut() else {
                return Err(lines.err(n, "real server line before any virtual service"));
            };
            svc.real_servers.push(RealServer {
                origin: lines.origin(n),
                ..rs
            });
            continue;
        }
        let mut svc = parse_service(lines, n, &toks)?;
        svc.origin = lines.origin(n);
        st.services.push(svc);
    }
    if !entries.titled() {
        return Err(lines.err(
            lines.last_line(),
            "truncated: the column titles are missing",
        ));
    }
    // The kernel prints no family for fwmark services; IPv6 real servers tell it.
    for s in &mut st.services {
        if let ServiceKey::Fwmark { ipv6, .. } = &mut s.key {
            *ipv6 = !s.real_servers.is_empty() && s.real_servers.iter().all(|r| r.addr.is_ipv6());
        }
    }
    Ok(st)
}

fn parse_service(lines: &Lines, n: usize, toks: &[&str]) -> anyhow::Result<Service> {
    if toks.len() < 3 {
        return Err(lines.err(
            n,
            "truncated service line: expected `PROTO ADDR:PORT SCHEDULER [ops] [persistent T MASK]`",
        ));
    }
    let key = if toks[0] == "FWM" {
        ServiceKey::Fwmark {
            mark: source::hex_u32(lines, n, toks[1], "fwmark")?,
            // The kernel does not print the family of a fwmark service.
            ipv6: false,
        }
    } else {
        let proto = Proto::parse(toks[0]).ok_or_else(|| {
            lines.err(
                n,
                format!(
                    "unknown protocol {:?}: expected TCP, UDP, SCTP or FWM",
                    toks[0]
                ),
            )
        })?;
        ServiceKey::Addr {
            proto,
            addr: source::proc_addr_port(lines, n, toks[1])?,
        }
    };
    let mut svc = Service::new(key);
    svc.scheduler = Some(toks[2].to_string());
    svc.persistence_known = true;
    let mut i = 3;
    while i < toks.len() {
        match toks[i] {
            "ops" => svc.ops = true,
            "persistent" => {
                let (Some(t), Some(m)) = (toks.get(i + 1), toks.get(i + 2)) else {
                    return Err(
                        lines.err(n, "truncated: `persistent` needs a timeout and a netmask")
                    );
                };
                let jiffies = source::dec_u64(lines, n, t, "persistence timeout")?;
                let raw = source::hex_u32(lines, n, m, "netmask")?;
                svc.persistence = Some(Persistence {
                    timeout: Timeout::Jiffies(jiffies),
                    netmask: netmask_from_proc(&svc, raw),
                });
                i += 2;
            }
            other => return Err(lines.err(n, format!("unexpected {other:?} on a service line"))),
        }
        i += 1;
    }
    Ok(svc)
}

/// IPv4 netmasks print as host-order hex. For IPv6 the field is a prefix length that the kernel
/// still passes through ntohl, so on little-endian hosts 128 prints as 80000000.
fn netmask_from_proc(svc: &Service, raw: u32) -> Option<String> {
    if svc.is_ipv6() {
        let plen = if raw <= 128 { raw } else { raw.swap_bytes() };
        return (plen != 128).then(|| plen.to_string());
    }
    if raw == u32::MAX {
        None
    } else {
        Some(std::net::Ipv4Addr::from(raw).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n";

    fn parse_str(body: &str) -> anyhow::Result<IpvsState> {
        let text = format!("{HEAD}{body}");
        let mut l = Lines::from_str("ip_vs", &text);
        parse(&mut l)
    }

    #[test]
    fn parses_ipv4_ipv6_fwmark_and_persistence() {
        let st = parse_str(
            "TCP  C0A81514:0050 lc  \n  -> C0A81547:0050      Route   1      1          3         \n  -> C0A81548:0050      Route   1      0          4         \nUDP  C0A81514:0035 rr ops persistent 90000 FFFFFF00\nTCP  [2001:0db8:0000:0000:0000:0000:0000:0020]:01BB wlc persistent 90000 40000000\n  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:01BB      Route   2      5          6         \nFWM  0000000A sh persistent 75000 FFFFFFFF\n  -> C0A81547:0000      Tunnel  0      0          0         \n",
        )
        .unwrap();
        assert_eq!(st.version.as_deref(), Some("1.2.1"));
        assert_eq!(st.table_size, Some(4096));
        assert_eq!(st.services.len(), 4);
        let s = &st.services[0];
        assert_eq!(s.key.to_string(), "TCP 192.168.21.20:80");
        assert_eq!(s.scheduler.as_deref(), Some("lc"));
        assert_eq!(s.real_servers[0].active, Some(1));
        assert_eq!(s.real_servers[1].inactive, Some(4));
        assert_eq!(s.real_servers[1].forward, Some(Forward::Route));
        assert_eq!(s.real_servers[1].origin.as_ref().unwrap().line, 6);
        let u = &st.services[1];
        assert!(u.ops);
        assert_eq!(
            u.persistence,
            Some(Persistence {
                timeout: Timeout::Jiffies(90000),
                netmask: Some("255.255.255.0".into())
            })
        );
        let v6 = &st.services[2];
        assert_eq!(v6.key.to_string(), "TCP [2001:db8::20]:443");
        assert_eq!(
            v6.persistence.as_ref().unwrap().netmask.as_deref(),
            Some("64")
        );
        assert_eq!(v6.real_servers[0].weight, Some(2));
        let f = &st.services[3];
        assert_eq!(
            f.key,
            ServiceKey::Fwmark {
                mark: 10,
                ipv6: false
            }
        );
        assert_eq!(f.persistence.as_ref().unwrap().netmask, None);
        assert_eq!(f.real_servers[0].forward, Some(Forward::Tunnel));
    }

    #[test]
    fn oversized_tables_stop_with_an_error() {
        let mut body = String::from("TCP  C0A81514:0050 rr\n");
        for i in 0..MAX_TABLE_ENTRIES {
            body.push_str(&format!("  -> {:08X}:0050 Route 1 0 0\n", i));
        }
        let e = parse_str(&body).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "ip_vs:{}: more than 200000",
                MAX_TABLE_ENTRIES + 4
            )),
            "{e}"
        );
    }

    #[test]
    fn garbled_lines_name_the_line() {
        for (body, want) in [
            (
                "TCP  C0A81514:0050 lc\n  -> C0A81547:0050      Route   1\n",
                "ip_vs:5: truncated real server line",
            ),
            ("TCP  C0A8:0050 lc\n", "ip_vs:4: bad address"),
            (
                "  -> C0A81547:0050      Route   1      1          3\n",
                "ip_vs:4: real server line before any virtual service",
            ),
            (
                "TCP  C0A81514:0050 lc\n  -> C0A81547:0050      Bogus   1      1          3\n",
                "ip_vs:5: unknown forwarding method",
            ),
            (
                "TCP  C0A81514:0050 lc persistent 9000\n",
                "ip_vs:4: truncated: `persistent`",
            ),
            ("ICMP  C0A81514:0050 lc\n", "ip_vs:4: unknown protocol"),
            (
                "TCP  C0A81514:0050 lc\n  -> C0A81547:0050      Route   x      1          3\n",
                "ip_vs:5: bad weight",
            ),
        ] {
            let e = parse_str(body).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e} (wanted {want})");
        }
    }
}
