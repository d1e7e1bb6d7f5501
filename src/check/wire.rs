//! The frames `check` sends and how it reads the answers: a TCP SYN (and the RST that clears
//! it) addressed to the VIP inside an Ethernet frame for one real server's MAC, which is what
//! an IPVS director in DR mode puts on the wire; and an ARP request for a MAC the neighbour
//! table lacks. Pure functions, so they are unit-tested without a network.

use crate::capture::decode::{self, Mac, L3, L4, TH_ACK, TH_RST, TH_SYN};
use etherparse::{PacketBuilder, TcpOptionElement};
use std::net::{IpAddr, Ipv4Addr};

/// What came back for one SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    SynAck,
    Rst,
    None,
}

impl Reply {
    pub fn as_str(self) -> &'static str {
        match self {
            Reply::SynAck => "syn-ack",
            Reply::Rst => "rst",
            Reply::None => "none",
        }
    }
}

/// One TCP segment's addressing: from us to `dst_ip:dport`, inside a frame for `dst_mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

/// A SYN like Linux's connect() sends (MSS, window 64240), so a real server's firewall or
/// SYN-cookie logic treats it as an ordinary client's.
pub fn syn_frame(s: &Segment, isn: u32) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(s.src_mac, s.dst_mac)
        .ipv4(s.src_ip.octets(), s.dst_ip.octets(), 64)
        .tcp(s.sport, s.dport, isn, 64240)
        .syn();
    let b = b
        .options(&[TcpOptionElement::MaximumSegmentSize(1460)])
        .expect("one MSS option fits in a TCP header");
    let mut out = Vec::with_capacity(b.size(0));
    b.write(&mut out, &[])
        .expect("writing to a Vec cannot fail");
    out
}

/// The RST that ends the half-open connection a SYN-ACK announced: sequence number isn+1 is
/// the one the real server expects, so it drops its SYN_RECV entry at once instead of
/// retransmitting SYN-ACKs for a minute.
pub fn rst_frame(s: &Segment, isn: u32) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(s.src_mac, s.dst_mac)
        .ipv4(s.src_ip.octets(), s.dst_ip.octets(), 64)
        .tcp(s.sport, s.dport, isn.wrapping_add(1), 0)
        .rst();
    let mut out = Vec::with_capacity(b.size(0));
    b.write(&mut out, &[])
        .expect("writing to a Vec cannot fail");
    out
}

/// A broadcast ARP request: who has `target`? Tell `sender_ip` at `sender_mac`.
pub fn arp_request(sender_mac: Mac, sender_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&[0x08, 0x06]);
    // Ethernet/IPv4, hardware length 6, protocol length 4, operation 1 (request).
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender_ip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    // Pad to Ethernet's 60-byte minimum: not every driver pads frames injected by AF_PACKET.
    f.resize(60, 0);
    f
}

/// What a received frame means to `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// `ip` is at `mac` (an ARP reply or request from it).
    Arp { ip: Ipv4Addr, mac: Mac },
    /// A TCP answer from `src:sport` to our `dport`.
    Tcp {
        src: Ipv4Addr,
        sport: u16,
        dport: u16,
        reply: Reply,
        /// The acknowledgement number, to match the answer with our SYN's isn.
        ack: u32,
        has_ack: bool,
        src_mac: Option<Mac>,
        vlan: Option<u16>,
    },
}

/// Decode a captured frame into what `check` looks for; anything else is None. 802.1Q tags
/// are stripped by the decoder, so a capture that shows tags (a trunk, or a NIC that does not
/// strip them) reads the same.
pub fn classify(linktype: u32, data: &[u8]) -> Option<Seen> {
    let f = decode::decode(linktype, data).ok()?;
    match f.l3 {
        L3::Arp(a) if a.sender_mac != [0; 6] => Some(Seen::Arp {
            ip: a.sender_ip,
            mac: a.sender_mac,
        }),
        L3::Ip(ip) => {
            let (IpAddr::V4(src), L4::Tcp(t)) = (ip.src, ip.l4) else {
                return None;
            };
            let reply = if t.flags & TH_RST != 0 {
                Reply::Rst
            } else if t.flags & (TH_SYN | TH_ACK) == TH_SYN | TH_ACK {
                Reply::SynAck
            } else {
                return None;
            };
            Some(Seen::Tcp {
                src,
                sport: t.sport,
                dport: t.dport,
                reply,
                ack: t.ack,
                has_ack: t.flags & TH_ACK != 0,
                src_mac: f.src_mac,
                vlan: f.vlan,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::source::linktype::ETHERNET;

    fn seg() -> Segment {
        Segment {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 0x12],
            src_ip: "10.0.0.1".parse().unwrap(),
            dst_ip: "10.0.0.20".parse().unwrap(),
            sport: 40000,
            dport: 80,
        }
    }

    #[test]
    fn the_syn_is_addressed_to_the_vip_inside_a_frame_for_the_real_server() {
        let f = syn_frame(&seg(), 1000);
        let d = decode::decode(ETHERNET, &f).unwrap();
        assert_eq!(d.dst_mac, Some([2, 0, 0, 0, 0, 0x12]));
        let L3::Ip(ip) = d.l3 else { panic!() };
        assert_eq!(ip.dst, "10.0.0.20".parse::<IpAddr>().unwrap());
        let L4::Tcp(t) = ip.l4 else { panic!() };
        assert_eq!((t.flags, t.seq, t.dport, t.mss), (TH_SYN, 1000, 80, 1460));
        // etherparse computed real checksums: the IPv4 one verifies to zero.
        let sum: u32 = f[14..34]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
            .sum();
        assert_eq!(((sum & 0xffff) + (sum >> 16)) as u16, 0xffff);
    }

    #[test]
    fn the_rst_carries_the_sequence_number_the_server_expects() {
        let f = rst_frame(&seg(), u32::MAX);
        let L3::Ip(ip) = decode::decode(ETHERNET, &f).unwrap().l3 else {
            panic!()
        };
        let L4::Tcp(t) = ip.l4 else { panic!() };
        assert_eq!((t.flags & TH_RST, t.seq), (TH_RST, 0));
    }

    #[test]
    fn arp_requests_decode_and_answers_are_classified() {
        let me: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let f = arp_request([2, 0, 0, 0, 0, 1], me, "10.0.0.12".parse().unwrap());
        assert_eq!(f.len(), 60);
        assert_eq!(
            classify(ETHERNET, &f),
            Some(Seen::Arp {
                ip: me,
                mac: [2, 0, 0, 0, 0, 1]
            })
        );
        // A SYN-ACK from the VIP to us, swapped from our SYN.
        let s = seg();
        let back = Segment {
            src_mac: s.dst_mac,
            dst_mac: s.src_mac,
            src_ip: s.dst_ip,
            dst_ip: s.src_ip,
            sport: 80,
            dport: 40000,
        };
        let b = PacketBuilder::ethernet2(back.src_mac, back.dst_mac)
            .single_vlan(etherparse::VlanId::try_new(21).unwrap())
            .ipv4(back.src_ip.octets(), back.dst_ip.octets(), 64)
            .tcp(80, 40000, 5, 100)
            .syn()
            .ack(1001);
        let mut buf = Vec::new();
        b.write(&mut buf, &[]).unwrap();
        match classify(ETHERNET, &buf) {
            Some(Seen::Tcp {
                reply, ack, vlan, ..
            }) => assert_eq!((reply, ack, vlan), (Reply::SynAck, 1001, Some(21))),
            other => panic!("{other:?}"),
        }
        // A bare SYN or a data segment is not an answer.
        assert_eq!(classify(ETHERNET, &syn_frame(&s, 1)), None);
        assert_eq!(classify(ETHERNET, &[0u8; 10]), None);
    }
}
