//! The effective keepalived configuration: what keepalived would run, with the line each
//! value comes from. Built from the parse tree by `effective.rs`; shared with `state` and
//! `audit` (CONTRACTS.md section A: fields may be added, never renamed or removed).

use serde::Serialize;
use std::net::IpAddr;
use std::path::PathBuf;

/// A position in a config file. Lines and columns are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One effective setting: the value keepalived uses, the keyword and line that set it, and
/// the earlier lines that set the same field and lost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub keyword: String,
    pub span: Span,
    pub overridden: Vec<Span>,
}

impl<T> Setting<T> {
    pub fn new(value: T, keyword: impl Into<String>, span: Span) -> Self {
        Setting {
            value,
            keyword: keyword.into(),
            span,
            overridden: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VsKey {
    Addr { ip: IpAddr, port: u16 },
    Fwmark(u32),
    Group(String),
}

impl std::fmt::Display for VsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VsKey::Addr {
                ip: IpAddr::V6(ip),
                port,
            } => write!(f, "[{ip}]:{port}"),
            VsKey::Addr { ip, port } => write!(f, "{ip}:{port}"),
            VsKey::Fwmark(m) => write!(f, "fwmark {m}"),
            VsKey::Group(g) => write!(f, "group {g}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VirtualServer {
    pub key: VsKey,
    pub span: Span,
    /// VsKey::Addr, or the addresses resolved from the group (fwmark entries omitted).
    pub addresses: Vec<(IpAddr, u16)>,
    pub fwmarks: Vec<u32>,
    /// Effective lvs_sched/lb_algo ("rr", "lc", ...); None when unset (keepalived then uses wlc).
    pub scheduler: Option<Setting<String>>,
    /// Effective lvs_method/lb_kind, upper-case: "DR", "NAT", "TUN"; None when unset (NAT).
    pub method: Option<Setting<String>>,
    /// "TCP", "UDP", "SCTP"; None when unset (keepalived then uses UDP for address VSs).
    pub protocol: Option<Setting<String>>,
    pub persistence_timeout: Option<Setting<u32>>,
    pub persistence_granularity: Option<Setting<String>>,
    pub real_servers: Vec<RealServer>,
    // Additions beyond contract A.
    pub delay_loop: Option<Setting<f64>>,
    pub connect_timeout: Option<Setting<f64>>,
    /// sh-port, sh-fallback, mh-port, mh-fallback, flag-N, ops that keepalived keeps.
    pub sched_flags: Vec<Setting<String>>,
    pub sorry_server: Option<Setting<String>>,
    pub quorum: Option<Setting<i64>>,
    /// lvs_sched/lb_algo lines keepalived rejected ("Invalid lvs_scheduler"), as written.
    pub rejected_schedulers: Vec<Setting<String>>,
}

impl VirtualServer {
    /// The scheduler keepalived runs: the configured one or its default, wlc.
    pub fn effective_scheduler(&self) -> &str {
        self.scheduler.as_ref().map_or("wlc", |s| s.value.as_str())
    }
    /// The forwarding method keepalived uses: the configured one or its default, NAT.
    pub fn effective_method(&self) -> &str {
        self.method.as_ref().map_or("NAT", |s| s.value.as_str())
    }
    /// The protocol keepalived uses: the configured one or UDP (fwmark VSs have none).
    pub fn effective_protocol(&self) -> Option<&str> {
        match (&self.protocol, &self.key) {
            (Some(p), _) => Some(p.value.as_str()),
            (None, VsKey::Fwmark(_)) => None,
            (None, _) => Some("UDP"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RealServer {
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub span: Span,
    pub weight: Option<Setting<i64>>,
    pub inhibit_on_failure: bool,
    pub checkers: Vec<Checker>,
    // Additions beyond contract A (boxed: rarely set, and there can be 100k real servers).
    /// Per-real-server forwarding method (keepalived 2.3+ allows lvs_method here).
    pub method: Option<Box<Setting<String>>>,
    pub delay_loop: Option<Box<Setting<f64>>>,
    pub connect_timeout: Option<Box<Setting<f64>>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checker {
    /// "TCP_CHECK", "HTTP_GET", ...
    pub kind: String,
    pub span: Span,
    pub connect_port: Option<u16>,
    // Additions beyond contract A.
    pub connect_ip: Option<IpAddr>,
    pub connect_timeout: Option<Box<Setting<f64>>>,
    pub delay_loop: Option<Box<Setting<f64>>>,
    /// MISC_CHECK misc_path, as written.
    pub misc_path: Option<Box<Setting<String>>>,
    pub misc_timeout: Option<Box<Setting<f64>>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub span: Span,
    pub state: Option<Setting<String>>,
    pub interface: Option<Setting<String>>,
    pub virtual_router_id: Option<Setting<i64>>,
    pub priority: Option<Setting<i64>>,
    pub nopreempt: bool,
    pub advert_int: Option<Setting<f64>>,
    pub auth_type: Option<Setting<String>>,
    pub auth_pass: Option<Setting<String>>,
    /// As written, e.g. "192.168.21.20/24".
    pub vips: Vec<(String, Span)>,
    pub unicast_peers: Vec<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    // Additions beyond contract A.
    pub nopreempt_span: Option<Span>,
    pub track_interfaces: Vec<String>,
    pub track_scripts: Vec<String>,
    pub notify_scripts: Vec<Setting<String>>,
    pub unicast_peer_spans: Vec<Span>,
    /// The state keepalived starts in when it overrides the configured one (vrrp.c
    /// vrrp_complete_instance()), with keepalived's reason; None when it keeps it.
    pub forced_state: Option<ForcedState>,
}

/// A state keepalived sets itself, overriding `state`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForcedState {
    pub state: String,
    /// Why, quoting keepalived's message.
    pub reason: String,
}

impl VrrpInstance {
    /// keepalived's initial state: the one it forces (AH, vrrp_strict), else the configured
    /// one, else MASTER when priority is 255.
    pub fn effective_state(&self) -> &str {
        if let Some(f) = &self.forced_state {
            return f.state.as_str();
        }
        match &self.state {
            Some(s) => s.value.as_str(),
            None if self.priority.as_ref().is_some_and(|p| p.value == 255) => "MASTER",
            None => "BACKUP",
        }
    }
    /// keepalived's priority: the configured one, else 255 for state MASTER, else 100.
    pub fn effective_priority(&self) -> i64 {
        match (
            &self.priority,
            self.state.as_ref().map(|s| s.value.as_str()),
        ) {
            (Some(p), _) => p.value,
            (None, Some("MASTER")) => 255,
            _ => 100,
        }
    }
    /// VIP addresses without prefix length or options.
    pub fn vip_addrs(&self) -> Vec<IpAddr> {
        self.vips
            .iter()
            .filter_map(|(v, _)| v.split('/').next().and_then(|a| a.parse().ok()))
            .collect()
    }
}

/// One entry of a virtual_server_group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VsGroupEntry {
    pub span: Span,
    /// Addresses the entry covers (a range like 10.0.0.1-10 expands, capped).
    pub addresses: Vec<(IpAddr, u16)>,
    pub fwmark: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VsGroup {
    pub name: String,
    pub span: Span,
    pub entries: Vec<VsGroupEntry>,
}

/// The global_defs settings the checks care about.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GlobalDefs {
    pub script_user: Option<Setting<String>>,
    pub enable_script_security: Option<Span>,
    pub vrrp_strict: Option<Span>,
    pub router_id: Option<Setting<String>>,
}

/// A script-running keyword (notify*, misc_path, vrrp_script script, ...).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScriptRef {
    pub keyword: String,
    pub command: String,
    pub span: Span,
    /// The command was one quoted argument (`notify_master "/x.sh a b"`): keepalived splits
    /// it into words itself. Unquoted, only the first word is the command.
    pub quoted: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Config {
    pub files: Vec<PathBuf>,
    pub virtual_servers: Vec<VirtualServer>,
    pub vrrp_instances: Vec<VrrpInstance>,
    // Additions beyond contract A.
    pub vs_groups: Vec<VsGroup>,
    pub global: GlobalDefs,
    pub scripts: Vec<ScriptRef>,
    /// vrrp_script names defined at top level.
    pub vrrp_scripts: Vec<(String, Span)>,
}

impl Config {
    /// Every address a VRRP instance of this config holds.
    pub fn vrrp_vips(&self) -> Vec<IpAddr> {
        self.vrrp_instances
            .iter()
            .flat_map(|v| v.vip_addrs())
            .collect()
    }
}
