//! /proc/net/ip_vs_stats (`ip_vs_stats_show`, ip_vs_ctl.c): all values hex.
//!
//! ```text
//!    Total Incoming Outgoing         Incoming         Outgoing
//!    Conns  Packets  Packets            Bytes            Bytes
//!      1C4     3F2A        0           1A2B3C                0
//!
//!  Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
//!        2       1F        0              A40                0
//! ```
//! Values can be wider than their columns, so fields are split on whitespace.

use super::model::*;
use super::source::{self, Lines};

fn five_hex(lines: &Lines, n: usize, l: &str) -> anyhow::Result<[u64; 5]> {
    let toks: Vec<&str> = l.split_whitespace().collect();
    source::five(lines, n, &toks, "hexadecimal values", |t| {
        u64::from_str_radix(t, 16)
            .map_err(|_| lines.err(n, format!("bad counter {t:?}: expected hexadecimal")))
    })
}

pub fn parse(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut values: Vec<[u64; 5]> = Vec::new();
    while let Some((n, l)) = lines.next_line()? {
        let t = l.trim();
        if t.is_empty()
            || t.starts_with("Total")
            || t.starts_with("Conns")
            || t.starts_with("Conns/s")
        {
            continue;
        }
        if values.len() == 2 {
            return Err(lines.err(n, "unexpected extra line after the rates"));
        }
        values.push(five_hex(lines, n, t)?);
    }
    let Some(t) = values.first() else {
        return Err(lines.err(
            lines.last_line(),
            "truncated: no counter line after the titles",
        ));
    };
    let totals = Stats {
        conns: t[0],
        inpkts: t[1],
        outpkts: t[2],
        inbytes: t[3],
        outbytes: t[4],
        approximate: false,
    };
    let rates = values.get(1).map(|r| Rates {
        cps: r[0],
        inpps: r[1],
        outpps: r[2],
        inbps: r[3],
        outbps: r[4],
        approximate: false,
    });
    Ok(IpvsState {
        global: Some(GlobalStats { totals, rates }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_totals_and_rates() {
        let text = "   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n 16AA370 E33656E5        0     51D8C8883AB3                0\n\n Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n       4      1FB        0            1B2D6                0\n";
        let mut l = Lines::from_str("s", text);
        let st = parse(&mut l).unwrap();
        let g = st.global.unwrap();
        assert_eq!(g.totals.conns, 0x16AA370);
        assert_eq!(g.totals.inbytes, 0x51D8C8883AB3);
        assert_eq!(g.rates.unwrap().inpps, 0x1FB);
    }

    #[test]
    fn truncated_and_garbled() {
        let mut l = Lines::from_str("s", "   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n 16AA370 E33656E5\n");
        let e = parse(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("s:3: truncated"), "{e}");
        let mut l = Lines::from_str("s", "   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n");
        let e = parse(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("s:2: truncated"), "{e}");
        let mut l = Lines::from_str("s", "   Total Incoming Outgoing\n 1 2 3 4 zz\n");
        let e = parse(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("s:2: bad counter"), "{e}");
    }
}
