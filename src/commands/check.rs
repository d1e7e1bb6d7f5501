//! `lbdoctor check VIP[:PORT] --rs IP...`: does each real server answer through the VIP path,
//! as an IPVS director in DR mode reaches it? Findings CK001 (silent) and CK002 (refused).

use super::Ctx;
use crate::capture::decode::fmt_mac;
use crate::check::{self, wire::Reply, Answer, RsResult};
use crate::cli::CheckArgs;
use crate::error::Error;
use crate::finding::Finding;
use crate::report::{Report, Section};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The real servers (and port, when the target has none) that --config names for the VIP.
fn from_config(
    path: &std::path::Path,
    vip: Ipv4Addr,
    port: Option<u16>,
) -> anyhow::Result<(Vec<Ipv4Addr>, Option<u16>)> {
    let loaded = crate::keepalived::load(path, &crate::keepalived::LoadOptions::default())?;
    let mut rs = Vec::new();
    let mut ports = Vec::new();
    let mut not_dr = Vec::new();
    for vs in &loaded.config.virtual_servers {
        let Some(&(_, p)) = vs
            .addresses
            .iter()
            .find(|(a, p)| *a == IpAddr::V4(vip) && port.is_none_or(|want| want == *p))
        else {
            continue;
        };
        if vs.effective_method() != "DR" {
            not_dr.push(format!(
                "virtual_server {} (line {}) uses lvs_method {}",
                vs.key,
                vs.span.line,
                vs.effective_method()
            ));
            continue;
        }
        if !ports.contains(&p) {
            ports.push(p);
        }
        for r in &vs.real_servers {
            if let IpAddr::V4(a) = r.ip {
                if !rs.contains(&a) {
                    rs.push(a);
                }
            }
        }
    }
    if rs.is_empty() {
        let why = if not_dr.is_empty() {
            format!(
                "no virtual_server for {vip}{} with IPv4 real servers",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            )
        } else {
            format!(
                "{}; check tests the DR path only (in NAT the director rewrites the address, so the real IP is the path)",
                not_dr.join("; ")
            )
        };
        return Err(Error::file(path, why).into());
    }
    if port.is_none() && ports.len() > 1 {
        return Err(Error::file(
            path,
            format!(
                "{vip} has virtual_servers on ports {}: give one as VIP:PORT",
                ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into());
    }
    Ok((rs, ports.first().copied()))
}

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
}

fn describe(a: &Answer) -> String {
    match (a.reply, ms(a.rtt)) {
        (Reply::None, _) => format!("nothing ({} SYNs)", a.tries),
        (r, Some(t)) => format!("{} in {t:.3} ms", r.as_str()),
        (r, None) => r.as_str().to_string(),
    }
}

fn answer_json(a: &Answer) -> Value {
    json!({
        "answered": a.reply == Reply::SynAck,
        "reply": a.reply.as_str(),
        "rtt_ms": ms(a.rtt),
        "reply_mac": a.from_mac.map(|m| fmt_mac(&m)),
        "vlan": a.vlan,
        "syns_sent": a.tries,
    })
}

pub fn run(args: &CheckArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    let (vip, port) = super::detect::parse_target(&args.target)?;
    let IpAddr::V4(vip) = vip else {
        return Err(Error::Usage(format!(
            "{vip}: check tests IPv4 VIPs only for now (IPv6 DR needs neighbour discovery instead of ARP, not implemented yet)"
        ))
        .into());
    };
    if !(args.timeout > 0.0 && args.timeout <= 60.0) {
        return Err(Error::Usage(
            "--timeout must be a number of seconds above 0 and at most 60".into(),
        )
        .into());
    }
    let (real_servers, port) = match &args.config {
        Some(path) => {
            let (rs, p) = from_config(path, vip, port)?;
            (rs, port.or(p).unwrap_or(80))
        }
        None => {
            let mut rs = Vec::new();
            for s in &args.rs {
                match s.parse::<IpAddr>() {
                    Ok(IpAddr::V4(a)) => rs.push(a),
                    Ok(IpAddr::V6(_)) => {
                        return Err(Error::Usage(format!(
                            "--rs {s}: IPv6 real servers are not tested yet (IPv4 only)"
                        ))
                        .into())
                    }
                    Err(_) => {
                        return Err(Error::Usage(format!(
                            "--rs {s}: not an IPv4 address; give each real server's own IP"
                        ))
                        .into())
                    }
                }
            }
            (rs, port.unwrap_or(80))
        }
    };
    let results = check::run(
        &check::Options {
            vip,
            port,
            iface: args.interface.clone(),
            timeout: Duration::from_secs_f64(args.timeout),
        },
        &real_servers,
    )?;
    Ok(build_report(vip, port, args.timeout, &results))
}

pub fn build_report(vip: Ipv4Addr, port: u16, timeout: f64, results: &[RsResult]) -> Report {
    let target = format!("{vip}:{port}");
    let mut r = Report::new("check");
    let mut ifaces: Vec<String> = results
        .iter()
        .map(|x| format!("{} (from {})", x.iface, x.source))
        .collect();
    ifaces.dedup();
    r.sections.push(Section::Pairs {
        title: "VIP path check".into(),
        pairs: vec![
            ("VIP".into(), target.clone()),
            ("Sent on".into(), ifaces.join(", ")),
            (
                "Method".into(),
                "TCP SYN to the VIP in a frame for each real server's MAC (as IPVS DR forwards)"
                    .into(),
            ),
            ("Timeout".into(), format!("{timeout} s")),
        ],
    });
    r.sections.push(Section::Table {
        title: "Real servers".into(),
        header: [
            "real server",
            "MAC",
            "through the VIP",
            "real IP (health check's view)",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows: results
            .iter()
            .map(|x| {
                vec![
                    x.ip.to_string(),
                    format!("{} ({})", fmt_mac(&x.mac), x.mac_source),
                    describe(&x.vip),
                    describe(&x.real_ip),
                    match x.vip.reply {
                        Reply::SynAck => "ok".into(),
                        Reply::Rst => "refused on the VIP".into(),
                        Reply::None => "VIP path broken".into(),
                    },
                ]
            })
            .collect(),
    });
    let rows: Vec<Value> = results
        .iter()
        .map(|x| {
            let mut v = answer_json(&x.vip);
            let o = v.as_object_mut().expect("answer_json builds an object");
            o.insert("ip".into(), json!(x.ip.to_string()));
            o.insert("mac".into(), json!(fmt_mac(&x.mac)));
            o.insert("mac_source".into(), json!(x.mac_source));
            o.insert("interface".into(), json!(x.iface));
            o.insert("source".into(), json!(x.source.to_string()));
            o.insert("source_port".into(), json!(x.sport));
            o.insert("real_ip".into(), answer_json(&x.real_ip));
            v
        })
        .collect();
    r.data.insert(
        "check".into(),
        json!({
            "vip": vip.to_string(),
            "port": port,
            "timeout_ms": (timeout * 1000.0).round() as u64,
            "real_servers": rows,
        }),
    );
    for x in results {
        r.findings.extend(finding(vip, port, x));
    }
    r
}

fn finding(vip: Ipv4Addr, port: u16, x: &RsResult) -> Option<Finding> {
    let target = format!("{vip}:{port}");
    let subject = format!("real server {} ({})", x.ip, fmt_mac(&x.mac));
    let real = match x.real_ip.reply {
        Reply::SynAck => format!(
            "while its real IP {}:{port} answers (SYN-ACK in {:.3} ms): this is exactly what keepalived's TCP_CHECK sees, so it keeps the server in the pool and every connection the director schedules to it hangs. The server lacks the VIP setup (the VIP on lo, or an iptables REDIRECT for it, with arp_ignore=1/arp_announce=2)",
            x.ip,
            ms(x.real_ip.rtt).unwrap_or(0.0)
        ),
        Reply::Rst => format!(
            "and its real IP {}:{port} refuses the port (RST): the service is not running there either",
            x.ip
        ),
        Reply::None => format!(
            "and its real IP {}:{port} does not answer either: the server, or its service, is down or filtered",
            x.ip
        ),
    };
    let evidence = vec![
        format!(
            "SYN {}:{} -> {target} sent {} time(s) on {} to MAC {} ({}): {}",
            x.source,
            x.sport,
            x.vip.tries,
            x.iface,
            fmt_mac(&x.mac),
            x.mac_source,
            describe(&x.vip)
        ),
        format!(
            "SYN to the real IP {}:{port}: {}",
            x.ip,
            describe(&x.real_ip)
        ),
    ];
    let f = match x.vip.reply {
        Reply::SynAck => return None,
        Reply::None => Finding::new(
            "CK001",
            subject,
            format!(
                "{} does not answer SYNs for the VIP {target} delivered to its MAC, which is how the director forwards in DR, {real}.",
                x.ip
            ),
        ),
        Reply::Rst => Finding::new(
            "CK002",
            subject,
            format!(
                "{} accepts packets for the VIP {target} but refuses the connection (RST): nothing listens on the VIP's port there (the service is bound to the real IP only, or the REDIRECT leads to a port with no listener); clients the director sends to it get \"connection refused\".",
                x.ip
            ),
        ),
    };
    let f = f.evidence_lines(evidence);
    Some(match x.vip.reply {
        Reply::Rst => f
            .fix_text("make the service listen on the VIP's port for the VIP (bind to 0.0.0.0 or to the VIP), then check again")
            .fix_command(format!("ss -ltn 'sport = :{port}'   # on {}", x.ip)),
        _ => f
            .fix_text("give the real server the VIP setup and persist it, then check again; until then, take it out of the pool")
            .fix_command(format!("lbdoctor audit --host {} --vip {target} --fix", x.ip))
            .fix_command(format!("lbdoctor check {target} --rs {}", x.ip)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(vip: Reply, real: Reply) -> RsResult {
        let a = |reply| Answer {
            reply,
            rtt: (reply != Reply::None).then_some(Duration::from_micros(250)),
            from_mac: None,
            vlan: None,
            tries: if reply == Reply::None { 3 } else { 1 },
        };
        RsResult {
            ip: "10.0.0.12".parse().unwrap(),
            mac: [2, 0, 0, 0, 0, 0x12],
            mac_source: "arp",
            iface: "br0".into(),
            source: "10.0.0.1".parse().unwrap(),
            sport: 40000,
            vip: a(vip),
            real_ip: a(real),
        }
    }

    #[test]
    fn a_silent_vip_path_with_a_live_real_ip_is_ck001_naming_the_health_check() {
        let r = build_report(
            "10.0.0.20".parse().unwrap(),
            80,
            1.0,
            &[
                rs(Reply::None, Reply::SynAck),
                rs(Reply::SynAck, Reply::SynAck),
            ],
        );
        assert_eq!(r.findings.len(), 1);
        let f = &r.findings[0];
        assert_eq!(
            (f.id.as_str(), f.severity),
            ("CK001", crate::Severity::Error)
        );
        assert!(f.message.contains("TCP_CHECK"), "{}", f.message);
        let rows = &r.data["check"]["real_servers"];
        assert_eq!(rows[0]["answered"], false);
        assert_eq!(rows[0]["reply"], "none");
        assert!(rows[0]["rtt_ms"].is_null());
        assert_eq!(rows[1]["answered"], true);
        assert_eq!(rows[1]["reply"], "syn-ack");
        assert_eq!(rows[1]["rtt_ms"], 0.25);
        assert_eq!(rows[1]["real_ip"]["reply"], "syn-ack");
    }

    #[test]
    fn a_refused_vip_path_is_ck002_and_a_dead_server_says_so() {
        let r = build_report(
            "10.0.0.20".parse().unwrap(),
            80,
            1.0,
            &[rs(Reply::Rst, Reply::SynAck), rs(Reply::None, Reply::None)],
        );
        assert_eq!(r.findings[0].id, "CK002");
        assert_eq!(r.findings[1].id, "CK001");
        assert!(r.findings[1].message.contains("does not answer either"));
    }

    #[test]
    fn config_gives_the_dr_real_servers_of_the_vip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        std::fs::write(
            &p,
            "virtual_server 10.0.0.20 80 {\n lvs_method DR\n protocol TCP\n real_server 10.0.0.11 80 {\n  TCP_CHECK {\n  }\n }\n real_server 10.0.0.12 80 {\n }\n}\n\
virtual_server 10.0.0.30 80 {\n lvs_method NAT\n real_server 10.0.0.13 80 {\n }\n}\n",
        )
        .unwrap();
        let (rs, port) = from_config(&p, "10.0.0.20".parse().unwrap(), None).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(port, Some(80));
        let e = from_config(&p, "10.0.0.30".parse().unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lvs_method NAT") && e.contains("DR path only"),
            "{e}"
        );
        let e = from_config(&p, "10.0.0.40".parse().unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no virtual_server for 10.0.0.40"), "{e}");
    }
}
