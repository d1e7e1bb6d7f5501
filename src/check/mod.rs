//! `lbdoctor check`: test each real server's VIP path the way an IPVS director in DR mode
//! reaches it. For every real server: its MAC (neighbour table, else our own ARP request), a
//! TCP SYN to VIP:PORT from this host's address inside an Ethernet frame for that MAC, the
//! answer captured with libpcap (SYN-ACK, RST or nothing), a RST so no half-open connection
//! stays behind, and the same SYN to the real IP for contrast.
//!
//! Why the capture, not a socket: the SYN-ACK comes from the VIP. When this host holds the
//! VIP (a director), the kernel drops it as a martian (its source is a local address); when it
//! does not, the kernel finds no socket and answers RST, towards the VIP, i.e. the director,
//! not the real server. Either way libpcap's packet tap sees the frame before the IP stack
//! does, so the race with the kernel is always won, and our own RST to the real server's MAC
//! is what clears the real server's SYN_RECV entry.

pub mod net;
pub mod wire;

use crate::capture::decode::Mac;
use crate::capture::source::linktype;
use crate::error::Error;
use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};
use wire::{Reply, Seen, Segment};

pub struct Options {
    pub vip: Ipv4Addr,
    pub port: u16,
    /// Send on this interface instead of the one the kernel routes each real server through.
    pub iface: Option<String>,
    pub timeout: Duration,
}

/// The answer to one SYN.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub reply: Reply,
    /// From the first SYN sent to the answer's capture timestamp.
    pub rtt: Option<Duration>,
    /// The MAC the answer came from (the real server's own, under DR).
    pub from_mac: Option<Mac>,
    pub vlan: Option<u16>,
    /// SYNs sent (one, plus retransmissions while no answer came).
    pub tries: u32,
}

#[derive(Debug, Clone)]
pub struct RsResult {
    pub ip: Ipv4Addr,
    pub mac: Mac,
    /// "neighbour table" or "arp".
    pub mac_source: &'static str,
    pub iface: String,
    pub source: Ipv4Addr,
    pub sport: u16,
    /// Through the VIP, as the director forwards it.
    pub vip: Answer,
    /// To the real IP, as keepalived's TCP_CHECK connects.
    pub real_ip: Answer,
}

/// Where one real server is reached from: interface and our source address there.
fn reach(o: &Options, rs: Ipv4Addr) -> anyhow::Result<(String, Ipv4Addr)> {
    let pick_src = |iface: &str, preferred: Option<Ipv4Addr>| {
        // Never the VIP itself: the real server, holding the VIP too, would answer itself.
        preferred
            .filter(|a| *a != o.vip)
            .or_else(|| {
                net::iface_ipv4s(iface)
                    .into_iter()
                    .find(|a| *a != o.vip && !a.is_loopback())
            })
            .ok_or_else(|| {
                anyhow::Error::from(Error::Usage(format!(
                    "interface {iface} has no IPv4 address other than the VIP {} to send from; add one, or give another interface with -i",
                    o.vip
                )))
            })
    };
    if let Some(i) = &o.iface {
        net::check_iface(i)?;
        let route = net::route_to(rs).ok().filter(|r| r.dev == *i);
        return Ok((i.clone(), pick_src(i, route.and_then(|r| r.src))?));
    }
    let r = net::route_to(rs)?;
    if r.local {
        return Err(Error::Usage(format!(
            "real server {rs} is an address of this host: run check from another host in its segment (the director)"
        ))
        .into());
    }
    if let Some(gw) = r.via {
        return Err(Error::Usage(format!(
            "real server {rs} is reached through the gateway {gw} on {}, not on this host's segment: a DR director reaches its real servers at layer 2, so run check on a host in their segment (the director), or give the interface with -i",
            r.dev
        ))
        .into());
    }
    let src = pick_src(&r.dev, r.src)?;
    Ok((r.dev, src))
}

/// A TCP port of ours the kernel will not hand to another connection while the check runs:
/// bound, neither listening nor connected, so the answers to our SYNs still find no socket.
fn reserve_port(src: Ipv4Addr) -> anyhow::Result<(OwnedFd, u16)> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| {
        Error::Usage(format!(
            "cannot open a TCP socket to reserve a source port: {e}"
        ))
    })?;
    bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(src, 0)))
        .map_err(|e| Error::Usage(format!("cannot reserve a source port on {src}: {e}")))?;
    let port = getsockname::<SockaddrIn>(fd.as_raw_fd())
        .map_err(|e| Error::Usage(format!("getsockname: {e}")))?
        .port();
    Ok((fd, port))
}

struct Link {
    cap: pcap::Capture<pcap::Active>,
    iface: String,
    mac: Mac,
    src: Ipv4Addr,
}

impl Link {
    fn open(iface: &str, src: Ipv4Addr) -> anyhow::Result<Link> {
        net::check_iface(iface)?;
        check_permission(iface)?;
        let mac = net::iface_mac(iface)?;
        let cap_err = |e: pcap::Error| {
            let s = e.to_string();
            if s.contains("ermission") || s.contains("not permitted") {
                Error::Usage(permission_message(iface))
            } else {
                Error::Usage(format!("cannot open {iface} for raw frames: {s}"))
            }
        };
        let cap = pcap::Capture::from_device(iface)
            .map_err(cap_err)?
            // Not promiscuous: every answer is addressed to this host's MAC, and without
            // promiscuous mode CAP_NET_RAW alone is enough.
            .promisc(false)
            .snaplen(256)
            .immediate_mode(true)
            .timeout(20)
            .open()
            .map_err(cap_err)?;
        if cap.get_datalink().0 as u32 != linktype::ETHERNET {
            return Err(Error::Usage(format!(
                "interface {iface} is not Ethernet (link type {}): DR forwards at layer 2, so check needs an Ethernet interface",
                cap.get_datalink().0
            ))
            .into());
        }
        let mut cap = cap.setnonblock().map_err(cap_err)?;
        // ARP answers (for the MACs) and TCP addressed to us (the answers to our SYNs).
        cap.filter(&format!("arp or (tcp and dst host {src})"), true)
            .map_err(cap_err)?;
        let _ = cap.direction(pcap::Direction::In);
        Ok(Link {
            cap,
            iface: iface.to_string(),
            mac,
            src,
        })
    }

    fn send(&mut self, frame: &[u8]) -> anyhow::Result<()> {
        self.cap
            .sendpacket(frame)
            .map_err(|e| Error::Usage(format!("cannot send a frame on {}: {e}", self.iface)).into())
    }

    /// The next frame of interest, or None once `until` passes.
    fn next(&mut self, until: Instant) -> anyhow::Result<Option<(Seen, Instant)>> {
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    if let Some(s) = wire::classify(linktype::ETHERNET, p.data) {
                        return Ok(Some((s, Instant::now())));
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    let mut pfd = libc::pollfd {
                        fd: self.cap.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    let ms = (until - now).as_millis().clamp(1, 20) as i32;
                    // SAFETY: one valid pollfd for the capture's descriptor, which outlives the call.
                    unsafe { libc::poll(&mut pfd, 1, ms) };
                }
                Err(e) => {
                    return Err(
                        Error::Usage(format!("capture on {} failed: {e}", self.iface)).into(),
                    )
                }
            }
        }
    }

    /// MACs for `ips` from the neighbour table, the rest by our own ARP requests (sent three
    /// times within `timeout`). An address nobody answers for is left out.
    fn resolve(
        &mut self,
        ips: &[Ipv4Addr],
        timeout: Duration,
    ) -> anyhow::Result<BTreeMap<Ipv4Addr, (Mac, &'static str)>> {
        let mut found = BTreeMap::new();
        for &ip in ips {
            if let Some(m) = net::neighbour(ip, &self.iface) {
                found.insert(ip, (m, "neighbour table"));
            }
        }
        let missing = |f: &BTreeMap<Ipv4Addr, _>| {
            ips.iter()
                .filter(|i| !f.contains_key(*i))
                .copied()
                .collect::<Vec<_>>()
        };
        let start = Instant::now();
        for round in 1..=3u32 {
            let todo = missing(&found);
            if todo.is_empty() {
                break;
            }
            for ip in todo {
                let f = wire::arp_request(self.mac, self.src, ip);
                self.send(&f)?;
            }
            let until = start + timeout * round / 3;
            while let Some((seen, _)) = self.next(until)? {
                if let Seen::Arp { ip, mac } = seen {
                    if ips.contains(&ip) {
                        found.entry(ip).or_insert((mac, "arp"));
                    }
                }
                if missing(&found).is_empty() {
                    break;
                }
            }
        }
        Ok(found)
    }
}

/// One SYN in flight.
struct Probe {
    seg: Segment,
    isn: u32,
    first_sent: Instant,
    answer: Option<(Reply, Instant, Option<Mac>, Option<u16>)>,
    tries: u32,
}

fn answer_of(p: &Probe) -> Answer {
    match p.answer {
        Some((reply, at, mac, vlan)) => Answer {
            reply,
            rtt: Some(at.saturating_duration_since(p.first_sent)),
            from_mac: mac,
            vlan,
            tries: p.tries,
        },
        None => Answer {
            reply: Reply::None,
            rtt: None,
            from_mac: None,
            vlan: None,
            tries: p.tries,
        },
    }
}

/// Send every SYN at once and wait for the answers, retransmitting the unanswered ones at a
/// third and two thirds of `timeout` (one lost frame must not fail a health check).
fn probe_all(link: &mut Link, probes: &mut [Probe], timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    for p in probes.iter_mut() {
        p.first_sent = Instant::now();
        p.tries = 1;
        link.send(&wire::syn_frame(&p.seg, p.isn))?;
    }
    for round in 1..=3u32 {
        let until = start + timeout * round / 3;
        while probes.iter().any(|p| p.answer.is_none()) {
            let Some((seen, at)) = link.next(until)? else {
                break;
            };
            let Seen::Tcp {
                src,
                sport,
                dport,
                reply,
                ack,
                has_ack,
                src_mac,
                vlan,
            } = seen
            else {
                continue;
            };
            let Some(p) = probes.iter_mut().find(|p| {
                p.answer.is_none()
                    && p.seg.dst_ip == src
                    && p.seg.dport == sport
                    && p.seg.sport == dport
                    // A SYN-ACK must acknowledge our SYN; a RST may come without ACK.
                    && (ack == p.isn.wrapping_add(1) || (!has_ack && reply == Reply::Rst))
            }) else {
                continue;
            };
            p.answer = Some((reply, at, src_mac, vlan));
            if reply == Reply::SynAck {
                let rst = wire::rst_frame(&p.seg, p.isn);
                link.send(&rst)?;
            }
        }
        if round < 3 {
            for p in probes.iter_mut().filter(|p| p.answer.is_none()) {
                p.tries += 1;
                link.send(&wire::syn_frame(&p.seg, p.isn))?;
            }
        }
    }
    Ok(())
}

/// Test every real server. Errors (exit 2) for what makes the test impossible: no
/// privilege, an unknown or non-Ethernet interface, a real server with no MAC.
pub fn run(o: &Options, real_servers: &[Ipv4Addr]) -> anyhow::Result<Vec<RsResult>> {
    // Group by interface and source: usually one group, the director's LAN.
    let mut groups: BTreeMap<(String, Ipv4Addr), Vec<Ipv4Addr>> = BTreeMap::new();
    for &rs in real_servers {
        if rs == o.vip {
            return Err(Error::Usage(format!(
                "real server {rs} is the VIP itself; give the real servers' own addresses with --rs"
            ))
            .into());
        }
        let key = reach(o, rs)?;
        let g = groups.entry(key).or_default();
        if !g.contains(&rs) {
            g.push(rs);
        }
    }
    let mut out = Vec::new();
    for ((iface, src), ips) in groups {
        let mut link = Link::open(&iface, src)?;
        let macs = link.resolve(&ips, o.timeout)?;
        let mut missing: Vec<String> = ips
            .iter()
            .filter(|i| !macs.contains_key(*i))
            .map(|i| i.to_string())
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(Error::Usage(format!(
                "no MAC for real server(s) {} on {iface}: not in the neighbour table and no answer to ARP within {} ms; the server is down, or not on this segment (give the interface with -i)",
                missing.join(", "),
                o.timeout.as_millis()
            ))
            .into());
        }
        let mut ports = Vec::new();
        let mut probes = Vec::new();
        for &ip in &ips {
            let (mac, _) = macs[&ip];
            // Two ports per real server: the VIP path and the real IP never share a 4-tuple.
            for dst in [o.vip, ip] {
                let (fd, sport) = reserve_port(src)?;
                ports.push(fd);
                probes.push(Probe {
                    seg: Segment {
                        src_mac: link.mac,
                        dst_mac: mac,
                        src_ip: src,
                        dst_ip: dst,
                        sport,
                        dport: o.port,
                    },
                    isn: rand::random(),
                    first_sent: Instant::now(),
                    answer: None,
                    tries: 0,
                });
            }
        }
        probe_all(&mut link, &mut probes, o.timeout)?;
        for (i, &ip) in ips.iter().enumerate() {
            let (mac, mac_source) = macs[&ip];
            out.push(RsResult {
                ip,
                mac,
                mac_source,
                iface: iface.clone(),
                source: src,
                sport: probes[2 * i].seg.sport,
                vip: answer_of(&probes[2 * i]),
                real_ip: answer_of(&probes[2 * i + 1]),
            });
        }
        drop(ports);
    }
    Ok(out)
}

fn permission_message(iface: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "$(command -v lbdoctor)".into());
    format!(
        "check sends raw Ethernet frames on {iface} and needs CAP_NET_RAW, which this process lacks: run it as root (sudo), or grant it once with `sudo setcap cap_net_raw+ep {exe}`"
    )
}

/// One line, before any frame is built, when raw frames cannot be sent.
pub fn check_permission(iface: &str) -> anyhow::Result<()> {
    if !crate::capture::live::has_cap_net_raw() {
        return Err(Error::Usage(permission_message(iface)).into());
    }
    Ok(())
}
