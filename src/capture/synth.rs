//! Builds real capture files (classic pcap and pcapng) of crafted load-balancer traffic:
//! the crafted fixtures under fixtures/detect/crafted/ and the benchmark's SYN flood come from
//! here (`cargo run --example detect_fixtures`, `cargo run --release --example synflood`).
//! Frames are made with etherparse's PacketBuilder, then re-wrapped for other link types.

use super::decode::Mac;
use super::source::linktype;
use etherparse::{IpNumber, PacketBuilder, TcpOptionElement};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 21, 20);
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x21, 0, 0, 0, 0, 0x20);
pub const CLIENT_MAC: Mac = [0x02, 0xc1, 0, 0, 0, 0x50];
pub const LB1_MAC: Mac = [0x02, 0x1b, 0, 0, 0, 0x02];
pub const LB2_MAC: Mac = [0x02, 0x1b, 0, 0, 0, 0x03];
pub const APP1_MAC: Mac = [0x02, 0xa9, 0, 0, 0, 0x11];
pub const APP2_MAC: Mac = [0x02, 0xa9, 0, 0, 0, 0x12];
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 21, 50);
pub const LB1: Ipv4Addr = Ipv4Addr::new(192, 168, 21, 2);
pub const LB2: Ipv4Addr = Ipv4Addr::new(192, 168, 21, 3);
pub const APP1: Ipv4Addr = Ipv4Addr::new(192, 168, 21, 11);
pub const APP2: Ipv4Addr = Ipv4Addr::new(192, 168, 21, 12);

/// A frame with its timestamp, always built as Ethernet first.
#[derive(Clone, Debug)]
pub struct Frame {
    pub ts: f64,
    pub data: Vec<u8>,
}

/// A TCP segment's visible stack parameters.
#[derive(Clone, Copy, Debug)]
pub struct Stack {
    pub ttl: u8,
    pub window: u16,
    pub mss: u16,
    pub wscale: u8,
}

pub const LINUX: Stack = Stack {
    ttl: 64,
    window: 64240,
    mss: 1460,
    wscale: 7,
};

#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: Option<u32>,
    pub rst: bool,
    pub fin: bool,
    pub psh: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src_mac: Mac,
    dst_mac: Mac,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    f: Flags,
    stack: Stack,
    payload: &[u8],
) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(src_mac, dst_mac);
    let ip = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), stack.ttl),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), stack.ttl),
        _ => panic!("mixed address families"),
    };
    let mut b = ip.tcp(sport, dport, seq, stack.window);
    if f.syn {
        b = b.syn();
        let opts = [
            TcpOptionElement::MaximumSegmentSize(stack.mss),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(seq, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(stack.wscale),
        ];
        b = b.options(&opts).expect("options fit");
    }
    if let Some(a) = f.ack {
        b = b.ack(a);
    }
    if f.rst {
        b = b.rst();
    }
    if f.fin {
        b = b.fin();
    }
    if f.psh {
        b = b.psh();
    }
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("write to a Vec");
    v
}

pub fn arp(
    op: u16,
    sender_mac: Mac,
    sender_ip: Ipv4Addr,
    target_mac: Mac,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let dst = if op == 1 { [0xff; 6] } else { target_mac };
    let mut v = Vec::with_capacity(42);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&sender_mac);
    v.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sender_mac);
    v.extend_from_slice(&sender_ip.octets());
    v.extend_from_slice(&target_mac);
    v.extend_from_slice(&target_ip.octets());
    v
}

/// A VRRP advert as keepalived sends it (v2: auth type 0, interval in seconds).
pub fn vrrp(
    version: u8,
    src_mac: Mac,
    src: Ipv4Addr,
    vrid: u8,
    prio: u8,
    vips: &[Ipv4Addr],
) -> Vec<u8> {
    let mut p = vec![(version << 4) | 1, vrid, prio, vips.len() as u8];
    if version == 2 {
        p.extend_from_slice(&[0, 1, 0, 0]);
    } else {
        p.extend_from_slice(&[0, 100, 0, 0]);
    }
    for v in vips {
        p.extend_from_slice(&v.octets());
    }
    if version == 2 {
        p.extend_from_slice(&[0; 8]);
    }
    let sum = checksum(&p);
    p[6..8].copy_from_slice(&sum.to_be_bytes());
    let b = PacketBuilder::ethernet2(src_mac, [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]).ipv4(
        src.octets(),
        [224, 0, 0, 18],
        255,
    );
    let mut v = Vec::new();
    b.write(&mut v, IpNumber(112), &p).expect("write to a Vec");
    v
}

/// Neighbour advertisement (136, with target link-layer option) or solicitation (135).
pub fn ndp(icmp_type: u8, mac: Mac, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let dst_ip: Ipv6Addr = "ff02::1".parse().expect("literal");
    let mut payload = target.octets().to_vec();
    payload.extend_from_slice(&[if icmp_type == 136 { 2 } else { 1 }, 1]);
    payload.extend_from_slice(&mac);
    let flags = if icmp_type == 136 {
        [0x20, 0, 0, 0]
    } else {
        [0; 4]
    };
    let b = PacketBuilder::ethernet2(mac, [0x33, 0x33, 0, 0, 0, 1])
        .ipv6(src.octets(), dst_ip.octets(), 255)
        .icmpv6_raw(icmp_type, 0, flags);
    let mut v = Vec::new();
    b.write(&mut v, &payload).expect("write to a Vec");
    v
}

pub fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Re-wrap an Ethernet frame for another link type.
pub fn rewrap(eth: &[u8], lt: u32, tags: &[(u16, u16)], outgoing_from: Option<Mac>) -> Vec<u8> {
    let ether_type = [eth[12], eth[13]];
    let src = &eth[6..12];
    let body = &eth[14..];
    let pkttype: u16 = if outgoing_from.is_some_and(|m| m == src) {
        4
    } else {
        0
    };
    match lt {
        linktype::ETHERNET => {
            let mut v = eth[..12].to_vec();
            for (tpid, id) in tags {
                v.extend_from_slice(&tpid.to_be_bytes());
                v.extend_from_slice(&id.to_be_bytes());
            }
            v.extend_from_slice(&eth[12..]);
            v
        }
        linktype::LINUX_SLL => {
            let mut v = Vec::with_capacity(16 + body.len());
            v.extend_from_slice(&pkttype.to_be_bytes());
            v.extend_from_slice(&1u16.to_be_bytes());
            v.extend_from_slice(&6u16.to_be_bytes());
            v.extend_from_slice(src);
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&ether_type);
            v.extend_from_slice(body);
            v
        }
        linktype::LINUX_SLL2 => {
            let mut v = Vec::with_capacity(20 + body.len());
            v.extend_from_slice(&ether_type);
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&2u32.to_be_bytes());
            v.extend_from_slice(&1u16.to_be_bytes());
            v.push(pkttype as u8);
            v.push(6);
            v.extend_from_slice(src);
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(body);
            v
        }
        linktype::RAW => body.to_vec(),
        _ => eth.to_vec(),
    }
}

pub fn write_pcap<W: Write>(w: &mut W, lt: u32, frames: &[Frame]) -> io::Result<()> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&262144u32.to_le_bytes());
    h.extend_from_slice(&lt.to_le_bytes());
    w.write_all(&h)?;
    for f in frames {
        pcap_record(w, f.ts, &f.data)?;
    }
    Ok(())
}

pub fn pcap_record<W: Write>(w: &mut W, ts: f64, data: &[u8]) -> io::Result<()> {
    let sec = ts.floor() as u32;
    let usec = ((ts - ts.floor()) * 1e6).round().min(999_999.0) as u32;
    let mut r = [0u8; 16];
    r[0..4].copy_from_slice(&sec.to_le_bytes());
    r[4..8].copy_from_slice(&usec.to_le_bytes());
    r[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
    r[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
    w.write_all(&r)?;
    w.write_all(data)
}

/// pcapng with two interfaces (microsecond and nanosecond resolution); frames alternate.
pub fn write_pcapng<W: Write>(w: &mut W, lt: u32, frames: &[Frame]) -> io::Result<()> {
    let block = |w: &mut W, t: u32, body: &[u8]| -> io::Result<()> {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        w.write_all(&t.to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(body)?;
        w.write_all(&vec![0; pad])?;
        w.write_all(&len.to_le_bytes())
    };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(w, 0x0a0d0d0a, &shb)?;
    for nanos in [false, true] {
        let mut idb = Vec::new();
        idb.extend_from_slice(&(lt as u16).to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262144u32.to_le_bytes());
        if nanos {
            idb.extend_from_slice(&9u16.to_le_bytes());
            idb.extend_from_slice(&1u16.to_le_bytes());
            idb.extend_from_slice(&[9, 0, 0, 0]);
            idb.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(w, 1, &idb)?;
    }
    for (i, f) in frames.iter().enumerate() {
        let iface = (i % 2) as u32;
        let units = if iface == 1 { 1e9 } else { 1e6 };
        let t = (f.ts * units).round() as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&iface.to_le_bytes());
        epb.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(t as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.data);
        let pad = (4 - f.data.len() % 4) % 4;
        epb.extend_from_slice(&vec![0; pad]);
        block(w, 6, &epb)?;
    }
    Ok(())
}

/// How the crafted segment behaves.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub vip: IpAddr,
    pub flows: u32,
    /// Which MAC answers flow i (None: unanswered). Replies use `reply_stack(i)`.
    pub answer: fn(u32) -> Option<Mac>,
    pub reply_stack: fn(u32) -> Stack,
    /// Where the director re-sends each SYN (a mirror port's view), if anywhere.
    pub forward: fn(u32) -> Option<Mac>,
    /// MACs answering ARP/NDP for the VIP.
    pub vip_owners: Vec<Mac>,
    /// (mac, ip) pairs revealed by ARP/NDP chatter.
    pub hosts: Vec<(Mac, IpAddr)>,
    /// (mac, ip, vrid, prio, version) adverts every second, for `vrrp_seconds` seconds.
    pub vrrp: Vec<(Mac, Ipv4Addr, u8, u8, u8)>,
    pub vrrp_seconds: u32,
}

pub fn incident() -> Scenario {
    Scenario {
        vip: IpAddr::V4(VIP),
        flows: 20,
        answer: |i| (i % 2 == 0).then_some(APP1_MAC),
        reply_stack: |_| LINUX,
        forward: |_| None,
        vip_owners: vec![LB1_MAC],
        hosts: vec![
            (APP1_MAC, IpAddr::V4(APP1)),
            (APP2_MAC, IpAddr::V4(APP2)),
            (LB1_MAC, IpAddr::V4(LB1)),
        ],
        vrrp: vec![(LB1_MAC, LB1, 51, 150, 2)],
        vrrp_seconds: 6,
    }
}

/// Frames of a scenario on Ethernet, in time order. Flow i: SYN at t0+0.2*i from client port
/// 40000+i; answered flows complete a handshake and a GET; unanswered SYNs are resent once.
pub fn build(s: &Scenario) -> Vec<Frame> {
    let t0 = 1_700_000_000.0;
    let mut out = Vec::new();
    let v6 = s.vip.is_ipv6();
    let client: IpAddr = if v6 {
        IpAddr::V6("2001:db8:21::50".parse().expect("literal"))
    } else {
        IpAddr::V4(CLIENT)
    };
    // Neighbour chatter first: hosts announce themselves, the client resolves the VIP.
    for (k, (mac, ip)) in s.hosts.iter().enumerate() {
        let ts = t0 + 0.001 * k as f64;
        let data = match ip {
            IpAddr::V4(a) => arp(1, *mac, *a, [0; 6], CLIENT),
            IpAddr::V6(a) => ndp(135, *mac, *a, "2001:db8:21::50".parse().expect("literal")),
        };
        out.push(Frame { ts, data });
    }
    // Three rounds of resolution, each owner replying every time (interleaved when several).
    for round in 0..3 {
        for (k, owner) in s.vip_owners.iter().enumerate() {
            let data = match s.vip {
                IpAddr::V4(v) => arp(2, *owner, v, CLIENT_MAC, CLIENT),
                IpAddr::V6(v) => ndp(136, *owner, v, v),
            };
            out.push(Frame {
                ts: t0 + 0.01 + 1.5 * round as f64 + 0.0001 * k as f64,
                data,
            });
        }
    }
    for sec in 0..s.vrrp_seconds {
        for (k, (mac, ip, vrid, prio, ver)) in s.vrrp.iter().enumerate() {
            let vips = match s.vip {
                IpAddr::V4(v) => vec![v],
                IpAddr::V6(_) => vec![VIP],
            };
            out.push(Frame {
                ts: t0 + sec as f64 + 0.05 + 0.3 * k as f64,
                data: vrrp(*ver, *mac, *ip, *vrid, *prio, &vips),
            });
        }
    }
    let vip = s.vip;
    for i in 0..s.flows {
        let ts = t0 + 0.1 + 0.2 * i as f64;
        let sport = 40000 + i as u16;
        let cseq = 1000 + i * 7919;
        let syn = Flags {
            syn: true,
            ..Default::default()
        };
        let frame = tcp(
            CLIENT_MAC,
            LB1_MAC,
            client,
            vip,
            sport,
            80,
            cseq,
            syn,
            LINUX,
            &[],
        );
        out.push(Frame { ts, data: frame });
        if let Some(fwd) = (s.forward)(i) {
            let copy = tcp(LB1_MAC, fwd, client, vip, sport, 80, cseq, syn, LINUX, &[]);
            out.push(Frame {
                ts: ts + 0.00002,
                data: copy,
            });
        }
        match (s.answer)(i) {
            Some(mac) => {
                let st = (s.reply_stack)(i);
                let sseq = 500_000 + i * 104_729;
                let sa = Flags {
                    syn: true,
                    ack: Some(cseq + 1),
                    ..Default::default()
                };
                out.push(Frame {
                    ts: ts + 0.0004,
                    data: tcp(mac, CLIENT_MAC, vip, client, 80, sport, sseq, sa, st, &[]),
                });
                let ack = Flags {
                    ack: Some(sseq + 1),
                    ..Default::default()
                };
                out.push(Frame {
                    ts: ts + 0.0005,
                    data: tcp(
                        CLIENT_MAC,
                        LB1_MAC,
                        client,
                        vip,
                        sport,
                        80,
                        cseq + 1,
                        ack,
                        LINUX,
                        &[],
                    ),
                });
                let get = b"GET / HTTP/1.1\r\nHost: 192.168.21.20\r\n\r\n";
                let push = Flags {
                    ack: Some(sseq + 1),
                    psh: true,
                    ..Default::default()
                };
                out.push(Frame {
                    ts: ts + 0.0006,
                    data: tcp(
                        CLIENT_MAC,
                        LB1_MAC,
                        client,
                        vip,
                        sport,
                        80,
                        cseq + 1,
                        push,
                        LINUX,
                        get,
                    ),
                });
                let body = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\napp1\n";
                let resp = Flags {
                    ack: Some(cseq + 1 + get.len() as u32),
                    psh: true,
                    ..Default::default()
                };
                out.push(Frame {
                    ts: ts + 0.0012,
                    data: tcp(
                        mac,
                        CLIENT_MAC,
                        vip,
                        client,
                        80,
                        sport,
                        sseq + 1,
                        resp,
                        st,
                        body,
                    ),
                });
            }
            None => {
                // The client's TCP retries the SYN after 1 s.
                out.push(Frame {
                    ts: ts + 1.0,
                    data: tcp(
                        CLIENT_MAC,
                        LB1_MAC,
                        client,
                        vip,
                        sport,
                        80,
                        cseq,
                        syn,
                        LINUX,
                        &[],
                    ),
                });
            }
        }
    }
    out.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    out
}

/// Bare flood SYNs: window 0, no options, 40-byte IP packets, random sources.
pub fn flood_syn(
    src: Ipv4Addr,
    sport: u16,
    seq: u32,
    dst: Ipv4Addr,
    dst_mac: Mac,
    src_mac: Mac,
) -> [u8; 54] {
    let mut f = [0u8; 54];
    f[0..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    let t = &mut f[34..54];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&80u16.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[12] = 0x50;
    t[13] = 0x02;
    // TCP checksum over the pseudo-header.
    let mut ph = Vec::with_capacity(32);
    ph.extend_from_slice(&src.octets());
    ph.extend_from_slice(&dst.octets());
    ph.extend_from_slice(&[0, 6, 0, 20]);
    ph.extend_from_slice(&f[34..54]);
    let c = checksum(&ph);
    f[50..52].copy_from_slice(&c.to_be_bytes());
    f
}

fn healthy() -> Scenario {
    Scenario {
        answer: |i| Some(if i % 2 == 0 { APP1_MAC } else { APP2_MAC }),
        ..incident()
    }
}

fn to_pcap(lt: u32, frames: &[Frame]) -> Vec<u8> {
    let mut v = Vec::new();
    write_pcap(&mut v, lt, frames).expect("write to a Vec");
    v
}

fn rewrapped(frames: &[Frame], lt: u32, tags: &[(u16, u16)]) -> Vec<Frame> {
    frames
        .iter()
        .map(|f| Frame {
            ts: f.ts,
            data: rewrap(&f.data, lt, tags, Some(CLIENT_MAC)),
        })
        .collect()
}

/// Every crafted fixture: (file name, bytes). Deterministic.
pub fn crafted_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let eth = linktype::ETHERNET;
    let mut out = Vec::new();
    out.push(("incident.pcap", to_pcap(eth, &build(&incident()))));
    out.push(("healthy.pcap", to_pcap(eth, &build(&healthy()))));
    let mirror = Scenario {
        forward: |i| Some(if i % 2 == 0 { APP1_MAC } else { APP2_MAC }),
        ..incident()
    };
    out.push((
        "mirror-vlan.pcap",
        to_pcap(eth, &rewrapped(&build(&mirror), eth, &[(0x8100, 21)])),
    ));
    out.push((
        "qinq.pcap",
        to_pcap(
            eth,
            &rewrapped(&build(&healthy()), eth, &[(0x88a8, 100), (0x8100, 21)]),
        ),
    ));
    let nat = Scenario {
        answer: |_| Some(LB1_MAC),
        reply_stack: |i| Stack {
            ttl: 63,
            window: if i % 2 == 0 { 64240 } else { 29200 },
            mss: if i % 2 == 0 { 1460 } else { 1400 },
            wscale: 7,
        },
        ..incident()
    };
    out.push(("nat.pcap", to_pcap(eth, &build(&nat))));
    let proxy = Scenario {
        answer: |_| Some(LB1_MAC),
        ..incident()
    };
    out.push(("proxy.pcap", to_pcap(eth, &build(&proxy))));
    let direct = Scenario {
        answer: |_| Some(LB1_MAC),
        vrrp: vec![],
        ..incident()
    };
    out.push(("direct.pcap", to_pcap(eth, &build(&direct))));
    let h = build(&healthy());
    out.push((
        "sll.pcap",
        to_pcap(
            linktype::LINUX_SLL,
            &rewrapped(&h, linktype::LINUX_SLL, &[]),
        ),
    ));
    out.push((
        "sll2.pcap",
        to_pcap(
            linktype::LINUX_SLL2,
            &rewrapped(&h, linktype::LINUX_SLL2, &[]),
        ),
    ));
    let mut ng = Vec::new();
    write_pcapng(&mut ng, eth, &h).expect("write to a Vec");
    out.push(("healthy.pcapng", ng));
    let v6 = Scenario {
        vip: IpAddr::V6(VIP6),
        hosts: vec![
            (
                APP1_MAC,
                IpAddr::V6("2001:db8:21::11".parse().expect("literal")),
            ),
            (
                APP2_MAC,
                IpAddr::V6("2001:db8:21::12".parse().expect("literal")),
            ),
        ],
        ..healthy()
    };
    out.push(("ipv6.pcap", to_pcap(eth, &build(&v6))));
    // Cut inside the last record: 20 flows' worth minus part of the final packet.
    let mut t = to_pcap(eth, &h);
    t.truncate(t.len() - 30);
    out.push(("truncated.pcap", t));
    // Packet 5 has an IPv4 header claiming 60 bytes of header in a 34-byte packet.
    let mut m = h.clone();
    let mut bad = m[4].data.clone();
    bad.truncate(34);
    bad[12] = 0x08;
    bad[13] = 0x00;
    bad[14] = 0x4f;
    m[4].data = bad;
    out.push(("malformed.pcap", to_pcap(eth, &m)));
    let split = Scenario {
        vrrp: vec![(LB1_MAC, LB1, 51, 150, 2), (LB2_MAC, LB2, 51, 100, 2)],
        ..healthy()
    };
    out.push(("split-brain.pcap", to_pcap(eth, &build(&split))));
    let conflict = Scenario {
        vip_owners: vec![LB1_MAC, APP2_MAC],
        ..healthy()
    };
    out.push(("arp-conflict.pcap", to_pcap(eth, &build(&conflict))));
    let v3 = Scenario {
        vrrp: vec![(LB1_MAC, LB1, 51, 150, 3)],
        ..healthy()
    };
    out.push(("vrrp3.pcap", to_pcap(eth, &build(&v3))));
    // 3000 bare SYNs from pseudo-random sources within one second, over healthy traffic.
    let mut fl = h.clone();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in 0..3000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let src = std::net::Ipv4Addr::from((x >> 32) as u32 | 0x0100_0000);
        let syn = flood_syn(
            src,
            (x & 0xffff) as u16 | 1024,
            x as u32,
            VIP,
            LB1_MAC,
            [0x02, 0xee, 0, 0, 0, 1],
        );
        fl.push(Frame {
            ts: 1_700_000_002.0 + k as f64 / 3000.0,
            data: syn.to_vec(),
        });
    }
    fl.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    out.push(("syn-flood.pcap", to_pcap(eth, &fl)));
    out
}
