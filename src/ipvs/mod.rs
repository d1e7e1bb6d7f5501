//! IPVS state: /proc/net/ip_vs* and ipvsadm output parsers, the model, `state` checks.
//!
//! Flow: each input (file, or one section of a host's output) -> `source::parse_any`, which
//! detects the format and yields a partial `IpvsState`; `merge` joins the partial states
//! (the table from -Ln, counters from --stats, entries from -Lnc ...); `checks` reads the result.

pub mod checks;
pub mod expected;
pub mod from_keepalived;
pub mod host;
pub mod ipvsadm;
pub mod model;
pub mod proc_conn;
pub mod proc_ip_vs;
pub mod proc_stats;
pub mod source;

use model::*;
use std::path::Path;

/// Read and parse one saved file (any supported format).
pub fn read_file(path: &Path) -> anyhow::Result<IpvsState> {
    let f = std::fs::File::open(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => "check the path",
            std::io::ErrorKind::PermissionDenied => "run with sudo or fix the file's permissions",
            _ => "check that it is a readable file",
        };
        crate::error::Error::file(path, format!("cannot read: {e} ({hint})"))
    })?;
    let mut lines = source::Lines::new(path.display().to_string(), std::io::BufReader::new(f));
    source::parse_any(&mut lines)
}

/// Parse text already in memory (a section of a host's output).
pub fn parse_text(name: &str, text: &str) -> anyhow::Result<IpvsState> {
    let mut lines = source::Lines::from_str(name, text);
    source::parse_any(&mut lines)
}

fn fill<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
    if dst.is_none() {
        dst.clone_from(src);
    }
}

/// /proc prints no family for fwmark services and ipvsadm does: match fwmarks by mark alone.
fn same_key(a: &ServiceKey, b: &ServiceKey) -> bool {
    match (a, b) {
        (ServiceKey::Fwmark { mark: x, .. }, ServiceKey::Fwmark { mark: y, .. }) => x == y,
        _ => a == b,
    }
}

/// Join a partial state into `into`: facts missing in `into` are taken from `from`.
pub fn merge(into: &mut IpvsState, from: IpvsState) {
    // Findings point at the -Ln or /proc/net/ip_vs line of a server when there is one.
    let is_table =
        |s: &SourceInfo| matches!(s.kind, SourceKind::IpvsadmList | SourceKind::ProcIpVs);
    let table_source = from.sources.iter().any(is_table) && !into.sources.iter().any(is_table);
    // ipvsadm sorts real servers by address (ipvs_sort_dests, unless --nosort); /proc lists
    // them in the kernel's order, which is the order lc/wlc break ties in (newest first:
    // list_add_rcu in __ip_vs_update_dest). /proc's order wins.
    let kernel_order = from.sources.iter().any(|s| s.kind == SourceKind::ProcIpVs);
    fill(&mut into.version, &from.version);
    fill(&mut into.table_size, &from.table_size);
    fill(&mut into.global, &from.global);
    fill(&mut into.kernel, &from.kernel);
    fill(&mut into.timeouts, &from.timeouts);
    for (k, v) in from.sysctls {
        into.sysctls.entry(k).or_insert(v);
    }
    into.sources.extend(from.sources);
    for svc in from.services {
        let Some(dst) = into
            .services
            .iter_mut()
            .find(|s| same_key(&s.key, &svc.key))
        else {
            into.services.push(svc);
            continue;
        };
        if let (ServiceKey::Fwmark { ipv6: a, .. }, ServiceKey::Fwmark { ipv6: b, .. }) =
            (&mut dst.key, &svc.key)
        {
            *a |= *b;
        }
        fill(&mut dst.scheduler, &svc.scheduler);
        if dst.sched_flags.is_empty() {
            dst.sched_flags = svc.sched_flags.clone();
        }
        if !dst.persistence_known && svc.persistence_known {
            dst.persistence = svc.persistence.clone();
            dst.persistence_known = true;
        } else if let (Some(Persistence { timeout, .. }), Some(p)) =
            (&mut dst.persistence, &svc.persistence)
        {
            // Seconds (ipvsadm) say more than jiffies (/proc).
            if matches!(timeout, Timeout::Jiffies(_)) && matches!(p.timeout, Timeout::Seconds(_)) {
                *timeout = p.timeout;
            }
        }
        fill(&mut dst.pe, &svc.pe);
        dst.ops |= svc.ops;
        fill(&mut dst.stats, &svc.stats);
        fill(&mut dst.rates, &svc.rates);
        if table_source {
            dst.origin.clone_from(&svc.origin);
        }
        fill(&mut dst.origin, &svc.origin);
        if kernel_order {
            let pos = |a: &std::net::SocketAddr| {
                svc.real_servers
                    .iter()
                    .position(|r| &r.addr == a)
                    .unwrap_or(usize::MAX)
            };
            dst.real_servers.sort_by_key(|r| pos(&r.addr));
        }
        for rs in svc.real_servers {
            let Some(d) = dst.real_servers.iter_mut().find(|r| r.addr == rs.addr) else {
                dst.real_servers.push(rs);
                continue;
            };
            if d.forward.is_none() || d.forward == Some(Forward::RouteOrLocal) {
                if let Some(f) = rs.forward {
                    if f != Forward::RouteOrLocal || d.forward.is_none() {
                        d.forward = Some(f);
                    }
                }
            }
            fill(&mut d.weight, &rs.weight);
            fill(&mut d.active, &rs.active);
            fill(&mut d.inactive, &rs.inactive);
            fill(&mut d.stats, &rs.stats);
            fill(&mut d.rates, &rs.rates);
            if table_source {
                d.origin.clone_from(&rs.origin);
            }
            fill(&mut d.origin, &rs.origin);
        }
    }
    // Two connection listings are the same table in two formats (or two moments): summing
    // them would double-count, so the first one read is used.
    if let Some(c) = from.connections {
        match &into.connections {
            None => into.connections = Some(c),
            Some(t) => into.notes.push(format!(
                "connection entries of {} not used: {} already gave the connection table",
                c.origin
                    .as_ref()
                    .map_or("a second source".into(), |o| o.file.clone()),
                t.origin
                    .as_ref()
                    .map_or("an earlier source".into(), |o| o.file.clone())
            )),
        }
    }
    into.notes.extend(from.notes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_list_stats_and_proc_fills_the_gaps() {
        let list = parse_text("l", "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.168.21.20:80 lc\n  -> 192.168.21.71:80                Route   1      1          3\nFWM  1 IPv6 rr\n").unwrap();
        let stats = parse_text("s", "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\nTCP  192.168.21.20:80                   8       45        0     2920        0\n  -> 192.168.21.71:80                   4       33        0     2136        0\n").unwrap();
        let proc = parse_text("p", "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nFWM  00000001 rr \n").unwrap();
        let mut st = IpvsState::default();
        merge(&mut st, stats);
        merge(&mut st, list);
        merge(&mut st, proc);
        assert_eq!(st.services.len(), 2);
        let s = &st.services[0];
        assert_eq!(s.scheduler.as_deref(), Some("lc"));
        assert_eq!(s.stats.as_ref().unwrap().conns, 8);
        assert_eq!(s.real_servers[0].active, Some(1));
        assert_eq!(s.real_servers[0].stats.as_ref().unwrap().inpkts, 33);
        assert_eq!(
            st.services[1].key,
            ServiceKey::Fwmark {
                mark: 1,
                ipv6: true
            }
        );
        assert_eq!(st.sources.len(), 3);
    }

    #[test]
    fn the_kernel_order_of_real_servers_wins_over_ipvsadms_sorted_one() {
        // Recorded on Debian 12's 6.1 kernel: keepalived added .71 then .72, the kernel lists
        // .72 first (and lc takes it on a tie); ipvsadm -Ln sorts them by address.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/state/real/incident/");
        let read = |f: &str| {
            let p = std::path::PathBuf::from(format!("{dir}{f}"));
            read_file(&p).unwrap()
        };
        for order in [
            ["ipvsadm-Ln.txt", "proc-ip_vs.txt"],
            ["proc-ip_vs.txt", "ipvsadm-Ln.txt"],
        ] {
            let mut st = IpvsState::default();
            for f in order {
                merge(&mut st, read(f));
            }
            let addrs: Vec<String> = st.services[0]
                .real_servers
                .iter()
                .map(|r| r.addr.to_string())
                .collect();
            assert_eq!(addrs, ["192.168.21.72:80", "192.168.21.71:80"], "{order:?}");
        }
    }
}
