//! The rollback guard under failure, in real network namespaces (prefix lbdfix-): the sysctl
//! changes are guarded like the firewall's, and a rollback whose restore cannot load leaves
//! the rules in place instead of an empty firewall.

mod common;
use common::*;
use lbdoctor::audit::{self, Role, Target};
use lbdoctor::remote::Transport;

const VIP: &str = "192.168.21.20";

fn target() -> Target {
    Target {
        vip: Some(VIP.parse().unwrap()),
        port: 80,
        deny_direct: Some("192.168.21.0/26".parse().unwrap()),
        ..Default::default()
    }
}

#[test]
fn unconfirmed_sysctl_change_is_rolled_back_and_nothing_else_is_applied() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxs", 15);
    let mut t = ns.transport();
    let sysctls = "sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce net.ipv4.conf.all.rp_filter net.ipv4.conf.ens3.rp_filter";
    let before = ns.exec(sysctls);
    assert_eq!(
        before.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "1", "1"]
    );
    let rules_before = ns.exec("iptables-save | grep '^-A' | sort");
    let facts = audit::facts::gather(&mut t, None).unwrap();
    let tg = target();
    let plan = lbdoctor::fix::plan(&audit::Analysis::new(&facts, &tg, Role::Real));
    assert!(
        plan.changes.iter().any(|c| c.kind == "sysctl-runtime"),
        "{plan:?}"
    );
    let mut fresh = || -> anyhow::Result<Box<dyn Transport>> {
        anyhow::bail!("simulated: the new ARP settings cut the path for new sessions")
    };
    let out = lbdoctor::fix::apply::apply(&mut t, &plan, 2, &mut fresh).unwrap();
    let why = out.rolled_back.as_deref().unwrap_or("");
    assert!(
        why.contains("sysctl change") && why.contains("cut the path"),
        "{out:?}"
    );
    // Applied now (the guard is pending)...
    assert_eq!(
        ns.exec("sysctl -n net.ipv4.conf.all.arp_ignore").trim(),
        "1"
    );
    // ...and nothing after it: no sysctl file, no firewall change.
    assert!(ns
        .exec("ls /etc/sysctl.d/")
        .lines()
        .all(|l| !l.contains("lbdoctor")));
    assert_eq!(ns.exec("iptables-save | grep '^-A' | sort"), rules_before);
    // The timer puts the old values back.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(ns.exec(sysctls), before);
}

#[test]
fn a_rollback_that_cannot_load_its_saved_rules_keeps_the_current_ones() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxr", 16);
    ns.exec("iptables -A INPUT -p tcp --dport 22 -j ACCEPT; iptables -P INPUT DROP");
    let mut t = ns.transport();
    let id = format!("fxr-{}", std::process::id());
    let cmds = vec!["iptables -t nat -A PREROUTING -d 192.168.21.20/32 -j REDIRECT".to_string()];
    let o = t
        .run(&lbdoctor::fix::apply::guarded_firewall_script(
            &id, 300, &cmds,
        ))
        .unwrap();
    assert_eq!(o.status, 0, "{}", o.stderr_lossy());
    // The saved rules no longer load (a module missing after an upgrade, a disk error...).
    let d = lbdoctor::fix::apply::GUARD_DIR;
    std::fs::write(
        format!("{d}/rollback-{id}.rules"),
        "*filter\n-A NOSUCHCHAIN -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let o = t
        .run(&format!("sh {d}/rollback-{id}.sh {d}/rollback-{id}.rules"))
        .unwrap();
    assert_ne!(o.status, 0);
    assert!(
        o.stderr_lossy().contains("do not load"),
        "{}",
        o.stderr_lossy()
    );
    // The host still has its rules and its DROP policy, not an open, empty firewall.
    let now = ns.exec("iptables -S INPUT; iptables -t nat -S PREROUTING");
    assert!(now.contains("-P INPUT DROP"), "{now}");
    assert!(now.contains("--dport 22 -j ACCEPT"), "{now}");
    assert!(now.contains("-j REDIRECT"), "{now}");
    let _ = t.run(&lbdoctor::fix::apply::confirm_script(&id));
}

#[test]
fn a_rollback_puts_back_a_table_that_did_not_exist() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxt", 17);
    let before = ns.exec("iptables-save | grep '^-A' | sort");
    let mut t = ns.transport();
    let id = format!("fxt-{}", std::process::id());
    let cmds = vec![
        "iptables -t nat -A PREROUTING -d 192.168.21.20/32 -j REDIRECT".to_string(),
        "iptables -I INPUT 1 -s 192.168.21.0/26 -p tcp -m tcp --dport 80 -j DROP".to_string(),
    ];
    let o = t
        .run(&lbdoctor::fix::apply::guarded_firewall_script(
            &id, 1, &cmds,
        ))
        .unwrap();
    assert_eq!(o.status, 0, "{}", o.stderr_lossy());
    assert!(ns.exec("iptables -t nat -S").contains("REDIRECT"));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(ns.exec("iptables-save | grep '^-A' | sort"), before);
}
