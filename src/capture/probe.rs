//! Connection probes for live runs: N TCP connections to VIP:PORT, each from its own explicitly
//! bound source port (so a hash-based scheduler spreads them), with a small HTTP GET on web
//! ports. The capture watches them; the probe only counts which connections were accepted.

use nix::sys::socket::{
    bind, connect, getsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn,
    SockaddrIn6,
};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ProbeResult {
    pub sent: u32,
    pub answered: u32,
    /// Probes whose HTTP request got a status line back.
    pub http_answered: u32,
    pub source_ports: Vec<u16>,
    /// Per failed probe: source port and why.
    pub failures: Vec<String>,
}

pub fn is_web_port(port: u16) -> bool {
    matches!(port, 80 | 8080 | 8000 | 8008 | 8888 | 3000 | 5000)
}

/// Distinct source ports from the ephemeral range, varied so a hash scheduler spreads them.
pub fn pick_ports(n: u32, seed: u64) -> Vec<u16> {
    let mut ports = Vec::with_capacity(n as usize);
    let mut x = seed | 1;
    while ports.len() < n as usize {
        // xorshift64: enough spread, no dependency on a global RNG for tests.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = 32768 + (x % 28000) as u16;
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    ports
}

fn connect_from(
    vip: IpAddr,
    port: u16,
    sport: u16,
    timeout: Duration,
) -> Result<TcpStream, String> {
    let (fam, dst): (AddressFamily, SocketAddr) = match vip {
        IpAddr::V4(a) => (
            AddressFamily::Inet,
            SocketAddr::V4(SocketAddrV4::new(a, port)),
        ),
        IpAddr::V6(a) => (
            AddressFamily::Inet6,
            SocketAddr::V6(SocketAddrV6::new(a, port, 0, 0)),
        ),
    };
    let fd: OwnedFd = socket(fam, SockType::Stream, SockFlag::SOCK_NONBLOCK, None)
        .map_err(|e| format!("socket: {e}"))?;
    let raw = fd.as_raw_fd();
    match vip {
        IpAddr::V4(_) => {
            let local = SockaddrIn::from(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, sport));
            bind(raw, &local).map_err(|e| format!("bind to source port {sport}: {e}"))?;
            let SocketAddr::V4(d) = dst else {
                unreachable!()
            };
            match connect(raw, &SockaddrIn::from(d)) {
                Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
                Err(e) => return Err(format!("connect: {e}")),
            }
        }
        IpAddr::V6(_) => {
            let local = SockaddrIn6::from(SocketAddrV6::new(
                std::net::Ipv6Addr::UNSPECIFIED,
                sport,
                0,
                0,
            ));
            bind(raw, &local).map_err(|e| format!("bind to source port {sport}: {e}"))?;
            let SocketAddr::V6(d) = dst else {
                unreachable!()
            };
            match connect(raw, &SockaddrIn6::from(d)) {
                Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
                Err(e) => return Err(format!("connect: {e}")),
            }
        }
    }
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    let mut pfd = libc::pollfd {
        fd: raw,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd for a socket we own, for the duration of the call.
    match unsafe { libc::poll(&mut pfd, 1, ms) } {
        0 => return Err(format!("no answer within {ms} ms (SYN unanswered)")),
        n if n < 0 => return Err(format!("poll: {}", std::io::Error::last_os_error())),
        _ => {}
    }
    match getsockopt(&fd, sockopt::SocketError) {
        Ok(0) => {}
        Ok(errno) => return Err(nix::errno::Errno::from_raw(errno).desc().to_string()),
        Err(e) => return Err(format!("getsockopt: {e}")),
    }
    let s = TcpStream::from(fd);
    s.set_nonblocking(false).map_err(|e| e.to_string())?;
    Ok(s)
}

/// Run `n` probes, a few at a time, counting progress in `done`.
pub fn run(vip: IpAddr, port: u16, n: u32, timeout: Duration, done: Arc<AtomicU32>) -> ProbeResult {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(42)
        ^ std::process::id() as u64;
    let ports = pick_ports(n, seed);
    let mut res = ProbeResult {
        sent: 0,
        source_ports: ports.clone(),
        ..Default::default()
    };
    for chunk in ports.chunks(8) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|&sport| {
                let done = done.clone();
                std::thread::spawn(move || {
                    let r = connect_from(vip, port, sport, timeout).map(|mut s| {
                        let mut http = false;
                        if is_web_port(port) {
                            let _ = s.set_read_timeout(Some(timeout));
                            let _ = s.set_write_timeout(Some(timeout));
                            let req = format!(
                                "GET / HTTP/1.0\r\nHost: {}\r\nUser-Agent: lbdoctor-detect\r\nConnection: close\r\n\r\n",
                                match vip { IpAddr::V6(a) => format!("[{a}]"), a => a.to_string() }
                            );
                            if s.write_all(req.as_bytes()).is_ok() {
                                // Read the answer to its end (bounded), so the connection
                                // closes with FINs, not a reset for unread data.
                                let mut buf = [0u8; 4096];
                                let mut got = 0usize;
                                while let Ok(k) = s.read(&mut buf[got.min(5)..]) {
                                    if k == 0 {
                                        break;
                                    }
                                    if got == 0 {
                                        http = buf[..k].starts_with(b"HTTP/");
                                    }
                                    got += k;
                                    if got > 1 << 20 {
                                        break;
                                    }
                                }
                            }
                        }
                        http
                    });
                    done.fetch_add(1, Ordering::Relaxed);
                    (sport, r)
                })
            })
            .collect();
        for h in handles {
            res.sent += 1;
            match h.join() {
                Ok((_, Ok(http))) => {
                    res.answered += 1;
                    if http {
                        res.http_answered += 1;
                    }
                }
                Ok((sport, Err(e))) => res.failures.push(format!("source port {sport}: {e}")),
                Err(_) => res.failures.push("probe thread panicked".into()),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_ephemeral() {
        let p = pick_ports(200, 7);
        let mut s = p.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 200);
        assert!(p.iter().all(|&x| (32768..60768).contains(&x)));
    }

    #[test]
    fn probes_a_real_listener_from_distinct_source_ports() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            for _ in 0..3 {
                let (mut c, _) = l.accept().unwrap();
                let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
            }
        });
        let r = run(
            "127.0.0.1".parse().unwrap(),
            port,
            3,
            Duration::from_secs(2),
            Arc::default(),
        );
        t.join().unwrap();
        assert_eq!((r.sent, r.answered), (3, 3), "{:?}", r.failures);
        // Not a web port: no GET, so no HTTP answer is counted.
        assert_eq!(r.http_answered, 0);
    }

    #[test]
    fn a_closed_port_counts_as_unanswered_with_a_reason() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let r = run(
            "127.0.0.1".parse().unwrap(),
            port,
            2,
            Duration::from_secs(1),
            Arc::default(),
        );
        assert_eq!((r.sent, r.answered), (2, 0));
        assert!(r.failures[0].contains("refused"), "{:?}", r.failures);
    }
}
