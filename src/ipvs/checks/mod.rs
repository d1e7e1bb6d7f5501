//! `state` checks, one per file. Each reads the merged kernel state (and, for the ST01x
//! comparisons, what keepalived.conf expects) and appends findings.

pub mod st001;
pub mod st002;
pub mod st003;
pub mod st004;
pub mod st005;
pub mod st006;
pub mod st007;
pub mod st010;
pub mod st011;
pub mod st012;
pub mod st013;
pub mod st014;
pub mod st015;
pub mod st016;
pub mod st017;
pub mod st018;

use super::expected::{ConfLine, ExpectedConfig, ExpectedReal, ExpectedService};
use super::model::*;
use crate::finding::{Finding, Location};

/// Everything a check may look at.
pub struct Input<'a> {
    pub state: &'a IpvsState,
    pub config: Option<&'a ExpectedConfig>,
}

pub fn run(input: &Input) -> Vec<Finding> {
    let mut out = Vec::new();
    st001::check(input, &mut out);
    st002::check(input, &mut out);
    st003::check(input, &mut out);
    st004::check(input, &mut out);
    st005::check(input, &mut out);
    st006::check(input, &mut out);
    st007::check(input, &mut out);
    if input.config.is_some() {
        st010::check(input, &mut out);
        st011::check(input, &mut out);
        st012::check(input, &mut out);
        st013::check(input, &mut out);
        st014::check(input, &mut out);
        st015::check(input, &mut out);
        st016::check(input, &mut out);
        st017::check(input, &mut out);
        st018::check(input, &mut out);
    }
    out
}

pub fn origin_loc(o: &Option<Origin>) -> Option<Location> {
    o.as_ref()
        .map(|o| Location::new(o.file.clone(), o.line as u32, 1))
}

pub fn conf_loc(c: &ConfLine) -> Location {
    let mut l = Location::new(c.file.clone(), c.line, c.column.max(1));
    l.length = c.keyword.chars().count() as u32;
    l
}

/// Attach a location when there is one.
pub fn at(f: Finding, loc: Option<Location>) -> Finding {
    match loc {
        Some(l) => f.at(l),
        None => f,
    }
}

/// How ipvsadm -Ln would show a real server, for evidence lines.
pub fn rs_line(rs: &RealServer) -> String {
    let o = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    format!(
        "-> {}  {}  weight {}  ActiveConn {}  InActConn {}",
        rs.addr,
        rs.forward.map_or("-", |f| f.as_str()),
        rs.weight.map_or("-".to_string(), |w| w.to_string()),
        o(rs.active),
        o(rs.inactive)
    )
}

/// Host part of an address for short mentions ("192.168.21.72").
pub fn host_of(a: &std::net::SocketAddr) -> String {
    a.ip().to_string()
}

pub fn same_key(a: &ServiceKey, b: &ServiceKey) -> bool {
    super::same_key(a, b)
}

/// Config services paired with the kernel services they create (None: not in the kernel).
pub fn pairs<'a>(
    input: &Input<'a>,
) -> Vec<(&'a ExpectedService, &'a ServiceKey, Option<&'a Service>)> {
    let mut out = Vec::new();
    if let Some(cfg) = input.config {
        for es in &cfg.services {
            for k in &es.keys {
                let ks = input.state.services.iter().find(|s| same_key(&s.key, k));
                out.push((es, k, ks));
            }
        }
    }
    out
}

/// The config's real server matching a kernel one (same IP, and same port when given).
pub fn expected_real<'a>(es: &'a ExpectedService, rs: &RealServer) -> Option<&'a ExpectedReal> {
    es.real_servers
        .iter()
        .find(|e| e.ip == rs.addr.ip() && e.port.map_or(true, |p| p == rs.addr.port()))
}

/// The config service and real server for a kernel real server, if --config was given.
pub fn config_for<'a>(
    input: &Input<'a>,
    svc: &Service,
    rs: &RealServer,
) -> Option<(&'a ExpectedService, &'a ExpectedReal)> {
    let cfg = input.config?;
    cfg.services
        .iter()
        .filter(|es| es.keys.iter().any(|k| same_key(k, &svc.key)))
        .find_map(|es| expected_real(es, rs).map(|r| (es, r)))
}
