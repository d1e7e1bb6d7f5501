//! `lbdoctor detect`: tell DSR from NAT from a proxy, from the wire (live or from a file).

use super::Ctx;
use crate::capture::analyze::{Analysis, Analyzer, Config, Seen, VrrpSource};
use crate::capture::decode::fmt_mac;
use crate::capture::live;
use crate::capture::probe::{self, ProbeResult};
use crate::capture::source::{FileSource, Issues, LiveStats};
use crate::capture::verdict::{self, Mode, Verdict};
use crate::cli::DetectArgs;
use crate::error::Error;
use crate::finding::{Finding, Severity};
use crate::report::{Report, Section};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Parse `VIP`, `VIP:PORT`, `[V6]:PORT` or a bare IPv6 address.
pub fn parse_target(s: &str) -> Result<(IpAddr, Option<u16>), Error> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "`{s}` is not VIP[:PORT] ({why}); examples: 192.168.21.20, 192.168.21.20:443, [2001:db8::20]:80"
        ))
    };
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        if sa.port() == 0 {
            return Err(bad("port 0"));
        }
        return Ok((sa.ip(), Some(sa.port())));
    }
    if let Some((h, p)) = s.rsplit_once(':') {
        if h.parse::<IpAddr>().is_err() {
            return Err(bad(
                "not an IP address; give the VIP itself, not a host name",
            ));
        }
        return Err(bad(&format!("bad port `{p}`")));
    }
    Err(bad(
        "not an IP address; give the VIP itself, not a host name",
    ))
}

/// What a live run adds to the report.
#[derive(Debug, Clone, Default)]
pub struct LiveInfo {
    pub iface: String,
    pub stats: LiveStats,
    pub probes: Option<ProbeResult>,
    pub written: Option<String>,
}

pub fn run(args: &DetectArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let (vip, port) = parse_target(&args.target)?;
    if args.max_flows == 0 {
        return Err(Error::Usage("--max-flows must be at least 1".into()).into());
    }
    if !(args.duration > 0.0 && args.duration.is_finite()) {
        return Err(Error::Usage("--duration must be a positive number of seconds".into()).into());
    }
    let live_port = port.unwrap_or(80);
    let mut an = Analyzer::new(Config {
        vip,
        port: if args.read.is_some() {
            port
        } else {
            Some(live_port)
        },
        max_flows: args.max_flows,
    });
    let mut issues = Issues::default();
    let mut live_info = None;
    let mut source_label;
    let mut host_neigh = BTreeMap::new();
    if let Some(path) = &args.read {
        source_label = path.display().to_string();
        let mut src = FileSource::open(path)?;
        let bar = progress_bar(ctx, src.file_len, "bytes");
        let limit = args.count.unwrap_or(u64::MAX);
        let mut n = 0u64;
        while n < limit {
            let Some(p) = src.next_packet() else { break };
            an.packet(&p);
            n += 1;
            if n.is_multiple_of(65536) {
                if let Some(b) = &bar {
                    b.set_position(src.consumed);
                    b.set_message(format!("{n} packets"));
                }
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        issues = src.issues;
    } else {
        let iface = match &args.interface {
            Some(i) => i.clone(),
            None => live::route_interface(vip)?,
        };
        source_label = format!("live on {iface}");
        live::check_permission(&iface)?;
        let probes_n = if args.no_probe { 0 } else { args.probes };
        let done = Arc::new(AtomicU32::new(0));
        let bar = progress_bar(ctx, (args.duration * 1000.0) as u64, "ms");
        let mut probe_handle = None;
        let probe_done = done.clone();
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finished2 = finished.clone();
        let mut finished_at: Option<std::time::Instant> = None;
        let stats = live::capture(
            &live::LiveOptions {
                iface: &iface,
                vip,
                duration: Duration::from_secs_f64(args.duration),
                count: args.count,
                write: args.write.as_deref(),
            },
            |p| an.packet(p),
            |n, el| {
                if let Some(b) = &bar {
                    b.set_position(el.as_millis() as u64);
                    b.set_message(format!(
                        "{n} packets, probes {}/{}",
                        probe_done.load(Ordering::Relaxed),
                        probes_n
                    ));
                }
                // With probes, stop one second after the last one finished.
                if probes_n > 0 && finished2.load(Ordering::Relaxed) {
                    let t = *finished_at.get_or_insert_with(std::time::Instant::now);
                    return t.elapsed() < Duration::from_secs(1);
                }
                true
            },
            || {
                if probes_n > 0 {
                    let done = done.clone();
                    let fin = finished.clone();
                    probe_handle = Some(std::thread::spawn(move || {
                        let r = probe::run(vip, live_port, probes_n, Duration::from_secs(2), done);
                        fin.store(true, Ordering::Relaxed);
                        r
                    }));
                }
            },
        )?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let probes = probe_handle.and_then(|h| h.join().ok());
        host_neigh = live::host_neighbours();
        live_info = Some(LiveInfo {
            iface,
            stats,
            probes,
            written: args.write.as_ref().map(|p| p.display().to_string()),
        });
    }
    let reader_issues = std::mem::take(&mut an.issues);
    let analysis = an.finish();
    let mut all_issues = issues;
    let listed = reader_issues.list.len() as u64;
    for i in reader_issues.list {
        all_issues.push(i.packet, i.message, i.fatal);
    }
    all_issues.total += reader_issues.total - listed;
    all_issues.list.sort_by_key(|i| (i.fatal, i.packet));
    if let Some(l) = &live_info {
        source_label = format!("live on {}", l.iface);
    }
    let v = verdict::decide(&analysis, &host_neigh);
    Ok(build_report(
        &analysis,
        &v,
        &all_issues,
        live_info.as_ref(),
        &source_label,
    ))
}

fn progress_bar(ctx: &Ctx, len: u64, unit: &str) -> Option<indicatif::ProgressBar> {
    if !ctx.interactive || ctx.quiet {
        return None;
    }
    let b = indicatif::ProgressBar::new(len.max(1));
    let tmpl = if unit == "ms" {
        "{spinner} capturing [{bar:30}] {eta} left, {msg}"
    } else {
        "{spinner} reading [{bar:30}] {bytes}/{total_bytes}, {msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(tmpl) {
        b.set_style(style.progress_chars("=> "));
    }
    Some(b)
}

fn seen_json(s: &Seen) -> Value {
    json!({"count": s.count, "first_packet": s.first_packet, "first_ts": s.first_ts,
           "last_packet": s.last_packet, "last_ts": s.last_ts})
}

fn vrrp_json(s: &VrrpSource) -> Value {
    json!({
        "vrid": s.vrid,
        "priority": s.priority,
        "interval": s.interval,
        "vips": s.vips.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "src_mac": s.src_mac.map(|m| fmt_mac(&m)),
        "src_ip": s.src_ip.to_string(),
        "version": s.version,
        "count": s.seen.count,
        "resign_count": s.resign,
        "first_packet": s.seen.first_packet,
        "last_packet": s.seen.last_packet,
    })
}

/// Routers advertising for one vrid, or one VIP, at the same time.
pub fn split_brains(a: &Analysis) -> Vec<(String, Vec<&VrrpSource>)> {
    let active: Vec<&VrrpSource> = a.vrrp.iter().filter(|s| s.seen.count > s.resign).collect();
    let overlap = |x: &VrrpSource, y: &VrrpSource| {
        let iv = x.interval.max(y.interval).max(1.0);
        let o = x.seen.last_ts.min(y.seen.last_ts) - x.seen.first_ts.max(y.seen.first_ts);
        o > 2.0 * iv
    };
    let mut out = Vec::new();
    let vrids: BTreeSet<u8> = active.iter().map(|s| s.vrid).collect();
    for vrid in vrids {
        let srcs: Vec<&VrrpSource> = active.iter().copied().filter(|s| s.vrid == vrid).collect();
        let switches = a.vrrp_groups.get(&vrid).map(|g| g.switches).unwrap_or(0);
        let mut both: Vec<&VrrpSource> = Vec::new();
        for (i, x) in srcs.iter().enumerate() {
            for y in &srcs[i + 1..] {
                if x.src_ip != y.src_ip && (overlap(x, y) || switches >= 4) {
                    for s in [*x, *y] {
                        if !both.iter().any(|b| std::ptr::eq(*b, s)) {
                            both.push(s);
                        }
                    }
                }
            }
        }
        if both.len() >= 2 {
            out.push((format!("vrid {vrid}"), both));
        }
    }
    // The same VIP advertised under different vrids (mismatched virtual_router_id).
    let vips: BTreeSet<IpAddr> = active.iter().flat_map(|s| s.vips.iter().copied()).collect();
    for vip in vips {
        let srcs: Vec<&VrrpSource> = active
            .iter()
            .copied()
            .filter(|s| s.vips.contains(&vip))
            .collect();
        let ids: BTreeSet<u8> = srcs.iter().map(|s| s.vrid).collect();
        if ids.len() < 2 {
            continue;
        }
        let mut both: Vec<&VrrpSource> = Vec::new();
        for (i, x) in srcs.iter().enumerate() {
            for y in &srcs[i + 1..] {
                if x.vrid != y.vrid && x.src_ip != y.src_ip && overlap(x, y) {
                    for s in [*x, *y] {
                        if !both.iter().any(|b| std::ptr::eq(*b, s)) {
                            both.push(s);
                        }
                    }
                }
            }
        }
        if both.len() >= 2 {
            out.push((
                format!(
                    "VIP {vip} (vrids {})",
                    ids.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                both,
            ));
        }
    }
    out
}

fn describe_router(s: &VrrpSource) -> String {
    format!(
        "{} ({}) vrid {} priority {} v{}, {} adverts, packets {}..{}",
        s.src_ip,
        s.src_mac
            .map(|m| fmt_mac(&m))
            .unwrap_or_else(|| "no MAC".into()),
        s.vrid,
        s.priority,
        s.version,
        s.seen.count,
        s.seen.first_packet,
        s.seen.last_packet
    )
}

pub fn flood_rule(vip: IpAddr) -> String {
    match vip {
        IpAddr::V4(_) => format!(
            "iptables -t mangle -A PREROUTING -d {vip}/32 -p tcp -m u32 --u32 \"0x20&0xffff=0x0\" -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m length --length 40"
        ),
        IpAddr::V6(_) => format!(
            "ip6tables -t mangle -A PREROUTING -d {vip}/128 -p tcp -m u32 --u32 \"0x30&0xffff=0x0\" -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m length --length 60"
        ),
    }
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "0%".into()
    } else {
        format!("{:.0}%", n as f64 * 100.0 / d as f64)
    }
}

/// A real server's IP from its MAC: the verdict's backends, else the ARP seen in the capture.
fn ip_of(a: &Analysis, v: &Verdict, mac: &crate::capture::decode::Mac) -> Option<IpAddr> {
    v.backends
        .iter()
        .find(|b| b.mac == *mac)
        .and_then(|b| b.ip)
        .or_else(|| {
            a.neighbours
                .iter()
                .find(|(ip, m)| *m == mac && **ip != a.vip)
                .map(|(ip, _)| *ip)
        })
}

fn mac_and_ip(a: &Analysis, v: &Verdict, mac: &crate::capture::decode::Mac) -> String {
    match ip_of(a, v, mac) {
        Some(ip) => format!("{} ({ip})", fmt_mac(mac)),
        None => fmt_mac(mac),
    }
}

pub fn build_report(
    a: &Analysis,
    v: &Verdict,
    issues: &Issues,
    live: Option<&LiveInfo>,
    source: &str,
) -> Report {
    let mut r = Report::new("detect");
    let target = format!(
        "{}:{}",
        match a.vip {
            IpAddr::V6(x) => format!("[{x}]"),
            x => x.to_string(),
        },
        a.port
    );
    let fc = &a.flows;

    // The method.
    if v.mode == Mode::Unknown {
        let mut f = Finding::new("DT002", &target, v.explanation.clone())
            .evidence_lines(v.evidence.clone());
        f = f.evidence(format!(
            "{} packets read, {} to or from {}",
            a.packets, a.vip_packets, a.vip
        ));
        f = if live.is_some() {
            f.fix_text("capture longer (-d), or let lbdoctor make traffic (drop --no-probe), or capture where the VIP's traffic passes (-i)")
        } else {
            f.fix_text("capture on the VIP's segment while clients connect: `lbdoctor detect VIP -w evidence.pcap`, or `tcpdump -i IFACE -w FILE host VIP or arp or vrrp`")
        };
        r.findings.push(f);
    } else {
        let f = Finding::new(
            "DT001",
            &target,
            format!(
                "{} (confidence {:.0}%). {}",
                match v.mode {
                    Mode::Dsr => "DSR",
                    Mode::Nat => "NAT",
                    Mode::Proxy => "Proxy",
                    Mode::Direct => "Direct",
                    Mode::Unknown => "Unknown",
                },
                v.confidence * 100.0,
                v.explanation
            ),
        )
        .evidence_lines(v.evidence.clone());
        r.findings.push(f);
    }

    // Unanswered connections.
    if fc.unanswered > 0 {
        let answered_by: Vec<String> = v
            .backends
            .iter()
            // From the director's side every forwarded-to MAC is listed; only those that
            // answered belong here.
            .filter(|b| b.flows > 0 || b.replies > 0)
            .map(|b| match b.ip {
                Some(ip) => format!("{} ({ip})", fmt_mac(&b.mac)),
                None => fmt_mac(&b.mac),
            })
            .collect();
        let mut fwd: BTreeMap<String, u64> = BTreeMap::new();
        for (i, st) in a.mac_stats.iter().enumerate() {
            if st.unanswered_forwarded > 0 {
                fwd.insert(mac_and_ip(a, v, &a.macs[i]), st.unanswered_forwarded);
            }
        }
        let some_answered = fc.answered > 0 || fc.refused > 0;
        let mut msg = format!(
            "{} of {} connection attempts to {target} were never answered (SYN sent, no SYN-ACK or RST came back){}.",
            fc.unanswered,
            fc.attempted,
            if some_answered { format!(", while {} were answered", fc.answered) } else { String::new() }
        );
        let real_unanswered = fc.unanswered;
        if some_answered && v.mode == Mode::Dsr {
            msg.push_str(&format!(
                " Under DSR this usually means one real server lacks the VIP setup (the VIP on lo or an iptables REDIRECT for it, with arp_ignore=1/arp_announce=2): the director forwards its share of connections to it at layer 2, it drops them because it does not own the VIP, and its health check, made against its real IP, still passes, so keepalived keeps it in the pool. Answering real servers: {}.",
                answered_by.join(", ")
            ));
            if fwd.is_empty() {
                msg.push_str(" The forwarded copies of the unanswered SYNs are not visible from this capture point (only the director sees where it sends them); the silent real server is the one in the pool that is missing from the answering list (see `ipvsadm -Ln` on the director, or capture there).");
            } else {
                msg.push_str(&format!(
                    " The unanswered SYNs were forwarded to MAC(s): {}: {} the real server{} that drop{} them.",
                    fwd.iter()
                        .map(|(m, n)| format!("{m}, {n} flows"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    if fwd.len() == 1 { "this is" } else { "these are" },
                    if fwd.len() == 1 { "" } else { "s" },
                    if fwd.len() == 1 { "s" } else { "" },
                ));
            }
        } else if some_answered {
            msg.push_str(" Some connections work and others do not: the box behind the VIP sends part of them to a server that does not answer, or drops them under load.");
        } else if a.vip_owners.is_empty() && a.first_ts > 0.0 {
            msg.push_str(" Nothing answered at all and no ARP/NDP owner of the VIP was seen: the VIP may not be held by any load balancer, or the service is down everywhere.");
        } else {
            msg.push_str(" Nothing answered at all: the service on the VIP is down, or every backend is failing.");
        }
        let mut f = Finding::new("DT003", &target, msg).severity(
            if fc.unanswered * 20 >= fc.attempted.max(1) {
                Severity::Error
            } else {
                Severity::Warning
            },
        );
        for e in &a.unanswered_examples {
            f = f.evidence(format!(
                "packet {} at {:.6}: SYN {}:{} -> {target}, sent {} time(s), never answered{}{}",
                e.syn_packet,
                e.syn_ts,
                e.client,
                e.client_port,
                e.tries,
                e.lb_mac
                    .map(|m| format!("; sent to MAC {}", fmt_mac(&m)))
                    .unwrap_or_default(),
                e.forwarded_to
                    .map(|m| format!("; forwarded to MAC {}", mac_and_ip(a, v, &m)))
                    .unwrap_or_default()
            ));
        }
        let silent_ips: Vec<String> = a
            .mac_stats
            .iter()
            .enumerate()
            .filter(|(_, st)| st.unanswered_forwarded > 0)
            .filter_map(|(i, _)| ip_of(a, v, &a.macs[i]))
            .map(|ip| ip.to_string())
            .collect();
        if v.mode == Mode::Dsr && some_answered && !silent_ips.is_empty() {
            f = f
                .fix_text("audit the real server the unanswered SYNs were forwarded to: it lacks the VIP setup (lbdoctor audit --fix applies and persists it); lbdoctor check tests its VIP path directly")
                .fix_command(format!("lbdoctor audit --host {}", silent_ips.join(" --host ")))
                .fix_command(format!("lbdoctor check {target} --rs {}", silent_ips.join(" --rs ")));
        } else if v.mode == Mode::Dsr && some_answered && real_unanswered > 0 {
            f = f
                .fix_text("audit the real servers; the one that does not answer lacks the VIP setup (lbdoctor audit --fix applies and persists it)")
                .fix_command("lbdoctor audit --host REAL_SERVER")
                .fix_command("ipvsadm -Ln --stats   # on the director: which real server gets connections");
        }
        r.findings.push(f);
    }

    // VRRP split brain.
    for (what, routers) in split_brains(a) {
        let f = Finding::new(
            "DT004",
            &target,
            format!(
                "VRRP split brain on {what}: {} routers advertise as master at the same time, so both may answer ARP for the VIP and traffic flips between them. Routers: {}.",
                routers.len(),
                routers.iter().map(|s| format!("{} ({})", s.src_ip, s.src_mac.map(|m| fmt_mac(&m)).unwrap_or_default())).collect::<Vec<_>>().join(" and ")
            ),
        )
        .evidence_lines(routers.iter().map(|s| describe_router(s)))
        .fix_text("make the peers hear each other (VRRP is IP protocol 112 to 224.0.0.18, or unicast_peer): allow it in both firewalls, and give both the same virtual_router_id, auth and VIP list")
        .fix_command("tcpdump -ni IFACE 'ip proto 112'   # on each director: do you see the peer's adverts?")
        .fix_command("lbdoctor lint lb1/keepalived.conf lb2/keepalived.conf");
        r.findings.push(f);
    }

    // More than one MAC claims the VIP.
    if a.vip_owners.len() >= 2 {
        let mut owners = a.vip_owners.clone();
        owners.sort_by_key(|(_, s)| s.first_packet);
        let sequential = owners
            .windows(2)
            // A move (failover) leaves a gap; owners answering together are a conflict.
            .all(|w| w[1].1.first_ts - w[0].1.last_ts > 1.0);
        let names: Vec<String> = owners.iter().map(|(m, _)| fmt_mac(m)).collect();
        let msg = if sequential && !a.vrrp.is_empty() {
            format!(
                "The VIP {} moved between MACs {} during the capture (each claimed it in turn): a VRRP failover, or a flapping owner.",
                a.vip,
                names.join(" then ")
            )
        } else {
            format!(
                "{} MACs answer ARP/NDP for the VIP {}: {}. Only the director may; a real server that carries the VIP without arp_ignore=1 and arp_announce=2 answers too, and clients whose ARP cache points at it bypass the load balancer.",
                owners.len(),
                a.vip,
                names.join(", ")
            )
        };
        let msg = match v.bypass_mac {
            Some(m) => format!(
                "{msg} In this capture the client's requests went to {}, not to the load balancer {}: its ARP cache holds a real server's MAC for the VIP.",
                fmt_mac(&m),
                v.lb_mac.map(|x| fmt_mac(&x)).unwrap_or_default()
            ),
            None => msg,
        };
        let mut f =
            Finding::new("DT005", &target, msg).evidence_lines(owners.iter().map(|(m, s)| {
                let ip = a
                    .neighbours
                    .iter()
                    .find(|(_, x)| *x == m)
                    .map(|(ip, _)| format!(" (also uses {ip})"))
                    .unwrap_or_default();
                format!(
                    "{}{ip}: claimed the VIP {} time(s), packets {}..{}",
                    fmt_mac(m),
                    s.count,
                    s.first_packet,
                    s.last_packet
                )
            }));
        if sequential && !a.vrrp.is_empty() {
            f = f.severity(Severity::Info);
        } else {
            f = f
                .fix_text("on every real server: net.ipv4.conf.all.arp_ignore=1 and arp_announce=2 (persisted); lbdoctor audit --fix does it")
                .fix_command("lbdoctor audit --host REAL_SERVER --fix");
        }
        r.findings.push(f);
    }

    // SYN flood signature.
    let s = &a.syn;
    let dur = (s.last_ts - s.first_ts).max(0.0);
    let rate = if dur > 0.0 {
        s.syns as f64 / dur
    } else {
        s.syns as f64
    };
    let distinct = s.sources.estimate();
    if s.syns >= 500 && (s.peak_per_second >= 500 || s.bare * 2 >= s.syns) {
        let mut f = Finding::new(
            "DT006",
            a.vip.to_string(),
            format!(
                "{} SYNs to {} ({:.0}/s average, peak {}/s in one second); {} ({}) have window 0, no TCP options and a 40-byte IP packet (a flood tool's signature), from about {} distinct sources{}.",
                s.syns,
                a.vip,
                rate,
                s.peak_per_second,
                s.bare,
                pct(s.bare, s.syns),
                distinct,
                s.top_source.map(|(ip, n)| format!("; the busiest source {ip} sent {}", pct(n, s.syns))).unwrap_or_default()
            ),
        )
        .evidence(format!("SYNs from {:.6} to {:.6}", s.first_ts, s.last_ts))
        .fix_text("count the flood on the director with this rule (read its counter with `iptables -t mangle -L PREROUTING -v -x -n`), then rate-limit or drop it upstream; enable SYN cookies on the real servers and size IPVS's connection table")
        .fix_command(flood_rule(a.vip));
        if s.bare * 2 < s.syns {
            f = f.severity(Severity::Info);
        }
        r.findings.push(f);
    }

    // Problems in the input.
    if issues.total > 0 {
        let fatal = issues.list.iter().find(|i| i.fatal);
        let msg = match fatal {
            Some(i) => format!(
                "{}{}",
                i.message,
                if issues.total > 1 {
                    format!("; {} other problem(s) were skipped over", issues.total - 1)
                } else {
                    String::new()
                }
            ),
            None => {
                let mut parts = Vec::new();
                if a.malformed > 0 {
                    parts.push(format!("{} malformed packet(s) were skipped", a.malformed));
                }
                if a.unsupported > 0 {
                    parts.push(format!(
                        "{} packet(s) on a link type lbdoctor does not decode were not analysed",
                        a.unsupported
                    ));
                }
                if parts.is_empty() {
                    parts.push(format!("{} packet(s) were skipped", issues.total));
                }
                format!("{}; everything else was analysed.", parts.join(", and "))
            }
        };
        let f = Finding::new("DT007", source, msg).evidence_lines(
            issues
                .list
                .iter()
                .filter(|i| !i.fatal)
                .take(10)
                .map(|i| i.message.clone()),
        );
        r.findings.push(f);
    }

    if a.evicted > 0 {
        r.findings.push(
            Finding::new(
                "DT008",
                &target,
                format!(
                    "The flow table held at most {} flows; {} older flows were evicted to bound memory. Their counts are included in the totals; only per-flow detail (such as matching a late reply) was lost.",
                    a.max_flows, a.evicted
                ),
            )
            .fix_text("raise --max-flows if the machine has memory to spare (about 100 bytes per flow)"),
        );
    }

    if let Some(l) = live {
        if l.stats.dropped > 0 || l.stats.if_dropped > 0 {
            r.findings.push(
                Finding::new(
                    "DT009",
                    format!("live on {}", l.iface),
                    format!(
                        "The kernel dropped {} packet(s) (and the interface {}) of {} received by the filter: the counts above are missing those packets.",
                        l.stats.dropped, l.stats.if_dropped, l.stats.received
                    ),
                )
                .fix_text("capture for a shorter time, or on a less busy port; -w FILE and -r it later does not help, the drop happens in the kernel buffer"),
            );
        }
    }

    // Sections (human only).
    let mut pairs = vec![
        ("Mode".to_string(), v.mode.as_str().to_uppercase()),
        ("Confidence".into(), format!("{:.0}%", v.confidence * 100.0)),
        (
            "VIP".into(),
            format!(
                "{target}{}",
                if a.port_was_guessed && live.is_none() && a.port != 80 {
                    " (no port given: the busiest port)"
                } else {
                    ""
                }
            ),
        ),
        (
            "LB MAC".into(),
            v.lb_mac
                .map(|m| format!("{} (from {})", fmt_mac(&m), v.lb_mac_source))
                .unwrap_or_else(|| "-".into()),
        ),
        ("Source".into(), source.to_string()),
        (
            "Packets".into(),
            format!(
                "{} read, {} to/from the VIP, over {:.1} s",
                a.packets,
                a.vip_packets,
                a.duration()
            ),
        ),
    ];
    if let Some(l) = live {
        pairs.push((
            "Kernel".into(),
            format!(
                "{} received by filter, {} dropped by kernel, {} dropped by interface",
                l.stats.received, l.stats.dropped, l.stats.if_dropped
            ),
        ));
        if let Some(p) = &l.probes {
            pairs.push((
                "Probes".into(),
                format!(
                    "{} sent, {} answered ({} with HTTP)",
                    p.sent, p.answered, p.http_answered
                ),
            ));
        }
        if let Some(w) = &l.written {
            pairs.push(("Saved to".into(), w.clone()));
        }
    }
    r.sections.push(Section::Pairs {
        title: "Verdict".into(),
        pairs,
    });
    r.sections.push(Section::Text {
        title: String::new(),
        body: v.explanation.clone(),
    });
    if !v.backends.is_empty() {
        r.sections.push(Section::Table {
            title: "Backends (MACs answering from the VIP)".into(),
            header: [
                "MAC",
                "IP",
                "flows",
                "share",
                "replies",
                "first reply",
                "SYN-ACK delay",
            ]
            .map(String::from)
            .to_vec(),
            rows: v
                .backends
                .iter()
                .map(|b| {
                    vec![
                        format!(
                            "{}{}",
                            fmt_mac(&b.mac),
                            if b.is_director { " (director)" } else { "" }
                        ),
                        match (b.ip, b.ip_source) {
                            (Some(ip), Some(src)) => format!("{ip} ({src})"),
                            _ => "-".into(),
                        },
                        b.flows.to_string(),
                        format!("{:.0}%", b.share * 100.0),
                        b.replies.to_string(),
                        if b.replies > 0 {
                            format!("#{}", b.first_reply_packet)
                        } else {
                            "-".into()
                        },
                        b.synack_delay_ms
                            .map(|d| format!("{d:.3} ms"))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
        });
    }
    r.sections.push(Section::Table {
        title: format!("Flows to {target}"),
        header: [
            "attempted",
            "answered",
            "completed",
            "unanswered",
            "reset",
            "retransmitted",
            "evicted",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![vec![
            fc.attempted.to_string(),
            fc.answered.to_string(),
            fc.completed.to_string(),
            fc.unanswered.to_string(),
            fc.reset.to_string(),
            fc.retransmitted.to_string(),
            a.evicted.to_string(),
        ]],
    });
    if !a.vrrp.is_empty() {
        r.sections.push(Section::Table {
            title: "VRRP adverts (load-balancer redundancy, not the balancing method)".into(),
            header: [
                "vrid",
                "ver",
                "source IP",
                "source MAC",
                "prio",
                "interval",
                "VIPs",
                "adverts",
                "packets",
            ]
            .map(String::from)
            .to_vec(),
            rows: a
                .vrrp
                .iter()
                .map(|s| {
                    vec![
                        s.vrid.to_string(),
                        s.version.to_string(),
                        s.src_ip.to_string(),
                        s.src_mac.map(|m| fmt_mac(&m)).unwrap_or_else(|| "-".into()),
                        s.priority.to_string(),
                        format!("{}s", s.interval),
                        s.vips
                            .iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(" "),
                        s.seen.count.to_string(),
                        format!("#{}..#{}", s.seen.first_packet, s.seen.last_packet),
                    ]
                })
                .collect(),
        });
    }

    // JSON (contract E).
    let backends: Vec<Value> = v
        .backends
        .iter()
        .map(|b| {
            json!({
                "mac": fmt_mac(&b.mac),
                "ip": b.ip.map(|i| i.to_string()),
                "ip_source": b.ip_source,
                "flows": b.flows,
                "share": (b.share * 1000.0).round() / 1000.0,
                "replies": b.replies,
                "first_reply_packet": b.first_reply_packet,
                "synack_delay_ms": b.synack_delay_ms,
                "director": b.is_director,
            })
        })
        .collect();
    r = r.with_data(
        "verdict",
        json!({
            "mode": v.mode.as_str(),
            "confidence": (v.confidence * 100.0).round() / 100.0,
            "vip": a.vip.to_string(),
            "port": a.port,
            "lb_mac": v.lb_mac.map(|m| fmt_mac(&m)),
            "lb_mac_source": v.lb_mac_source,
            "bypass_mac": v.bypass_mac.map(|m| fmt_mac(&m)),
            "backends": backends,
            "flows": {
                "attempted": fc.attempted,
                "answered": fc.answered,
                "completed": fc.completed,
                "unanswered": fc.unanswered,
                "reset": fc.reset,
                "refused": fc.refused,
                "retransmitted": fc.retransmitted,
                "flood_syns": fc.flood_syns,
                "evicted": a.evicted,
            },
            "explanation": v.explanation,
            "evidence": v.evidence,
        }),
    );
    r = r.with_data("vrrp", Value::Array(a.vrrp.iter().map(vrrp_json).collect()));
    r = r.with_data(
        "arp_owners",
        Value::Array(
            a.vip_owners
                .iter()
                .map(|(m, s)| json!({"mac": fmt_mac(m), "seen": seen_json(s)}))
                .collect(),
        ),
    );
    r = r.with_data(
        "syn",
        json!({
            "syns": s.syns, "bare": s.bare, "rate_per_second": (rate * 10.0).round() / 10.0,
            "peak_per_second": s.peak_per_second, "distinct_sources": distinct,
        }),
    );
    r = r.with_data(
        "capture",
        json!({
            "source": source,
            "packets": a.packets,
            "vip_packets": a.vip_packets,
            "duration": a.duration(),
            "malformed": a.malformed,
            "issues": issues.list.iter().map(|i| json!({"packet": i.packet, "message": i.message, "fatal": i.fatal})).collect::<Vec<_>>(),
            "issues_total": issues.total,
            "kernel": live.map(|l| json!({"received": l.stats.received, "dropped": l.stats.dropped, "if_dropped": l.stats.if_dropped})),
        }),
    );
    if let Some(l) = live {
        if let Some(p) = &l.probes {
            r = r.with_data("probes", json!({"sent": p.sent, "answered": p.answered, "http_answered": p.http_answered, "source_ports": p.source_ports, "failures": p.failures}));
        } else {
            r = r.with_data("probes", json!({"sent": 0, "answered": 0}));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            parse_target("192.168.21.20").unwrap(),
            ("192.168.21.20".parse().unwrap(), None)
        );
        assert_eq!(parse_target("192.168.21.20:443").unwrap().1, Some(443));
        assert_eq!(
            parse_target("[2001:db8::20]:80").unwrap(),
            ("2001:db8::20".parse().unwrap(), Some(80))
        );
        assert_eq!(parse_target("2001:db8::20").unwrap().1, None);
        assert!(parse_target("lb.example.com")
            .unwrap_err()
            .to_string()
            .contains("not an IP"));
        assert!(parse_target("192.168.21.20:http")
            .unwrap_err()
            .to_string()
            .contains("bad port"));
        assert!(parse_target("192.168.21.20:0").is_err());
    }

    #[test]
    fn flood_rule_matches_the_incident_rule() {
        let r = flood_rule("192.168.21.20".parse().unwrap());
        assert!(r.contains("-m u32 --u32 \"0x20&0xffff=0x0\" -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m length --length 40"));
    }
}
