//! ST001: under lc/wlc, one real server holds active connections while another gets every
//! new one (the incident behind VIP 192.168.21.20).

use super::*;
use crate::finding::Severity;

/// The kernel's choice: lc takes the lowest overhead (first wins ties); wlc the lowest
/// overhead/weight (ip_vs_lc.c, ip_vs_wlc.c).
fn cost(sched: &str, rs: &RealServer) -> f64 {
    let ov = rs.overhead().unwrap_or(0) as f64;
    if sched == "wlc" {
        ov / rs.weight.unwrap_or(1).max(1) as f64
    } else {
        ov
    }
}

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for svc in &input.state.services {
        let Some(sched) = svc.scheduler.as_deref() else {
            continue;
        };
        if !matches!(sched, "lc" | "wlc") {
            continue;
        }
        let live: Vec<&RealServer> = svc
            .real_servers
            .iter()
            .filter(|r| r.weight.unwrap_or(1) > 0 && r.overhead().is_some())
            .collect();
        if live.len() < 2 {
            continue;
        }
        let mut pick = live[0];
        for r in &live[1..] {
            if cost(sched, r) < cost(sched, pick) {
                pick = r;
            }
        }
        if pick.active != Some(0) {
            continue;
        }
        let holders: Vec<&&RealServer> = live
            .iter()
            .filter(|r| r.addr != pick.addr && r.active.unwrap_or(0) > 0)
            .collect();
        let Some(next) = live
            .iter()
            .filter(|r| r.addr != pick.addr)
            .min_by(|a, b| cost(sched, a).total_cmp(&cost(sched, b)))
        else {
            continue;
        };
        if holders.is_empty() {
            continue;
        }
        let (pov, nov) = (pick.overhead().unwrap_or(0), next.overhead().unwrap_or(0));
        // New connections the pick absorbs before `next` becomes cheaper, if each leaves one
        // inactive entry (a short connection that closed, or before 4.8 a SYN_RECV one).
        let absorbs = if sched == "wlc" {
            let (pw, nw) = (
                pick.weight.unwrap_or(1).max(1) as u64,
                next.weight.unwrap_or(1).max(1) as u64,
            );
            nov.saturating_mul(pw).div_ceil(nw).saturating_sub(pov)
        } else {
            nov.saturating_sub(pov)
        };
        if absorbs < 2 {
            continue;
        }
        let holder_desc: Vec<String> = holders
            .iter()
            .map(|h| {
                format!(
                    "{} holds {} active connection{} (overhead {}×256+{} = {})",
                    h.addr,
                    h.active.unwrap_or(0),
                    if h.active == Some(1) { "" } else { "s" },
                    h.active.unwrap_or(0),
                    h.inactive.unwrap_or(0),
                    h.overhead().unwrap_or(0)
                )
            })
            .collect();
        // Since Linux 4.8 an unanswered SYN is an active entry (overhead +256) for its 60 s,
        // so a silent pick soon loses its place; before 4.8 it added 1, like a closed one.
        let silent_absorbs = absorbs.div_ceil(256).max(1);
        let syn_active = input.state.syn_recv_active();
        let mut msg = format!(
            "Scheduler {sched} sends each new connection to the real server with the lowest {}overhead, ActiveConn×256 + InActConn: an open connection weighs as much as 256 finished ones. {}, so {} (overhead {}) gets every new connection: about the next {} of them, or until those long connections close. One long-lived connection, such as a browser's keep-alive, is enough to send all other clients to one server.",
            if sched == "wlc" { "weighted " } else { "" },
            holder_desc.join("; "),
            pick.addr,
            pov,
            absorbs,
        );
        msg.push_str(&match syn_active {
            Some(true) => format!(" If {} does not answer, each failed handshake stays in SYN_RECV, which this kernel (Linux 4.8 or later) counts as active: it takes about {silent_absorbs} before the scheduler moves away, and as many again each time those entries expire (60 s).", pick.addr),
            Some(false) => format!(" If {} does not answer, each failed handshake stays in SYN_RECV, which this kernel (before Linux 4.8) counts as inactive: it keeps getting all {absorbs}, every one failing.", pick.addr),
            None => format!(" If {} does not answer, each failed handshake stays in SYN_RECV for 60 s: since Linux 4.8 that counts as active, so only about {silent_absorbs} fail{} before the scheduler moves away; before 4.8 it counts as inactive and all {absorbs} fail.", pick.addr, if silent_absorbs == 1 { "s" } else { "" }),
        });
        // No entry at all at the pick: low traffic, nothing suggests it fails. Still worth
        // knowing where the next clients go, but not a warning.
        let mut severity = if pick.inactive.unwrap_or(0) == 0 {
            Severity::Info
        } else {
            Severity::Warning
        };
        let mut evidence = vec![format!("{} {}", svc.key, sched)];
        evidence.extend(svc.real_servers.iter().map(rs_line));
        if pick.inactive.unwrap_or(0) > 0 {
            let n = pick.inactive.unwrap_or(0);
            msg.push_str(&format!(
                "\n{} has {n} inactive and no active connection. ",
                pick.addr
            ));
            msg.push_str(match syn_active {
                // tcp_state_active_table (ip_vs_proto_tcp.c): SYN_SENT, SYN_RECV, SYNACK and
                // ESTABLISHED are active since 4.8; FIN_WAIT, TIME_WAIT, CLOSE... are not.
                Some(true) => "On this kernel (Linux 4.8 or later) an unanswered SYN counts as active, so these are connections that closed (FIN_WAIT, TIME_WAIT, CLOSE): it answered them.",
                Some(false) => "On this kernel (before Linux 4.8) only ESTABLISHED counts as active: in DR mode, where the director sees only the clients' packets, an entry stays inactive (SYN_RECV) when the real server never answers the SYN; short connections that already closed count as inactive too.",
                None => "Since Linux 4.8 an unanswered SYN (SYN_RECV) counts as active, so these are connections that closed; before 4.8 they may also be SYN_RECV entries of a server that never answers (give --kernel, or use --host, to tell).",
            });
            if let Some(states) = input
                .state
                .connections
                .as_ref()
                .and_then(|c| c.by_dest.get(&pick.addr))
            {
                let syn = states.get("SYN_RECV").copied().unwrap_or(0);
                let est = states.get("ESTABLISHED").copied().unwrap_or(0);
                evidence.push(format!(
                    "connection entries to {}: {}",
                    pick.addr,
                    states
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if syn > 0 && est == 0 {
                    severity = Severity::Error;
                    msg.push_str(&format!(
                        " The connection entries settle it: {syn} in SYN_RECV and none ESTABLISHED. {} does not answer, and it is where every new client goes.",
                        pick.addr
                    ));
                }
            } else if syn_active != Some(true) {
                msg.push_str(" If clients say the VIP answers only sometimes, this server is the first suspect.");
            }
        }
        // With --config: the line that chose the scheduler.
        if let Some(es) = input.config.and_then(|c| {
            c.services
                .iter()
                .find(|es| es.keys.iter().any(|k| same_key(k, &svc.key)))
        }) {
            match &es.scheduler.at {
                Some(at) if es.scheduler.value == sched => {
                    msg.push_str(&format!(
                        "\nkeepalived.conf chose {sched} with `{} {sched}` at {at}",
                        at.keyword
                    ));
                    if let Some((old, v)) = es.scheduler.overridden.first() {
                        msg.push_str(&format!(
                            ", which overrides `{} {v}` at line {} (see ST011)",
                            old.keyword, old.line
                        ));
                    }
                    msg.push('.');
                }
                None if es.scheduler.value == sched => msg.push_str(&format!(
                    "\nkeepalived.conf sets no scheduler for {}, so keepalived uses its default, {sched}.",
                    es.label
                )),
                _ => {}
            }
        }
        let f = Finding::new("ST001", svc.key.to_string(), msg)
            .severity(severity)
            .evidence_lines(evidence)
            .fix_text(format!(
                "Check that {} answers for the VIP (lbdoctor audit --host {}). If connection lengths vary (keep-alive, websockets), use rr or wrr: set `lvs_sched rr` in keepalived.conf, remove any later `lb_algo`/`lvs_sched` line in that virtual_server, and reload keepalived.",
                pick.addr,
                host_of(&pick.addr)
            ))
            .fix_command(format!("ipvsadm -Lnc | grep {}", host_of(&pick.addr)));
        out.push(at(f, origin_loc(&pick.origin)));
    }
}
