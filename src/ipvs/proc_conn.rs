//! /proc/net/ip_vs_conn (`ip_vs_conn_seq_show`, ip_vs_conn.c):
//!
//! ```text
//! Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//! TCP C0A81532 C350 C0A81514 0050 C0A81547 0050 ESTABLISHED     897
//! ```
//! `"%-3s %08X %04X %08X %04X %s %04X %-11s %7u%s"`; IPv6 addresses use %pI6 (full, no
//! brackets); the destination may be of the other family (tunnels); `%s` at the end is
//! " PENAME PEDATA" when a persistence engine is in use. Expires is in seconds.

use super::model::*;
use super::source::{self, Lines};
use std::net::SocketAddr;

pub fn parse(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut table = ConnTable {
        origin: lines.origin(1),
        ..Default::default()
    };
    let mut titled = false;
    while let Some((n, l)) = lines.next_line()? {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("Pro FromIP") {
            titled = true;
            continue;
        }
        if !titled {
            return Err(lines.err(n, "connection line before the column titles"));
        }
        table.add(parse_line(lines, n, t)?, n);
    }
    if !titled {
        return Err(lines.err(lines.last_line(), "truncated: no column titles"));
    }
    Ok(IpvsState {
        connections: Some(table),
        ..Default::default()
    })
}

fn parse_line(lines: &Lines, n: usize, t: &str) -> anyhow::Result<Connection> {
    let toks: Vec<&str> = t.split_whitespace().collect();
    if toks.len() < 9 {
        return Err(lines.err(
            n,
            format!("truncated connection line: expected at least 9 fields (Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires), found {}", toks.len()),
        ));
    }
    if toks.len() > 11 {
        return Err(lines.err(n, "garbled connection line: too many fields"));
    }
    let sa = |a: &str, p: &str| -> anyhow::Result<SocketAddr> {
        Ok(SocketAddr::new(
            source::proc_addr(lines, n, a)?,
            source::hex_u16(lines, n, p, "port")?,
        ))
    };
    let proto = toks[0];
    if !matches!(proto, "TCP" | "UDP" | "SCTP" | "IP" | "ESP" | "AH") {
        return Err(lines.err(n, format!("unknown protocol {proto:?}")));
    }
    let state = toks[7];
    if !state.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return Err(lines.err(n, format!("bad connection state {state:?}")));
    }
    Ok(Connection {
        proto: proto.to_string(),
        client: sa(toks[1], toks[2])?,
        virt: sa(toks[3], toks[4])?,
        dest: sa(toks[5], toks[6])?,
        state: state.to_string(),
        expires_secs: source::dec_u64(lines, n, toks[8], "expiry")?,
        pe: (toks.len() > 9).then(|| toks[9..].join(" ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_v6_templates_and_pe() {
        let text = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
TCP C0A81532 C350 C0A81514 0050 C0A81547 0050 ESTABLISHED     897\n\
TCP C0A81533 0000 C0A81514 0050 C0A81547 0050 NONE            359\n\
TCP 2001:0db8:0000:0000:0000:0000:0000:0050 C351 2001:0db8:0000:0000:0000:0000:0000:0020 01BB 2001:0db8:0000:0000:0000:0000:0000:0011 01BB SYN_RECV         57\n\
UDP C0A81532 1388 C0A81514 13C4 C0A81547 13C4 UDP             299 sip 1234@example\n";
        let mut l = Lines::from_str("c", text);
        let st = parse(&mut l).unwrap();
        let c = st.connections.unwrap();
        assert_eq!(c.total, 4);
        assert_eq!(c.templates, 1);
        assert_eq!(c.state_count("ESTABLISHED"), 1);
        assert_eq!(c.state_count("SYN_RECV"), 1);
        assert_eq!(c.kept[0].client, "192.168.21.50:50000".parse().unwrap());
        assert_eq!(c.kept[2].dest, "[2001:db8::11]:443".parse().unwrap());
        assert_eq!(c.kept[3].pe.as_deref(), Some("sip 1234@example"));
    }

    #[test]
    fn bounded_kept_entries_exact_counts() {
        let mut text = String::from(
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n",
        );
        for i in 0..(MAX_CONNECTIONS_KEPT + 500) {
            text.push_str(&format!(
                "TCP {:08X} {:04X} C0A81514 0050 C0A81548 0050 SYN_RECV         50\n",
                0x0A000000u32 + i as u32,
                1024 + (i % 60000)
            ));
        }
        let mut l = Lines::from_str("c", &text);
        let c = parse(&mut l).unwrap().connections.unwrap();
        assert_eq!(c.total, (MAX_CONNECTIONS_KEPT + 500) as u64);
        assert_eq!(c.kept.len(), MAX_CONNECTIONS_KEPT);
        assert_eq!(
            c.state_count("SYN_RECV"),
            (MAX_CONNECTIONS_KEPT + 500) as u64
        );
    }

    #[test]
    fn distinct_destinations_and_states_are_capped() {
        let mut text = String::from(
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n",
        );
        for i in 0..(MAX_DESTS + 100) {
            text.push_str(&format!(
                "TCP 0A000001 1000 C0A81514 0050 {:08X} 0050 STATE_{}{} 50\n",
                0x0B000000u32 + i as u32,
                (b'A' + (i % 10) as u8) as char,
                (b'A' + (i / 10 % 10) as u8) as char
            ));
        }
        let mut l = Lines::from_str("c", &text);
        let c = parse(&mut l).unwrap().connections.unwrap();
        assert_eq!(c.by_dest.len(), MAX_DESTS);
        assert_eq!(c.other_dests, 100);
        assert_eq!(c.by_state.len(), MAX_STATES + 1);
        assert_eq!(c.by_state.values().sum::<u64>(), (MAX_DESTS + 100) as u64);
    }

    #[test]
    fn truncated_line_is_an_error_with_its_number() {
        let text = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\nTCP C0A81532 C350 C0A81514 0050 C0A81547 0050 ESTABLISHED     897\nTCP C0A81532 C350 C0A81514 00";
        let mut l = Lines::from_str("c", text);
        let e = parse(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("c:3: truncated connection line"), "{e}");
    }
}
