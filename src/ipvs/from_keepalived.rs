//! keepalived's effective model (CONTRACTS A, src/keepalived) -> what `state` compares.
//!
//! The model records the overridden lines as spans only; their keyword and value are read
//! back from the file, so ST010/ST011 can quote `lvs_sched rr` at line 19.

use super::expected::*;
use super::model::{Proto, ServiceKey};
use crate::keepalived::{self, model};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The lines of each config file, read once.
#[derive(Default)]
struct Files(HashMap<PathBuf, Vec<String>>);

impl Files {
    fn line(&mut self, file: &Path, line: u32) -> Option<String> {
        let lines = self.0.entry(file.to_path_buf()).or_insert_with(|| {
            std::fs::read(file)
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        });
        lines.get(line.checked_sub(1)? as usize).cloned()
    }

    /// keyword and value written at a span (`lvs_sched rr`).
    fn keyword_value(&mut self, span: &model::Span) -> (String, String) {
        let text = self.line(&span.file, span.line).unwrap_or_default();
        let rest: String = text
            .chars()
            .skip(span.column.saturating_sub(1) as usize)
            .collect();
        let mut toks = rest.split_whitespace();
        let kw = toks.next().unwrap_or("?").to_string();
        let val = toks.next().unwrap_or("?").to_string();
        (kw, val)
    }
}

fn conf_line(span: &model::Span, keyword: &str) -> ConfLine {
    ConfLine {
        file: span.file.display().to_string(),
        line: span.line,
        column: span.column,
        keyword: keyword.to_string(),
    }
}

fn setting<T: Clone>(s: &model::Setting<T>, files: &mut Files) -> Setting<T> {
    Setting {
        value: s.value.clone(),
        at: Some(conf_line(&s.span, &s.keyword)),
        overridden: s
            .overridden
            .iter()
            .map(|sp| {
                let (kw, v) = files.keyword_value(sp);
                (conf_line(sp, &kw), v)
            })
            .collect(),
    }
}

pub fn convert(cfg: &model::Config, top: &Path) -> ExpectedConfig {
    let mut files = Files::default();
    let mut services = Vec::new();
    for vs in &cfg.virtual_servers {
        let proto = vs
            .protocol
            .as_ref()
            .and_then(|p| Proto::parse(&p.value))
            .unwrap_or(DEFAULT_PROTOCOL);
        let mut keys: Vec<ServiceKey> = vs
            .addresses
            .iter()
            .map(|(ip, port)| ServiceKey::Addr {
                proto,
                addr: SocketAddr::new(*ip, *port),
            })
            .collect();
        keys.extend(vs.fwmarks.iter().map(|m| ServiceKey::Fwmark {
            mark: *m,
            ipv6: false,
        }));
        let label = match &vs.key {
            model::VsKey::Addr { ip, port } => format!("virtual_server {ip} {port}"),
            model::VsKey::Fwmark(m) => format!("virtual_server fwmark {m}"),
            model::VsKey::Group(g) => format!("virtual_server group {g}"),
        };
        let at = conf_line(&vs.span, "virtual_server");
        let scheduler = vs
            .scheduler
            .as_ref()
            .map(|s| setting(s, &mut files))
            .unwrap_or_else(|| Setting::default_value(DEFAULT_SCHEDULER.to_string()));
        let method = vs
            .method
            .as_ref()
            .map(|s| {
                let mut m = setting(s, &mut files);
                m.value = m.value.to_ascii_uppercase();
                m
            })
            .unwrap_or_else(|| Setting::default_value(DEFAULT_METHOD.to_string()));
        let real_servers = vs
            .real_servers
            .iter()
            .map(|rs| ExpectedReal {
                ip: rs.ip,
                port: rs.port,
                at: conf_line(&rs.span, "real_server"),
                weight: rs
                    .weight
                    .as_ref()
                    .map(|w| setting(w, &mut files))
                    .unwrap_or_else(|| Setting::default_value(DEFAULT_WEIGHT)),
                inhibit_on_failure: rs.inhibit_on_failure,
                checkers: rs
                    .checkers
                    .iter()
                    .map(|c| format!("{} at {}", c.kind, c.span))
                    .collect(),
            })
            .collect();
        services.push(ExpectedService {
            label,
            at,
            keys,
            scheduler,
            method,
            persistence_timeout: vs
                .persistence_timeout
                .as_ref()
                .map(|s| setting(s, &mut files)),
            persistence_granularity: vs
                .persistence_granularity
                .as_ref()
                .map(|s| setting(s, &mut files)),
            real_servers,
        });
    }
    ExpectedConfig {
        file: top.display().to_string(),
        services,
    }
}

/// Load keepalived.conf with lint's parser; its parse-level findings come back too.
pub fn load(path: &Path) -> anyhow::Result<(ExpectedConfig, Vec<crate::Finding>)> {
    let loaded = keepalived::load(path, &keepalived::LoadOptions::default())?;
    Ok((convert(&loaded.config, path), loaded.findings))
}
