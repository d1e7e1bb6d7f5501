//! Writes a SYN-flood capture for the detect benchmark: N bare SYNs (window 0, no options,
//! 40-byte IP packets) from random sources to 192.168.21.20:80 at 100,000 per second, with
//! a VRRP advert every second. With --options every SYN carries an MSS option (44-byte IP
//! packets, like a real stack's), so each one is a tracked flow: the flow-table worst case.
//! Usage: cargo run --release --example synflood FILE [N] [--options]

use lbdoctor::capture::synth::{flood_syn, pcap_record, vrrp, write_pcap, LB1, LB1_MAC, VIP};
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: synflood FILE [PACKETS (default 2000000)]");
        std::process::exit(2);
    };
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let options = args.next().is_some_and(|a| a == "--options");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    write_pcap(&mut w, 1, &[])?;
    let router = [0x02, 0xee, 0, 0, 0, 1];
    let advert = vrrp(2, LB1_MAC, LB1, 51, 150, &[VIP]);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let t0 = 1_700_000_000.0;
    for i in 0..n {
        let ts = t0 + i as f64 / 100_000.0;
        if i % 100_000 == 0 {
            pcap_record(&mut w, ts, &advert)?;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let src = std::net::Ipv4Addr::from((x >> 32) as u32);
        let f = flood_syn(src, (x >> 16) as u16 | 1024, x as u32, VIP, LB1_MAC, router);
        if options {
            pcap_record(&mut w, ts, &with_mss(&f))?;
        } else {
            pcap_record(&mut w, ts, &f)?;
        }
    }
    w.flush()?;
    eprintln!("wrote {path}: {n} SYNs");
    Ok(())
}

/// The same SYN with an MSS option and a window: what a real client stack would send.
fn with_mss(f: &[u8; 54]) -> Vec<u8> {
    let mut v = f[..54].to_vec();
    v.extend_from_slice(&[2, 4, 0x05, 0xb4]);
    v[16..18].copy_from_slice(&44u16.to_be_bytes());
    v[24..26].copy_from_slice(&[0, 0]);
    let c = lbdoctor::capture::synth::checksum(&v[14..34]);
    v[24..26].copy_from_slice(&c.to_be_bytes());
    v[46] = 0x60;
    v[48..50].copy_from_slice(&64240u16.to_be_bytes());
    v
}
