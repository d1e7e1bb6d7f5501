//! `lbdoctor lint FILE...`: read each keepalived.conf as keepalived does, run every check,
//! and summarise what keepalived will really run (scheduler, method, protocol, real servers,
//! VRRP) with the line each value comes from.

use super::Ctx;
use crate::cli::{Format, LintArgs, ModelMode};
use crate::error::Error;
use crate::finding::{sort_findings, Finding};
use crate::keepalived::checks::{self, peers, Options};
use crate::keepalived::model::{Config, Setting};
use crate::keepalived::{fill_snippets, load, suppress, LoadOptions, Loaded};
use crate::report::{Report, Section};
use serde_json::json;
use std::net::IpAddr;

/// Rows beyond this go to the JSON output only.
const MAX_SUMMARY_ROWS: usize = 40;

/// `--model auto` gives the full model up to this many virtual servers (any real director
/// has far fewer), a summary above: 10,000 virtual servers x 10 real servers make a 78 MB
/// model that CI rarely wants in every run (`--model full` still gives it).
const AUTO_FULL_MODEL_MAX_VS: usize = 2000;

/// The `--model summary` form of one file's model: the same keys as the full model for the
/// small parts (files, global, VRRP instances, groups, scripts), counts for the large ones.
fn model_summary(c: &Config) -> serde_json::Value {
    json!({
        "files": c.files,
        "virtual_server_count": c.virtual_servers.len(),
        "real_server_count": c.virtual_servers.iter().map(|v| v.real_servers.len()).sum::<usize>(),
        "vrrp_instances": c.vrrp_instances,
        "vs_groups": c.vs_groups,
        "global": c.global,
        "scripts": c.scripts,
        "vrrp_scripts": c.vrrp_scripts,
        "summary": true,
    })
}

pub fn run(args: &LintArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let director_addrs = parse_addrs(&args.director_addrs)?;
    let select = parse_ids(&args.select, "--select")?;
    let ignore = parse_ids(&args.ignore, "--ignore")?;
    let enabled = |id: &str| {
        (select.is_empty() || select.iter().any(|s| id.starts_with(s.as_str())))
            && !ignore.iter().any(|s| id.starts_with(s.as_str()))
    };
    let opts = LoadOptions {
        config_id: args.config_id.clone(),
        ..Default::default()
    };
    let check_opts = Options { director_addrs };

    let mut loaded: Vec<Loaded> = Vec::with_capacity(args.files.len());
    for path in &args.files {
        loaded.push(load(path, &opts)?);
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut per_file: Vec<Vec<Finding>> = Vec::with_capacity(loaded.len());
    for l in &loaded {
        per_file.push(checks::lint(l, &check_opts));
    }
    // cross-file peer checks land in the file they point at
    let refs: Vec<&Loaded> = loaded.iter().collect();
    let pairs = peers::pairings(&refs);
    let cross = peers::check_pairs(&refs, &pairs);
    for f in cross {
        let file = f.location.as_ref().map(|l| l.file.clone());
        let idx = loaded
            .iter()
            .position(|l| Some(l.doc.path(0).display().to_string()) == file)
            .unwrap_or(0);
        per_file[idx].push(f);
    }
    for (l, fs) in loaded.iter().zip(per_file) {
        findings.extend(suppress::apply(&l.doc, fs, &enabled));
    }
    findings.retain(|f| enabled(&f.id));
    let docs: Vec<&crate::keepalived::parser::Document> = loaded.iter().map(|l| &l.doc).collect();
    fill_snippets(&mut findings, &docs);
    sort_findings(&mut findings);

    let mut report = Report::new("lint");
    report.findings = findings;
    let configs: Vec<&Config> = loaded.iter().map(|l| &l.config).collect();
    report.sections = summary(&configs);
    if loaded.len() > 1 {
        let (section, data) = peer_summary(&args.files, &pairs);
        report.sections.push(section);
        report = report.with_data("peers", data);
    }
    if ctx.format == Format::Json {
        let total_vs: usize = configs.iter().map(|c| c.virtual_servers.len()).sum();
        let mode = match args.model {
            ModelMode::Auto if total_vs > AUTO_FULL_MODEL_MAX_VS => ModelMode::Summary,
            ModelMode::Auto => ModelMode::Full,
            m => m,
        };
        // serialized straight to text: a Value tree of 100,000 real servers costs gigabytes
        let text = match mode {
            ModelMode::Full => Some(serde_json::to_string(&configs)?),
            ModelMode::Summary => Some(serde_json::to_string(
                &configs.iter().map(|c| model_summary(c)).collect::<Vec<_>>(),
            )?),
            _ => None,
        };
        let name = match mode {
            ModelMode::Full => "full",
            ModelMode::Summary => "summary",
            _ => "none",
        };
        report = report.with_data("model_mode", json!(name));
        if let Some(t) = text {
            report
                .raw
                .push(("model".into(), serde_json::value::RawValue::from_string(t)?));
        }
    }
    // Freeing a large parse tree piece by piece costs more than the rest of the run's
    // teardown; the process is about to print and exit, so let the OS reclaim it.
    if loaded.iter().map(|l| l.doc.nodes.len()).sum::<usize>() > 100_000 {
        std::mem::forget(loaded);
    }
    Ok(report)
}

fn parse_addrs(list: &[String]) -> anyhow::Result<Vec<IpAddr>> {
    list.iter()
        .map(|s| {
            s.trim().parse::<IpAddr>().map_err(|_| {
                Error::Usage(format!(
                    "--director-addr `{s}` is not an IP address (give the director's addresses, e.g. --director-addr 192.168.0.1,192.168.0.2)"
                ))
                .into()
            })
        })
        .collect()
}

/// Check ids or prefixes (LB001, LB0, LB); anything else is a usage error.
fn parse_ids(list: &[String], flag: &str) -> anyhow::Result<Vec<String>> {
    list.iter()
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let known = crate::checks::all().iter().any(|c| c.id.starts_with(&s))
                || (s.len() >= 2 && s.starts_with("LB"));
            if known {
                Ok(s)
            } else {
                Err(Error::Usage(format!(
                    "{flag} `{s}` matches no check; use ids like LB001 or prefixes like LB0 (see `lbdoctor explain --list`)"
                ))
                .into())
            }
        })
        .collect()
}

/// "line N", or "file:N" when the config is an include set spanning several files.
fn line_of(multi: bool, span: &crate::keepalived::model::Span) -> String {
    if multi {
        format!("{}:{}", span.file.display(), span.line)
    } else {
        format!("line {}", span.line)
    }
}

fn at<T>(
    multi: bool,
    s: &Option<Setting<T>>,
    show: impl Fn(&T) -> String,
    default: &str,
) -> String {
    match s {
        Some(x) => {
            let mut out = format!(
                "{} ({} {}",
                show(&x.value),
                x.keyword,
                line_of(multi, &x.span)
            );
            if !x.overridden.is_empty() {
                let lines: Vec<String> = x
                    .overridden
                    .iter()
                    .map(|o| {
                        if multi {
                            format!("{}:{}", o.file.display(), o.line)
                        } else {
                            o.line.to_string()
                        }
                    })
                    .collect();
                out.push_str(&format!(
                    "; overrides {}{}",
                    if multi { "" } else { "line " },
                    lines.join(", ")
                ));
            }
            out.push(')');
            out
        }
        None => default.to_string(),
    }
}

fn summary(configs: &[&Config]) -> Vec<Section> {
    let mut vs_rows = Vec::new();
    let mut vs_total = 0;
    let mut vrrp_rows = Vec::new();
    let many = configs.len() > 1;
    for c in configs {
        let multi = c.files.len() > 1;
        let file = c
            .files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        for vs in &c.virtual_servers {
            vs_total += 1;
            if vs_rows.len() >= MAX_SUMMARY_ROWS {
                continue;
            }
            let shown: &[(IpAddr, u16)] = match vs.key {
                crate::keepalived::model::VsKey::Addr { .. } => &[],
                _ => &vs.addresses,
            };
            let addrs: Vec<String> = shown
                .iter()
                .map(|(ip, port)| match ip {
                    IpAddr::V6(_) => format!("[{ip}]:{port}"),
                    _ => format!("{ip}:{port}"),
                })
                .chain(vs.fwmarks.iter().map(|m| format!("fwmark {m}")))
                .collect();
            let rs: Vec<String> = vs
                .real_servers
                .iter()
                .map(|r| {
                    let checks: Vec<&str> = r.checkers.iter().map(|k| k.kind.as_str()).collect();
                    format!(
                        "{}{} w={} {} ({})",
                        r.ip,
                        r.port.map(|p| format!(":{p}")).unwrap_or_default(),
                        r.weight.as_ref().map_or(1, |w| w.value),
                        if checks.is_empty() {
                            "no checker".to_string()
                        } else {
                            checks.join("+")
                        },
                        line_of(multi, &r.span)
                    )
                })
                .collect();
            let mut row = vec![
                if addrs.is_empty() {
                    vs.key.to_string()
                } else {
                    format!("{}\n{}", vs.key, addrs.join("\n"))
                },
                match (&vs.scheduler, vs.rejected_schedulers.last()) {
                    (None, Some(r)) => format!(
                        "wlc (default; {} {} {} rejected)",
                        r.keyword,
                        r.value,
                        line_of(multi, &r.span)
                    ),
                    _ => at(multi, &vs.scheduler, |v| v.clone(), "wlc (default)"),
                },
                at(multi, &vs.method, |v| v.clone(), "NAT (default)"),
                at(
                    multi,
                    &vs.protocol,
                    |v| v.clone(),
                    vs.effective_protocol().map_or("-", |_| "UDP (default)"),
                ),
                at(multi, &vs.persistence_timeout, |v| format!("{v}s"), "-"),
                rs.join("\n"),
            ];
            if many {
                row.insert(0, file.clone());
            }
            vs_rows.push(row);
        }
        for v in &c.vrrp_instances {
            let vips: Vec<&str> = v.vips.iter().map(|x| x.0.as_str()).collect();
            let mut row = vec![
                v.name.clone(),
                match (&v.forced_state, &v.state) {
                    (Some(f), Some(st)) => format!(
                        "{} (forced by keepalived; state {} {})",
                        f.state,
                        st.value,
                        line_of(multi, &st.span)
                    ),
                    (_, Some(_)) => at(multi, &v.state, |s| s.clone(), ""),
                    (_, None) => format!("{} (derived)", v.effective_state()),
                },
                at(multi, &v.interface, |s| s.clone(), "-"),
                at(multi, &v.virtual_router_id, |s| s.to_string(), "unset"),
                match &v.priority {
                    Some(_) => at(multi, &v.priority, |s| s.to_string(), ""),
                    None => format!("{} (default)", v.effective_priority()),
                },
                if v.nopreempt && v.effective_state() != "MASTER" {
                    "no".into()
                } else {
                    "yes".into()
                },
                at(multi, &v.advert_int, |s| format!("{s}s"), "1s (default)"),
                match (&v.auth_type, &v.auth_pass) {
                    (Some(t), _) => t.value.clone(),
                    (None, _) => "none".into(),
                },
                vips.join("\n"),
                if v.unicast_peers.is_empty() {
                    "multicast".into()
                } else {
                    v.unicast_peers
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            ];
            if many {
                row.insert(0, file.clone());
            }
            vrrp_rows.push(row);
        }
    }
    let mut sections = Vec::new();
    if vs_total > 0 {
        let mut header: Vec<String> = [
            "virtual_server",
            "scheduler",
            "method",
            "protocol",
            "persistence",
            "real servers",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if many {
            header.insert(0, "file".into());
        }
        let title = if vs_total > vs_rows.len() {
            format!(
                "Virtual servers as keepalived runs them (first {} of {vs_total}; --format json --model full has all)",
                vs_rows.len()
            )
        } else {
            "Virtual servers as keepalived runs them".to_string()
        };
        sections.push(Section::Table {
            title,
            header,
            rows: vs_rows,
        });
    }
    if !vrrp_rows.is_empty() {
        let mut header: Vec<String> = [
            "vrrp_instance",
            "state",
            "interface",
            "vrid",
            "priority",
            "preempt",
            "advert",
            "auth",
            "VIPs",
            "peers",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if many {
            header.insert(0, "file".into());
        }
        sections.push(Section::Table {
            title: "VRRP instances".to_string(),
            header,
            rows: vrrp_rows,
        });
    }
    sections
}

/// Which files were compared as VRRP peers, and why: a human section and the JSON "peers"
/// object ({"clusters": [[file, ...]], "pairs": [{files, instances, shared}], "unpaired"}).
fn peer_summary(
    files: &[std::path::PathBuf],
    pairs: &[peers::Pairing],
) -> (Section, serde_json::Value) {
    let name = |i: usize| files[i].display().to_string();
    let clusters = peers::clusters(files.len(), pairs);
    let mut body = String::new();
    for (k, c) in clusters.iter().enumerate() {
        let names: Vec<String> = c.iter().map(|&i| name(i)).collect();
        body.push_str(&format!("cluster {}: {}\n", k + 1, names.join(", ")));
        for p in pairs.iter().filter(|p| c.contains(&p.file_a)) {
            body.push_str(&format!(
                "  {} {} <-> {} {} (shared {})\n",
                name(p.file_a),
                p.instance_a,
                name(p.file_b),
                p.instance_b,
                p.why
            ));
        }
    }
    let unpaired: Vec<String> = (0..files.len())
        .filter(|i| !clusters.iter().any(|c| c.contains(i)))
        .map(name)
        .collect();
    if !unpaired.is_empty() {
        body.push_str(&format!(
            "not compared (no VRRP instance shares a VIP, unicast address or interface+VRID with another file): {}\n",
            unpaired.join(", ")
        ));
    }
    let data = json!({
        "clusters": clusters.iter().map(|c| c.iter().map(|&i| name(i)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "pairs": pairs.iter().map(|p| json!({
            "files": [name(p.file_a), name(p.file_b)],
            "instances": [p.instance_a, p.instance_b],
            "shared": p.why,
        })).collect::<Vec<_>>(),
        "unpaired": unpaired,
    });
    (
        Section::Text {
            title:
                "VRRP peers (paired by shared VIP, unicast address or interface+VRID, not by name)"
                    .into(),
            body: body.trim_end().to_string(),
        },
        data,
    )
}
