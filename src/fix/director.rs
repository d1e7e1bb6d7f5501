//! Repair plan for a director: the sysctls its services and routing need (ip_forward for
//! LVS-NAT, rp_filter where DSR replies are routed back through it, SYN cookies), set now and
//! persisted in a sysctl.d file of ours. Everything else a director audit finds changes
//! traffic or VRRP ownership (addresses, policy routing, keepalived itself, the IPVS table)
//! and is left to the operator, with the reason in the plan's notes.

use super::{sysctl_file_change_at, Change, HostPlan};
use crate::audit::checks::director_requirements;
use crate::audit::Analysis;

pub use crate::remedy::DIRECTOR_SYSCTL_FILE as SYSCTL_FILE;
use crate::remedy::DIRECTOR_SYSCTL_FILE_LATE as SYSCTL_FILE_LATE;

/// Director findings the fix does not touch, and why.
const NOT_REPAIRED: [(&str, &str); 8] = [
    ("DR003", "removing the VIP from a director NIC moves traffic and can fight keepalived, which owns the VIP: remove it from virtual_ipaddress or route differently, then re-audit"),
    ("DR004", "policy routing belongs in the network configuration that restores it at boot; add the missing `ip rule fwmark`/`ip route local 0/0 dev lo table T` there"),
    ("DR005", "a larger IPVS hash table needs the ip_vs module reloaded, which drops every connection: set `options ip_vs conn_tab_bits=N` in /etc/modprobe.d and reload in a maintenance window"),
    ("DR008", "starting keepalived makes this director take part in VRRP and may move the VIP: start it deliberately (systemctl start keepalived)"),
    ("DR009", "keepalived.conf needs an edit by its owner: see `lbdoctor lint` for the lines"),
    ("DR010", "the director listed as its own real server is a keepalived.conf edit: remove it or use a separate real server"),
    ("DR015", "net.ipv4.vs.* exists only once ip_vs is loaded, so persisting it needs ip_vs in /etc/modules-load.d as well; set it with the finding's command on both directors"),
    ("DR016", "sloppy TCP changes how the new master schedules orphan connections and the sync daemon is a keepalived.conf edit; choose one (see `lbdoctor explain DR016`) and apply it on both directors"),
];

pub fn plan(a: &Analysis, p: &mut HostPlan) {
    let reqs = director_requirements(a);
    let mut cmds: Vec<String> = Vec::new();
    let mut boot_keys: Vec<(String, u32)> = Vec::new();
    for r in &reqs {
        if !(r.ok)(r.runtime) {
            for k in &r.keys {
                let c = format!("sysctl -w {k}={}", r.want);
                if !cmds.contains(&c) {
                    cmds.push(c);
                }
            }
        }
        if !(r.ok)(r.boot) {
            for k in &r.keys {
                if !boot_keys.iter().any(|(x, _)| x == k) {
                    boot_keys.push((k.clone(), r.want));
                }
            }
        }
    }
    if !cmds.is_empty() {
        p.changes.push(Change {
            kind: "sysctl-runtime".into(),
            description: "set the director's sysctls now, under a rollback guard (the old values come back unless a fresh SSH session confirms)".into(),
            commands: cmds,
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
    if let Some(c) = sysctl_file_change_at(
        a,
        &boot_keys,
        [SYSCTL_FILE, SYSCTL_FILE_LATE],
        &[
            "# Written by lbdoctor audit --role director --fix: LVS director settings.",
            "# ip_forward for LVS-NAT, rp_filter where DSR replies come back, SYN cookies.",
        ],
    ) {
        p.changes.push(c);
    }
    let mut found = Vec::new();
    crate::audit::checks::run_director(a, &mut found);
    for (id, why) in NOT_REPAIRED {
        if found.iter().any(|f| f.id == id) {
            p.notes
                .push(format!("{id} is reported, not repaired: {why}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::facts::{Addr, HostFacts, Interface};
    use crate::audit::{Analysis, Role, Target};

    /// A director that routes fwmarked DSR replies back through itself, as in the incident
    /// where the director kept the VIP: strict rp_filter, SYN cookies off, nothing persisted.
    fn fwmark_director(boot: &str) -> HostFacts {
        let mut f = HostFacts {
            host: "lb1".into(),
            ..Default::default()
        };
        f.interfaces = vec![Interface {
            name: "eth0".into(),
            kind: "ether".into(),
            up: true,
            addrs: vec![Addr {
                ip: "192.168.21.2".into(),
                prefix: 24,
            }],
        }];
        for (k, v) in [
            ("net.ipv4.conf.all.rp_filter", "1"),
            ("net.ipv4.conf.eth0.rp_filter", "1"),
            ("net.ipv4.ip_forward", "0"),
            ("net.ipv4.tcp_syncookies", "0"),
        ] {
            f.sysctl.insert(k.into(), v.into());
        }
        f.iptables_save = Some(
            "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.21.20/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n".into(),
        );
        f.rules = vec!["100:\tfrom all fwmark 0x1 lookup 100".into()];
        f.files
            .insert("/etc/sysctl.d/50-site.conf".into(), boot.to_string());
        f
    }

    fn target() -> Target {
        Target {
            vip: Some("192.168.21.20".parse().unwrap()),
            port: 80,
            ..Default::default()
        }
    }

    #[test]
    fn fixes_rp_filter_and_syncookies_now_and_at_boot_then_plans_nothing() {
        let t = target();
        let f = fwmark_director("net.ipv4.conf.all.rp_filter = 1\n");
        let a = Analysis::new(&f, &t, Role::Director);
        let p = super::super::plan(&a);
        let kinds: Vec<&str> = p.changes.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["sysctl-runtime", "sysctl-persist"], "{:?}", p.notes);
        assert_eq!(
            p.changes[0].commands,
            [
                "sysctl -w net.ipv4.conf.all.rp_filter=0",
                "sysctl -w net.ipv4.conf.eth0.rp_filter=0",
                "sysctl -w net.ipv4.tcp_syncookies=1",
            ]
        );
        // Not NAT: ip_forward stays as it is.
        assert!(!p.changes[0]
            .commands
            .iter()
            .any(|c| c.contains("ip_forward")));
        let persist = &p.changes[1];
        assert_eq!(persist.file.as_deref(), Some(super::SYSCTL_FILE));
        let content = persist.content.clone().unwrap();
        for l in [
            "net.ipv4.conf.all.rp_filter = 0",
            "net.ipv4.conf.eth0.rp_filter = 0",
        ] {
            assert!(content.contains(l), "{content}");
        }
        // SYN cookies: the kernel default (1) already comes back at boot; set now only.
        assert!(!content.contains("tcp_syncookies ="), "{content}");
        // DR004 fires here (the rule's table has no local route): noted, not repaired.
        assert!(
            p.notes.iter().any(|n| n.starts_with("DR004 is reported")),
            "{:?}",
            p.notes
        );

        // The same host after the fix: runtime values set, our file in place. Nothing to do,
        // and no DR002/DR007/DR011 left.
        let mut fixed = f.clone();
        for (k, v) in [
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.eth0.rp_filter", "0"),
            ("net.ipv4.tcp_syncookies", "1"),
        ] {
            fixed.sysctl.insert(k.into(), v.into());
        }
        fixed.files.insert(super::SYSCTL_FILE.into(), content);
        let a = Analysis::new(&fixed, &t, Role::Director);
        assert!(super::super::plan(&a).changes.is_empty());
        let mut out = Vec::new();
        crate::audit::checks::run_director(&a, &mut out);
        assert!(
            !out.iter()
                .any(|x| ["DR002", "DR007", "DR011"].contains(&x.id.as_str())),
            "{out:?}"
        );
    }

    #[test]
    fn nat_director_gets_ip_forward_and_runtime_only_values_are_persisted() {
        let t = Target {
            method: Some("NAT".into()),
            ..target()
        };
        let mut f = fwmark_director("");
        f.iptables_save = None;
        f.rules.clear();
        // ip_forward fixed by hand during the incident: only the file is missing.
        f.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
        f.sysctl
            .insert("net.ipv4.tcp_syncookies".into(), "1".into());
        let a = Analysis::new(&f, &t, Role::Director);
        let mut out = Vec::new();
        crate::audit::checks::run_director(&a, &mut out);
        assert!(out.iter().any(|x| x.id == "DR011"), "{out:?}");
        let p = super::super::plan(&a);
        let kinds: Vec<&str> = p.changes.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["sysctl-persist"]);
        let content = p.changes[0].content.clone().unwrap();
        assert!(content.contains("net.ipv4.ip_forward = 1"));
        // rp_filter is left alone without fwmark routing.
        assert!(!content.contains("rp_filter ="), "{content}");
    }
}
