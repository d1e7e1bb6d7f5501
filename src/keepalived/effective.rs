//! From the parse tree to the effective model: what keepalived runs. Each handler applies
//! keepalived's rules: aliases share one field (lvs_sched/lb_algo, lvs_method/lb_kind), the
//! last valid line wins, invalid values are rejected and the earlier value kept, `state`
//! after MASTER is ignored, notify scripts keep the first line, sh-/mh- flags are dropped
//! unless the scheduler is already sh/mh when the line is read.

use super::keywords::{self, Kind};
use super::model::*;
use super::parser::{Document, NodeKind};
use super::ranges;
use crate::finding::Finding;
use std::net::IpAddr;

/// keepalived's lvs_schedulers[] (keepalived/check/check_parser.c).
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];

/// Keywords whose first line wins: keepalived ignores later ones ("script already specified").
pub const FIRST_WINS: &[&str] = &[
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
    "notify_up",
    "notify_down",
    "quorum_up",
    "quorum_down",
];

/// Script keywords beyond the notify/quorum ones in FIRST_WINS that run commands as some user.
const OTHER_SCRIPT_KEYWORDS: &[&str] =
    &["misc_path", "script", "startup_script", "shutdown_script"];

/// Does this keyword run a command as some user (so script security applies)?
pub fn is_script_keyword(kw: &str) -> bool {
    FIRST_WINS.contains(&kw) || OTHER_SCRIPT_KEYWORDS.contains(&kw)
}

pub struct Builder<'a> {
    pub doc: &'a Document,
    pub findings: Vec<Finding>,
}

pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next()?;
    s.parse().ok()
}

fn set<T>(slot: &mut Option<Setting<T>>, value: T, keyword: &str, span: Span) {
    let new = Setting::new(value, keyword, span);
    match slot.take() {
        Some(old) => {
            let mut n = new;
            n.overridden = old.overridden;
            n.overridden.push(old.span);
            *slot = Some(n);
        }
        None => *slot = Some(new),
    }
}

fn set_box<T>(slot: &mut Option<Box<Setting<T>>>, value: T, keyword: &str, span: Span) {
    let mut new = Setting::new(value, keyword, span);
    if let Some(old) = slot.take() {
        let old = *old;
        new.overridden = old.overridden;
        new.overridden.push(old.span);
    }
    *slot = Some(Box::new(new));
}

/// Parse a keepalived timer/decimal value ("3", "1.5").
fn num_f64(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// A timer keepalived reads with a 1 us minimum (delay_loop, connect_timeout): 0 is rejected.
fn timer(s: &str) -> Option<f64> {
    num_f64(s).filter(|v| *v > 0.0)
}

/// Keywords of virtual_server and its sub-blocks with a range rule (ranges.rs); a cheap
/// filter so the 100,000 lines of a large config do not each search the rule table.
fn is_ranged(kw: &str) -> bool {
    matches!(
        kw,
        "delay_loop"
            | "connect_timeout"
            | "retry"
            | "delay_before_retry"
            | "quorum"
            | "hysteresis"
            | "weight"
    )
}

impl<'a> Builder<'a> {
    pub fn new(doc: &'a Document) -> Self {
        Builder {
            doc,
            findings: Vec::new(),
        }
    }

    pub fn finding(&self, id: &str, n: usize, subject: &str, message: String) -> Finding {
        super::finding_at(self.doc, id, n, subject, message)
    }

    fn invalid(&mut self, n: usize, subject: &str, message: String) {
        let f = self.finding("LB010", n, subject, message);
        self.findings.push(f);
    }

    /// LB010 when a numeric keyword's value is outside the range keepalived's handler
    /// accepts (ranges.rs); `path` is the block it sits in.
    fn range(&mut self, n: usize, path: &str) {
        let doc = self.doc;
        if doc.nodes[n].kind != NodeKind::Plain {
            return;
        }
        let kw = doc.kw(n);
        let (Some(rule), Some(v)) = (ranges::rule(path, kw), doc.arg(n, 0)) else {
            return;
        };
        if let Some(why) = ranges::problem(rule.num, v) {
            let f = super::finding_line(
                doc,
                "LB010",
                n,
                &doc.words(self.owner(n)).join(" "),
                format!("`{kw} {v}` {why}; keepalived {}", rule.then),
            );
            self.findings.push(f);
        }
    }

    /// The block node holding node `n` (the node itself at top level).
    fn owner(&self, n: usize) -> usize {
        let doc = self.doc;
        (0..n)
            .rev()
            .find(|&i| doc.nodes[i].end as usize > n && doc.is_block(i))
            .unwrap_or(n)
    }

    /// LB010 for an address keepalived cannot parse, which it skips.
    fn bad_address(&mut self, n: usize, subject: &str, what: &str, addr: &str, then: &str) {
        let f = super::finding_line(
            self.doc,
            "LB010",
            n,
            subject,
            format!("`{addr}` is not an IP address: keepalived skips this {what} ({then})"),
        );
        self.findings.push(f);
    }

    pub fn build(mut self) -> (Config, Vec<Finding>) {
        let doc = self.doc;
        let mut cfg = Config {
            files: doc.files.iter().map(|f| f.path.clone()).collect(),
            ..Default::default()
        };
        for r in doc.roots() {
            match (doc.nodes[r].kind, doc.kw(r)) {
                (NodeKind::Value, "virtual_server_group") => {
                    if let Some(g) = self.vs_group(r) {
                        cfg.vs_groups.push(g);
                    }
                }
                (NodeKind::Block(_), "global_defs") => self.global_defs(r, &mut cfg),
                (NodeKind::Block(_), "vrrp_script") => {
                    if let Some(name) = doc.arg(r, 0) {
                        cfg.vrrp_scripts.push((name.to_string(), doc.span(r)));
                    }
                    for c in doc.children(r) {
                        self.range(c, "vrrp_script");
                    }
                    self.collect_scripts(r, &mut cfg.scripts);
                }
                (NodeKind::Block(_), "vrrp_sync_group") => {
                    self.collect_scripts(r, &mut cfg.scripts)
                }
                _ => {}
            }
        }
        // Virtual servers are independent of each other: a large config builds them on two
        // threads, keeping file order.
        let vs_roots: Vec<usize> = doc
            .roots()
            .filter(|&r| {
                matches!(doc.nodes[r].kind, NodeKind::Block(_)) && doc.kw(r) == "virtual_server"
            })
            .collect();
        let groups = &cfg.vs_groups;
        let build_chunk = |chunk: &[usize]| {
            let mut b = Builder::new(doc);
            let mut vss = Vec::with_capacity(chunk.len());
            let mut scripts = Vec::new();
            for &r in chunk {
                if let Some(vs) = b.virtual_server(r, groups) {
                    b.collect_scripts(r, &mut scripts);
                    vss.push(vs);
                }
            }
            (vss, scripts, b.findings)
        };
        let parts = if vs_roots.len() >= 2000 {
            let (a, b) = vs_roots.split_at(vs_roots.len() / 2);
            std::thread::scope(|s| {
                let h = s.spawn(|| build_chunk(b));
                let first = build_chunk(a);
                let second = match h.join() {
                    Ok(x) => x,
                    Err(p) => std::panic::resume_unwind(p),
                };
                vec![first, second]
            })
        } else {
            vec![build_chunk(&vs_roots)]
        };
        for (vss, scripts, findings) in parts {
            cfg.virtual_servers.extend(vss);
            cfg.scripts.extend(scripts);
            self.findings.extend(findings);
        }
        for r in doc.roots() {
            if matches!(doc.nodes[r].kind, NodeKind::Block(_)) && doc.kw(r) == "vrrp_instance" {
                let v = self.vrrp_instance(r, cfg.global.vrrp_strict.is_some());
                self.collect_scripts(r, &mut cfg.scripts);
                cfg.vrrp_instances.push(v);
            }
        }
        // scripts in file order (LB019 points at the first)
        let file_pos =
            |p: &std::path::Path| cfg.files.iter().position(|f| f == p).unwrap_or(usize::MAX);
        let mut scripts = std::mem::take(&mut cfg.scripts);
        scripts.sort_by_key(|s| (file_pos(&s.span.file), s.span.line));
        cfg.scripts = scripts;
        (cfg, self.findings)
    }

    fn collect_scripts(&self, n: usize, out: &mut Vec<ScriptRef>) {
        let doc = self.doc;
        for i in n + 1..doc.nodes[n].end as usize {
            let kw = doc.kw(i);
            if doc.nodes[i].kind == NodeKind::Plain && is_script_keyword(kw) {
                let command: Vec<&str> = doc.args(i).collect();
                out.push(ScriptRef {
                    keyword: kw.to_string(),
                    command: command.join(" "),
                    span: doc.span(i),
                    quoted: doc.arg_tok(i, 0).is_some_and(|t| t.quoted()),
                });
            }
        }
    }

    fn global_defs(&mut self, n: usize, cfg: &mut Config) {
        let doc = self.doc;
        for c in doc.children(n) {
            let kw = doc.kw(c);
            match kw {
                "script_user" => {
                    if let Some(u) = doc.arg(c, 0) {
                        set(&mut cfg.global.script_user, u.to_string(), kw, doc.span(c));
                    }
                }
                "enable_script_security" => cfg.global.enable_script_security = Some(doc.span(c)),
                "vrrp_strict" => cfg.global.vrrp_strict = Some(doc.span(c)),
                "router_id" => {
                    if let Some(u) = doc.arg(c, 0) {
                        set(&mut cfg.global.router_id, u.to_string(), kw, doc.span(c));
                    }
                }
                _ => {
                    self.range(c, "global_defs");
                }
            }
            if is_script_keyword(kw) {
                let command: Vec<&str> = doc.args(c).collect();
                cfg.scripts.push(ScriptRef {
                    keyword: kw.to_string(),
                    command: command.join(" "),
                    span: doc.span(c),
                    quoted: doc.arg_tok(c, 0).is_some_and(|t| t.quoted()),
                });
            }
        }
    }

    fn vs_group(&mut self, n: usize) -> Option<VsGroup> {
        let doc = self.doc;
        let name = doc.arg(n, 0)?.to_string();
        let mut g = VsGroup {
            name: name.clone(),
            span: doc.span(n),
            entries: Vec::new(),
        };
        for c in doc.children(n) {
            let words = doc.words(c);
            if words[0] == "fwmark" {
                match words.get(1).and_then(|m| m.parse::<u32>().ok()) {
                    Some(m) => g.entries.push(VsGroupEntry {
                        span: doc.span(c),
                        addresses: Vec::new(),
                        fwmark: Some(m),
                    }),
                    None => self.invalid(
                        c,
                        &format!("virtual_server_group {name}"),
                        format!(
                            "`{}` is not a valid fwmark entry; keepalived ignores it",
                            words.join(" ")
                        ),
                    ),
                }
                continue;
            }
            let port = words.get(1).and_then(|p| p.parse::<u16>().ok());
            match (expand_range(words[0]), port) {
                (Some(addrs), Some(port)) => g.entries.push(VsGroupEntry {
                    span: doc.span(c),
                    addresses: addrs.into_iter().map(|a| (a, port)).collect(),
                    fwmark: None,
                }),
                (Some(addrs), None) if words.len() == 1 => g.entries.push(VsGroupEntry {
                    span: doc.span(c),
                    addresses: addrs.into_iter().map(|a| (a, 0)).collect(),
                    fwmark: None,
                }),
                _ => self.invalid(
                    c,
                    &format!("virtual_server_group {name}"),
                    format!(
                        "`{}` is not an address (range) and port; keepalived rejects the entry (\"Invalid virtual server group IP address/range\")",
                        words.join(" ")
                    ),
                ),
            }
        }
        Some(g)
    }

    fn virtual_server(&mut self, n: usize, groups: &[VsGroup]) -> Option<VirtualServer> {
        let doc = self.doc;
        let table = keywords::table();
        let p1 = doc.arg(n, 0)?;
        let key = match p1 {
            "group" => VsKey::Group(doc.arg(n, 1)?.to_string()),
            "fwmark" => VsKey::Fwmark(doc.arg(n, 1)?.parse().ok()?),
            ip => VsKey::Addr {
                ip: parse_ip(ip)?,
                port: doc.arg(n, 1).and_then(|p| p.parse().ok()).unwrap_or(0),
            },
        };
        let subject = format!("virtual_server {key}");
        let (addresses, fwmarks) = match &key {
            VsKey::Addr { ip, port } => (vec![(*ip, *port)], vec![]),
            VsKey::Fwmark(m) => (vec![], vec![*m]),
            VsKey::Group(g) => {
                let mut a = Vec::new();
                let mut f = Vec::new();
                for grp in groups.iter().filter(|x| &x.name == g) {
                    for e in &grp.entries {
                        a.extend(e.addresses.iter().copied());
                        f.extend(e.fwmark);
                    }
                }
                (a, f)
            }
        };
        let mut vs = VirtualServer {
            key,
            span: doc.span(n),
            addresses,
            fwmarks,
            scheduler: None,
            method: None,
            protocol: None,
            persistence_timeout: None,
            persistence_granularity: None,
            real_servers: Vec::with_capacity(
                doc.children(n)
                    .filter(|&c| doc.kw(c) == "real_server")
                    .count(),
            ),
            delay_loop: None,
            connect_timeout: None,
            sched_flags: Vec::new(),
            sorry_server: None,
            quorum: None,
            rejected_schedulers: Vec::new(),
        };
        let NodeKind::Block(block) = doc.nodes[n].kind else {
            return None;
        };
        for c in doc.children(n) {
            let kw = doc.kw(c);
            if is_ranged(kw) {
                self.range(c, "virtual_server");
            }
            let canon = table.canonical(block, kw);
            let arg = doc.arg(c, 0);
            let span = || doc.span(c);
            match (canon, arg) {
                ("lvs_sched", Some(v)) => {
                    if SCHEDULERS.contains(&v) {
                        set(&mut vs.scheduler, v.to_string(), kw, span());
                    } else {
                        let hint = case_hint(SCHEDULERS, v);
                        vs.rejected_schedulers
                            .push(Setting::new(v.to_string(), kw, span()));
                        self.invalid(
                            c,
                            &subject,
                            format!(
                                "`{kw} {v}`: keepalived rejects it (\"Invalid lvs_scheduler '{v}' - ignoring\"){hint} and keeps {}",
                                vs.scheduler.as_ref().map_or("its default wlc".to_string(), |s| format!("`{}` from {}", s.value, super::span_ref(self.doc, &s.span)))
                            ),
                        );
                    }
                }
                ("lvs_method", Some(v)) => {
                    if matches!(v, "NAT" | "DR" | "TUN") {
                        set(&mut vs.method, v.to_string(), kw, span());
                    } else {
                        let hint = case_hint(&["NAT", "DR", "TUN"], v);
                        self.invalid(
                            c,
                            &subject,
                            format!(
                                "`{kw} {v}`: keepalived rejects it (\"unknown [{v}] routing method\"){hint} and keeps {}",
                                vs.method.as_ref().map_or("its default NAT".to_string(), |s| format!("`{}` from {}", s.value, super::span_ref(self.doc, &s.span)))
                            ),
                        );
                    }
                }
                ("protocol", Some(v)) => {
                    let up = v.to_ascii_uppercase();
                    if matches!(up.as_str(), "TCP" | "UDP" | "SCTP") {
                        set(&mut vs.protocol, up, kw, span());
                    } else {
                        self.invalid(
                            c,
                            &subject,
                            format!(
                                "`protocol {v}` is not TCP, UDP or SCTP; keepalived ignores it"
                            ),
                        );
                    }
                }
                ("persistence_timeout", v) => {
                    // no value means keepalived's default of 360 s
                    match v.map(|x| x.parse::<u32>()) {
                        None => set(&mut vs.persistence_timeout, 360, kw, span()),
                        Some(Ok(t)) if (1..=2_678_400).contains(&t) => {
                            set(&mut vs.persistence_timeout, t, kw, span())
                        }
                        Some(Ok(t)) => self.invalid(
                            c,
                            &subject,
                            format!(
                                "`persistence_timeout {t}` is outside 1..2678400 seconds; keepalived rejects it (\"persistence_timeout invalid\") and the service is {}",
                                vs.persistence_timeout.as_ref().map_or("not persistent".to_string(), |p| format!("persistent for {}s ({})", p.value, super::span_ref(self.doc, &p.span)))
                            ),
                        ),
                        Some(Err(_)) => self.invalid(
                            c,
                            &subject,
                            format!(
                                "`persistence_timeout {}` is not a number of seconds",
                                v.unwrap_or("")
                            ),
                        ),
                    }
                }
                ("persistence_granularity", Some(v)) => {
                    set(&mut vs.persistence_granularity, v.to_string(), kw, span())
                }
                ("delay_loop", Some(v)) => {
                    if let Some(x) = timer(v) {
                        set(&mut vs.delay_loop, x, kw, span())
                    }
                }
                ("connect_timeout", Some(v)) => {
                    if let Some(x) = timer(v) {
                        set(&mut vs.connect_timeout, x, kw, span())
                    }
                }
                ("quorum", Some(v)) => {
                    if let Ok(x) = v.parse() {
                        set(&mut vs.quorum, x, kw, span())
                    }
                }
                ("sorry_server", Some(_)) => {
                    let w: Vec<&str> = doc.args(c).collect();
                    set(&mut vs.sorry_server, w.join(" "), kw, span())
                }
                ("sh-port" | "sh-fallback" | "mh-port" | "mh-fallback", _) => {
                    // lbflags_handler checks the scheduler as it is when this line is read
                    let want = &canon[..2];
                    let now = vs.scheduler.as_ref().map(|s| s.value.as_str());
                    if now == Some(want) {
                        vs.sched_flags
                            .push(Setting::new(canon.to_string(), kw, span()));
                    }
                }
                ("flag-1" | "flag-2" | "flag-3" | "ops", _) => {
                    vs.sched_flags
                        .push(Setting::new(canon.to_string(), kw, span()))
                }
                _ => {}
            }
            if doc.nodes[c].kind != NodeKind::Skipped && kw == "real_server" {
                if let Some(rs) = self.real_server(c) {
                    vs.real_servers.push(rs);
                }
            }
        }
        Some(vs)
    }

    fn real_server(&mut self, n: usize) -> Option<RealServer> {
        let doc = self.doc;
        let ip = parse_ip(doc.arg(n, 0)?)?;
        let port = doc.arg(n, 1).and_then(|p| p.parse().ok());
        let nchecks = doc
            .children(n)
            .filter(|&c| matches!(doc.nodes[c].kind, NodeKind::Block(_)))
            .count();
        let mut rs = RealServer {
            ip,
            port,
            span: doc.span(n),
            weight: None,
            inhibit_on_failure: false,
            checkers: Vec::with_capacity(nchecks),
            method: None,
            delay_loop: None,
            connect_timeout: None,
        };
        for c in doc.children(n) {
            let kw = doc.kw(c);
            if is_ranged(kw) {
                self.range(c, "virtual_server.real_server");
            }
            let span = || doc.span(c);
            match (kw, doc.arg(c, 0)) {
                ("weight", Some(v)) => {
                    if let Ok(w) = v.parse() {
                        set(&mut rs.weight, w, kw, span())
                    }
                }
                ("inhibit_on_failure", v) => {
                    rs.inhibit_on_failure = !v.is_some_and(|x| matches!(x, "false" | "off" | "no"))
                }
                ("lvs_method", Some(v)) if matches!(v, "NAT" | "DR" | "TUN") => {
                    set_box(&mut rs.method, v.to_string(), kw, span())
                }
                ("delay_loop", Some(v)) => {
                    if let Some(x) = timer(v) {
                        set_box(&mut rs.delay_loop, x, kw, span())
                    }
                }
                ("connect_timeout", Some(v)) => {
                    if let Some(x) = timer(v) {
                        set_box(&mut rs.connect_timeout, x, kw, span())
                    }
                }
                _ => {}
            }
            if let NodeKind::Block(_) = doc.nodes[c].kind {
                rs.checkers.push(self.checker(c));
            }
        }
        Some(rs)
    }

    fn checker(&mut self, n: usize) -> Checker {
        let doc = self.doc;
        let mut ck = Checker {
            kind: doc.kw(n).to_string(),
            span: doc.span(n),
            connect_port: None,
            connect_ip: None,
            connect_timeout: None,
            delay_loop: None,
            misc_path: None,
            misc_timeout: None,
        };
        for c in doc.children(n) {
            let kw = doc.kw(c);
            if is_ranged(kw) {
                self.range(c, "virtual_server.real_server.checker");
            }
            let span = || doc.span(c);
            match (kw, doc.arg(c, 0)) {
                ("connect_port", Some(v)) => {
                    if let Ok(p) = v.parse() {
                        ck.connect_port = Some(p)
                    }
                }
                ("connect_ip", Some(v)) => ck.connect_ip = parse_ip(v).or(ck.connect_ip),
                ("connect_timeout", Some(v)) => {
                    if let Some(x) = timer(v) {
                        set_box(&mut ck.connect_timeout, x, kw, span())
                    }
                }
                ("delay_loop", Some(v)) => {
                    if let Some(x) = timer(v) {
                        set_box(&mut ck.delay_loop, x, kw, span())
                    }
                }
                ("misc_path", Some(_)) => {
                    let w: Vec<&str> = doc.args(c).collect();
                    set_box(&mut ck.misc_path, w.join(" "), kw, span())
                }
                ("misc_timeout", Some(v)) => {
                    if let Some(x) = num_f64(v) {
                        set_box(&mut ck.misc_timeout, x, kw, span())
                    }
                }
                _ => {}
            }
        }
        ck
    }

    fn vrrp_instance(&mut self, n: usize, strict: bool) -> VrrpInstance {
        let doc = self.doc;
        let name = doc.arg(n, 0).unwrap_or("").to_string();
        let subject = format!("vrrp_instance {name}");
        let mut v = VrrpInstance {
            name: name.clone(),
            span: doc.span(n),
            state: None,
            interface: None,
            virtual_router_id: None,
            priority: None,
            nopreempt: false,
            advert_int: None,
            auth_type: None,
            auth_pass: None,
            vips: Vec::new(),
            unicast_peers: Vec::new(),
            unicast_src_ip: None,
            nopreempt_span: None,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            notify_scripts: Vec::new(),
            unicast_peer_spans: Vec::new(),
            forced_state: None,
        };
        let mut vips_written = 0;
        for c in doc.children(n) {
            let kw = doc.kw(c);
            let span = || doc.span(c);
            let arg = doc.arg(c, 0);
            self.range(c, "vrrp_instance");
            match (kw, arg) {
                ("state", Some(s)) => {
                    if v.state.as_ref().is_some_and(|x| x.value == "MASTER") {
                        // vrrp_state_handler: "state previously set as MASTER - ignoring"
                        continue;
                    }
                    match s {
                        "MASTER" | "BACKUP" => set(&mut v.state, s.to_string(), kw, span()),
                        _ => {
                            self.invalid(
                                c,
                                &subject,
                                format!("`state {s}` is not MASTER or BACKUP (case-sensitive); keepalived uses BACKUP (\"unknown state '{s}', defaulting to BACKUP\")"),
                            );
                            set(&mut v.state, "BACKUP".to_string(), kw, span())
                        }
                    }
                }
                ("interface", Some(s)) => set(&mut v.interface, s.to_string(), kw, span()),
                ("virtual_router_id", Some(s)) => match s.parse::<i64>() {
                    Ok(id) if (1..=255).contains(&id) => set(&mut v.virtual_router_id, id, kw, span()),
                    _ => {
                        let f = self.finding(
                            "LB027",
                            c,
                            &subject,
                            format!("virtual_router_id `{s}` is outside 1..255; keepalived rejects it (\"VRID '{s}' not valid - must be between 1 & 255\"){}",
                                if v.virtual_router_id.is_none() { " and, with no valid VRID, drops the whole instance" } else { "" }),
                        );
                        self.findings.push(f);
                    }
                },
                ("priority", Some(s)) => match s.parse::<i64>() {
                    Ok(p) if (1..=255).contains(&p) => set(&mut v.priority, p, kw, span()),
                    _ => self.invalid(c, &subject, format!("priority `{s}` is outside 1..255; keepalived uses 100 (\"Priority not valid! must be between 1 & 255\")")),
                },
                ("nopreempt", _) => {
                    v.nopreempt = true;
                    v.nopreempt_span = Some(span());
                }
                ("preempt", _) => {
                    v.nopreempt = false;
                }
                ("advert_int", Some(s)) => match num_f64(s) {
                    Some(x) if (0.01..=255.0).contains(&x) => set(&mut v.advert_int, x, kw, span()),
                    _ => self.invalid(c, &subject, format!("advert_int `{s}` is outside 0.01..255 seconds; keepalived ignores it")),
                },
                ("unicast_src_ip", Some(s)) => match parse_ip(s) {
                    Some(ip) => v.unicast_src_ip = Some(ip),
                    None => self.bad_address(
                        c,
                        &subject,
                        "unicast_src_ip",
                        s,
                        "\"malformed src address\"; it sends from the interface's primary address",
                    ),
                },
                ("authentication", _) => {
                    for a in doc.children(c) {
                        let akw = doc.kw(a);
                        let aspan = doc.span(a);
                        match (akw, doc.arg(a, 0)) {
                            ("auth_type", Some(t)) => {
                                if matches!(t, "PASS" | "AH") {
                                    set(&mut v.auth_type, t.to_string(), akw, aspan)
                                } else {
                                    self.invalid(a, &subject, format!("auth_type `{t}` is not PASS or AH (case-sensitive); keepalived rejects it (\"unknown authentication type\")"));
                                }
                            }
                            ("auth_pass", Some(p)) => {
                                // auth_data[8]: only the first 8 characters are used
                                let eff: String = p.chars().take(8).collect();
                                set(&mut v.auth_pass, eff, akw, aspan)
                            }
                            _ => {}
                        }
                    }
                }
                ("virtual_ipaddress" | "virtual_ipaddress_excluded", _) => {
                    for a in doc.children(c) {
                        let Some(addr) = doc.words(a).first().copied() else {
                            continue;
                        };
                        vips_written += usize::from(kw == "virtual_ipaddress");
                        match vip_problem(addr) {
                            Some(VipProblem::Address) => self.bad_address(
                                a,
                                &subject,
                                "address",
                                addr,
                                "\"VRRP parsed invalid IP ... skipping IP...\"",
                            ),
                            Some(VipProblem::Prefix(p)) => {
                                let f = super::finding_line(doc, "LB010", a, &subject, format!(
                                    "`/{p}` is not a prefix length: keepalived adds `{addr}` as a single address (\"Invalid address prefix len {p} for address {addr} - using {}\"), so no subnet route comes with it",
                                    if addr.contains(':') { 128 } else { 32 }
                                ));
                                self.findings.push(f);
                                if kw == "virtual_ipaddress" {
                                    v.vips.push((addr.to_string(), doc.span(a)));
                                }
                            }
                            None if kw == "virtual_ipaddress" => {
                                v.vips.push((addr.to_string(), doc.span(a)))
                            }
                            None => {}
                        }
                    }
                }
                ("unicast_peer", _) => {
                    for a in doc.children(c) {
                        let Some(w) = doc.words(a).first().copied() else {
                            continue;
                        };
                        match parse_ip(w) {
                            Some(ip) => {
                                v.unicast_peers.push(ip);
                                v.unicast_peer_spans.push(doc.span(a));
                            }
                            None => self.bad_address(
                                a,
                                &subject,
                                "unicast peer",
                                w,
                                "\"malformed unicast peer address\"",
                            ),
                        }
                    }
                }
                ("virtual_routes" | "virtual_rules", _) => {
                    for a in doc.children(c) {
                        let words = doc.words(a);
                        if let Some(bad) = route_problem(kw == "virtual_rules", &words) {
                            let what = if kw == "virtual_rules" { "rule" } else { "route" };
                            self.bad_address(a, &subject, what, bad, "\"Invalid ...\" in keepalived's log");
                        }
                    }
                }
                ("track_interface", _) => {
                    for a in doc.children(c) {
                        v.track_interfaces.push(doc.kw(a).to_string());
                    }
                }
                ("track_script", _) => {
                    for a in doc.children(c) {
                        v.track_scripts.push(doc.kw(a).to_string());
                    }
                }
                (k, Some(_)) if k.starts_with("notify") => {
                    let w: Vec<&str> = doc.args(c).collect();
                    if !v.notify_scripts.iter().any(|s| s.keyword == k) {
                        v.notify_scripts.push(Setting::new(w.join(" "), k, span()));
                    }
                }
                _ => {}
            }
        }
        if vips_written > 0 && v.vips.is_empty() {
            let f = self.finding(
                "LB010",
                n,
                &subject,
                format!("none of the {vips_written} virtual_ipaddress entries of {name} is an address keepalived can parse: the instance runs with no VIP (\"No VIP specified\")"),
            );
            self.findings.push(f);
        }
        v.forced_state = forced_state(&v, strict);
        v
    }
}

/// The state keepalived 2.x forces in vrrp_complete_instance() (keepalived/vrrp/vrrp.c, the
/// same in 2.2.7 and 2.4.3): under vrrp_strict, MASTER exactly when the priority is 255
/// ("State MASTER must match being address owner"); without strict mode, AH authentication
/// clears an initial MASTER below 255 ("Initial state master is incompatible with AH
/// authentication - clearing"). Strict mode drops the authentication first, so the two
/// never apply together.
fn forced_state(v: &VrrpInstance, strict: bool) -> Option<ForcedState> {
    let configured = v.state.as_ref()?;
    let master = configured.value == "MASTER";
    let owner = v.effective_priority() == 255;
    if strict {
        if master != owner {
            let state = if owner { "MASTER" } else { "BACKUP" };
            return Some(ForcedState {
                state: state.into(),
                reason: format!(
                    "vrrp_strict: priority {} {} the address owner, so keepalived starts it as {state} whatever `state` says (\"State MASTER must match being address owner\")",
                    v.effective_priority(),
                    if owner { "is" } else { "is not" },
                ),
            });
        }
        return None;
    }
    let ah = v.auth_type.as_ref().is_some_and(|t| t.value == "AH") && v.auth_pass.is_some();
    (ah && master && !owner).then(|| ForcedState {
        state: "BACKUP".into(),
        reason: "auth_type AH: keepalived must receive an advert (for the AH sequence number) before it takes over, so it starts a MASTER below priority 255 as BACKUP (\"Initial state master is incompatible with AH authentication - clearing\")".into(),
    })
}

enum VipProblem<'a> {
    Address,
    Prefix(&'a str),
}

/// What keepalived's parse_ipaddress() (vrrp_ipaddress.c) rejects in `addr[/len]`: an address
/// inet_pton() does not take skips the entry; a bad length falls back to /32 or /128.
fn vip_problem(s: &str) -> Option<VipProblem<'_>> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = match addr.parse() {
        Ok(ip) => ip,
        Err(_) => return Some(VipProblem::Address),
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len {
        Some(l) if l.parse::<u32>().map_or(true, |x| x > max) => Some(VipProblem::Prefix(l)),
        _ => None,
    }
}

/// The first address of a virtual_routes/virtual_rules line that keepalived cannot parse:
/// the destination (a route's first word unless it is a type or keyword) and the values of
/// src/via/gw (routes), from/to (rules). Other options are not checked.
fn route_problem<'a>(rule: bool, words: &[&'a str]) -> Option<&'a str> {
    const ROUTE_WORDS: &[&str] = &[
        "default",
        "default6",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "nat",
        "unicast",
        "inet",
        "inet6",
        "src",
        "to",
        "via",
        "gw",
        "dev",
        "table",
        "metric",
        "scope",
        "proto",
        "or",
        "nexthop",
        "onlink",
    ];
    let addr_ok = |w: &str| {
        let a = w
            .split_once('/')
            .map_or(w, |(a, l)| if l.parse::<u8>().is_ok() { a } else { "" });
        matches!(a, "all" | "default" | "inet" | "inet6") || parse_ip(a).is_some()
    };
    let value_of: &[&str] = if rule {
        &["from", "to"]
    } else {
        &["src", "via", "gw", "to"]
    };
    if !rule {
        if let Some(first) = words.first() {
            if !ROUTE_WORDS.contains(first) && !addr_ok(first) {
                return Some(first);
            }
        }
    }
    words
        .windows(2)
        .find(|w| value_of.contains(&w[0]) && !addr_ok(w[1]))
        .map(|w| w[1])
}

/// Expand `10.0.0.1-10` (the last octet/group range keepalived accepts) to addresses, capped.
pub fn expand_range(s: &str) -> Option<Vec<IpAddr>> {
    if let Some(ip) = parse_ip(s) {
        return Some(vec![ip]);
    }
    let (base, end) = s.rsplit_once('-')?;
    let ip = parse_ip(base)?;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let last: u8 = end.parse().ok()?;
            if last < o[3] {
                return None;
            }
            Some(
                (o[3]..=last)
                    .map(|x| IpAddr::from([o[0], o[1], o[2], x]))
                    .collect(),
            )
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let last = u16::from_str_radix(end, 16).ok()?;
            if last < seg[7] || last - seg[7] > 4096 {
                return None;
            }
            Some(
                (seg[7]..=last)
                    .map(|x| {
                        let mut s = seg;
                        s[7] = x;
                        IpAddr::from(s)
                    })
                    .collect(),
            )
        }
    }
}

/// Is this keyword a checker block of a real_server?
pub fn is_checker(table: &keywords::Keywords, rs_block: keywords::BlockId, kw: &str) -> bool {
    matches!(table.lookup(rs_block, kw), Some(Kind::Block(_)))
}

/// " (keepalived is case-sensitive: write `lc`)" when `v` is a valid value in the wrong case.
fn case_hint(valid: &[&str], v: &str) -> String {
    valid
        .iter()
        .find(|s| s.eq_ignore_ascii_case(v))
        .map(|s| format!(" (keepalived is case-sensitive: write `{s}`)"))
        .unwrap_or_default()
}
