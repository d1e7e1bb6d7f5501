//! Packet sources: a bounded reader for pcap and pcapng files, and live capture via libpcap.
//!
//! The file reader is our own (not libpcap's) for two reasons: it keeps going after a bad
//! record where the format allows and names the packet number of every problem, and it parses
//! records in place from a large buffer, which keeps `-r` within 2x of a bare libpcap read.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Records larger than this are treated as corrupt (libpcap uses 256 KiB as its maximum snaplen).
pub const MAX_RECORD: usize = 256 * 1024;
const BUF_SIZE: usize = 4 * 1024 * 1024;
/// At most this many problems are kept with their text; the rest are only counted.
const MAX_ISSUES: usize = 50;

/// Link-layer types we decode (LINKTYPE_* numbers from tcpdump.org/linktypes.html).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const RAW_OPENBSD: u32 = 12;
    pub const RAW_14: u32 = 14;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// One captured packet, borrowed from the source's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// 1-based, as Wireshark and `tcpdump -#` number them.
    pub number: u64,
    /// Seconds since the epoch.
    pub ts: f64,
    pub linktype: u32,
    pub data: &'a [u8],
    /// Length on the wire (may exceed data.len() when the snaplen cut it).
    pub orig_len: u32,
}

/// A problem in the input, tied to the packet it happened at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub packet: u64,
    pub message: String,
    /// True when reading had to stop here (nothing after this point was analysed).
    pub fatal: bool,
}

/// Problems found while reading or decoding, bounded.
#[derive(Debug, Default, Clone)]
pub struct Issues {
    pub list: Vec<Issue>,
    pub total: u64,
}

impl Issues {
    pub fn push(&mut self, packet: u64, message: impl Into<String>, fatal: bool) {
        self.total += 1;
        if self.list.len() < MAX_ISSUES || fatal {
            self.list.push(Issue {
                packet,
                message: message.into(),
                fatal,
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pcap {
        swapped: bool,
        nanos: bool,
        linktype: u32,
    },
    PcapNg,
}

#[derive(Debug, Clone, Copy)]
struct NgInterface {
    linktype: u32,
    /// Timestamp units per second.
    units: f64,
}

/// Reads a pcap or pcapng file record by record, with a bounded buffer.
pub struct FileSource {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    format: Format,
    ng_big_endian: bool,
    ng_ifaces: Vec<NgInterface>,
    number: u64,
    done: bool,
    pub issues: Issues,
    /// Bytes consumed so far, for progress.
    pub consumed: u64,
    pub file_len: u64,
}

fn rd16(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn rd32(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

impl FileSource {
    /// Open a capture file. Errors (unreadable, not a capture) name the file.
    pub fn open(path: &Path) -> anyhow::Result<FileSource> {
        let file = File::open(path).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::NotFound => "check the path",
                std::io::ErrorKind::PermissionDenied => {
                    "run with sudo or fix the file's permissions"
                }
                _ => "check that it is a readable file",
            };
            crate::error::Error::file(path, format!("cannot read: {e} ({hint})"))
        })?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut s = FileSource {
            path: path.to_path_buf(),
            file,
            buf: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
            eof: false,
            format: Format::PcapNg,
            ng_big_endian: false,
            ng_ifaces: Vec::new(),
            number: 0,
            done: false,
            issues: Issues::default(),
            consumed: 0,
            file_len,
        };
        s.fill(24)
            .map_err(|e| crate::error::Error::file(path, format!("cannot read: {e}")))?;
        let head = &s.buf[s.start..s.end];
        if head.len() < 4 {
            return Err(crate::error::Error::file(
                path,
                "is empty or shorter than a capture file header; expected a pcap or pcapng file",
            )
            .into());
        }
        let magic = [head[0], head[1], head[2], head[3]];
        s.format = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => Format::Pcap {
                swapped: false,
                nanos: false,
                linktype: 0,
            },
            [0xa1, 0xb2, 0xc3, 0xd4] => Format::Pcap {
                swapped: true,
                nanos: false,
                linktype: 0,
            },
            [0x4d, 0x3c, 0xb2, 0xa1] => Format::Pcap {
                swapped: false,
                nanos: true,
                linktype: 0,
            },
            [0xa1, 0xb2, 0x3c, 0x4d] => Format::Pcap {
                swapped: true,
                nanos: true,
                linktype: 0,
            },
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::PcapNg,
            [0x34, 0xcd, 0xb2, 0xa1] | [0xa1, 0xb2, 0xcd, 0x34] => {
                return Err(crate::error::Error::file(
                    path,
                    "is a \"modified\" (Kuznetzov) pcap, which lbdoctor does not read; convert it with `editcap -F pcap IN OUT`",
                )
                .into())
            }
            _ => {
                return Err(crate::error::Error::file(
                    path,
                    format!(
                        "is not a pcap or pcapng capture (first bytes {:02x}{:02x}{:02x}{:02x}); write one with `tcpdump -w FILE`",
                        magic[0], magic[1], magic[2], magic[3]
                    ),
                )
                .into())
            }
        };
        if let Format::Pcap { swapped, nanos, .. } = s.format {
            if s.end - s.start < 24 {
                return Err(crate::error::Error::file(
                    path,
                    "ends inside the pcap file header (truncated file)",
                )
                .into());
            }
            let h = &s.buf[s.start..s.start + 24];
            let linktype = rd32(&h[20..24], swapped) & 0x0fff_ffff;
            s.format = Format::Pcap {
                swapped,
                nanos,
                linktype,
            };
            s.start += 24;
            s.consumed = 24;
        }
        Ok(s)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Link type of a classic pcap file (pcapng files have one per interface).
    pub fn pcap_linktype(&self) -> Option<u32> {
        match self.format {
            Format::Pcap { linktype, .. } => Some(linktype),
            Format::PcapNg => None,
        }
    }

    /// Make at least `n` bytes available at `start`, unless the file ends first.
    fn fill(&mut self, n: usize) -> std::io::Result<()> {
        if self.end - self.start >= n {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.end < n && !self.eof {
            let cap = self.buf.len();
            match self.file.read(&mut self.buf[self.end..cap]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn avail(&self) -> usize {
        self.end - self.start
    }

    fn stop(&mut self, message: String) {
        self.issues.push(self.number, message, true);
        self.done = true;
    }

    /// The next packet, or None at the end of the file (or after a problem that stops reading,
    /// recorded in `issues`).
    pub fn next_packet(&mut self) -> Option<Packet<'_>> {
        loop {
            if self.done {
                return None;
            }
            match self.format {
                Format::Pcap {
                    swapped,
                    nanos,
                    linktype,
                } => {
                    if let Err(e) = self.fill(16) {
                        self.stop(format!("read error: {e}"));
                        return None;
                    }
                    if self.avail() == 0 {
                        self.done = true;
                        return None;
                    }
                    self.number += 1;
                    if self.avail() < 16 {
                        self.stop(format!(
                            "packet {}: the file ends inside the record header ({} of 16 bytes; truncated capture); the {} packets before it were analysed",
                            self.number, self.avail(), self.number - 1
                        ));
                        return None;
                    }
                    let h = &self.buf[self.start..self.start + 16];
                    let sec = rd32(&h[0..4], swapped);
                    let frac = rd32(&h[4..8], swapped);
                    let caplen = rd32(&h[8..12], swapped) as usize;
                    let orig_len = rd32(&h[12..16], swapped);
                    if caplen > MAX_RECORD {
                        self.stop(format!(
                            "packet {}: record claims {caplen} bytes, more than any capture holds (corrupt file); the {} packets before it were analysed",
                            self.number,
                            self.number - 1
                        ));
                        return None;
                    }
                    if let Err(e) = self.fill(16 + caplen) {
                        self.stop(format!("read error: {e}"));
                        return None;
                    }
                    if self.avail() < 16 + caplen {
                        self.stop(format!(
                            "packet {}: the file ends inside the packet ({} of {caplen} bytes; truncated capture); the {} packets before it were analysed",
                            self.number,
                            self.avail() - 16,
                            self.number - 1
                        ));
                        return None;
                    }
                    let at = self.start + 16;
                    self.start = at + caplen;
                    self.consumed += 16 + caplen as u64;
                    let ts = sec as f64 + frac as f64 / if nanos { 1e9 } else { 1e6 };
                    return Some(Packet {
                        number: self.number,
                        ts,
                        linktype,
                        data: &self.buf[at..at + caplen],
                        orig_len,
                    });
                }
                Format::PcapNg => {
                    if let Err(e) = self.fill(12) {
                        self.stop(format!("read error: {e}"));
                        return None;
                    }
                    if self.avail() == 0 {
                        self.done = true;
                        return None;
                    }
                    if self.avail() < 12 {
                        self.number += 1;
                        self.stop(format!(
                            "packet {}: the file ends inside a pcapng block header (truncated capture); the {} packets before it were analysed",
                            self.number,
                            self.number - 1
                        ));
                        return None;
                    }
                    let h = &self.buf[self.start..self.start + 12];
                    let raw_type = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                    if raw_type == 0x0a0d_0d0a {
                        // Section header: its byte-order magic decides the order of everything after.
                        let bom = [h[8], h[9], h[10], h[11]];
                        self.ng_big_endian = match bom {
                            [0x1a, 0x2b, 0x3c, 0x4d] => true,
                            [0x4d, 0x3c, 0x2b, 0x1a] => false,
                            _ => {
                                self.stop(format!(
                                    "after packet {}: pcapng section header has an unknown byte-order magic (corrupt file)",
                                    self.number
                                ));
                                return None;
                            }
                        };
                        self.ng_ifaces.clear();
                    }
                    let big = self.ng_big_endian;
                    let btype = rd32(&h[0..4], big);
                    let blen = rd32(&h[4..8], big) as usize;
                    if blen < 12 || blen % 4 != 0 || blen > MAX_RECORD + 64 {
                        self.stop(format!(
                            "after packet {}: pcapng block of type {btype:#x} claims length {blen} (corrupt file); the {} packets before it were analysed",
                            self.number, self.number
                        ));
                        return None;
                    }
                    if let Err(e) = self.fill(blen) {
                        self.stop(format!("read error: {e}"));
                        return None;
                    }
                    if self.avail() < blen {
                        let is_pkt = matches!(btype, 3 | 6);
                        if is_pkt {
                            self.number += 1;
                        }
                        self.stop(format!(
                            "{}: the file ends inside a pcapng block ({} of {blen} bytes; truncated capture); the {} packets before it were analysed",
                            if is_pkt { format!("packet {}", self.number) } else { format!("after packet {}", self.number) },
                            self.avail(),
                            if is_pkt { self.number - 1 } else { self.number }
                        ));
                        return None;
                    }
                    let at = self.start;
                    self.start += blen;
                    self.consumed += blen as u64;
                    let body = at + 8..at + blen - 4;
                    match btype {
                        // Interface description block.
                        1 => {
                            let b = &self.buf[body.clone()];
                            if b.len() < 8 {
                                self.issues.push(
                                    self.number,
                                    format!(
                                        "after packet {}: short pcapng interface block; ignored",
                                        self.number
                                    ),
                                    false,
                                );
                                continue;
                            }
                            let linktype = rd16(&b[0..2], big) as u32;
                            let mut units = 1e6;
                            // Options: look for if_tsresol (code 9).
                            let mut o = 8;
                            while o + 4 <= b.len() {
                                let code = rd16(&b[o..o + 2], big);
                                let len = rd16(&b[o + 2..o + 4], big) as usize;
                                if code == 0 || o + 4 + len > b.len() {
                                    break;
                                }
                                if code == 9 && len >= 1 {
                                    let v = b[o + 4];
                                    let exp = (v & 0x7f) as i32;
                                    units = if v & 0x80 != 0 {
                                        2f64.powi(exp)
                                    } else {
                                        10f64.powi(exp)
                                    };
                                }
                                o += 4 + len.div_ceil(4) * 4;
                            }
                            if self.ng_ifaces.len() < 4096 {
                                self.ng_ifaces.push(NgInterface { linktype, units });
                            }
                        }
                        // Enhanced packet block.
                        6 => {
                            self.number += 1;
                            let b = &self.buf[body.clone()];
                            if b.len() < 20 {
                                self.issues.push(
                                    self.number,
                                    format!(
                                        "packet {}: pcapng packet block too short; skipped",
                                        self.number
                                    ),
                                    false,
                                );
                                continue;
                            }
                            let ifid = rd32(&b[0..4], big) as usize;
                            let ts_raw =
                                ((rd32(&b[4..8], big) as u64) << 32) | rd32(&b[8..12], big) as u64;
                            let caplen = rd32(&b[12..16], big) as usize;
                            let orig_len = rd32(&b[16..20], big);
                            let Some(iface) = self.ng_ifaces.get(ifid).copied() else {
                                self.issues.push(
                                    self.number,
                                    format!("packet {}: refers to interface {ifid}, which the file never describes; skipped", self.number),
                                    false,
                                );
                                continue;
                            };
                            if 20 + caplen > b.len() {
                                self.issues.push(
                                    self.number,
                                    format!("packet {}: captured length {caplen} exceeds its block; skipped", self.number),
                                    false,
                                );
                                continue;
                            }
                            let d = body.start + 20;
                            return Some(Packet {
                                number: self.number,
                                ts: ts_raw as f64 / iface.units,
                                linktype: iface.linktype,
                                data: &self.buf[d..d + caplen],
                                orig_len,
                            });
                        }
                        // Simple packet block: interface 0, no timestamp.
                        3 => {
                            self.number += 1;
                            let b = &self.buf[body.clone()];
                            let Some(iface) = self.ng_ifaces.first().copied() else {
                                self.issues.push(
                                    self.number,
                                    format!("packet {}: simple packet block before any interface block; skipped", self.number),
                                    false,
                                );
                                continue;
                            };
                            if b.len() < 4 {
                                continue;
                            }
                            let orig_len = rd32(&b[0..4], big);
                            let caplen = (orig_len as usize).min(b.len() - 4);
                            let d = body.start + 4;
                            return Some(Packet {
                                number: self.number,
                                ts: 0.0,
                                linktype: iface.linktype,
                                data: &self.buf[d..d + caplen],
                                orig_len,
                            });
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Kernel counters from libpcap after a live capture, reported like tcpdump does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pcap_bytes(records: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, r) in records.iter().enumerate() {
            v.extend_from_slice(&(i as u32 + 100).to_le_bytes());
            v.extend_from_slice(&500_000u32.to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(r);
        }
        v
    }

    fn write_tmp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn reads_pcap_records_with_numbers_and_timestamps() {
        let f = write_tmp(&pcap_bytes(&[&[1, 2, 3], &[4; 60]]));
        let mut s = FileSource::open(f.path()).unwrap();
        let p = s.next_packet().unwrap();
        assert_eq!((p.number, p.data, p.linktype), (1, &[1u8, 2, 3][..], 1));
        assert!((p.ts - 100.5).abs() < 1e-9);
        let p = s.next_packet().unwrap();
        assert_eq!((p.number, p.data.len()), (2, 60));
        assert!(s.next_packet().is_none());
        assert_eq!(s.issues.total, 0);
    }

    #[test]
    fn truncated_pcap_names_the_packet_and_keeps_the_earlier_ones() {
        let mut b = pcap_bytes(&[&[1; 40], &[2; 40], &[3; 40]]);
        b.truncate(b.len() - 10);
        let f = write_tmp(&b);
        let mut s = FileSource::open(f.path()).unwrap();
        assert!(s.next_packet().is_some());
        assert!(s.next_packet().is_some());
        assert!(s.next_packet().is_none());
        let i = &s.issues.list[0];
        assert_eq!(i.packet, 3);
        assert!(i.fatal);
        assert!(i.message.contains("packet 3"), "{}", i.message);
        assert!(i.message.contains("truncated"), "{}", i.message);
    }

    #[test]
    fn absurd_record_length_stops_with_the_packet_number() {
        let mut b = pcap_bytes(&[&[1; 40], &[2; 40]]);
        let second = 24 + 16 + 40;
        b[second + 8..second + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let f = write_tmp(&b);
        let mut s = FileSource::open(f.path()).unwrap();
        assert!(s.next_packet().is_some());
        assert!(s.next_packet().is_none());
        assert!(s.issues.list[0]
            .message
            .starts_with("packet 2: record claims"));
    }

    #[test]
    fn corrupted_pcapng_never_panics_and_always_ends() {
        let ng = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/detect/crafted/healthy.pcapng"
        ))
        .unwrap();
        let mut x: u64 = 99;
        for round in 0..300 {
            let mut b = ng.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = 8 + (x as usize) % (b.len() - 8);
                b[i] ^= (x >> 8) as u8 | 1;
            }
            if round % 3 == 0 {
                b.truncate(b.len() - (x as usize % 200));
            }
            let f = write_tmp(&b);
            if let Ok(mut s) = FileSource::open(f.path()) {
                let mut n = 0;
                while s.next_packet().is_some() {
                    n += 1;
                    assert!(n < 100_000);
                }
            }
        }
    }

    #[test]
    fn not_a_capture_is_a_clear_error() {
        let f = write_tmp(b"hello world, not a pcap");
        let e = FileSource::open(f.path()).err().unwrap().to_string();
        assert!(e.contains("is not a pcap or pcapng capture"), "{e}");
        let f = write_tmp(b"");
        let e = FileSource::open(f.path()).err().unwrap().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn records_larger_than_the_buffer_position_still_read() {
        // Many records so the 4 MiB buffer wraps several times.
        let rec = [7u8; 1500];
        let recs: Vec<&[u8]> = (0..10_000).map(|_| &rec[..]).collect();
        let f = write_tmp(&pcap_bytes(&recs));
        let mut s = FileSource::open(f.path()).unwrap();
        let mut n = 0;
        while let Some(p) = s.next_packet() {
            assert_eq!(p.data.len(), 1500);
            n += 1;
        }
        assert_eq!(n, 10_000);
        assert_eq!(s.issues.total, 0);
    }
}
