//! ipvsadm 1.31 outputs (ipvsadm.c `list_all`, `print_service_entry`, `print_conn`, `-S`):
//!
//! * `-Ln`: `TCP  192.168.21.20:80 lc (sh-port) persistent 360 mask 255.255.255.0 pe sip ops`
//!   then `  -> 192.168.21.71:80             Route   1      1          3`;
//!   fwmark services as `FWM  1` or `FWM  1 IPv6`.
//! * `-Ln --stats` / `--rate`: the same keys followed by five numbers, scaled with K/M/G/T
//!   from 10^8 up (`print_largenum`).
//! * `-Lnc`: `TCP 14:59  ESTABLISHED 192.168.21.50:50000 192.168.21.20:80 192.168.21.71:80`.
//! * `ipvsadm-save -n` (`ipvsadm -S -n`): `-A -t ADDR:PORT -s SCHED [-p T [-M MASK]] ...`,
//!   `-a -t ADDR:PORT -r RIP:PORT -g|-i|-m -w W`.

use super::model::*;
use super::proc_ip_vs::Entries;
use super::source::{self, Lines};

/// Parse a service key at the start of `toks`; returns the key and how many tokens it used.
fn service_key(lines: &Lines, n: usize, toks: &[&str]) -> anyhow::Result<(ServiceKey, usize)> {
    if toks.len() < 2 {
        return Err(lines.err(n, "truncated service line"));
    }
    if toks[0] == "FWM" {
        let mark = toks[1].parse::<u32>().map_err(|_| {
            lines.err(
                n,
                format!("bad fwmark {:?}: ipvsadm prints it in decimal", toks[1]),
            )
        })?;
        let ipv6 = toks.get(2) == Some(&"IPv6");
        return Ok((ServiceKey::Fwmark { mark, ipv6 }, if ipv6 { 3 } else { 2 }));
    }
    let proto = Proto::parse(toks[0]).ok_or_else(|| {
        lines.err(
            n,
            format!(
                "unknown protocol {:?}: expected TCP, UDP, SCTP or FWM",
                toks[0]
            ),
        )
    })?;
    Ok((
        ServiceKey::Addr {
            proto,
            addr: source::dec_addr_port(lines, n, toks[1])?,
        },
        2,
    ))
}

/// ipvsadm's `print_largenum`: plain below 10^8, else K/M/G/T (powers of 1000, truncated).
fn largenum(lines: &Lines, n: usize, s: &str) -> anyhow::Result<(u64, bool)> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'K') => (&s[..s.len() - 1], 1_000u64),
        Some(b'M') => (&s[..s.len() - 1], 1_000_000),
        Some(b'G') => (&s[..s.len() - 1], 1_000_000_000),
        Some(b'T') => (&s[..s.len() - 1], 1_000_000_000_000),
        _ => (s, 1),
    };
    let v = source::dec_u64(lines, n, digits, "counter")?;
    Ok((v.saturating_mul(mult), mult != 1))
}

fn five(lines: &Lines, n: usize, toks: &[&str]) -> anyhow::Result<([u64; 5], bool)> {
    let v = source::five(lines, n, toks, "numbers after the address", |t| {
        largenum(lines, n, t)
    })?;
    Ok((v.map(|x| x.0), v.iter().any(|x| x.1)))
}

fn stats_of(v: [u64; 5], approximate: bool) -> Stats {
    Stats {
        conns: v[0],
        inpkts: v[1],
        outpkts: v[2],
        inbytes: v[3],
        outbytes: v[4],
        approximate,
    }
}

fn rates_of(v: [u64; 5], approximate: bool) -> Rates {
    Rates {
        cps: v[0],
        inpps: v[1],
        outpps: v[2],
        inbps: v[3],
        outbps: v[4],
        approximate,
    }
}

/// `ipvsadm -Ln`, `-Ln --stats`, `-Ln --rate`.
pub fn parse_list(lines: &mut Lines, kind: SourceKind) -> anyhow::Result<IpvsState> {
    let mut st = IpvsState::default();
    let mut entries = Entries::new(1);
    while let Some((n, t)) = entries.next(lines, &mut st)? {
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks[0] == "->" {
            let rs = match kind {
                SourceKind::IpvsadmList => {
                    source::real_server_line(lines, n, &toks, source::dec_addr_port)?
                }
                _ => {
                    if toks.len() < 2 {
                        return Err(lines.err(n, "truncated real server line"));
                    }
                    let mut rs = RealServer::new(source::dec_addr_port(lines, n, toks[1])?);
                    let (v, a) = five(lines, n, &toks[2..])?;
                    if kind == SourceKind::IpvsadmStats {
                        rs.stats = Some(stats_of(v, a));
                    } else {
                        rs.rates = Some(rates_of(v, a));
                    }
                    rs
                }
            };
            let Some(svc) = st.services.last_mut() else {
                return Err(lines.err(n, "real server line before any virtual service"));
            };
            svc.real_servers.push(RealServer {
                origin: lines.origin(n),
                ..rs
            });
            continue;
        }
        let (key, used) = service_key(lines, n, &toks)?;
        let mut svc = Service::new(key);
        svc.origin = lines.origin(n);
        let rest = &toks[used..];
        match kind {
            SourceKind::IpvsadmList => list_service_rest(lines, n, rest, &mut svc)?,
            SourceKind::IpvsadmStats => {
                let (v, a) = five(lines, n, rest)?;
                svc.stats = Some(stats_of(v, a));
            }
            _ => {
                let (v, a) = five(lines, n, rest)?;
                svc.rates = Some(rates_of(v, a));
            }
        }
        st.services.push(svc);
    }
    if !entries.titled() {
        return Err(lines.err(lines.last_line(), "truncated: no column titles"));
    }
    Ok(st)
}

fn list_service_rest(
    lines: &Lines,
    n: usize,
    rest: &[&str],
    svc: &mut Service,
) -> anyhow::Result<()> {
    let Some(sched) = rest.first() else {
        return Err(lines.err(n, "truncated service line: no scheduler"));
    };
    svc.scheduler = Some(sched.to_string());
    svc.persistence_known = true;
    let mut i = 1;
    while i < rest.len() {
        let tok = rest[i];
        let arg = rest.get(i + 1).copied();
        match tok {
            _ if tok.starts_with('(') => {
                let inner = tok.trim_start_matches('(').trim_end_matches(')');
                if !tok.ends_with(')') || inner.is_empty() {
                    return Err(lines.err(n, format!("bad scheduler flags {tok:?}")));
                }
                svc.sched_flags = inner.split(',').map(str::to_string).collect();
            }
            "persistent" => {
                let t =
                    arg.ok_or_else(|| lines.err(n, "truncated: `persistent` without a timeout"))?;
                svc.persistence = Some(Persistence {
                    timeout: Timeout::Seconds(source::dec_u64(lines, n, t, "persistence timeout")?),
                    netmask: None,
                });
                i += 1;
            }
            "mask" => {
                let m = arg.ok_or_else(|| lines.err(n, "truncated: `mask` without a value"))?;
                let p = svc
                    .persistence
                    .as_mut()
                    .ok_or_else(|| lines.err(n, "`mask` without `persistent`"))?;
                p.netmask = Some(m.to_string());
                i += 1;
            }
            "pe" => {
                let m = arg.ok_or_else(|| lines.err(n, "truncated: `pe` without a name"))?;
                svc.pe = Some(m.to_string());
                i += 1;
            }
            "ops" => svc.ops = true,
            // Some vendor ipvsadm builds print this; it does not change the analysis.
            "synproxy" => {}
            other => return Err(lines.err(n, format!("unexpected {other:?} on a service line"))),
        }
        i += 1;
    }
    Ok(())
}

/// `ipvsadm -Lnc`.
pub fn parse_conn(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut table = ConnTable {
        origin: lines.origin(1),
        ..Default::default()
    };
    while let Some((n, l)) = lines.next_line()? {
        let t = l.trim();
        if t.is_empty() || t.starts_with("IPVS connection entries") || t.starts_with("pro expire") {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks.len() < 6 {
            return Err(lines.err(
                n,
                format!("truncated connection line: expected `pro expire state source virtual destination`, found {} fields", toks.len()),
            ));
        }
        let (m, s) = toks[1]
            .split_once(':')
            .ok_or_else(|| lines.err(n, format!("bad expiry {:?}: expected MM:SS", toks[1])))?;
        let expires = source::dec_u64(lines, n, m, "expiry")?
            .saturating_mul(60)
            .saturating_add(source::dec_u64(lines, n, s, "expiry")?);
        table.add(
            Connection {
                proto: toks[0].to_ascii_uppercase(),
                client: source::dec_addr_port(lines, n, toks[3])?,
                virt: source::dec_addr_port(lines, n, toks[4])?,
                dest: source::dec_addr_port(lines, n, toks[5])?,
                state: toks[2].to_string(),
                expires_secs: expires,
                pe: (toks.len() > 6).then(|| toks[6..].join(" ")),
            },
            n,
        );
    }
    Ok(IpvsState {
        connections: Some(table),
        ..Default::default()
    })
}

/// `ipvsadm-save -n` / `ipvsadm -S -n`.
/// `ipvsadm -L --timeout`: `Timeout (tcp tcpfin udp): 900 120 300` (ipvsadm.c
/// print_timeout): the ESTABLISHED, FIN_WAIT and UDP timeouts in seconds, as `ipvsadm --set`
/// changes them. The other TCP states keep the kernel's defaults (SYN_RECV 60 s).
pub fn parse_timeout(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut st = IpvsState::default();
    while let Some((n, l)) = lines.next_line()? {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if st.timeouts.is_some() {
            return Err(lines.err(n, "unexpected line after the timeout line"));
        }
        let rest = t
            .strip_prefix("Timeout (tcp tcpfin udp):")
            .ok_or_else(|| lines.err(n, "expected `Timeout (tcp tcpfin udp): TCP TCPFIN UDP`"))?;
        let v: Vec<&str> = rest.split_whitespace().collect();
        if v.len() != 3 {
            return Err(lines.err(
                n,
                format!("expected 3 timeouts (tcp tcpfin udp), found {}", v.len()),
            ));
        }
        st.timeouts = Some(Timeouts {
            tcp: source::dec_u64(lines, n, v[0], "tcp timeout")?,
            tcpfin: source::dec_u64(lines, n, v[1], "tcpfin timeout")?,
            udp: source::dec_u64(lines, n, v[2], "udp timeout")?,
        });
    }
    if st.timeouts.is_none() {
        return Err(lines.err(lines.last_line(), "truncated: no timeout line"));
    }
    Ok(st)
}

pub fn parse_save(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut st = IpvsState::default();
    let mut entries = 0usize;
    while let Some((n, l)) = lines.next_line()? {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        entries += 1;
        source::check_table_size(lines, n, entries)?;
        let toks: Vec<&str> = t.split_whitespace().collect();
        let add_service = match toks[0] {
            "-A" => true,
            "-a" => false,
            other => {
                return Err(lines.err(
                    n,
                    format!("unexpected {other:?}: ipvsadm-save lines start with -A or -a"),
                ))
            }
        };
        let mut key: Option<ServiceKey> = None;
        let mut proto: Option<Proto> = None;
        let mut svc_addr: Option<std::net::SocketAddr> = None;
        let mut fwmark: Option<u32> = None;
        let mut ipv6 = false;
        let mut svc = Service::new(ServiceKey::Fwmark {
            mark: 0,
            ipv6: false,
        });
        svc.persistence_known = true;
        svc.origin = lines.origin(n);
        let mut rs: Option<RealServer> = None;
        let mut forward = None;
        let mut weight = None;
        let mut i = 1;
        while i < toks.len() {
            let tok = toks[i];
            let arg = toks.get(i + 1).copied();
            let need = |what: &str| {
                arg.ok_or_else(|| lines.err(n, format!("truncated: {tok} without {what}")))
            };
            match tok {
                "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => {
                    proto = Some(match tok {
                        "-t" | "--tcp-service" => Proto::Tcp,
                        "-u" | "--udp-service" => Proto::Udp,
                        _ => Proto::Sctp,
                    });
                    svc_addr = Some(source::dec_addr_port(lines, n, need("an address")?)?);
                    i += 1;
                }
                "-f" | "--fwmark-service" => {
                    let m = need("a mark")?;
                    fwmark = Some(
                        m.parse()
                            .map_err(|_| lines.err(n, format!("bad fwmark {m:?}")))?,
                    );
                    i += 1;
                }
                "-6" | "--ipv6" => ipv6 = true,
                "-s" | "--scheduler" => {
                    svc.scheduler = Some(need("a scheduler")?.to_string());
                    i += 1;
                }
                "-p" | "--persistent" => {
                    let v = need("a timeout")?;
                    svc.persistence = Some(Persistence {
                        timeout: Timeout::Seconds(source::dec_u64(
                            lines,
                            n,
                            v,
                            "persistence timeout",
                        )?),
                        netmask: None,
                    });
                    i += 1;
                }
                "-M" | "--netmask" => {
                    let m = need("a netmask")?;
                    let p = svc
                        .persistence
                        .as_mut()
                        .ok_or_else(|| lines.err(n, "-M without -p"))?;
                    p.netmask = Some(m.to_string());
                    i += 1;
                }
                "--pe" | "pe" => {
                    svc.pe = Some(need("a name")?.to_string());
                    i += 1;
                }
                "-o" | "--ops" | "ops" => svc.ops = true,
                "-b" | "--sched-flags" => {
                    svc.sched_flags = need("flags")?.split(',').map(str::to_string).collect();
                    i += 1;
                }
                "-r" | "--real-server" => {
                    rs = Some(RealServer::new(source::dec_addr_port(
                        lines,
                        n,
                        need("an address")?,
                    )?));
                    i += 1;
                }
                "-g" | "--gatewaying" => forward = Some(Forward::RouteOrLocal),
                "-i" | "--ipip" => forward = Some(Forward::Tunnel),
                "-m" | "--masquerading" => forward = Some(Forward::Masq),
                "-w" | "--weight" => {
                    weight = Some(source::weight(lines, n, need("a weight")?)?);
                    i += 1;
                }
                "-x" | "--u-threshold" | "-y" | "--l-threshold" | "--tun-type" | "--tun-port" => {
                    need("a value")?;
                    i += 1;
                }
                "--tun-nocsum" | "--tun-csum" | "--tun-remcsum" => {}
                other => {
                    return Err(lines.err(n, format!("unexpected {other:?} in an ipvsadm rule")))
                }
            }
            i += 1;
        }
        if let Some(m) = fwmark {
            key = Some(ServiceKey::Fwmark { mark: m, ipv6 });
        } else if let (Some(p), Some(a)) = (proto, svc_addr) {
            key = Some(ServiceKey::Addr { proto: p, addr: a });
        }
        let Some(key) = key else {
            return Err(lines.err(n, "rule without -t/-u/--sctp-service ADDR:PORT or -f MARK"));
        };
        if add_service {
            svc.key = key;
            st.services.push(svc);
        } else {
            let Some(mut rs) = rs else {
                return Err(lines.err(n, "-a rule without -r REAL:PORT"));
            };
            rs.forward = forward;
            rs.weight = weight;
            rs.origin = lines.origin(n);
            let Some(s) = st.services.iter_mut().find(|s| s.key == key) else {
                return Err(lines.err(n, format!("-a for {key}, which no earlier -A line adds")));
            };
            s.real_servers.push(rs);
        }
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST_HEAD: &str = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

    #[test]
    fn incident_table() {
        let text = format!("{LIST_HEAD}TCP  192.168.21.20:80 lc\n  -> 192.168.21.71:80                Route   1      1          3\n  -> 192.168.21.72:80                Route   1      0          4\n");
        let mut l = Lines::from_str("seed", &text);
        let st = parse_list(&mut l, SourceKind::IpvsadmList).unwrap();
        assert_eq!(st.table_size, Some(4096));
        let s = &st.services[0];
        assert_eq!(s.scheduler.as_deref(), Some("lc"));
        assert_eq!(s.real_servers.len(), 2);
        assert_eq!(s.real_servers[0].overhead(), Some(259));
        assert_eq!(s.real_servers[1].overhead(), Some(4));
    }

    #[test]
    fn flags_persistence_ipv6_fwmark() {
        let text = format!("{LIST_HEAD}TCP  10.0.0.1:443 sh (sh-fallback,sh-port) persistent 10800 mask 255.255.255.0 pe sip\nUDP  [2001:db8::20]:53 rr persistent 360 mask 64 ops\n  -> [2001:db8::11]:53             Masq    1      0          12\nFWM  10 IPv6 wlc\nFWM  268439552 wrr\n");
        let mut l = Lines::from_str("f", &text);
        let st = parse_list(&mut l, SourceKind::IpvsadmList).unwrap();
        assert_eq!(st.services[0].sched_flags, vec!["sh-fallback", "sh-port"]);
        assert_eq!(st.services[0].pe.as_deref(), Some("sip"));
        let p = st.services[0].persistence.as_ref().unwrap();
        assert_eq!(p.timeout, Timeout::Seconds(10800));
        assert_eq!(p.netmask.as_deref(), Some("255.255.255.0"));
        assert!(st.services[1].ops);
        assert_eq!(st.services[1].real_servers[0].inactive, Some(12));
        assert_eq!(
            st.services[2].key,
            ServiceKey::Fwmark {
                mark: 10,
                ipv6: true
            }
        );
        assert_eq!(
            st.services[3].key,
            ServiceKey::Fwmark {
                mark: 268439552,
                ipv6: false
            }
        );
    }

    #[test]
    fn stats_and_rates_with_largenum() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\nTCP  192.168.21.20:80                   8       45        0     2920        0\n  -> 192.168.21.71:80                   4       33        0     2136        0\n  -> 192.168.21.72:80                   4       12        0   123456K        0\n";
        let mut l = Lines::from_str("s", text);
        let st = parse_list(&mut l, SourceKind::IpvsadmStats).unwrap();
        let s = &st.services[0];
        assert_eq!(s.stats.as_ref().unwrap().conns, 8);
        let r = s.real_servers[1].stats.as_ref().unwrap();
        assert_eq!(r.inbytes, 123_456_000);
        assert!(r.approximate);
        let text = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\nTCP  192.168.21.20:80                   1        5        0      320        0\n  -> 192.168.21.71:80                   0        1        0       64        0\n";
        let mut l = Lines::from_str("r", text);
        let st = parse_list(&mut l, SourceKind::IpvsadmRate).unwrap();
        assert_eq!(st.services[0].rates.as_ref().unwrap().inpps, 5);
        assert_eq!(
            st.services[0].real_servers[0].rates.as_ref().unwrap().inbps,
            64
        );
    }

    #[test]
    fn lnc() {
        let text = "IPVS connection entries\npro expire state       source             virtual            destination\nTCP 14:59  ESTABLISHED 192.168.21.50:50000 192.168.21.20:80   192.168.21.71:80\nTCP 00:57  SYN_RECV    192.168.21.51:40000 192.168.21.20:80   192.168.21.72:80\nTCP 05:59  NONE        192.168.21.52:0    192.168.21.20:80   192.168.21.72:80\n";
        let mut l = Lines::from_str("c", text);
        let c = parse_conn(&mut l).unwrap().connections.unwrap();
        assert_eq!(c.total, 3);
        assert_eq!(c.templates, 1);
        assert_eq!(c.kept[0].expires_secs, 899);
        assert_eq!(
            c.by_dest[&"192.168.21.72:80".parse().unwrap()]["SYN_RECV"],
            1
        );
    }

    #[test]
    fn save() {
        let text = "-A -t 192.168.21.20:80 -s lc -p 360 -M 255.255.255.0\n-a -t 192.168.21.20:80 -r 192.168.21.71:80 -g -w 1\n-a -t 192.168.21.20:80 -r 192.168.21.72:80 -g -w 0\n-A -f 1 -6 -s wlc\n-a -f 1 -6 -r [2001:db8::11]:0 -i -w 3 --tun-type ipip\n";
        let mut l = Lines::from_str("save", text);
        let st = parse_save(&mut l).unwrap();
        assert_eq!(st.services.len(), 2);
        assert_eq!(st.services[0].real_servers[1].weight, Some(0));
        assert_eq!(
            st.services[0].real_servers[1].forward,
            Some(Forward::RouteOrLocal)
        );
        assert_eq!(
            st.services[1].key,
            ServiceKey::Fwmark {
                mark: 1,
                ipv6: true
            }
        );
        assert_eq!(
            st.services[1].real_servers[0].forward,
            Some(Forward::Tunnel)
        );
        let mut l = Lines::from_str(
            "save",
            "-a -t 192.168.21.20:80 -r 192.168.21.71:80 -g -w 1\n",
        );
        let e = parse_save(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("save:1: -a for TCP 192.168.21.20:80"), "{e}");
        let mut l = Lines::from_str("save", "-A -t 192.168.21.20:80 -s\n");
        let e = parse_save(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("save:1: truncated: -s"), "{e}");
    }

    #[test]
    fn garbled_list_lines() {
        for (body, want) in [
            (
                "TCP  192.168.21.20:80 lc\n  -> 192.168.21.71:80   Route   1      1\n",
                "g:5: truncated real server line",
            ),
            ("TCP  192.168.21.20\n", "g:4: bad address:port"),
            (
                "TCP  192.168.21.20:80 lc bogus\n",
                "g:4: unexpected \"bogus\"",
            ),
            (
                "TCP  192.168.21.20:80\n",
                "g:4: truncated service line: no scheduler",
            ),
        ] {
            let text = format!("{LIST_HEAD}{body}");
            let mut l = Lines::from_str("g", &text);
            let e = parse_list(&mut l, SourceKind::IpvsadmList)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{e} (wanted {want})");
        }
    }
}
