//! Sends flood SYNs (window 0, no options, random sources) to 192.168.21.20:80 out of an
//! interface through an AF_PACKET socket at a fixed rate, for the live capture benchmark
//! (benches/detect-live.sh). Needs root. Usage: blast IFACE PPS SECONDS

use lbdoctor::capture::synth::{flood_syn, LB1_MAC, VIP};
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 4 {
        eprintln!("usage: blast IFACE PPS SECONDS");
        std::process::exit(2);
    }
    let pps: u64 = a[2].parse().expect("PPS");
    let secs: f64 = a[3].parse().expect("SECONDS");
    let name = std::ffi::CString::new(a[1].clone()).expect("iface");
    // SAFETY: plain libc socket calls with valid, initialised arguments.
    let (fd, ifindex) = unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        (fd, libc::if_nametoindex(name.as_ptr()))
    };
    assert!(ifindex > 0, "no interface {}", a[1]);
    // SAFETY: zeroed sockaddr_ll is valid; fields set below.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    let start = Instant::now();
    let total = (pps as f64 * secs) as u64;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut sent = 0u64;
    let mut failed = 0u64;
    while sent + failed < total {
        // Pace in steps of 100 packets.
        let due = Duration::from_secs_f64((sent + failed) as f64 / pps as f64);
        while start.elapsed() < due {
            std::hint::spin_loop();
        }
        for _ in 0..100 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let src = std::net::Ipv4Addr::from((x >> 32) as u32);
            let f = flood_syn(
                src,
                (x >> 16) as u16 | 1024,
                x as u32,
                VIP,
                LB1_MAC,
                [2, 0xee, 0, 0, 0, 1],
            );
            // SAFETY: f and sll outlive the call; lengths are theirs.
            let r = unsafe {
                libc::sendto(
                    fd,
                    f.as_ptr() as *const libc::c_void,
                    f.len(),
                    0,
                    &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            if r < 0 {
                failed += 1;
            } else {
                sent += 1;
            }
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "sent {sent} packets in {el:.2} s ({:.0} pps), {failed} send errors",
        sent as f64 / el
    );
}
