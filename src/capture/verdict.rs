//! From an Analysis to a verdict: which kind of load balancing answers on the VIP, how sure,
//! and the evidence (packet numbers, MACs, ARP owner).

use super::analyze::{Analysis, Fingerprint};
use super::decode::{fmt_mac, Mac};
use super::flow::NO_MAC;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dsr,
    Nat,
    Proxy,
    Direct,
    Unknown,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dsr => "dsr",
            Mode::Nat => "nat",
            Mode::Proxy => "proxy",
            Mode::Direct => "direct",
            Mode::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Backend {
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    /// Where the IP came from: "arp in capture", "ndp in capture", "host neighbour table".
    pub ip_source: Option<&'static str>,
    /// Handshakes this MAC answered.
    pub flows: u64,
    pub share: f64,
    pub replies: u64,
    pub first_reply_packet: u64,
    pub first_reply_ts: f64,
    pub synack_delay_ms: Option<f64>,
    /// True when this is the director's own MAC (it answers some connections itself).
    pub is_director: bool,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub mode: Mode,
    pub confidence: f64,
    pub lb_mac: Option<Mac>,
    /// "requests" (destination MAC of client requests), "arp" (the VIP's ARP/NDP owner) or
    /// "vrrp" (the VRRP router holding the VIP, when requests bypassed it).
    pub lb_mac_source: &'static str,
    pub backends: Vec<Backend>,
    /// Set when clients' requests went to a MAC other than the load balancer's (a real
    /// server answering ARP for the VIP).
    pub bypass_mac: Option<Mac>,
    /// One line each: why the mode was chosen.
    pub evidence: Vec<String>,
    /// A paragraph a person can paste.
    pub explanation: String,
}

/// The usual initial TTLs (Linux/BSD 64, Windows 128, network gear 255).
fn hops(ttl: u8) -> u8 {
    for init in [32u8, 64, 128, 255] {
        if ttl <= init {
            return init - ttl;
        }
    }
    0
}

fn ts(t: f64) -> String {
    format!("{t:.6}")
}

/// Decide. `neighbours_host` is the host's own neighbour table (live runs), used for backend
/// IPs the capture's ARP did not reveal.
pub fn decide(a: &Analysis, neighbours_host: &BTreeMap<IpAddr, Mac>) -> Verdict {
    let mut ev = Vec::new();
    let vip = a.vip;
    // Request destination MACs, leaving out copies re-sent by a device that itself received
    // requests (the director forwarding to a real server, seen on a mirror port or hub).
    let dsts: BTreeSet<u16> = a
        .request_pairs
        .iter()
        .map(|((_, d), _)| *d)
        .filter(|d| *d != NO_MAC)
        .collect();
    let mut to: BTreeMap<u16, (u64, u64, f64)> = BTreeMap::new();
    let mut forwarded: BTreeMap<u16, u64> = BTreeMap::new();
    for ((s, d), seen) in &a.request_pairs {
        if *d == NO_MAC {
            continue;
        }
        if *s != NO_MAC && dsts.contains(s) && s != d {
            *forwarded.entry(*d).or_default() += seen.count;
            continue;
        }
        let e = to
            .entry(*d)
            .or_insert((0, seen.first_packet, seen.first_ts));
        e.0 += seen.count;
        if seen.first_packet < e.1 {
            e.1 = seen.first_packet;
            e.2 = seen.first_ts;
        }
    }
    let requests: u64 = a.mac_stats.iter().map(|m| m.requests_to.count).sum::<u64>()
        + a.request_pairs
            .iter()
            .filter(|((_, d), _)| *d == NO_MAC)
            .map(|(_, s)| s.count)
            .sum::<u64>();
    let owner = a
        .vip_owners
        .iter()
        .max_by_key(|(_, s)| s.count)
        .map(|(m, s)| (*m, *s));
    let (lb_idx, lb_mac, lb_source) = match to.iter().max_by_key(|(_, v)| v.0) {
        Some((i, v)) => {
            let m = a.mac(*i);
            ev.push(format!(
                "{} of {} packets to {vip} were sent to MAC {} (first: packet {} at {})",
                v.0,
                requests,
                fmt_mac(&m.unwrap_or_default()),
                v.1,
                ts(v.2)
            ));
            (*i, m, "requests")
        }
        None => match owner {
            Some((m, s)) => {
                ev.push(format!(
                    "this link type records no destination MAC; the VIP's ARP/NDP owner {} (packet {}) stands in for the LB's MAC",
                    fmt_mac(&m),
                    s.first_packet
                ));
                let idx = a
                    .macs
                    .iter()
                    .position(|x| *x == m)
                    .map(|i| i as u16)
                    .unwrap_or(NO_MAC);
                (idx, Some(m), "arp")
            }
            None => (NO_MAC, None, "none"),
        },
    };
    // A real server that answers ARP for the VIP can capture clients' requests: then the
    // requests' MAC is not the VRRP router's, though the router still claims the VIP.
    let vrrp_macs: Vec<Mac> = a
        .vrrp
        .iter()
        .filter(|s| s.vips.contains(&vip) && s.seen.count > s.resign)
        .filter_map(|s| s.src_mac)
        .collect();
    let mut bypass = None;
    let (lb_idx, lb_mac, lb_source) = match lb_mac {
        Some(m) if !vrrp_macs.is_empty() && !vrrp_macs.contains(&m) => {
            let director = a
                .vip_owners
                .iter()
                .filter(|(om, _)| vrrp_macs.contains(om))
                .max_by_key(|(_, s)| s.count)
                .map(|(om, _)| *om);
            match director {
                Some(d) => {
                    bypass = Some(m);
                    ev.push(format!(
                        "the requests went to {}, which claims the VIP in ARP but is not the VRRP router holding it ({}): these clients bypass the load balancer",
                        fmt_mac(&m),
                        fmt_mac(&d)
                    ));
                    let idx = a
                        .macs
                        .iter()
                        .position(|x| *x == d)
                        .map(|i| i as u16)
                        .unwrap_or(NO_MAC);
                    (idx, Some(d), "vrrp")
                }
                None => (lb_idx, lb_mac, lb_source),
            }
        }
        _ => (lb_idx, lb_mac, lb_source),
    };
    if let (Some((om, os)), Some(lm)) = (owner, lb_mac) {
        ev.push(format!(
            "ARP/NDP: {} claims {vip} ({} time(s), first packet {}){}",
            fmt_mac(&om),
            os.count,
            os.first_packet,
            if om == lm {
                ", the load balancer's MAC"
            } else {
                ", NOT the load balancer's MAC"
            }
        ));
    }
    for (d, n) in &forwarded {
        if let Some(m) = a.mac(*d) {
            ev.push(format!(
                "{n} request packet(s) to {vip} were re-sent with destination MAC {} (the director forwarding at layer 2)",
                fmt_mac(&m)
            ));
        }
    }

    // Who answers from the VIP.
    let repliers: Vec<u16> = (0..a.mac_stats.len() as u16)
        .filter(|i| a.mac_stats[*i as usize].replies_from.count > 0)
        .collect();
    let total_answered: u64 = repliers
        .iter()
        .map(|i| a.mac_stats[*i as usize].flows_answered)
        .sum();
    let vrrp_holds_vip = a.vrrp.iter().any(|s| s.vips.contains(&vip));
    let lookup_ip = |m: &Mac| -> (Option<IpAddr>, Option<&'static str>) {
        let from = |map: &BTreeMap<IpAddr, Mac>| {
            map.iter()
                .find(|(ip, mm)| *mm == m && **ip != vip)
                .map(|(ip, _)| *ip)
        };
        if let Some(ip) = from(&a.neighbours) {
            let src = if ip.is_ipv4() {
                "arp in capture"
            } else {
                "ndp in capture"
            };
            return (Some(ip), Some(src));
        }
        match from(neighbours_host) {
            Some(ip) => (Some(ip), Some("host neighbour table")),
            None => (None, None),
        }
    };
    let backend = |i: u16| -> Backend {
        let st = &a.mac_stats[i as usize];
        let mac = a.macs[i as usize];
        let (ip, ip_source) = lookup_ip(&mac);
        Backend {
            mac,
            ip,
            ip_source,
            flows: st.flows_answered,
            share: if total_answered > 0 {
                st.flows_answered as f64 / total_answered as f64
            } else {
                0.0
            },
            replies: st.replies_from.count,
            first_reply_packet: st.replies_from.first_packet,
            first_reply_ts: st.replies_from.first_ts,
            synack_delay_ms: (st.synack_delay_n > 0)
                .then(|| st.synack_delay_sum / st.synack_delay_n as f64 * 1000.0),
            is_director: i == lb_idx,
        }
    };
    for i in &repliers {
        let st = &a.mac_stats[*i as usize];
        ev.push(format!(
            "{} packet(s) from {vip} came from MAC {}{} (first: packet {} at {})",
            st.replies_from.count,
            fmt_mac(&a.macs[*i as usize]),
            if *i == lb_idx {
                " (the MAC the requests go to)"
            } else {
                ""
            },
            st.replies_from.first_packet,
            ts(st.replies_from.first_ts)
        ));
    }

    let vrrp_note = if a.vrrp.is_empty() {
        String::new()
    } else {
        format!(
            " The VRRP adverts on the wire ({} router(s), vrid {}) are keepalived's redundancy for the load balancer itself (who holds the VIP); they are not the balancing method.",
            a.vrrp.len(),
            a.vrrp.iter().map(|s| s.vrid.to_string()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
        )
    };

    let no_traffic = requests == 0 && repliers.is_empty() && a.reply_packets == 0;
    if no_traffic {
        return Verdict {
            mode: Mode::Unknown,
            confidence: 0.0,
            lb_mac,
            lb_mac_source: lb_source,
            bypass_mac: bypass,
            backends: vec![],
            evidence: ev,
            explanation: format!(
                "No TCP traffic to or from {vip} was seen, so the balancing method cannot be told.{vrrp_note}"
            ),
        };
    }
    if repliers.is_empty() && !forwarded.is_empty() && lb_mac.is_some() {
        // The director's own view (or a mirror of its port): requests come in to its MAC and
        // leave again to other MACs with the IP destination still the VIP, which is IPVS DR
        // (NAT would rewrite it to the real IP). The replies bypass this point.
        let answered: u64 = forwarded
            .keys()
            .map(|d| a.mac_stats[*d as usize].flows_answered)
            .sum();
        let mut backends: Vec<Backend> = forwarded
            .keys()
            .map(|d| {
                let mut b = backend(*d);
                b.share = if answered > 0 {
                    b.flows as f64 / answered as f64
                } else {
                    0.0
                };
                b
            })
            .collect();
        backends.sort_by(|a, b| b.flows.cmp(&a.flows).then(a.mac.cmp(&b.mac)));
        let names: Vec<String> = backends
            .iter()
            .map(|b| match b.ip {
                Some(ip) => format!("{} ({ip})", fmt_mac(&b.mac)),
                None => fmt_mac(&b.mac),
            })
            .collect();
        let explanation = if a.tunneled.is_empty() {
            format!(
                "Direct Server Return (LVS-DR), seen where the director forwards: requests to {vip}:{} arrive at the load balancer's MAC {} and leave it again still addressed to {vip}, re-sent at layer 2 to the real servers' MACs {}. That is what IPVS does in DR mode (NAT would rewrite the destination to the real server's IP). The real servers' replies go straight to the clients and do not pass this capture point, so a connection counts as answered when the client's ACK follows its SYN.{vrrp_note}",
                a.port,
                lb_mac.map(|m| fmt_mac(&m)).unwrap_or_default(),
                names.join(", "),
            )
        } else {
            // IPVS TUN wraps each request in IPIP to the real server's own IP (seen on the
            // real kernel: fixtures/detect/real/tun-director.pcap).
            let to: Vec<String> = a
                .tunneled
                .iter()
                .map(|(ip, n)| format!("{ip} ({n} packets)"))
                .collect();
            ev.push(format!(
                "requests to {vip} re-sent IPIP-encapsulated (IP protocol 4) to {}",
                to.join(", ")
            ));
            format!(
                "Direct return through an IPIP tunnel (LVS-TUN), seen where the director forwards: requests to {vip}:{} arrive at the load balancer's MAC {} and leave it again wrapped in IPIP, addressed to the real servers' own IPs {} (MACs {}), still carrying {vip} inside. That is what IPVS does in TUN mode; each real server must decapsulate (tunl0) and hold {vip}. The replies go straight to the clients and do not pass this capture point, so a connection counts as answered when the client's ACK follows its SYN. Seen from a client, TUN and DR look the same: both are reported as mode dsr.{vrrp_note}",
                a.port,
                lb_mac.map(|m| fmt_mac(&m)).unwrap_or_default(),
                a.tunneled.keys().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
                names.join(", "),
            )
        };
        return Verdict {
            mode: Mode::Dsr,
            confidence: if answered > 0 { 0.85 } else { 0.7 },
            lb_mac,
            lb_mac_source: lb_source,
            bypass_mac: bypass,
            backends,
            evidence: ev,
            explanation,
        };
    }
    if repliers.is_empty() {
        let why = if a.reply_packets > 0 || a.macs.is_empty() {
            "this link type records no MAC addresses, so who answers cannot be seen; capture on an Ethernet interface"
        } else {
            "nothing answered from the VIP"
        };
        return Verdict {
            mode: Mode::Unknown,
            confidence: 0.0,
            lb_mac,
            lb_mac_source: lb_source,
            bypass_mac: bypass,
            backends: vec![],
            evidence: ev,
            explanation: format!("Requests to {vip} were seen, but {why}.{vrrp_note}"),
        };
    }

    let others: Vec<u16> = repliers.iter().copied().filter(|i| *i != lb_idx).collect();
    if lb_mac.is_some() && !others.is_empty() || lb_mac.is_none() && repliers.len() >= 2 {
        // DSR: replies leave MACs other than the one the requests went to.
        let mut conf: f64 = 0.7;
        if others.len() >= 2 || total_answered >= 3 {
            conf += 0.1;
        }
        if owner.is_some_and(|(m, _)| Some(m) == lb_mac) {
            conf += 0.1;
        }
        if !forwarded.is_empty() {
            conf += 0.05;
        }
        if lb_mac.is_none() {
            conf -= 0.2;
        }
        let mut backends: Vec<Backend> = repliers.iter().map(|i| backend(*i)).collect();
        backends.sort_by(|a, b| b.flows.cmp(&a.flows).then(a.mac.cmp(&b.mac)));
        let director_answers = repliers.contains(&lb_idx);
        let names: Vec<String> = backends
            .iter()
            .filter(|b| !b.is_director)
            .map(|b| match b.ip {
                Some(ip) => format!("{} ({ip})", fmt_mac(&b.mac)),
                None => fmt_mac(&b.mac),
            })
            .collect();
        let explanation = format!(
            "Direct Server Return (LVS-DR): requests to {vip}:{} go to the load balancer's MAC {}, and the replies come straight from the real servers' MACs {}, bypassing the load balancer.{}{}{}",
            a.port,
            lb_mac.map(|m| fmt_mac(&m)).unwrap_or_else(|| "(not visible)".into()),
            names.join(", "),
            match bypass {
                Some(b) => format!(" But in this capture the requests went to {} instead: a real server answering ARP for the VIP took them (see DT005).", fmt_mac(&b)),
                None => String::new(),
            },
            if director_answers { " The director's own MAC also answers some connections: it is also one of its real servers, or a local service holds the VIP port." } else { "" },
            vrrp_note
        );
        return Verdict {
            mode: Mode::Dsr,
            confidence: conf.clamp(0.0, 0.99),
            lb_mac,
            lb_mac_source: lb_source,
            bypass_mac: bypass,
            backends,
            evidence: ev,
            explanation,
        };
    }

    // One MAC answers: NAT, a proxy, or a plain server.
    let answering = repliers[0];
    let st = &a.mac_stats[answering as usize];
    let fps: Vec<(&Fingerprint, &u64)> = st.fingerprints.iter().collect();
    let routed: u64 = fps
        .iter()
        .filter(|(f, _)| hops(f.ttl) >= 1)
        .map(|(_, n)| **n)
        .sum();
    let synacks: u64 = fps.iter().map(|(_, n)| **n).sum();
    for (f, n) in &fps {
        ev.push(format!("{n} SYN-ACK(s) from {vip} with {}", f.describe()));
    }
    if let Some(d) = (st.synack_delay_n > 0).then(|| st.synack_delay_sum / st.synack_delay_n as f64)
    {
        ev.push(format!(
            "SYN-ACK delay: mean {:.3} ms, min {:.3} ms, max {:.3} ms over {} handshakes",
            d * 1000.0,
            st.synack_delay_min * 1000.0,
            st.synack_delay_max * 1000.0,
            st.synack_delay_n
        ));
    }
    let mac_s = fmt_mac(&a.macs[answering as usize]);
    let (mode, conf, explanation) = if synacks > 0 && routed * 2 > synacks {
        let varied = fps.len() >= 2;
        (
            Mode::Nat,
            if varied { 0.85 } else { 0.75 },
            format!(
                "NAT (LVS-NAT or another layer-4 NAT): requests and replies both use MAC {mac_s}, and the SYN-ACKs arrive with a TTL lowered by a routing hop, i.e. a host behind the box holding {vip} answers through it.{} A proxy would answer with its own, un-routed TTL.{vrrp_note}",
                if varied { " The SYN-ACKs carry more than one TCP fingerprint: more than one server stack answers." } else { "" }
            ),
        )
    } else if fps.len() >= 2 {
        (
            Mode::Nat,
            0.6,
            format!(
                "Probably NAT: requests and replies both use MAC {mac_s}, but the SYN-ACKs carry {} different TCP fingerprints (TTL/window/options), i.e. several server stacks answer behind one MAC. A proxy answers every handshake with one stack.{vrrp_note}",
                fps.len()
            ),
        )
    } else if vrrp_holds_vip || synacks == 0 {
        (
            Mode::Proxy,
            if synacks == 0 { 0.4 } else { 0.65 },
            format!(
                "A proxy (layer-7 or TCP relay) on the load balancer: requests and replies both use MAC {mac_s}, every SYN-ACK has the same TCP fingerprint with an un-routed TTL, so the box holding {vip} terminates the connections itself and opens its own to the servers.{} NAT would show the servers' TTL lowered by one hop.{vrrp_note}",
                if vrrp_holds_vip { " VRRP advertises the VIP, so that box is a keepalived load balancer, not a plain server." } else { "" }
            ),
        )
    } else {
        (
            Mode::Direct,
            0.5,
            format!(
                "No load balancer visible in the path: one host with MAC {mac_s} answers every connection to {vip} with one TCP stack and an un-routed TTL, and no VRRP advertises the VIP. A proxy on that host would look the same from here."
            ),
        )
    };
    Verdict {
        mode,
        confidence: conf,
        lb_mac,
        lb_mac_source: lb_source,
        bypass_mac: bypass,
        backends: vec![],
        evidence: ev,
        explanation,
    }
}
