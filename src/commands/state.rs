//! `lbdoctor state`: the kernel's IPVS table (the `ipvsadm -Ln` view) read from saved outputs,
//! a director over SSH, or this machine; annotated, checked, and compared with keepalived.conf.

use super::Ctx;
use crate::cli::StateArgs;
use crate::finding::Finding;
use crate::ipvs::{self, checks, expected::ExpectedConfig, host, model::*};
use crate::report::{Report, Section};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub fn run(args: &StateArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    let mut notes: Vec<String> = Vec::new();
    let (mut state, read_from) = read_state(args, &mut notes)?;
    if let Some(k) = &args.kernel {
        if kernel_at_least(k, 0, 0).is_none() {
            return Err(crate::error::Error::Usage(format!(
                "--kernel {k:?}: expected a kernel release as `uname -r` prints it, e.g. 6.1.0-57-amd64"
            ))
            .into());
        }
        state.kernel = Some(k.clone());
    }
    let config = match &args.config {
        Some(p) => {
            let (cfg, lint) = ipvs::from_keepalived::load(p)?;
            if !lint.is_empty() {
                notes.push(format!(
                    "{}: {} lint finding{} (run `lbdoctor lint {}`)",
                    p.display(),
                    lint.len(),
                    if lint.len() == 1 { "" } else { "s" },
                    p.display()
                ));
            }
            if !state.has_service_table() {
                notes.push("no service table was read (only connection entries or totals): the comparison with keepalived.conf needs ipvsadm -Ln, ipvsadm-save or /proc/net/ip_vs".into());
            }
            Some(cfg)
        }
        None => None,
    };
    let mut findings = checks::run(&checks::Input {
        state: &state,
        config: config.as_ref(),
    });
    attach_snippets(&mut findings);

    let mut report = Report::new("state");
    report
        .sections
        .push(summary_section(&state, &read_from, config.as_ref(), &notes));
    if state.has_service_table() {
        report.sections.push(table_section(&state));
    }
    if let Some(s) = counters_section(&state) {
        report.sections.push(s);
    }
    if let Some(s) = connections_section(&state) {
        report.sections.push(s);
    }
    report.findings = findings;
    report.data.insert(
        "ipvs".into(),
        json!({"version": state.version, "table_size": state.table_size, "kernel": state.kernel, "timeouts": state.timeouts}),
    );
    report
        .data
        .insert("sources".into(), serde_json::to_value(&state.sources)?);
    report.data.insert(
        "services".into(),
        Value::Array(state.services.iter().map(service_json).collect()),
    );
    report.data.insert(
        "connections".into(),
        state
            .connections
            .as_ref()
            .map(connections_json)
            .unwrap_or(Value::Null),
    );
    report
        .data
        .insert("global_stats".into(), serde_json::to_value(&state.global)?);
    report.data.insert("sysctls".into(), json!(state.sysctls));
    report.data.insert("notes".into(), json!(notes));
    Ok(report)
}

fn read_state(args: &StateArgs, notes: &mut Vec<String>) -> anyhow::Result<(IpvsState, String)> {
    if !args.from.is_empty() {
        let mut parts = Vec::new();
        for p in &args.from {
            parts.push(ipvs::read_file(p)?);
        }
        let st = combine_files(parts);
        let desc = st
            .sources
            .iter()
            .map(|s| format!("{} ({})", s.file, s.kind.describe()))
            .collect::<Vec<_>>()
            .join("\n");
        notes.extend(st.notes.iter().cloned());
        return Ok((st, desc));
    }
    let (read, desc) = match &args.host {
        Some(h) => {
            let mut t = crate::remote::connect(h, &args.ssh)?;
            (host::read_remote(&mut *t)?, format!("host {h}"))
        }
        None => (host::read_local()?, "this machine".to_string()),
    };
    notes.extend(read.notes);
    notes.extend(read.state.notes.iter().cloned());
    if let Some(hz) = read.hz {
        notes.push(format!(
            "kernel HZ={hz}: /proc persistence timeouts converted to seconds"
        ));
    }
    let desc = format!(
        "{desc}: {}",
        read.state
            .sources
            .iter()
            .map(|s| s.kind.describe())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((read.state, desc))
}

fn kind_of(s: &IpvsState) -> Option<SourceKind> {
    s.sources.first().map(|x| x.kind)
}

/// Join the files given with --from. The same table format given twice (two `ipvsadm -Ln`, two
/// /proc/net/ip_vs) is two snapshots, oldest first: the latest is shown and checked, the
/// earliest is kept as `previous` to compare counters (ST008). Different formats are merged.
fn combine_files(parts: Vec<IpvsState>) -> IpvsState {
    let repeated = parts.iter().enumerate().find_map(|(i, p)| {
        let k = kind_of(p)?;
        let table = matches!(k, SourceKind::IpvsadmList | SourceKind::ProcIpVs);
        (table && parts[..i].iter().any(|q| kind_of(q) == Some(k))).then_some(k)
    });
    let mut snapshots = Vec::new();
    let mut st = IpvsState::default();
    for part in parts {
        if repeated.is_some() && kind_of(&part) == repeated {
            snapshots.push(part);
        } else {
            ipvs::merge(&mut st, part);
        }
    }
    let Some(latest) = snapshots.pop() else {
        return st;
    };
    let mut merged = latest;
    let skipped: Vec<String> = snapshots
        .iter()
        .skip(1)
        .map(|s| s.sources[0].file.clone())
        .collect();
    let first = snapshots.into_iter().next();
    ipvs::merge(&mut merged, st);
    if let Some(first) = first {
        merged.notes.push(format!(
            "{} is compared with the earlier snapshot {}",
            merged.sources[0].file, first.sources[0].file
        ));
        if !skipped.is_empty() {
            merged.notes.push(format!(
                "snapshots between the first and the last not compared: {}",
                skipped.join(", ")
            ));
        }
        merged.sources.insert(0, first.sources[0].clone());
        merged.previous = Some(Box::new(first));
    }
    merged
}

/// Findings on files readable here get the offending line as a snippet.
fn attach_snippets(findings: &mut [Finding]) {
    let mut cache: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for f in findings {
        let Some(loc) = f.location.as_mut() else {
            continue;
        };
        if loc.snippet.is_some() {
            continue;
        }
        let lines = cache.entry(loc.file.clone()).or_insert_with(|| {
            std::fs::read(&loc.file).ok().map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
        });
        let Some(text) = lines
            .as_ref()
            .and_then(|l| l.get((loc.line as usize).saturating_sub(1)))
        else {
            loc.column = loc.column.max(1);
            continue;
        };
        // Column 0 marks a connection entry: point at its destination (the 6th field in
        // both /proc/net/ip_vs_conn and ipvsadm -Lnc).
        if loc.column == 0 {
            let mut pos = 0;
            for (i, tok) in text.split_whitespace().enumerate() {
                let at = pos + text[pos..].find(tok).unwrap_or(0);
                if i == 5 {
                    loc.column = text[..at].chars().count() as u32 + 1;
                    loc.length = tok.chars().count() as u32;
                    break;
                }
                pos = at + tok.len();
            }
            loc.column = loc.column.max(1);
        }
        // Point at the address (ipvsadm/proc lines) when no column was given.
        if loc.column <= 1 {
            let lead = text.len() - text.trim_start().len();
            let t = text.trim_start();
            let (skip, word) = match t.split_whitespace().next() {
                Some("->") | Some("TCP") | Some("UDP") | Some("SCTP") | Some("FWM") => {
                    let first = t.split_whitespace().next().unwrap_or("");
                    let after = &t[first.len()..];
                    let ws = after.len() - after.trim_start().len();
                    (
                        first.len() + ws,
                        after.split_whitespace().next().unwrap_or(""),
                    )
                }
                _ => (0, t.split_whitespace().next().unwrap_or("")),
            };
            loc.column = text[..lead + skip].chars().count() as u32 + 1;
            loc.length = word.chars().count() as u32;
        }
        loc.snippet = Some(text.clone());
    }
}

fn svc_desc(s: &Service) -> String {
    let mut d = s.scheduler.clone().unwrap_or_else(|| "-".into());
    if !s.sched_flags.is_empty() {
        d.push_str(&format!(" ({})", s.sched_flags.join(",")));
    }
    if let Some(p) = &s.persistence {
        d.push_str(&format!(" persistent {}", p.timeout.short()));
        if let Some(m) = &p.netmask {
            d.push_str(&format!(" mask {m}"));
        }
    }
    if let Some(pe) = &s.pe {
        d.push_str(&format!(" pe {pe}"));
    }
    if s.ops {
        d.push_str(" ops");
    }
    d
}

/// The real server lc/wlc gives the next new connection, when it can be told.
pub fn next_pick(s: &Service) -> Option<std::net::SocketAddr> {
    let sched = s.scheduler.as_deref()?;
    let live: Vec<&RealServer> = s
        .real_servers
        .iter()
        .filter(|r| r.weight.unwrap_or(1) > 0)
        .collect();
    if live.len() < 2 || !matches!(sched, "lc" | "wlc") {
        return None;
    }
    let cost = |r: &RealServer| -> Option<f64> {
        let ov = r.overhead()? as f64;
        Some(if sched == "wlc" {
            ov / r.weight.unwrap_or(1).max(1) as f64
        } else {
            ov
        })
    };
    let mut best: Option<(&RealServer, f64)> = None;
    for r in live {
        let c = cost(r)?;
        if best.is_none_or(|(_, b)| c < b) {
            best = Some((r, c));
        }
    }
    best.map(|(r, _)| r.addr)
}

fn num(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn summary_section(
    st: &IpvsState,
    from: &str,
    config: Option<&ExpectedConfig>,
    notes: &[String],
) -> Section {
    let mut pairs = vec![("Read from".to_string(), from.to_string())];
    if let Some(v) = &st.version {
        pairs.push(("IPVS version".into(), v.clone()));
    }
    pairs.push((
        "Kernel".into(),
        match (&st.kernel, st.syn_recv_active()) {
            (Some(k), Some(true)) => format!("{k} (≥ 4.8: SYN_RECV entries count as active)"),
            (Some(k), _) => format!("{k} (< 4.8: only ESTABLISHED counts as active)"),
            (None, _) => {
                "unknown (give --kernel for --from files): SYN_RECV counts as active from Linux 4.8"
                    .into()
            }
        },
    ));
    if let Some(s) = st.table_size {
        pairs.push((
            "Connection table".into(),
            format!("size={s} hash buckets (not a connection limit)"),
        ));
    }
    if let Some(t) = &st.timeouts {
        pairs.push((
            "Timeouts".into(),
            format!(
                "TCP ESTABLISHED {} s, FIN_WAIT {} s, UDP {} s (SYN_RECV keeps the kernel's 60 s)",
                t.tcp, t.tcpfin, t.udp
            ),
        ));
    }
    if st.has_service_table() {
        let rs: usize = st.services.iter().map(|s| s.real_servers.len()).sum();
        pairs.push((
            "Virtual services".into(),
            format!("{} with {rs} real servers", st.services.len()),
        ));
    }
    if let Some(c) = &st.connections {
        pairs.push((
            "Connection entries".into(),
            format!(
                "{} ({} persistence templates){}",
                c.total,
                c.templates,
                if c.not_read > 0 {
                    format!(", {} counted but not read", c.not_read)
                } else {
                    String::new()
                }
            ),
        ));
    }
    if let Some(g) = &st.global {
        pairs.push((
            "Since ip_vs loaded".into(),
            format!(
                "{} connections, {} packets in, {} out",
                g.totals.conns, g.totals.inpkts, g.totals.outpkts
            ),
        ));
        if let Some(r) = &g.rates {
            pairs.push((
                "Now".into(),
                format!("{} conn/s, {} packets/s in", r.cps, r.inpps),
            ));
        }
    }
    if let Some(c) = config {
        pairs.push((
            "Compared with".into(),
            format!(
                "{} ({} virtual_server block{})",
                c.file,
                c.services.len(),
                if c.services.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    for n in notes {
        pairs.push(("Note".into(), n.clone()));
    }
    Section::Pairs {
        title: "IPVS state".into(),
        pairs,
    }
}

fn table_section(st: &IpvsState) -> Section {
    let header: Vec<String> = [
        "Virtual service",
        "Scheduler",
        "Real server",
        "Method",
        "Weight",
        "ActiveConn",
        "InActConn",
        "Share",
        "Note",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    if st.services.is_empty() {
        rows.push(vec![
            "(none: the kernel's IPVS table is empty)".to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    for s in &st.services {
        let (ta, ti) = (s.total_active(), s.total_inactive());
        rows.push(vec![
            s.key.to_string(),
            svc_desc(s),
            format!(
                "{} real server{}",
                s.real_servers.len(),
                if s.real_servers.len() == 1 { "" } else { "s" }
            ),
            String::new(),
            String::new(),
            num(ta),
            num(ti),
            String::new(),
            if s.real_servers.is_empty() {
                "no real server: new connections fail".into()
            } else {
                String::new()
            },
        ]);
        let total = ta.zip(ti).map(|(a, i)| a.saturating_add(i));
        let pick = next_pick(s);
        for r in &s.real_servers {
            let share = match (total, r.active, r.inactive) {
                (Some(t), Some(a), Some(i)) if t > 0 => {
                    format!(
                        "{}%",
                        (a.saturating_add(i) as f64 * 100.0 / t as f64) as u64
                    )
                }
                (Some(_), Some(_), Some(_)) => "0%".into(),
                _ => "-".into(),
            };
            let mut note = Vec::new();
            if r.weight == Some(0) {
                note.push("weight 0: no new connections".to_string());
            }
            if Some(r.addr) == pick {
                note.push(format!(
                    "gets the next new connections ({}, overhead {})",
                    s.scheduler.as_deref().unwrap_or("?"),
                    r.overhead().unwrap_or(0)
                ));
            } else if pick.is_some() && r.active.unwrap_or(0) > 0 {
                note.push(format!("overhead {}", r.overhead().unwrap_or(0)));
            }
            rows.push(vec![
                String::new(),
                String::new(),
                format!("-> {}", r.addr),
                r.forward.map_or("-".into(), |f| {
                    format!("{} ({})", f.as_str(), f.keepalived_name())
                }),
                r.weight.map_or("-".into(), |w| w.to_string()),
                num(r.active),
                num(r.inactive),
                share,
                note.join("; "),
            ]);
        }
    }
    Section::Table {
        title: "Virtual services (ipvsadm -Ln view)".into(),
        header,
        rows,
    }
}

fn counters_section(st: &IpvsState) -> Option<Section> {
    let any = st
        .services
        .iter()
        .any(|s| s.stats.is_some() || s.rates.is_some());
    if !any {
        return None;
    }
    let header: Vec<String> = [
        "Service / real server",
        "Conns",
        "InPkts",
        "OutPkts",
        "InBytes",
        "OutBytes",
        "CPS",
        "InPPS",
        "InBPS",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    let row = |name: String, stats: &Option<Stats>, rates: &Option<Rates>| -> Vec<String> {
        let s = |f: fn(&Stats) -> u64| stats.as_ref().map_or("-".into(), |x| f(x).to_string());
        let r = |f: fn(&Rates) -> u64| rates.as_ref().map_or("-".into(), |x| f(x).to_string());
        vec![
            name,
            s(|x| x.conns),
            s(|x| x.inpkts),
            s(|x| x.outpkts),
            s(|x| x.inbytes),
            s(|x| x.outbytes),
            r(|x| x.cps),
            r(|x| x.inpps),
            r(|x| x.inbps),
        ]
    };
    for sv in &st.services {
        rows.push(row(sv.key.to_string(), &sv.stats, &sv.rates));
        for r in &sv.real_servers {
            rows.push(row(format!("  -> {}", r.addr), &r.stats, &r.rates));
        }
    }
    Some(Section::Table {
        title: "Counters (ipvsadm --stats / --rate; OutPkts stay 0 in DR and TUN: replies bypass the director)".into(),
        header,
        rows,
    })
}

fn connections_section(st: &IpvsState) -> Option<Section> {
    let c = st.connections.as_ref()?;
    let mut states: Vec<String> = c.by_state.keys().cloned().collect();
    states.sort();
    let mut header = vec!["Real server".to_string()];
    header.extend(states.iter().cloned());
    let mut rows = Vec::new();
    for (d, s) in &c.by_dest {
        let mut r = vec![d.to_string()];
        r.extend(
            states
                .iter()
                .map(|k| s.get(k).copied().unwrap_or(0).to_string()),
        );
        rows.push(r);
    }
    let mut total = vec!["all".to_string()];
    total.extend(states.iter().map(|k| c.by_state[k].to_string()));
    rows.push(total);
    Some(Section::Table {
        title: format!(
            "Connection entries by state ({} entries, {} persistence templates not shown)",
            c.total, c.templates
        ),
        header,
        rows,
    })
}

fn timeout_json(t: Timeout) -> Value {
    match t {
        Timeout::Seconds(s) => json!({"seconds": s}),
        Timeout::Jiffies(j) => json!({"jiffies": j}),
    }
}

fn service_json(s: &Service) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), json!(s.key.to_string()));
    match &s.key {
        ServiceKey::Addr { proto, addr } => {
            m.insert("protocol".into(), json!(proto.as_str()));
            m.insert("address".into(), json!(addr.ip().to_string()));
            m.insert("port".into(), json!(addr.port()));
            m.insert("fwmark".into(), Value::Null);
        }
        ServiceKey::Fwmark { mark, .. } => {
            m.insert("protocol".into(), Value::Null);
            m.insert("address".into(), Value::Null);
            m.insert("port".into(), Value::Null);
            m.insert("fwmark".into(), json!(mark));
        }
    }
    m.insert("ipv6".into(), json!(s.is_ipv6()));
    m.insert("scheduler".into(), json!(s.scheduler));
    m.insert("sched_flags".into(), json!(s.sched_flags));
    m.insert(
        "persistent".into(),
        match &s.persistence {
            Some(p) => json!({"timeout": timeout_json(p.timeout), "netmask": p.netmask}),
            None if s.persistence_known => json!(false),
            None => Value::Null,
        },
    );
    m.insert("pe".into(), json!(s.pe));
    m.insert("ops".into(), json!(s.ops));
    m.insert("active".into(), json!(s.total_active()));
    m.insert("inactive".into(), json!(s.total_inactive()));
    m.insert("stats".into(), json!(s.stats));
    m.insert("rates".into(), json!(s.rates));
    m.insert(
        "next_pick".into(),
        json!(next_pick(s).map(|a| a.to_string())),
    );
    let total = s
        .total_active()
        .zip(s.total_inactive())
        .map(|(a, i)| a.saturating_add(i));
    let rs: Vec<Value> = s
        .real_servers
        .iter()
        .map(|r| {
            let share = match (total, r.active, r.inactive) {
                (Some(t), Some(a), Some(i)) if t > 0 => {
                    json!((a.saturating_add(i) as f64) / (t as f64))
                }
                (Some(_), Some(_), Some(_)) => json!(0.0),
                _ => Value::Null,
            };
            json!({
                "address": r.addr.ip().to_string(),
                "port": r.addr.port(),
                "forward": r.forward.map(|f| f.as_str()),
                "method": r.forward.map(|f| f.keepalived_name()),
                "weight": r.weight,
                "active": r.active,
                "inactive": r.inactive,
                "share": share,
                "stats": r.stats,
                "rates": r.rates,
            })
        })
        .collect();
    m.insert("real_servers".into(), Value::Array(rs));
    m.insert(
        "origin".into(),
        json!(s.origin.as_ref().map(|o| o.to_string())),
    );
    Value::Object(m)
}

fn connections_json(c: &ConnTable) -> Value {
    let by_dest: Map<String, Value> = c
        .by_dest
        .iter()
        .map(|(d, s)| (d.to_string(), json!(s)))
        .collect();
    json!({
        "total": c.total,
        "templates": c.templates,
        "not_read": c.not_read,
        "kept": c.kept.len(),
        "by_state": c.by_state,
        "by_destination": by_dest,
        "syn_recv_sources": c.syn_recv_clients.len(),
        "other_destinations": c.other_dests,
    })
}
