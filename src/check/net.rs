//! What `check` asks the host before it sends anything: the interface and source address
//! that reach a real server, the interface's MAC, and the neighbour table's entry for the
//! real server. All read from iproute2 and /proc, with errors that say what to do.

use crate::capture::decode::Mac;
use crate::capture::live::parse_mac;
use crate::error::Error;
use std::net::Ipv4Addr;

/// How the kernel reaches an address (`ip -o route get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dev: String,
    pub src: Option<Ipv4Addr>,
    pub via: Option<Ipv4Addr>,
    /// The address is one of this host's own.
    pub local: bool,
}

pub fn parse_route(text: &str) -> Option<Route> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |k: &str| {
        words
            .iter()
            .position(|w| *w == k)
            .and_then(|i| words.get(i + 1))
    };
    Some(Route {
        dev: after("dev")?.to_string(),
        src: after("src").and_then(|s| s.parse().ok()),
        via: after("via").and_then(|s| s.parse().ok()),
        local: words.first() == Some(&"local"),
    })
}

pub fn route_to(ip: Ipv4Addr) -> anyhow::Result<Route> {
    let out = std::process::Command::new("ip")
        .args(["-o", "-4", "route", "get", &ip.to_string()])
        .output()
        .map_err(|e| {
            Error::Usage(format!(
                "cannot ask the kernel how it reaches {ip} (`ip route get` failed to run: {e}); give the interface with -i IFACE"
            ))
        })?;
    parse_route(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
        Error::Usage(format!(
            "no route to real server {ip} ({}); give the interface with -i IFACE",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .into()
    })
}

/// Fail with one clear line when `iface` is not an interface of this host.
pub fn check_iface(iface: &str) -> anyhow::Result<()> {
    let ok = !iface.is_empty()
        && !iface.contains('/')
        && iface != "."
        && iface != ".."
        && std::path::Path::new("/sys/class/net").join(iface).exists();
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "interface {iface} does not exist on this host; list them with `ip link`"
        ))
        .into())
    }
}

pub fn iface_mac(iface: &str) -> anyhow::Result<Mac> {
    let p = std::path::Path::new("/sys/class/net")
        .join(iface)
        .join("address");
    let s = std::fs::read_to_string(&p).unwrap_or_default();
    match parse_mac(s.trim()) {
        Some(m) if m != [0; 6] => Ok(m),
        _ => Err(Error::Usage(format!(
            "interface {iface} has no Ethernet address ({}): DR forwards at layer 2, so check needs an Ethernet interface (a VLAN interface on one is fine)",
            if s.trim().is_empty() { "none" } else { s.trim() }
        ))
        .into()),
    }
}

/// The IPv4 addresses on `iface`, primary first (`ip -o -4 addr show dev`).
pub fn iface_ipv4s(iface: &str) -> Vec<Ipv4Addr> {
    let Ok(out) = std::process::Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", iface])
        .output()
    else {
        return Vec::new();
    };
    parse_addrs(&String::from_utf8_lossy(&out.stdout))
}

fn parse_addrs(text: &str) -> Vec<Ipv4Addr> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|x| *x == "inet")?;
            w.get(i + 1)?.split('/').next()?.parse().ok()
        })
        .collect()
}

/// The real server's MAC from the kernel's neighbour table (/proc/net/arp) on `iface`.
/// Only complete entries (flag ATF_COM, 0x2) count: an incomplete one has no address yet.
pub fn neighbour(ip: Ipv4Addr, iface: &str) -> Option<Mac> {
    let s = std::fs::read_to_string("/proc/net/arp").ok()?;
    parse_proc_arp(&s, ip, iface)
}

fn parse_proc_arp(text: &str, ip: Ipv4Addr, iface: &str) -> Option<Mac> {
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 6 || f[0].parse::<Ipv4Addr>().ok()? != ip || f[5] != iface {
            return None;
        }
        let flags = u32::from_str_radix(f[2].trim_start_matches("0x"), 16).ok()?;
        if flags & 0x2 == 0 {
            return None;
        }
        parse_mac(f[3]).filter(|m| *m != [0; 6])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_on_link_via_a_gateway_and_local() {
        let r = parse_route("10.9.0.12 dev br0 src 10.9.0.1 uid 0 \\    cache").unwrap();
        assert_eq!(r.dev, "br0");
        assert_eq!(r.src, Some("10.9.0.1".parse().unwrap()));
        assert!(r.via.is_none() && !r.local);
        let r = parse_route("8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0").unwrap();
        assert_eq!(r.via, Some("10.0.0.1".parse().unwrap()));
        assert!(
            parse_route("local 10.0.0.5 dev lo src 10.0.0.5 uid 0")
                .unwrap()
                .local
        );
        assert_eq!(parse_route(""), None);
    }

    #[test]
    fn neighbour_entries_must_be_complete_and_on_the_interface() {
        let t = "IP address       HW type     Flags       HW address            Mask     Device\n\
10.9.0.12        0x1         0x2         02:00:00:09:00:12     *        br0\n\
10.9.0.13        0x1         0x0         00:00:00:00:00:00     *        br0\n\
10.9.0.14        0x1         0x2         02:00:00:09:00:14     *        eth1\n";
        let ip = |s: &str| s.parse().unwrap();
        assert_eq!(
            parse_proc_arp(t, ip("10.9.0.12"), "br0"),
            Some([2, 0, 0, 9, 0, 0x12])
        );
        assert_eq!(parse_proc_arp(t, ip("10.9.0.13"), "br0"), None);
        assert_eq!(parse_proc_arp(t, ip("10.9.0.14"), "br0"), None);
    }

    #[test]
    fn addresses_primary_first() {
        let t = "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever\n\
2: eth0    inet 10.0.0.20/32 scope global eth0\\       valid_lft forever\n";
        assert_eq!(
            parse_addrs(t),
            vec![
                "10.0.0.5".parse::<Ipv4Addr>().unwrap(),
                "10.0.0.20".parse().unwrap()
            ]
        );
    }

    #[test]
    fn unknown_interfaces_are_one_clear_error() {
        for bad in ["lbd-no-such0", "../etc", ""] {
            let e = check_iface(bad).unwrap_err().to_string();
            assert!(e.contains("does not exist"), "{e}");
        }
        assert!(check_iface("lo").is_ok());
    }
}
