//! Reading IPVS state inputs line by line, bounded, with errors that name file:line,
//! and recognising which format a file holds from its content.

use super::model::{Forward, IpvsState, RealServer, SourceKind};
use crate::error::Error;
use std::collections::VecDeque;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// No line in any of these formats comes near this; a longer one is not IPVS state.
const MAX_LINE: usize = 16 * 1024;

/// A line reader that counts lines, caps their length, and can look ahead.
pub struct Lines<'a> {
    pub name: String,
    reader: Box<dyn BufRead + 'a>,
    lineno: usize,
    ahead: VecDeque<(usize, String)>,
    eof: bool,
}

impl<'a> Lines<'a> {
    pub fn new(name: impl Into<String>, reader: impl BufRead + 'a) -> Self {
        Lines {
            name: name.into(),
            reader: Box::new(reader),
            lineno: 0,
            ahead: VecDeque::new(),
            eof: false,
        }
    }

    pub fn from_str(name: impl Into<String>, text: &'a str) -> Self {
        Lines::new(name, text.as_bytes())
    }

    /// Where an entry came from: this input's name and `line`.
    pub fn origin(&self, line: usize) -> Option<super::model::Origin> {
        Some(super::model::Origin {
            file: self.name.clone(),
            line,
        })
    }

    pub fn err(&self, line: usize, msg: impl Into<String>) -> anyhow::Error {
        Error::file_line(&self.name, line, msg.into()).into()
    }

    fn read_raw(&mut self) -> anyhow::Result<Option<(usize, String)>> {
        if self.eof {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let n = std::io::Read::take(&mut *self.reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::file(&self.name, format!("read failed: {e}")))?;
        if n == 0 {
            self.eof = true;
            return Ok(None);
        }
        self.lineno += 1;
        if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
            return Err(self.err(
                self.lineno,
                format!("line longer than {MAX_LINE} bytes: this is not IPVS state"),
            ));
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        let text = String::from_utf8(buf).map_err(|_| {
            self.err(
                self.lineno,
                "not text (invalid UTF-8): this is not IPVS state",
            )
        })?;
        Ok(Some((self.lineno, text)))
    }

    /// The next line with its 1-based number.
    pub fn next_line(&mut self) -> anyhow::Result<Option<(usize, String)>> {
        if let Some(l) = self.ahead.pop_front() {
            return Ok(Some(l));
        }
        self.read_raw()
    }

    /// Look at the n-th line ahead (0 = next) without consuming it.
    pub fn peek(&mut self, n: usize) -> anyhow::Result<Option<&(usize, String)>> {
        while self.ahead.len() <= n {
            match self.read_raw()? {
                Some(l) => self.ahead.push_back(l),
                None => break,
            }
        }
        Ok(self.ahead.get(n))
    }

    /// The next line that is not blank.
    pub fn next_nonblank(&mut self) -> anyhow::Result<Option<(usize, String)>> {
        while let Some((n, l)) = self.next_line()? {
            if !l.trim().is_empty() {
                return Ok(Some((n, l)));
            }
        }
        Ok(None)
    }

    /// The last line number read (for "truncated after line N" errors).
    pub fn last_line(&self) -> usize {
        self.lineno
    }
}

/// Recognise the format from the first non-blank lines.
pub fn detect(lines: &mut Lines) -> anyhow::Result<SourceKind> {
    let mut first = None;
    for i in 0..64 {
        match lines.peek(i)? {
            Some((n, l)) if !l.trim().is_empty() => {
                first = Some((i, *n, l.clone()));
                break;
            }
            Some(_) => continue,
            None => break,
        }
    }
    let Some((idx, n, l)) = first else {
        return Err(Error::file(
            &lines.name,
            "is empty: expected ipvsadm -Ln [--stats|--rate], ipvsadm -Lnc, ipvsadm-save -n, or /proc/net/ip_vs, ip_vs_stats, ip_vs_conn",
        )
        .into());
    };
    let t = l.trim_start();
    if t.starts_with("IP Virtual Server version") || t.starts_with("Prot LocalAddress:Port") {
        let title_idx = if t.starts_with("IP Virtual Server") {
            idx + 1
        } else {
            idx
        };
        let title = match lines.peek(title_idx)? {
            Some((_, l)) => l.clone(),
            None => {
                return Err(lines.err(
                    n,
                    "truncated: the IPVS version line is not followed by the column titles",
                ))
            }
        };
        if title.contains("Conns") && title.contains("InPkts") {
            return Ok(SourceKind::IpvsadmStats);
        }
        if title.contains("CPS") && title.contains("InPPS") {
            return Ok(SourceKind::IpvsadmRate);
        }
        if !title.starts_with("Prot LocalAddress:Port Scheduler Flags") {
            return Err(lines.err(
                n + (title_idx - idx),
                format!("unexpected column titles {:?}: expected `Prot LocalAddress:Port Scheduler Flags` (ipvsadm -Ln or /proc/net/ip_vs)", title.trim()),
            ));
        }
        return detect_list_flavour(lines, title_idx + 1, n);
    }
    if t.starts_with("Total Incoming Outgoing") {
        return Ok(SourceKind::ProcIpVsStats);
    }
    if t.starts_with("Pro FromIP") {
        return Ok(SourceKind::ProcIpVsConn);
    }
    if t.starts_with("IPVS connection entries") || t.starts_with("pro expire state") {
        return Ok(SourceKind::IpvsadmConn);
    }
    if t.starts_with("-A ") || t.starts_with("-a ") {
        return Ok(SourceKind::IpvsadmSave);
    }
    if t.starts_with("Timeout (tcp tcpfin udp):") {
        return Ok(SourceKind::IpvsadmTimeout);
    }
    if t.starts_with("net.ipv4.vs.") {
        return Ok(SourceKind::SysctlVs);
    }
    Err(lines.err(
        n,
        format!(
            "not a known IPVS state format (first line {:?}); expected ipvsadm -Ln [--stats|--rate], ipvsadm -Lnc, ipvsadm-save -n, ipvsadm -L --timeout, sysctl net.ipv4.vs, or /proc/net/ip_vs, ip_vs_stats, ip_vs_conn",
            truncate(t, 60)
        ),
    ))
}

/// /proc/net/ip_vs and ipvsadm -Ln share their first two lines. The kernel's destination title
/// has single spaces, ipvsadm pads `RemoteAddress:Port` to 28 columns; if the title was
/// re-spaced (pasted), the first address decides: 8 hex digits is /proc.
fn detect_list_flavour(
    lines: &mut Lines,
    dest_title_idx: usize,
    first_line: usize,
) -> anyhow::Result<SourceKind> {
    let title = match lines.peek(dest_title_idx)? {
        Some((_, l)) => l.clone(),
        None => return Err(lines.err(
            first_line,
            "truncated: the destination column titles (`  -> RemoteAddress:Port ...`) are missing",
        )),
    };
    if title.contains("RemoteAddress:Port Forward") {
        return Ok(SourceKind::ProcIpVs);
    }
    if title.contains("RemoteAddress:Port ") && title.contains("Forward") {
        // ipvsadm's padding, unless the addresses say otherwise.
        for i in dest_title_idx + 1..dest_title_idx + 8 {
            if let Some((_, l)) = lines.peek(i)? {
                let toks: Vec<&str> = l.split_whitespace().collect();
                let addr = match toks.first().copied() {
                    Some("->") => toks.get(1),
                    Some("TCP" | "UDP" | "SCTP") => toks.get(1),
                    _ => None,
                };
                if let Some(a) = addr {
                    if is_hex_addr_port(a) {
                        return Ok(SourceKind::ProcIpVs);
                    }
                    return Ok(SourceKind::IpvsadmList);
                }
            }
        }
        return Ok(SourceKind::IpvsadmList);
    }
    Err(lines.err(
        first_line + 2,
        format!(
            "unexpected destination column titles {:?}",
            truncate(title.trim(), 60)
        ),
    ))
}

fn is_hex_addr_port(s: &str) -> bool {
    match s.split_once(':') {
        Some((a, p)) => {
            a.len() == 8
                && p.len() == 4
                && a.bytes().all(|b| b.is_ascii_hexdigit())
                && p.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n).collect();
        format!("{t}...")
    }
}

/// Parse any supported input, detecting its format.
pub fn parse_any(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let kind = detect(lines)?;
    let mut st = match kind {
        SourceKind::ProcIpVs => super::proc_ip_vs::parse(lines)?,
        SourceKind::ProcIpVsStats => super::proc_stats::parse(lines)?,
        SourceKind::ProcIpVsConn => super::proc_conn::parse(lines)?,
        SourceKind::IpvsadmList | SourceKind::IpvsadmStats | SourceKind::IpvsadmRate => {
            super::ipvsadm::parse_list(lines, kind)?
        }
        SourceKind::IpvsadmConn => super::ipvsadm::parse_conn(lines)?,
        SourceKind::IpvsadmSave => super::ipvsadm::parse_save(lines)?,
        SourceKind::IpvsadmTimeout => super::ipvsadm::parse_timeout(lines)?,
        SourceKind::SysctlVs => parse_sysctl_vs(lines)?,
    };
    st.sources.push(super::model::SourceInfo {
        file: lines.name.clone(),
        kind,
    });
    Ok(st)
}

/// `sysctl net.ipv4.vs` (or `sysctl -a | grep '^net.ipv4.vs'`): `net.ipv4.vs.NAME = VALUE`.
fn parse_sysctl_vs(lines: &mut Lines) -> anyhow::Result<IpvsState> {
    let mut st = IpvsState::default();
    while let Some((n, l)) = lines.next_line()? {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        let Some((k, v)) = t
            .strip_prefix("net.ipv4.vs.")
            .and_then(|r| r.split_once('='))
        else {
            return Err(lines.err(
                n,
                format!(
                    "expected `net.ipv4.vs.NAME = VALUE`, found {:?}",
                    truncate(t, 60)
                ),
            ));
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(lines.err(n, format!("bad sysctl name {:?}", truncate(k, 60))));
        }
        // A table's worth at most (the kernel has about 30).
        if st.sysctls.len() >= 256 {
            return Err(lines.err(
                n,
                "more than 256 net.ipv4.vs settings: not a sysctl listing",
            ));
        }
        // Multi-value settings (sync_ports...) print tab-separated; keep one space.
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        st.sysctls.insert(k.to_string(), v);
    }
    Ok(st)
}

// ---- field parsers shared by the formats ----

pub fn hex_u32(lines: &Lines, n: usize, s: &str, what: &str) -> anyhow::Result<u32> {
    u32::from_str_radix(s, 16)
        .map_err(|_| lines.err(n, format!("bad {what} {s:?}: expected hexadecimal")))
}

pub fn hex_u16(lines: &Lines, n: usize, s: &str, what: &str) -> anyhow::Result<u16> {
    if s.len() > 4 {
        return Err(lines.err(n, format!("bad {what} {s:?}: expected 4 hex digits")));
    }
    u16::from_str_radix(s, 16)
        .map_err(|_| lines.err(n, format!("bad {what} {s:?}: expected hexadecimal")))
}

pub fn dec_u64(lines: &Lines, n: usize, s: &str, what: &str) -> anyhow::Result<u64> {
    s.parse::<u64>()
        .map_err(|_| lines.err(n, format!("bad {what} {s:?}: expected a number")))
}

pub fn dec_i64(lines: &Lines, n: usize, s: &str, what: &str) -> anyhow::Result<i64> {
    s.parse::<i64>()
        .map_err(|_| lines.err(n, format!("bad {what} {s:?}: expected a number")))
}

/// Refuse tables beyond MAX_TABLE_ENTRIES lines of services and real servers.
pub fn check_table_size(lines: &Lines, n: usize, count: usize) -> anyhow::Result<()> {
    if count > super::model::MAX_TABLE_ENTRIES {
        return Err(lines.err(
            n,
            format!(
                "more than {} services and real servers: lbdoctor stops here rather than use unbounded memory",
                super::model::MAX_TABLE_ENTRIES
            ),
        ));
    }
    Ok(())
}

/// A real server weight: the kernel refuses negative ones (ip_vs_ctl.c), so one is garbled input.
pub fn weight(lines: &Lines, n: usize, s: &str) -> anyhow::Result<i64> {
    let w = dec_i64(lines, n, s, "weight")?;
    if w < 0 {
        return Err(lines.err(n, format!("bad weight {w}: IPVS weights are 0 or more")));
    }
    Ok(w)
}

/// /proc address: 8 hex digits (IPv4, host order as printed by %08X) or a full IPv6 (%pI6),
/// with or without brackets.
pub fn proc_addr(lines: &Lines, n: usize, s: &str) -> anyhow::Result<IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    if s.contains(':') {
        return s
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| lines.err(n, format!("bad IPv6 address {s:?}")));
    }
    if s.len() != 8 {
        return Err(lines.err(
            n,
            format!("bad address {s:?}: expected 8 hex digits (like C0A81514)"),
        ));
    }
    Ok(IpAddr::V4(Ipv4Addr::from(hex_u32(lines, n, s, "address")?)))
}

/// /proc `ADDR:PORT` with hex port: `C0A81514:0050` or `[2001:0db8:...:0001]:0050`.
pub fn proc_addr_port(lines: &Lines, n: usize, s: &str) -> anyhow::Result<SocketAddr> {
    let (a, p) = s
        .rsplit_once(':')
        .ok_or_else(|| lines.err(n, format!("bad address:port {s:?}")))?;
    if a.contains(':') && !(a.starts_with('[') && a.ends_with(']')) {
        return Err(lines.err(
            n,
            format!("bad address:port {s:?}: IPv6 must be in brackets"),
        ));
    }
    Ok(SocketAddr::new(
        proc_addr(lines, n, a)?,
        hex_u16(lines, n, p, "port")?,
    ))
}

/// ipvsadm `ADDR:PORT`: `192.168.21.20:80` or `[2001:db8::20]:80`.
pub fn dec_addr_port(lines: &Lines, n: usize, s: &str) -> anyhow::Result<SocketAddr> {
    s.parse::<SocketAddr>().map_err(|_| {
        lines.err(
            n,
            format!("bad address:port {s:?}: expected 192.0.2.1:80 or [2001:db8::1]:80 (numeric, as ipvsadm -n prints)"),
        )
    })
}

/// A real server line, `-> ADDR:PORT Forward Weight ActiveConn InActConn`, the same in
/// /proc/net/ip_vs (hex addresses) and `ipvsadm -Ln` (dotted): only the address parser differs.
pub fn real_server_line(
    lines: &Lines,
    n: usize,
    toks: &[&str],
    addr: fn(&Lines, usize, &str) -> anyhow::Result<SocketAddr>,
) -> anyhow::Result<RealServer> {
    if toks.len() != 6 {
        return Err(lines.err(
            n,
            format!(
                "{} real server line: expected `-> ADDR:PORT Forward Weight ActiveConn InActConn`",
                if toks.len() < 6 {
                    "truncated"
                } else {
                    "garbled"
                }
            ),
        ));
    }
    let mut rs = RealServer::new(addr(lines, n, toks[1])?);
    rs.forward = Some(Forward::parse(toks[2]).ok_or_else(|| {
        lines.err(
            n,
            format!(
                "unknown forwarding method {:?}: expected Route, Masq, Tunnel or Local",
                toks[2]
            ),
        )
    })?);
    rs.weight = Some(weight(lines, n, toks[3])?);
    rs.active = Some(dec_u64(lines, n, toks[4], "ActiveConn")?);
    rs.inactive = Some(dec_u64(lines, n, toks[5], "InActConn")?);
    Ok(rs)
}

/// Exactly five values (the counter columns of the stats and rate listings), each read by
/// `each`; `what` names them in the error ("5 {what}").
pub fn five<T: Copy + Default>(
    lines: &Lines,
    n: usize,
    toks: &[&str],
    what: &str,
    mut each: impl FnMut(&str) -> anyhow::Result<T>,
) -> anyhow::Result<[T; 5]> {
    if toks.len() != 5 {
        let how = if toks.len() < 5 {
            "truncated"
        } else {
            "garbled"
        };
        return Err(lines.err(n, format!("{how}: expected 5 {what}, found {}", toks.len())));
    }
    let mut out = [T::default(); 5];
    for (o, t) in out.iter_mut().zip(toks) {
        *o = each(t)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> anyhow::Result<SourceKind> {
        let mut l = Lines::from_str("t", text);
        detect(&mut l)
    }

    #[test]
    fn five_counts_then_reads_each_value() {
        let l = Lines::from_str("stats", "");
        let num = |t: &str| Ok(t.parse::<u64>()?);
        assert_eq!(
            five(&l, 3, &["1", "2", "3", "4", "5"], "numbers", num).unwrap(),
            [1, 2, 3, 4, 5]
        );
        let e = |toks: &[&str]| format!("{:#}", five(&l, 3, toks, "numbers", num).unwrap_err());
        assert!(
            e(&["1", "2"]).contains("stats:3: truncated: expected 5 numbers, found 2"),
            "{}",
            e(&["1", "2"])
        );
        assert!(e(&["1"; 6]).contains("garbled: expected 5 numbers, found 6"));
        assert!(five(&l, 3, &["1", "2", "x", "4", "5"], "numbers", num).is_err());
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(
            kind("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n").unwrap(),
            SourceKind::ProcIpVs
        );
        assert_eq!(
            kind("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n").unwrap(),
            SourceKind::IpvsadmList
        );
        assert_eq!(
            kind("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n").unwrap(),
            SourceKind::IpvsadmStats
        );
        assert_eq!(
            kind("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n").unwrap(),
            SourceKind::IpvsadmRate
        );
        assert_eq!(
            kind("   Total Incoming Outgoing         Incoming         Outgoing\n").unwrap(),
            SourceKind::ProcIpVsStats
        );
        assert_eq!(
            kind(
                "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
            )
            .unwrap(),
            SourceKind::ProcIpVsConn
        );
        assert_eq!(
            kind("IPVS connection entries\n").unwrap(),
            SourceKind::IpvsadmConn
        );
        assert_eq!(
            kind("\n-A -t 192.168.21.20:80 -s lc\n").unwrap(),
            SourceKind::IpvsadmSave
        );
    }

    #[test]
    fn respaced_proc_title_is_recognised_by_hex_addresses() {
        let t = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port    Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 lc\n";
        assert_eq!(kind(t).unwrap(), SourceKind::ProcIpVs);
    }

    #[test]
    fn unknown_empty_and_binary_inputs_are_errors_with_line() {
        let e = kind("hello world\n").unwrap_err().to_string();
        assert!(e.starts_with("t:1: not a known IPVS state format"), "{e}");
        let e = kind("\n\n").unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
        let mut l = Lines::new("b", &[0xffu8, 0xfe, b'\n'][..]);
        let e = detect(&mut l).unwrap_err().to_string();
        assert!(e.starts_with("b:1: not text"), "{e}");
        let e = kind("IP Virtual Server version 1.2.1 (size=4096)\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t:1: truncated"), "{e}");
    }

    #[test]
    fn long_lines_are_refused_not_buffered() {
        let long = "A".repeat(MAX_LINE * 3);
        let mut l = Lines::from_str("x", &long);
        let e = l.next_line().unwrap_err().to_string();
        assert!(e.starts_with("x:1: line longer than"), "{e}");
    }

    #[test]
    fn addresses() {
        let l = Lines::from_str("t", "");
        assert_eq!(
            proc_addr_port(&l, 1, "C0A81514:0050").unwrap(),
            "192.168.21.20:80".parse().unwrap()
        );
        assert_eq!(
            proc_addr_port(&l, 1, "[2620:0000:0000:0000:0000:0000:0000:0001]:01BB").unwrap(),
            "[2620::1]:443".parse().unwrap()
        );
        assert!(proc_addr_port(&l, 1, "C0A815:0050").is_err());
        assert!(proc_addr_port(&l, 1, "C0A81514:00500").is_err());
        assert!(dec_addr_port(&l, 1, "192.168.21.20").is_err());
    }
}
