//! DR013: an IPv6 virtual service forwards with NAT (Masq) but IPv6 forwarding is off.
use crate::audit::Analysis;
use crate::Finding;

/// IPv6 services and their Masq destinations from /proc/net/ip_vs (`TCP  [addr]:PORT ...`).
pub fn ipv6_masq(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut svc: Option<String> = None;
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.first().copied() {
            Some("TCP" | "UDP" | "SCTP") if f.len() >= 2 => {
                svc = f[1].starts_with('[').then(|| format!("{} {}", f[0], f[1]));
            }
            Some("FWM") => svc = None,
            Some("->") if f.get(2) == Some(&"Masq") && f[1].starts_with('[') => {
                if let Some(s) = &svc {
                    out.push((s.clone(), f[1].to_string()));
                }
            }
            _ => {}
        }
    }
    out
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(text) = a.f.ip_vs.as_deref() else {
        return;
    };
    let masq = ipv6_masq(text);
    if masq.is_empty() || a.f.sysctl_u32("net.ipv6.conf.all.forwarding") != Some(0) {
        return;
    }
    let mut f = Finding::new(
        "DR013",
        &a.f.host,
        "an IPv6 virtual service uses LVS-NAT but net.ipv6.conf.all.forwarding is 0: the real servers' replies are not forwarded back to clients",
    )
    .evidence("net.ipv6.conf.all.forwarding = 0");
    for (s, d) in &masq {
        f = f.evidence(format!("{s} -> {d} Masq"));
    }
    out.push(f.fix_command("sysctl -w net.ipv6.conf.all.forwarding=1").fix_text("set it now and in /etc/sysctl.d (note: IPv6 forwarding=1 also stops the director from accepting router advertisements unless accept_ra=2)"));
}

#[cfg(test)]
mod tests {
    #[test]
    fn ipv6_masq_services_from_proc() {
        let t = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 rr\n  -> C0A81547:0050      Masq    1      0          0\nTCP  [2001:0db8:0000:0000:0000:0000:0000:0020]:0050 rr\n  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0050      Masq    1      0          0\n  -> [2001:0db8:0000:0000:0000:0000:0000:0012]:0050      Route   1      0          0\n";
        let v = super::ipv6_masq(t);
        assert_eq!(v.len(), 1);
        assert!(v[0].0.starts_with("TCP [2001:0db8") && v[0].1.contains(":0011]"));

        // The finding needs both: an IPv6 Masq service and IPv6 forwarding off.
        let run = |fwd: &str| {
            let mut f = crate::audit::facts::HostFacts {
                ip_vs: Some(t.into()),
                ..Default::default()
            };
            f.sysctl
                .insert("net.ipv6.conf.all.forwarding".into(), fwd.into());
            let tg = crate::audit::Target::default();
            let mut out = Vec::new();
            super::run(
                &crate::audit::Analysis::new(&f, &tg, crate::audit::Role::Director),
                &mut out,
            );
            out.iter().map(|x| x.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(run("0"), ["DR013"]);
        assert!(run("1").is_empty());
    }
}
