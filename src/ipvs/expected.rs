//! What keepalived.conf asks the kernel for, reduced to what `state` compares: one entry per
//! virtual_server with the line each effective setting comes from (and the lines it overrode).
//! Built from the keepalived model (`from_keepalived`); kept separate so the comparison does
//! not depend on the parser's internals.

use super::model::{Proto, ServiceKey};
use std::net::IpAddr;

/// A place in the config: file, line, column and the keyword written there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfLine {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub keyword: String,
}

impl std::fmt::Display for ConfLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A setting's effective value, where it was written (None: keepalived's default) and the
/// earlier lines that set the same thing and lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub at: Option<ConfLine>,
    pub overridden: Vec<(ConfLine, String)>,
}

impl<T> Setting<T> {
    pub fn default_value(value: T) -> Self {
        Setting {
            value,
            at: None,
            overridden: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedReal {
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub at: ConfLine,
    pub weight: Setting<i64>,
    pub inhibit_on_failure: bool,
    /// Health checkers as written ("TCP_CHECK at file:line").
    pub checkers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedService {
    /// How the config names it: "virtual_server group app_servers" or "virtual_server 10.0.0.1 80".
    pub label: String,
    pub at: ConfLine,
    /// The kernel services this block creates (a group expands to several).
    pub keys: Vec<ServiceKey>,
    pub scheduler: Setting<String>,
    /// "DR", "NAT", "TUN".
    pub method: Setting<String>,
    /// Seconds; None = not persistent.
    pub persistence_timeout: Option<Setting<u32>>,
    pub persistence_granularity: Option<Setting<String>>,
    pub real_servers: Vec<ExpectedReal>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedConfig {
    pub file: String,
    pub services: Vec<ExpectedService>,
}

/// keepalived's defaults (check_data.c, ipvswrapper.h): scheduler wlc, method NAT, and for an
/// address virtual_server without `protocol`, UDP.
pub const DEFAULT_SCHEDULER: &str = "wlc";
pub const DEFAULT_METHOD: &str = "NAT";
pub const DEFAULT_PROTOCOL: Proto = Proto::Udp;
/// keepalived's real_server weight default.
pub const DEFAULT_WEIGHT: i64 = 1;
