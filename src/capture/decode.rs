//! Frame decoding down to what `detect` needs: link addresses, IP, TCP, ARP, NDP and VRRP.
//!
//! Link layers (Ethernet with 802.1Q/802.1ad/QinQ tags, Linux cooked SLL and SLL2, raw IP,
//! BSD loopback) and ARP/VRRP/NDP are decoded by hand; IP and TCP headers by etherparse's
//! header slices, which validate a header without requiring the (perhaps snaplen-cut) payload.

use super::source::linktype;
use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, TcpHeaderSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub type Mac = [u8; 6];

pub fn fmt_mac(m: &Mac) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

pub const TH_FIN: u8 = 0x01;
pub const TH_SYN: u8 = 0x02;
pub const TH_RST: u8 = 0x04;
pub const TH_PSH: u8 = 0x08;
pub const TH_ACK: u8 = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// TCP header length in bytes (20 = no options).
    pub header_len: u8,
    /// Option kinds in order, packed 4 bits each (a fingerprint of the stack), and the MSS/wscale.
    pub option_kinds: u64,
    pub mss: u16,
    pub wscale: Option<u8>,
    pub payload_len: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vrrp {
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in seconds (v2: whole seconds; v3: centiseconds converted).
    pub interval: f64,
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// Neighbour discovery: who claims an IPv6 address (solicitation source or advertisement target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ndp {
    /// 135 neighbour solicitation, 136 neighbour advertisement.
    pub icmp_type: u8,
    /// NA: the target address; NS: the sender's address.
    pub ip: Ipv6Addr,
    /// Link-layer address from the option (target LL for NA, source LL for NS).
    pub mac: Option<Mac>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum L4 {
    Tcp(Tcp),
    Vrrp(Vrrp),
    Ndp(Ndp),
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ip {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IPv4 total length / IPv6 payload length + 40.
    pub total_len: u32,
    pub l4: L4,
    /// For a packet that arrived IPIP-encapsulated (IPv4 protocol 4, as IPVS TUN forwards
    /// requests), the outer destination: the real server's own IP. The other fields are the
    /// inner packet's.
    pub tunneled_to: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum L3 {
    Ip(Ip),
    Arp(Arp),
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// None on link types without it (SLL has only the source, raw IP neither).
    pub src_mac: Option<Mac>,
    pub dst_mac: Option<Mac>,
    /// Outermost VLAN id, when tagged.
    pub vlan: Option<u16>,
    pub l3: L3,
}

/// Why a frame could not be decoded. `Unsupported` is not a problem in the capture, just
/// something `detect` has no use for (e.g. a Bluetooth link type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Malformed(String),
    Unsupported(String),
}

fn malformed<T>(m: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError::Malformed(m.into()))
}

fn mac_at(b: &[u8]) -> Mac {
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Decode one frame of the given link type.
pub fn decode(linktype: u32, data: &[u8]) -> Result<Frame, DecodeError> {
    let mut f = Frame {
        src_mac: None,
        dst_mac: None,
        vlan: None,
        l3: L3::Other,
    };
    let (ether_type, payload) = match linktype {
        linktype::ETHERNET => {
            if data.len() < 14 {
                return malformed(format!(
                    "Ethernet frame of {} bytes is shorter than its 14-byte header",
                    data.len()
                ));
            }
            f.dst_mac = Some(mac_at(&data[0..6]));
            f.src_mac = Some(mac_at(&data[6..12]));
            (be16(&data[12..14]), &data[14..])
        }
        linktype::LINUX_SLL => {
            if data.len() < 16 {
                return malformed("Linux cooked (SLL) header is truncated");
            }
            let hatype = be16(&data[2..4]);
            let alen = be16(&data[4..6]) as usize;
            if hatype == 1 && alen == 6 {
                f.src_mac = Some(mac_at(&data[6..12]));
            }
            (be16(&data[14..16]), &data[16..])
        }
        linktype::LINUX_SLL2 => {
            if data.len() < 20 {
                return malformed("Linux cooked v2 (SLL2) header is truncated");
            }
            let hatype = be16(&data[8..10]);
            let alen = data[11] as usize;
            if hatype == 1 && alen == 6 {
                f.src_mac = Some(mac_at(&data[12..18]));
            }
            (be16(&data[0..2]), &data[20..])
        }
        linktype::RAW | linktype::RAW_OPENBSD | linktype::RAW_14 => match data.first() {
            Some(b) if b >> 4 == 4 => (0x0800, data),
            Some(b) if b >> 4 == 6 => (0x86dd, data),
            _ => return malformed("raw IP packet with no IPv4/IPv6 version nibble"),
        },
        linktype::IPV4 => (0x0800, data),
        linktype::IPV6 => (0x86dd, data),
        linktype::NULL | linktype::LOOP => {
            if data.len() < 4 {
                return malformed("loopback header is truncated");
            }
            let fam_le = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let fam_be = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let fam = if fam_le < 256 { fam_le } else { fam_be };
            match fam {
                2 => (0x0800, &data[4..]),
                10 | 24 | 28 | 30 => (0x86dd, &data[4..]),
                _ => return Ok(f),
            }
        }
        other => {
            return Err(DecodeError::Unsupported(format!(
                "link type {other} is not Ethernet, Linux cooked, raw IP or loopback"
            )))
        }
    };
    let (ether_type, payload) = strip_vlans(ether_type, payload, &mut f)?;
    f.l3 = match ether_type {
        0x0800 => L3::Ip(decode_ipv4(payload)?),
        0x86dd => L3::Ip(decode_ipv6(payload)?),
        0x0806 => match decode_arp(payload)? {
            Some(a) => L3::Arp(a),
            None => L3::Other,
        },
        _ => L3::Other,
    };
    Ok(f)
}

fn strip_vlans<'a>(
    mut ether_type: u16,
    mut payload: &'a [u8],
    f: &mut Frame,
) -> Result<(u16, &'a [u8]), DecodeError> {
    // 802.1Q, 802.1ad and the pre-standard 0x9100 QinQ tag; at most 4 stacked tags.
    for _ in 0..4 {
        if !matches!(ether_type, 0x8100 | 0x88a8 | 0x9100) {
            break;
        }
        if payload.len() < 4 {
            return malformed("VLAN tag is truncated");
        }
        if f.vlan.is_none() {
            f.vlan = Some(be16(&payload[0..2]) & 0x0fff);
        }
        ether_type = be16(&payload[2..4]);
        payload = &payload[4..];
    }
    Ok((ether_type, payload))
}

fn decode_arp(b: &[u8]) -> Result<Option<Arp>, DecodeError> {
    if b.len() < 8 {
        return malformed("ARP header is truncated");
    }
    let (htype, ptype, hlen, plen) = (be16(&b[0..2]), be16(&b[2..4]), b[4], b[5]);
    if htype != 1 || ptype != 0x0800 || hlen != 6 || plen != 4 {
        // Not Ethernet/IPv4 ARP (e.g. AppleTalk AARP): nothing for us.
        return Ok(None);
    }
    if b.len() < 28 {
        return malformed(format!(
            "ARP packet of {} bytes is shorter than 28",
            b.len()
        ));
    }
    Ok(Some(Arp {
        op: be16(&b[6..8]),
        sender_mac: mac_at(&b[8..14]),
        sender_ip: Ipv4Addr::new(b[14], b[15], b[16], b[17]),
        target_ip: Ipv4Addr::new(b[24], b[25], b[26], b[27]),
    }))
}

fn decode_ipv4(b: &[u8]) -> Result<Ip, DecodeError> {
    let h = match Ipv4HeaderSlice::from_slice(b) {
        Ok(h) => h,
        Err(e) => return malformed(format!("IPv4 header: {e}")),
    };
    let hl = h.slice().len();
    let mut total = h.total_len() as usize;
    if total == 0 {
        // TSO / BIG TCP: the kernel hands capture a super-packet with total length 0.
        total = b.len();
    }
    if total < hl {
        return malformed(format!(
            "IPv4 total length {total} is smaller than its header ({hl} bytes)"
        ));
    }
    // A snaplen cut leaves less than total; we decode what is there.
    let payload = &b[hl..total.min(b.len())];
    let src = IpAddr::V4(h.source_addr());
    let dst = IpAddr::V4(h.destination_addr());
    let first_fragment = h.fragments_offset().value() == 0;
    // IPIP (LVS-TUN): what matters is the inner packet; one level only.
    if first_fragment && h.protocol().0 == 4 && !payload.is_empty() && payload[0] >> 4 == 4 {
        if let Ok(mut inner) = decode_ipv4_inner(payload) {
            inner.tunneled_to = Some(dst);
            return Ok(inner);
        }
    }
    let l4 = if first_fragment {
        decode_l4(h.protocol().0, payload, false)?
    } else {
        L4::Other
    };
    Ok(Ip {
        src,
        dst,
        ttl: h.ttl(),
        total_len: total as u32,
        l4,
        tunneled_to: None,
    })
}

/// The inner IPv4 packet of an IPIP frame (no further tunnel levels).
fn decode_ipv4_inner(b: &[u8]) -> Result<Ip, DecodeError> {
    let h = match Ipv4HeaderSlice::from_slice(b) {
        Ok(h) => h,
        Err(e) => return malformed(format!("inner IPv4 header: {e}")),
    };
    let hl = h.slice().len();
    let total = (h.total_len() as usize).clamp(hl, b.len().max(hl));
    let payload = &b[hl.min(b.len())..total.min(b.len())];
    let l4 = if h.fragments_offset().value() == 0 && h.protocol().0 != 4 {
        decode_l4(h.protocol().0, payload, false)?
    } else {
        L4::Other
    };
    Ok(Ip {
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        ttl: h.ttl(),
        total_len: total as u32,
        l4,
        tunneled_to: None,
    })
}

fn decode_ipv6(b: &[u8]) -> Result<Ip, DecodeError> {
    let h = match Ipv6HeaderSlice::from_slice(b) {
        Ok(h) => h,
        Err(e) => return malformed(format!("IPv6 header: {e}")),
    };
    let plen = h.payload_length() as usize;
    let end = (40 + plen).min(b.len());
    let mut next = h.next_header().0;
    let mut rest = &b[40..end];
    // Skip hop-by-hop, routing, destination-options and fragment headers.
    let mut fragment_not_first = false;
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                if rest.len() < 8 {
                    return malformed("IPv6 extension header is truncated");
                }
                let len = (rest[1] as usize + 1) * 8;
                if rest.len() < len {
                    return malformed("IPv6 extension header is truncated");
                }
                next = rest[0];
                rest = &rest[len..];
            }
            44 => {
                if rest.len() < 8 {
                    return malformed("IPv6 fragment header is truncated");
                }
                fragment_not_first = be16(&rest[2..4]) & 0xfff8 != 0;
                next = rest[0];
                rest = &rest[8..];
            }
            _ => break,
        }
    }
    let l4 = if fragment_not_first {
        L4::Other
    } else {
        decode_l4(next, rest, true)?
    };
    Ok(Ip {
        src: IpAddr::V6(h.source_addr()),
        dst: IpAddr::V6(h.destination_addr()),
        ttl: h.hop_limit(),
        total_len: 40 + plen as u32,
        l4,
        tunneled_to: None,
    })
}

fn decode_l4(proto: u8, b: &[u8], v6: bool) -> Result<L4, DecodeError> {
    match proto {
        6 => decode_tcp(b).map(L4::Tcp),
        112 => decode_vrrp(b, v6).map(L4::Vrrp),
        58 => Ok(decode_ndp(b).map(L4::Ndp).unwrap_or(L4::Other)),
        _ => Ok(L4::Other),
    }
}

fn decode_tcp(b: &[u8]) -> Result<Tcp, DecodeError> {
    let h = match TcpHeaderSlice::from_slice(b) {
        Ok(h) => h,
        Err(e) => return malformed(format!("TCP header: {e}")),
    };
    let s = h.slice();
    let header_len = s.len();
    let mut t = Tcp {
        sport: h.source_port(),
        dport: h.destination_port(),
        seq: h.sequence_number(),
        ack: h.acknowledgment_number(),
        flags: s[13],
        window: h.window_size(),
        header_len: header_len as u8,
        option_kinds: 0,
        mss: 0,
        wscale: None,
        payload_len: (b.len() - header_len).min(u16::MAX as usize) as u16,
    };
    let opts = h.options();
    let mut i = 0;
    let mut n = 0;
    while i < opts.len() && n < 16 {
        let kind = opts[i];
        t.option_kinds = (t.option_kinds << 4) | (kind.min(15) as u64);
        n += 1;
        match kind {
            0 => break,
            1 => i += 1,
            _ => {
                let Some(&len) = opts.get(i + 1) else { break };
                let len = len as usize;
                if len < 2 || i + len > opts.len() {
                    break;
                }
                match kind {
                    2 if len == 4 => t.mss = be16(&opts[i + 2..i + 4]),
                    3 if len == 3 => t.wscale = Some(opts[i + 2]),
                    _ => {}
                }
                i += len;
            }
        }
    }
    Ok(t)
}

fn decode_vrrp(b: &[u8], v6: bool) -> Result<Vrrp, DecodeError> {
    if b.len() < 8 {
        return malformed(format!(
            "VRRP packet of {} bytes is shorter than its 8-byte header",
            b.len()
        ));
    }
    let version = b[0] >> 4;
    let vrid = b[1];
    let priority = b[2];
    let count = b[3] as usize;
    let (interval, addrs_at) = match version {
        2 => (b[5] as f64, 8),
        3 => ((be16(&b[4..6]) & 0x0fff) as f64 / 100.0, 8),
        v => return malformed(format!("VRRP version {v} (expected 2 or 3)")),
    };
    let alen = if v6 { 16 } else { 4 };
    let need = addrs_at + count * alen;
    if b.len() < need {
        return malformed(format!(
            "VRRP advert claims {count} addresses but carries {} bytes",
            b.len()
        ));
    }
    let addresses = (0..count)
        .map(|k| {
            let a = &b[addrs_at + k * alen..addrs_at + (k + 1) * alen];
            if v6 {
                let mut x = [0u8; 16];
                x.copy_from_slice(a);
                IpAddr::V6(Ipv6Addr::from(x))
            } else {
                IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
            }
        })
        .collect();
    Ok(Vrrp {
        version,
        vrid,
        priority,
        interval,
        addresses,
    })
}

fn decode_ndp(b: &[u8]) -> Option<Ndp> {
    let t = *b.first()?;
    if !(t == 135 || t == 136) || b.len() < 24 {
        return None;
    }
    let mut x = [0u8; 16];
    x.copy_from_slice(&b[8..24]);
    let want_opt = if t == 136 { 2 } else { 1 };
    let mut mac = None;
    let mut i = 24;
    while i + 2 <= b.len() {
        let (kind, len) = (b[i], b[i + 1] as usize * 8);
        if len == 0 || i + len > b.len() {
            break;
        }
        if kind == want_opt && len >= 8 {
            mac = Some(mac_at(&b[i + 2..i + 8]));
        }
        i += len;
    }
    Some(Ndp {
        icmp_type: t,
        ip: Ipv6Addr::from(x),
        mac,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn syn_frame() -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 0x50], [2, 0, 0, 0, 0, 2])
            .ipv4([192, 168, 21, 50], [192, 168, 21, 20], 64)
            .tcp(40000, 80, 1000, 64240)
            .syn()
            .options(&[
                etherparse::TcpOptionElement::MaximumSegmentSize(1460),
                etherparse::TcpOptionElement::Noop,
                etherparse::TcpOptionElement::WindowScale(7),
            ])
            .unwrap();
        let mut v = Vec::new();
        b.write(&mut v, &[]).unwrap();
        v
    }

    #[test]
    fn decodes_ethernet_ipv4_tcp_syn_with_options() {
        let f = decode(1, &syn_frame()).unwrap();
        assert_eq!(f.dst_mac, Some([2, 0, 0, 0, 0, 2]));
        let L3::Ip(ip) = f.l3 else { panic!() };
        assert_eq!(ip.dst, "192.168.21.20".parse::<IpAddr>().unwrap());
        let L4::Tcp(t) = ip.l4 else { panic!() };
        assert_eq!(
            (t.sport, t.dport, t.flags, t.mss),
            (40000, 80, TH_SYN, 1460)
        );
        assert_eq!(t.wscale, Some(7));
        assert!(t.header_len > 20);
    }

    #[test]
    fn strips_qinq_tags() {
        let f = syn_frame();
        let mut q = f[..12].to_vec();
        q.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
        q.extend_from_slice(&f[12..]);
        let d = decode(1, &q).unwrap();
        assert_eq!(d.vlan, Some(100));
        assert!(matches!(d.l3, L3::Ip(_)));
    }

    #[test]
    fn decodes_vrrp_v2_and_v3() {
        let v2 = [0x21, 51, 150, 1, 0, 1, 0, 0, 192, 168, 21, 20, 0, 0, 0, 0];
        let v = decode_vrrp(&v2, false).unwrap();
        assert_eq!(
            (v.version, v.vrid, v.priority, v.interval),
            (2, 51, 150, 1.0)
        );
        assert_eq!(
            v.addresses,
            vec!["192.168.21.20".parse::<IpAddr>().unwrap()]
        );
        let v3 = [0x31, 7, 100, 1, 0x00, 0x64, 0, 0, 10, 0, 0, 1];
        let v = decode_vrrp(&v3, false).unwrap();
        assert_eq!((v.version, v.interval), (3, 1.0));
        assert!(matches!(
            decode_vrrp(&v3[..10], false),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn random_and_bit_flipped_frames_never_panic() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let base = syn_frame();
        for _ in 0..20_000 {
            let mut f = base.clone();
            for _ in 0..(next() % 6) {
                let i = (next() as usize) % f.len();
                f[i] ^= next() as u8;
            }
            f.truncate((next() as usize) % (base.len() + 1));
            for lt in [0, 1, 12, 101, 108, 113, 228, 229, 276, 999] {
                let _ = decode(lt, &f);
            }
        }
        for _ in 0..5_000 {
            let len = (next() % 200) as usize;
            let f: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode(1, &f);
            let _ = decode(113, &f);
        }
    }

    #[test]
    fn short_and_bad_headers_are_malformed_not_panics() {
        for n in 0..syn_frame().len() {
            let _ = decode(1, &syn_frame()[..n]);
            let _ = decode(113, &syn_frame()[..n]);
            let _ = decode(276, &syn_frame()[..n]);
            let _ = decode(101, &syn_frame()[..n]);
        }
        assert!(matches!(decode(1, &[0; 5]), Err(DecodeError::Malformed(_))));
        let mut bad = syn_frame();
        bad[14] = 0x45;
        bad[16] = 0;
        bad[17] = 10; // total length 10 < header
        assert!(matches!(decode(1, &bad), Err(DecodeError::Malformed(_))));
    }
}
