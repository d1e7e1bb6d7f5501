//! `ss -ltnpH` listening sockets.

use crate::audit::facts::Listener;

pub fn parse_listeners(text: &str) -> Vec<Listener> {
    let mut out = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // State Recv-Q Send-Q Local Peer [Process]
        if f.len() < 5 || f[0] != "LISTEN" {
            continue;
        }
        let Some((addr, port)) = f[3].rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse() else { continue };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr.split('%').next().unwrap_or(addr).to_string();
        let process = f.get(5).and_then(|p| {
            let start = p.find("((\"")? + 3;
            let end = p[start..].find('"')? + start;
            Some(p[start..end].to_string())
        });
        out.push(Listener {
            proto: "tcp".into(),
            addr,
            port,
            process,
        });
    }
    out
}

/// Does a listener on `l` accept connections to `ip`? (wildcards, v4-mapped v6 wildcard.)
pub fn accepts(l: &Listener, ip: &str) -> bool {
    matches!(l.addr.as_str(), "0.0.0.0" | "*" | "::")
        || l.addr == ip
        || l.addr == format!("::ffff:{ip}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_ss_output() {
        let t = "LISTEN 0      511          0.0.0.0:80        0.0.0.0:*    users:((\"nginx\",pid=12,fd=6))\nLISTEN 0 128 127.0.0.53%lo:53 0.0.0.0:*\nLISTEN 0 4096 [::]:22 [::]:*    users:((\"sshd\",pid=1,fd=4))\nLISTEN 0 5 *:8080 *:*\ngarbage\n";
        let v = parse_listeners(t);
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].port, 80);
        assert_eq!(v[0].process.as_deref(), Some("nginx"));
        assert_eq!(v[1].addr, "127.0.0.53");
        assert_eq!(v[2].addr, "::");
        assert!(accepts(&v[3], "192.168.21.12"));
        assert!(!accepts(&v[1], "192.168.21.12"));
    }
}
