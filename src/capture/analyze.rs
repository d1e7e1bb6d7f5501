//! One pass over the packets: MAC asymmetry for the VIP, ARP/NDP owners, VRRP adverts, SYN
//! flood signature and per-flow accounting. Every table is bounded; see the MAX_* constants.

use super::decode::{self, fmt_mac, DecodeError, Frame, Mac, L3, L4, TH_ACK, TH_RST, TH_SYN};
use super::flow::{state, FastMap, Flow, FlowKey, FlowTable, NO_MAC};
use super::source::{Issues, Packet};
use std::collections::BTreeMap;
use std::net::IpAddr;

const MAX_MACS: usize = 4096;
const MAX_NEIGHBOURS: usize = 4096;
const MAX_VRRP: usize = 256;
const MAX_PORTS: usize = 1024;
const MAX_PAIRS: usize = 4096;
const MAX_FINGERPRINTS: usize = 256;
const MAX_EXAMPLES: usize = 10;
/// Packets decoded ahead of analysis, so their flow-table lookups can be prefetched.
const BATCH: usize = 32;

#[derive(Debug, Clone)]
pub struct Config {
    pub vip: IpAddr,
    /// None: pick the port to the VIP with the most SYNs (80 when it has any).
    pub port: Option<u16>,
    pub max_flows: usize,
}

/// Where something was first and last seen, for evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Seen {
    pub count: u64,
    pub first_packet: u64,
    pub first_ts: f64,
    pub last_packet: u64,
    pub last_ts: f64,
}

impl Seen {
    fn hit(&mut self, p: &Packet) {
        if self.count == 0 {
            self.first_packet = p.number;
            self.first_ts = p.ts;
        }
        self.count += 1;
        self.last_packet = p.number;
        self.last_ts = p.ts;
    }
}

/// A TCP stack's visible signature in a SYN-ACK: proxies answer with one, NAT with the
/// backends' own (and a TTL lowered by the hop through the director).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint {
    pub ttl: u8,
    pub window: u16,
    pub option_kinds: u64,
    pub mss: u16,
    pub wscale: Option<u8>,
}

impl Fingerprint {
    pub fn describe(&self) -> String {
        let mut kinds = Vec::new();
        let mut k = self.option_kinds;
        while k != 0 {
            kinds.push(match k & 0xf {
                1 => "nop",
                2 => "mss",
                3 => "ws",
                4 => "sackok",
                5 => "sack",
                8 => "ts",
                _ => "?",
            });
            k >>= 4;
        }
        kinds.reverse();
        format!(
            "ttl {} win {} mss {} ws {} opts [{}]",
            self.ttl,
            self.window,
            self.mss,
            self.wscale.map(|w| w.to_string()).unwrap_or("-".into()),
            kinds.join(",")
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct MacStats {
    /// Packets to the VIP with this destination MAC.
    pub requests_to: Seen,
    /// Packets from the VIP with this source MAC.
    pub replies_from: Seen,
    /// SYN-ACKs from the VIP with this source MAC.
    pub synacks_from: Seen,
    pub synack_delay_sum: f64,
    pub synack_delay_n: u64,
    pub synack_delay_min: f64,
    pub synack_delay_max: f64,
    /// Flows (handshakes) this MAC answered.
    pub flows_answered: u64,
    pub flows_completed: u64,
    /// Unanswered flows whose SYN was seen being forwarded to this MAC.
    pub unanswered_forwarded: u64,
    pub fingerprints: BTreeMap<Fingerprint, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowCounts {
    pub attempted: u64,
    pub answered: u64,
    pub completed: u64,
    pub unanswered: u64,
    pub reset: u64,
    pub refused: u64,
    pub retransmitted: u64,
    /// SYNs with the flood signature (window 0, no options, 40 bytes): not counted as flows.
    pub flood_syns: u64,
}

#[derive(Debug, Clone)]
pub struct UnansweredExample {
    pub client: IpAddr,
    pub client_port: u16,
    pub syn_packet: u64,
    pub syn_ts: f64,
    pub tries: u16,
    pub lb_mac: Option<Mac>,
    pub forwarded_to: Option<Mac>,
}

#[derive(Debug, Clone)]
pub struct VrrpSource {
    pub vrid: u8,
    pub version: u8,
    pub src_mac: Option<Mac>,
    pub src_ip: IpAddr,
    pub priority: u8,
    pub interval: f64,
    pub vips: Vec<IpAddr>,
    pub seen: Seen,
    /// Adverts with priority 0 (the master resigning).
    pub resign: u64,
}

#[derive(Debug, Clone, Default)]
pub struct VrrpGroup {
    /// How often the advertising source changed from one advert to the next.
    pub switches: u64,
    last_source: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct SynStats {
    pub syns: u64,
    /// Window 0, no TCP options, 40-byte IP packet: the flood tool's signature.
    pub bare: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    pub peak_per_second: u64,
    cur_second: i64,
    cur_count: u64,
    pub sources: Hll,
    pub top_source: Option<(IpAddr, u64)>,
}

/// HyperLogLog (2^12 registers, ~1.6 % error): distinct SYN sources in 4 KiB.
#[derive(Debug, Clone)]
pub struct Hll {
    regs: Vec<u8>,
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            regs: vec![0; 4096],
        }
    }
}

impl Hll {
    pub fn add(&mut self, x: u128) {
        let mut h = super::flow::FastHasher::default();
        std::hash::Hasher::write_u64(&mut h, x as u64);
        std::hash::Hasher::write_u64(&mut h, (x >> 64) as u64);
        let v = std::hash::Hasher::finish(&h);
        let idx = (v >> 52) as usize;
        let rank = ((v << 12) | (1 << 11)).leading_zeros() as u8 + 1;
        if rank > self.regs[idx] {
            self.regs[idx] = rank;
        }
    }
    pub fn estimate(&self) -> u64 {
        let m = self.regs.len() as f64;
        let sum: f64 = self.regs.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let zeros = self.regs.iter().filter(|&&r| r == 0).count();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let e = alpha * m * m / sum;
        if e <= 2.5 * m && zeros > 0 {
            (m * (m / zeros as f64).ln()).round() as u64
        } else {
            e.round() as u64
        }
    }
}

/// Everything the verdict needs, after the pass.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub vip: IpAddr,
    pub port: u16,
    pub port_was_guessed: bool,
    pub packets: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    pub vip_packets: u64,
    pub macs: Vec<Mac>,
    pub mac_stats: Vec<MacStats>,
    /// (src MAC, dst MAC) of packets to the VIP, with counts.
    pub request_pairs: Vec<((u16, u16), Seen)>,
    pub flows: FlowCounts,
    pub evicted: u64,
    pub max_flows: usize,
    pub unanswered_examples: Vec<UnansweredExample>,
    /// MACs claiming the VIP in ARP (IPv4) or neighbour advertisements (IPv6).
    pub vip_owners: Vec<(Mac, Seen)>,
    /// IP -> MAC learnt from ARP/NDP in the capture.
    pub neighbours: BTreeMap<IpAddr, Mac>,
    pub vrrp: Vec<VrrpSource>,
    pub vrrp_groups: BTreeMap<u8, VrrpGroup>,
    pub syn: SynStats,
    pub issues: Issues,
    pub malformed: u64,
    pub unsupported: u64,
    /// Reply packets from the VIP on the chosen port whose SYN we never saw (mid-stream).
    pub reply_packets: u64,
    /// Requests to the VIP seen IPIP-encapsulated (IPVS TUN forwarding): outer destinations.
    pub tunneled: BTreeMap<IpAddr, u64>,
}

impl Analysis {
    pub fn mac(&self, idx: u16) -> Option<Mac> {
        self.macs.get(idx as usize).copied()
    }
    pub fn duration(&self) -> f64 {
        (self.last_ts - self.first_ts).max(0.0)
    }
}

fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn key_ip(k: u128) -> IpAddr {
    let v6 = std::net::Ipv6Addr::from(k);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

#[derive(Default)]
struct PortCounts {
    syns: u64,
    flows: FlowCounts,
    examples: Vec<UnansweredExample>,
}

pub struct Analyzer {
    cfg: Config,
    macs: Vec<Mac>,
    mac_index: FastMap<Mac, u16>,
    mac_cache: [(Mac, u16); 2],
    mac_stats: Vec<MacStats>,
    pairs: FastMap<(u16, u16), Seen>,
    flows: FlowTable,
    ports: Vec<(u16, PortCounts)>,
    port_slot: Vec<u16>,
    fingerprints: Vec<Fingerprint>,
    fp_index: FastMap<Fingerprint, u16>,
    owners: Vec<(Mac, Seen)>,
    neighbours: BTreeMap<IpAddr, Mac>,
    vrrp: Vec<VrrpSource>,
    vrrp_groups: BTreeMap<u8, VrrpGroup>,
    syn: SynStats,
    syn_sources: FastMap<u128, u64>,
    packets: u64,
    first_ts: f64,
    last_ts: f64,
    vip_packets: u64,
    tunneled: BTreeMap<IpAddr, u64>,
    reply_packets: u64,
    pub issues: Issues,
    malformed: u64,
    unsupported: u64,
    pending: Vec<(u64, f64, Frame)>,
}

impl Analyzer {
    pub fn new(cfg: Config) -> Self {
        let flows = FlowTable::new(cfg.max_flows);
        Analyzer {
            cfg,
            macs: Vec::new(),
            mac_index: FastMap::default(),
            mac_cache: [([0; 6], NO_MAC); 2],
            mac_stats: Vec::new(),
            pairs: FastMap::default(),
            flows,
            ports: Vec::new(),
            port_slot: vec![u16::MAX; 65536],
            fingerprints: Vec::new(),
            fp_index: FastMap::default(),
            owners: Vec::new(),
            neighbours: BTreeMap::new(),
            vrrp: Vec::new(),
            vrrp_groups: BTreeMap::new(),
            syn: SynStats::default(),
            syn_sources: FastMap::default(),
            packets: 0,
            first_ts: 0.0,
            last_ts: 0.0,
            vip_packets: 0,
            tunneled: BTreeMap::new(),
            reply_packets: 0,
            issues: Issues::default(),
            malformed: 0,
            unsupported: 0,
            pending: Vec::with_capacity(BATCH),
        }
    }

    fn intern(&mut self, m: Option<Mac>) -> u16 {
        let Some(m) = m else { return NO_MAC };
        // Most packets repeat one of the last two MACs (the router's, the director's).
        for (cm, ci) in self.mac_cache {
            if cm == m && ci != NO_MAC {
                return ci;
            }
        }
        let i = self.intern_slow(m);
        self.mac_cache = [(m, i), self.mac_cache[0]];
        i
    }

    fn intern_slow(&mut self, m: Mac) -> u16 {
        if let Some(&i) = self.mac_index.get(&m) {
            return i;
        }
        if self.macs.len() >= MAX_MACS {
            return NO_MAC;
        }
        let i = self.macs.len() as u16;
        self.macs.push(m);
        self.mac_stats.push(MacStats::default());
        self.mac_index.insert(m, i);
        i
    }

    fn stats(&mut self, i: u16) -> Option<&mut MacStats> {
        self.mac_stats.get_mut(i as usize)
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Take one packet. Decoding happens now; analysis in batches of BATCH packets, whose
    /// flow-table lines are prefetched first (call `finish` to flush the last batch).
    pub fn packet(&mut self, p: &Packet) {
        self.packets += 1;
        if self.packets == 1 {
            self.first_ts = p.ts;
        }
        if p.ts > self.last_ts {
            self.last_ts = p.ts;
        }
        match decode::decode(p.linktype, p.data) {
            Ok(f) => {
                self.pending.push((p.number, p.ts, f));
                if self.pending.len() >= BATCH {
                    self.flush();
                }
            }
            Err(DecodeError::Malformed(m)) => {
                self.malformed += 1;
                self.issues.push(
                    p.number,
                    format!("packet {}: malformed: {m}", p.number),
                    false,
                );
            }
            Err(DecodeError::Unsupported(m)) => {
                self.unsupported += 1;
                if self.unsupported == 1 {
                    self.issues.push(
                        p.number,
                        format!("packet {}: not analysed: {m}", p.number),
                        false,
                    );
                }
            }
        }
    }

    fn flush(&mut self) {
        let mut batch = std::mem::take(&mut self.pending);
        let vip = self.cfg.vip;
        let mut new_flows = 0;
        for (_, _, f) in &batch {
            if let L3::Ip(ip) = &f.l3 {
                if let L4::Tcp(t) = &ip.l4 {
                    if ip.dst == vip {
                        self.flows.prefetch(&FlowKey {
                            client: ip_key(ip.src),
                            client_port: t.sport,
                            vip_port: t.dport,
                        });
                        if t.flags & (TH_SYN | TH_ACK) == TH_SYN {
                            self.flows.prefetch_victim(new_flows);
                            new_flows += 1;
                        }
                    } else if ip.src == vip {
                        self.flows.prefetch(&FlowKey {
                            client: ip_key(ip.dst),
                            client_port: t.dport,
                            vip_port: t.sport,
                        });
                    }
                }
            }
        }
        for (number, ts, f) in batch.drain(..) {
            let p = Packet {
                number,
                ts,
                linktype: 0,
                data: &[],
                orig_len: 0,
            };
            self.frame(&p, f);
        }
        self.pending = batch;
    }

    fn frame(&mut self, p: &Packet, f: Frame) {
        let vip = self.cfg.vip;
        match f.l3 {
            L3::Arp(a) => {
                let sip = IpAddr::V4(a.sender_ip);
                if sip == vip {
                    self.owner(a.sender_mac, p);
                } else if !a.sender_ip.is_unspecified() && self.neighbours.len() < MAX_NEIGHBOURS {
                    self.neighbours.insert(sip, a.sender_mac);
                }
            }
            L3::Ip(ip) => match ip.l4 {
                L4::Tcp(t) => {
                    if ip.dst == vip {
                        self.vip_packets += 1;
                        if let Some(outer) = ip.tunneled_to {
                            // Bounded: one entry per real server address, at most 4096.
                            if self.tunneled.len() < 4096 || self.tunneled.contains_key(&outer) {
                                *self.tunneled.entry(outer).or_insert(0) += 1;
                            }
                        }
                        self.request(p, &f.src_mac, &f.dst_mac, ip.src, ip.total_len, &t);
                    } else if ip.src == vip {
                        self.vip_packets += 1;
                        self.reply(p, &f.src_mac, ip.dst, ip.ttl, &t);
                    }
                }
                L4::Vrrp(v) => self.vrrp_advert(p, f.src_mac, ip.src, v),
                L4::Ndp(n) => {
                    // A solicitation tells us its sender; an advertisement its target.
                    let ip6 = if n.icmp_type == 135 {
                        ip.src
                    } else {
                        IpAddr::V6(n.ip)
                    };
                    let mac = n.mac.or(if n.icmp_type == 136 { f.src_mac } else { None });
                    if let Some(mac) = mac {
                        if ip6 == vip && n.icmp_type == 136 {
                            self.owner(mac, p);
                        } else if ip6 != vip
                            && !ip6.is_unspecified()
                            && self.neighbours.len() < MAX_NEIGHBOURS
                        {
                            self.neighbours.insert(ip6, mac);
                        }
                    }
                }
                L4::Other => {}
            },
            L3::Other => {}
        }
    }

    fn owner(&mut self, mac: Mac, p: &Packet) {
        if let Some((_, s)) = self.owners.iter_mut().find(|(m, _)| *m == mac) {
            s.hit(p);
        } else if self.owners.len() < 64 {
            let mut s = Seen::default();
            s.hit(p);
            self.owners.push((mac, s));
        }
    }

    fn port_counts(&mut self, port: u16) -> Option<&mut PortCounts> {
        // Direct index by port (no hashing: this runs for every SYN and every closed flow).
        let i = self.port_slot[port as usize];
        if i != u16::MAX {
            return self.ports.get_mut(i as usize).map(|(_, c)| c);
        }
        if self.ports.len() >= MAX_PORTS {
            return None;
        }
        self.port_slot[port as usize] = self.ports.len() as u16;
        self.ports.push((port, PortCounts::default()));
        self.ports.last_mut().map(|(_, c)| c)
    }

    fn request(
        &mut self,
        p: &Packet,
        src_mac: &Option<Mac>,
        dst_mac: &Option<Mac>,
        src: IpAddr,
        total_len: u32,
        t: &decode::Tcp,
    ) {
        let s = self.intern(*src_mac);
        let d = self.intern(*dst_mac);
        if let Some(st) = self.stats(d) {
            st.requests_to.hit(p);
        }
        let seen = if self.pairs.len() < MAX_PAIRS {
            Some(self.pairs.entry((s, d)).or_default())
        } else {
            self.pairs.get_mut(&(s, d))
        };
        if let Some(seen) = seen {
            seen.hit(p);
        }
        let key = FlowKey {
            client: ip_key(src),
            client_port: t.sport,
            vip_port: t.dport,
        };
        let syn = t.flags & (TH_SYN | TH_ACK) == TH_SYN;
        if syn {
            self.syn_signature(p, key.client, total_len, t);
            let bare = t.window == 0 && t.header_len == 20 && total_len == 40;
            if let Some(pc) = self.port_counts(t.dport) {
                pc.syns += 1;
                if bare {
                    pc.flows.flood_syns += 1;
                }
            }
            // No real TCP stack sends a SYN with window 0 and no options: these are the flood
            // tool's, counted in the SYN statistics but kept out of the flow table and the
            // connection accounting (their forged sources never complete anything).
            if bare {
                return;
            }
        }
        if let Some(f) = self.flows.get_mut(&key) {
            if syn && t.seq == f.syn_seq {
                if s != NO_MAC && s == f.first_dst_mac && d != f.first_dst_mac {
                    // The device the client sent it to re-sent it (the director forwarding).
                    f.forwarded_to = d;
                } else if s == f.client_mac && !f.has(state::ANSWERED) {
                    f.syns = f.syns.saturating_add(1);
                }
                return;
            }
            if syn {
                // A new connection on a reused 4-tuple: handled below as a new flow.
            } else {
                if t.flags & TH_RST != 0 {
                    f.state |= state::RESET;
                } else if t.flags & TH_ACK != 0 && f.has(state::ANSWERED) {
                    f.state |= state::COMPLETED;
                } else if t.flags & TH_ACK != 0
                    && s == f.client_mac
                    && f.forwarded_to != NO_MAC
                    && t.seq == f.syn_seq.wrapping_add(1)
                {
                    // Where the director's forwarding is visible (on the director, or a
                    // mirror of its port), the real server's SYN-ACK goes straight to the
                    // client and never passes here; the client's ACK, the next segment of
                    // the SYN it followed, is the proof that it was answered, by the MAC
                    // the SYN was forwarded to.
                    f.state |= state::ANSWERED | state::COMPLETED;
                    f.answer_mac = f.forwarded_to;
                }
                return;
            }
        } else if !syn {
            return;
        }
        let flow = Flow::new(p.number, p.ts, t.seq, s, d);
        if let Some((k, f)) = self.flows.insert(key, flow) {
            self.close(&k, f);
        }
    }

    fn syn_signature(&mut self, p: &Packet, client: u128, total_len: u32, t: &decode::Tcp) {
        let s = &mut self.syn;
        if s.syns == 0 {
            s.first_ts = p.ts;
        }
        s.syns += 1;
        s.last_ts = p.ts;
        if t.window == 0 && t.header_len == 20 && total_len == 40 {
            s.bare += 1;
        }
        let sec = p.ts as i64;
        if sec != s.cur_second {
            s.cur_second = sec;
            s.cur_count = 0;
        }
        s.cur_count += 1;
        s.peak_per_second = s.peak_per_second.max(s.cur_count);
        s.sources.add(client);
        // Top source: exact while there are few sources; once 4096 are known, only every
        // 16th SYN is looked at (a flood's spread sources would otherwise cost a lookup each).
        if self.syn_sources.len() < 4096 {
            *self.syn_sources.entry(client).or_default() += 1;
        } else if s.syns.is_multiple_of(16) {
            if let Some(c) = self.syn_sources.get_mut(&client) {
                *c += 16;
            }
        }
    }

    fn reply(&mut self, p: &Packet, src_mac: &Option<Mac>, dst: IpAddr, ttl: u8, t: &decode::Tcp) {
        let s = self.intern(*src_mac);
        if let Some(st) = self.stats(s) {
            st.replies_from.hit(p);
        }
        let key = FlowKey {
            client: ip_key(dst),
            client_port: t.dport,
            vip_port: t.sport,
        };
        let synack = t.flags & (TH_SYN | TH_ACK) == (TH_SYN | TH_ACK);
        let fp_idx = if synack {
            let fp = Fingerprint {
                ttl,
                window: t.window,
                option_kinds: t.option_kinds,
                mss: t.mss,
                wscale: t.wscale,
            };
            if let Some(st) = self.stats(s) {
                st.synacks_from.hit(p);
                if st.fingerprints.len() < 16 || st.fingerprints.contains_key(&fp) {
                    *st.fingerprints.entry(fp).or_default() += 1;
                }
            }
            match self.fp_index.get(&fp) {
                Some(&i) => i,
                None if self.fingerprints.len() < MAX_FINGERPRINTS => {
                    let i = self.fingerprints.len() as u16;
                    self.fingerprints.push(fp);
                    self.fp_index.insert(fp, i);
                    i
                }
                None => u16::MAX,
            }
        } else {
            u16::MAX
        };
        let Some(f) = self.flows.get_mut(&key) else {
            self.reply_packets += 1;
            return;
        };
        if t.flags & TH_RST != 0 {
            f.state |= state::RESET;
            if !f.has(state::ANSWERED) {
                f.state |= state::REFUSED;
                f.answer_mac = s;
            }
            return;
        }
        if synack && !f.has(state::ANSWERED) {
            f.state |= state::ANSWERED;
            f.answer_mac = s;
            f.synack_ts = p.ts;
            f.synack_fp = fp_idx;
            let delay = (p.ts - f.syn_ts).max(0.0);
            if let Some(st) = self.mac_stats.get_mut(s as usize) {
                if st.synack_delay_n == 0 {
                    st.synack_delay_min = delay;
                    st.synack_delay_max = delay;
                }
                st.synack_delay_n += 1;
                st.synack_delay_sum += delay;
                st.synack_delay_min = st.synack_delay_min.min(delay);
                st.synack_delay_max = st.synack_delay_max.max(delay);
            }
        } else if f.has(state::ANSWERED) && t.payload_len > 0 {
            f.state |= state::COMPLETED;
        }
    }

    /// Fold a finished (or evicted) flow into the counts.
    fn close(&mut self, k: &FlowKey, f: Flow) {
        let lb = self.macs.get(f.first_dst_mac as usize).copied();
        let fwd = self.macs.get(f.forwarded_to as usize).copied();
        if !f.has(state::ANSWERED) && !f.has(state::RESET) && f.forwarded_to != NO_MAC {
            if let Some(st) = self.mac_stats.get_mut(f.forwarded_to as usize) {
                st.unanswered_forwarded += 1;
            }
        }
        if f.has(state::ANSWERED) {
            if let Some(st) = self.mac_stats.get_mut(f.answer_mac as usize) {
                st.flows_answered += 1;
                if f.has(state::COMPLETED) {
                    st.flows_completed += 1;
                }
            }
        }
        let Some(pc) = self.port_counts(k.vip_port) else {
            return;
        };
        let c = &mut pc.flows;
        c.attempted += 1;
        if f.has(state::ANSWERED) {
            c.answered += 1;
        }
        if f.has(state::COMPLETED) {
            c.completed += 1;
        }
        if f.has(state::RESET) {
            c.reset += 1;
        }
        if f.has(state::REFUSED) {
            c.refused += 1;
        }
        if !f.has(state::ANSWERED) && !f.has(state::RESET) {
            c.unanswered += 1;
            if pc.examples.len() < MAX_EXAMPLES {
                pc.examples.push(UnansweredExample {
                    client: key_ip(k.client),
                    client_port: k.client_port,
                    syn_packet: f.syn_packet,
                    syn_ts: f.syn_ts,
                    tries: f.syns,
                    lb_mac: lb,
                    forwarded_to: fwd,
                });
            }
        }
        if f.syns > 1 {
            c.retransmitted += 1;
        }
    }

    fn vrrp_advert(&mut self, p: &Packet, src_mac: Option<Mac>, src_ip: IpAddr, v: decode::Vrrp) {
        let idx = self
            .vrrp
            .iter()
            .position(|s| s.vrid == v.vrid && s.src_ip == src_ip && s.src_mac == src_mac);
        let idx = match idx {
            Some(i) => i,
            None if self.vrrp.len() < MAX_VRRP => {
                self.vrrp.push(VrrpSource {
                    vrid: v.vrid,
                    version: v.version,
                    src_mac,
                    src_ip,
                    priority: v.priority,
                    interval: v.interval,
                    vips: Vec::new(),
                    seen: Seen::default(),
                    resign: 0,
                });
                self.vrrp.len() - 1
            }
            None => return,
        };
        let s = &mut self.vrrp[idx];
        s.seen.hit(p);
        s.version = v.version;
        s.interval = v.interval;
        if v.priority == 0 {
            s.resign += 1;
        } else {
            s.priority = v.priority;
        }
        for a in v.addresses {
            if !s.vips.contains(&a) && s.vips.len() < 64 {
                s.vips.push(a);
            }
        }
        let g = self.vrrp_groups.entry(v.vrid).or_default();
        if g.last_source.is_some_and(|l| l != idx) {
            g.switches += 1;
        }
        g.last_source = Some(idx);
    }

    pub fn finish(mut self) -> Analysis {
        self.flush();
        let flows = std::mem::replace(&mut self.flows, FlowTable::new(1));
        let evicted = flows.evicted;
        let mut rest = Vec::with_capacity(flows.len());
        flows.drain(|k, f| rest.push((*k, f)));
        for (k, f) in rest {
            self.close(&k, f);
        }
        let (port, guessed) = match self.cfg.port {
            Some(p) => (p, false),
            None => {
                let has80 = self.ports.iter().any(|(p, c)| *p == 80 && c.syns > 0);
                let busiest = self
                    .ports
                    .iter()
                    .max_by_key(|(p, c)| (c.syns, std::cmp::Reverse(*p)))
                    .map(|(p, _)| *p);
                match busiest {
                    Some(b) if !has80 => (b, true),
                    _ => (80, true),
                }
            }
        };
        let mut pc = match self.ports.iter().position(|(p, _)| *p == port) {
            Some(i) => self.ports.swap_remove(i).1,
            None => PortCounts::default(),
        };
        pc.examples.sort_by_key(|e| e.syn_packet);
        self.syn.top_source = self
            .syn_sources
            .iter()
            .max_by_key(|(_, c)| **c)
            .map(|(k, c)| (key_ip(*k), *c));
        let mut pairs: Vec<_> = self.pairs.into_iter().collect();
        pairs.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
        Analysis {
            vip: self.cfg.vip,
            port,
            port_was_guessed: guessed,
            packets: self.packets,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            vip_packets: self.vip_packets,
            tunneled: std::mem::take(&mut self.tunneled),
            macs: self.macs,
            mac_stats: self.mac_stats,
            request_pairs: pairs,
            flows: pc.flows,
            evicted,
            max_flows: self.cfg.max_flows,
            unanswered_examples: pc.examples,
            vip_owners: self.owners,
            neighbours: self.neighbours,
            vrrp: self.vrrp,
            vrrp_groups: self.vrrp_groups,
            syn: self.syn,
            issues: self.issues,
            malformed: self.malformed,
            unsupported: self.unsupported,
            reply_packets: self.reply_packets,
        }
    }
}

/// For messages: "aa:bb:..", or "(unknown: the link type carries no MAC)".
pub fn mac_or_unknown(m: Option<Mac>) -> String {
    m.map(|m| fmt_mac(&m))
        .unwrap_or_else(|| "unknown (this link type records no MAC)".into())
}
