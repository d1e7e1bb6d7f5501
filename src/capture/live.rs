//! Live capture through libpcap: permission check, default interface, BPF filter, -w saving,
//! kernel drop counters, and the host's neighbour table for backend IPs.

use super::decode::Mac;
use super::source::{LiveStats, Packet};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const CAP_NET_RAW: u32 = 13;
const CAP_NET_ADMIN: u32 = 12;

/// The effective capability set of this process, from /proc/self/status.
fn effective_caps() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line.trim_start_matches("CapEff:").trim(), 16).ok()
}

fn permission_message(iface: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "$(command -v lbdoctor)".into());
    format!(
        "live capture on {iface} needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode), which this process lacks: run it with sudo, or grant them once with `sudo setcap cap_net_raw,cap_net_admin=eip {exe}`; or analyse a saved capture with -r FILE"
    )
}

/// Whether this process may open raw sockets (true when /proc does not say).
pub fn has_cap_net_raw() -> bool {
    effective_caps().is_none_or(|caps| caps & (1 << CAP_NET_RAW) != 0)
}

/// Fail early, with one line, when live capture cannot work for lack of privilege.
pub fn check_permission(iface: &str) -> anyhow::Result<()> {
    if let Some(caps) = effective_caps() {
        if caps & (1 << CAP_NET_RAW) == 0 {
            return Err(crate::error::Error::Usage(permission_message(iface)).into());
        }
        let _ = CAP_NET_ADMIN;
    }
    Ok(())
}

/// The interface the kernel routes the VIP through (`ip route get`).
pub fn route_interface(vip: IpAddr) -> anyhow::Result<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "route", "get", &vip.to_string()])
        .output()
        .map_err(|e| {
            crate::error::Error::Usage(format!(
                "cannot ask the kernel which interface routes to {vip} (`ip route get` failed to run: {e}); give one with -i IFACE"
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    // On the director the VIP is a local address, routed through lo; the clients' requests
    // and their forwarded copies pass the interface that holds it.
    if text.starts_with("local ") {
        if let Some(dev) = interface_holding(vip) {
            return Ok(dev);
        }
    }
    parse_route_dev(&text).ok_or_else(|| {
        crate::error::Error::Usage(format!(
            "no route to {vip} ({}); give the capture interface with -i IFACE",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .into()
    })
}

/// The interface other than lo that holds `addr` (`ip -o addr show to ADDR`).
fn interface_holding(addr: IpAddr) -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "addr", "show", "to", &addr.to_string()])
        .output()
        .ok()?;
    parse_addr_dev(&String::from_utf8_lossy(&out.stdout))
}

fn parse_addr_dev(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|d| d.split('@').next().unwrap_or(d).to_string())
        .find(|d| d != "lo")
}

fn parse_route_dev(text: &str) -> Option<String> {
    let mut it = text.split_whitespace();
    while let Some(w) = it.next() {
        if w == "dev" {
            return it.next().map(str::to_string);
        }
    }
    None
}

/// The host's neighbour table: /proc/net/arp and `ip -6 neigh`.
pub fn host_neighbours() -> BTreeMap<IpAddr, Mac> {
    let mut m = BTreeMap::new();
    if let Ok(s) = std::fs::read_to_string("/proc/net/arp") {
        for line in s.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 4 {
                if let (Ok(ip), Some(mac)) = (f[0].parse::<IpAddr>(), parse_mac(f[3])) {
                    if mac != [0; 6] {
                        m.insert(ip, mac);
                    }
                }
            }
        }
    }
    if let Ok(out) = std::process::Command::new("ip")
        .args(["-6", "neigh"])
        .output()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let ip = f.first().and_then(|s| s.parse::<IpAddr>().ok());
            let mac = f
                .iter()
                .position(|w| *w == "lladdr")
                .and_then(|i| f.get(i + 1))
                .and_then(|s| parse_mac(s));
            if let (Some(ip), Some(mac)) = (ip, mac) {
                m.insert(ip, mac);
            }
        }
    }
    m
}

pub fn parse_mac(s: &str) -> Option<Mac> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

/// The BPF filter: the VIP's traffic, ARP (owners, backend IPs), VRRP, and for IPv6 the
/// neighbour discovery that replaces ARP.
pub fn bpf_filter(vip: IpAddr) -> String {
    match vip {
        IpAddr::V4(_) => format!("host {vip} or arp or ip proto 112 or ip6 proto 112"),
        IpAddr::V6(_) => format!(
            "host {vip} or arp or ip proto 112 or ip6 proto 112 or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))"
        ),
    }
}

pub struct LiveOptions<'a> {
    pub iface: &'a str,
    pub vip: IpAddr,
    pub duration: Duration,
    pub count: Option<u64>,
    pub write: Option<&'a Path>,
}

/// Capture until the duration ends, `count` packets arrive, or `stop()` says so; every packet
/// goes to `on_packet`, and `on_tick` runs about ten times a second.
pub fn capture(
    o: &LiveOptions,
    mut on_packet: impl FnMut(&Packet),
    mut on_tick: impl FnMut(u64, Duration) -> bool,
    on_ready: impl FnOnce(),
) -> anyhow::Result<LiveStats> {
    check_permission(o.iface)?;
    let inactive = pcap::Capture::from_device(o.iface)
        .map_err(|e| crate::error::Error::Usage(format!("cannot capture on {}: {e}", o.iface)))?;
    let mut cap = inactive
        .promisc(true)
        .snaplen(512)
        .immediate_mode(true)
        .timeout(100)
        .buffer_size(32 << 20)
        .open()
        .map_err(|e| {
            let s = e.to_string();
            if s.contains("ermission") || s.contains("not permitted") {
                crate::error::Error::Usage(permission_message(o.iface))
            } else if s.contains("No such device") || s.contains("doesn't exist") {
                crate::error::Error::Usage(format!(
                    "interface {} does not exist; list them with `ip link`",
                    o.iface
                ))
            } else {
                crate::error::Error::Usage(format!("cannot capture on {}: {s}", o.iface))
            }
        })?;
    cap.filter(&bpf_filter(o.vip), true).map_err(|e| {
        crate::error::Error::Usage(format!("cannot set the capture filter on {}: {e}", o.iface))
    })?;
    // Non-blocking, with our own poll: libpcap's read timeout is not honoured on every
    // Linux setup in immediate mode, and a quiet link must not hold the capture past -d.
    let mut cap = cap
        .setnonblock()
        .map_err(|e| crate::error::Error::Usage(format!("cannot capture on {}: {e}", o.iface)))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&cap);
    let linktype = cap.get_datalink().0 as u32;
    let mut save =
        match o.write {
            Some(p) => Some(cap.savefile(p).map_err(|e| {
                crate::error::Error::file(p, format!("cannot write the capture: {e}"))
            })?),
            None => None,
        };
    on_ready();
    let start = Instant::now();
    let mut last_tick = start;
    let mut n = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= o.duration || o.count.is_some_and(|c| n >= c) {
            break;
        }
        if last_tick.elapsed() >= Duration::from_millis(100) {
            last_tick = Instant::now();
            if !on_tick(n, elapsed) {
                break;
            }
        }
        match cap.next_packet() {
            Ok(p) => {
                n += 1;
                if let Some(s) = save.as_mut() {
                    s.write(&p);
                }
                let ts = p.header.ts.tv_sec as f64 + p.header.ts.tv_usec as f64 / 1e6;
                on_packet(&Packet {
                    number: n,
                    ts,
                    linktype,
                    data: p.data,
                    orig_len: p.header.len,
                });
            }
            Err(pcap::Error::TimeoutExpired) => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the capture's descriptor, which outlives the call.
                unsafe { libc::poll(&mut pfd, 1, 50) };
            }
            Err(e) => {
                return Err(crate::error::Error::Usage(format!(
                    "capture on {} failed after {n} packets: {e}",
                    o.iface
                ))
                .into())
            }
        }
    }
    if let Some(mut s) = save {
        s.flush().map_err(|e| {
            crate::error::Error::file(
                o.write.unwrap_or(Path::new("-")),
                format!("cannot write: {e}"),
            )
        })?;
    }
    let st = cap.stats().unwrap_or(pcap::Stat {
        received: 0,
        dropped: 0,
        if_dropped: 0,
    });
    Ok(LiveStats {
        received: st.received,
        dropped: st.dropped,
        if_dropped: st.if_dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_route_get() {
        let t = "192.168.21.20 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0 \\    cache";
        assert_eq!(parse_route_dev(t).as_deref(), Some("eth0"));
        assert_eq!(
            parse_route_dev("local 127.0.0.1 dev lo table local"),
            Some("lo".into())
        );
        assert_eq!(parse_route_dev(""), None);
    }

    #[test]
    fn a_local_vip_is_captured_on_the_interface_holding_it() {
        let t = "1: lo    inet 10.0.0.20/32 scope host lo\\       valid_lft forever\n\
3: eth0.21@eth0    inet 10.0.0.20/32 scope global eth0.21\\       valid_lft forever\n";
        assert_eq!(parse_addr_dev(t).as_deref(), Some("eth0.21"));
        assert_eq!(
            parse_addr_dev("1: lo    inet 10.0.0.20/32 scope host lo\n"),
            None
        );
    }

    #[test]
    fn parses_macs() {
        assert_eq!(parse_mac("02:00:0a:0B:00:ff"), Some([2, 0, 10, 11, 0, 255]));
        assert_eq!(parse_mac("02:00:0a"), None);
        assert_eq!(parse_mac("zz:00:0a:0b:00:ff"), None);
    }

    #[test]
    fn filter_keeps_vip_arp_and_vrrp() {
        let f = bpf_filter("192.168.21.20".parse().unwrap());
        assert!(f.contains("host 192.168.21.20") && f.contains("arp") && f.contains("proto 112"));
        assert!(bpf_filter("2001:db8::20".parse().unwrap()).contains("icmp6"));
    }
}
