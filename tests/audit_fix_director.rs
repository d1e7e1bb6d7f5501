//! `audit --role director --fix` against a real network namespace: a director that routes
//! fwmarked DSR replies back through itself (mangle MARK, `ip rule fwmark`, a local route)
//! with strict rp_filter and SYN cookies off. Real iptables, sysctls and a private /etc.

mod common;
use common::*;
use serde_json::Value;

const VIP: &str = "192.168.21.20";

fn run(ns: &NetNs, extra: &[&str]) -> (Option<i32>, Value) {
    ns.audit_local(VIP, &[&["--role", "director"], extra].concat())
}

#[test]
fn director_sysctls_fixed_persisted_idempotent_and_kept_after_reboot() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app("dir1", 2);
    ns.exec(&format!(
        "iptables -t mangle -A PREROUTING -d {VIP}/32 -p tcp --dport 80 -j MARK --set-mark 1
         ip rule add fwmark 1 lookup 100; ip route add local 0.0.0.0/0 dev lo table 100
         sysctl -qw net.ipv4.tcp_syncookies=0
         printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf"
    ));

    let (_, before) = run(&ns, &[]);
    let found = ids(&before, "findings");
    for id in ["DR002", "DR007"] {
        assert!(found.contains(&id.to_string()), "{id} missing: {found:?}");
    }

    // Plan: runtime sysctls and our sysctl.d file, nothing else.
    let (_, dry) = run(&ns, &["--fix", "--dry-run"]);
    let changes = dry["plan"][0]["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["sysctl-runtime", "sysctl-persist"], "{dry:#}");
    assert_eq!(
        changes[1]["file"],
        "/etc/sysctl.d/90-lbdoctor-lvs-director.conf"
    );
    assert!(changes[1]["diff"]
        .as_str()
        .unwrap()
        .contains("+net.ipv4.conf.ens3.rp_filter = 0"));
    assert_eq!(
        ns.exec("sysctl -n net.ipv4.tcp_syncookies").trim(),
        "0",
        "a dry run changes nothing"
    );

    let (_, fixed) = run(&ns, &["--fix", "--yes"]);
    assert_eq!(fixed["applied"], true, "{fixed:#}");
    let after = ids(&fixed, "findings");
    for id in ["DR002", "DR007", "DR011"] {
        assert!(
            !after.contains(&id.to_string()),
            "{id} still there: {after:?}"
        );
    }
    assert_eq!(ns.exec("sysctl -n net.ipv4.tcp_syncookies").trim(), "1");
    assert_eq!(ns.exec("sysctl -n net.ipv4.conf.all.rp_filter").trim(), "0");
    assert_eq!(
        ns.exec("sysctl -n net.ipv4.conf.ens3.rp_filter").trim(),
        "0"
    );
    // What the fix does not touch is said, not done: the policy routing is left as it was.
    assert!(ns.exec("ip rule").contains("fwmark 0x1 lookup 100"));

    // Idempotent.
    let (_, again) = run(&ns, &["--fix", "--yes"]);
    assert_eq!(
        again["plan"][0]["changes"].as_array().map(|a| a.len()),
        Some(0),
        "{again:#}"
    );

    // Simulated reboot: runtime back to the distribution's strict defaults, then the sysctl
    // files as systemd-sysctl applies them. SYN cookies come back from the kernel default.
    ns.exec("sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.tcp_syncookies=1; sysctl -q --system >/dev/null 2>&1");
    assert_eq!(ns.exec("sysctl -n net.ipv4.conf.all.rp_filter").trim(), "0");
    assert_eq!(
        ns.exec("sysctl -n net.ipv4.conf.ens3.rp_filter").trim(),
        "0"
    );
    let (_, rebooted) = run(&ns, &[]);
    let left = ids(&rebooted, "findings");
    for id in ["DR002", "DR007", "DR011"] {
        assert!(
            !left.contains(&id.to_string()),
            "{id} after reboot: {left:?}"
        );
    }
}

/// Kills the keepalived a test started, also when the test panics.
struct Keepalived(String);
impl Drop for Keepalived {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "kill $(cat {0}/k.pid {0}/v.pid 2>/dev/null) 2>/dev/null",
                self.0
            ))
            .output();
    }
}

#[test]
fn dr009_tests_the_config_keepalived_runs_from_and_reports_it_gone() {
    if !can_use_netns() || !std::path::Path::new("/usr/sbin/keepalived").exists() {
        return;
    }
    let ns = NetNs::app("dir9", 2);
    let pids = tempfile::tempdir().unwrap();
    let p = pids.path().display().to_string();
    // Real keepalived 2.2.7, VRRP only (this kernel may have no IPVS), started with -f on a
    // file that is not the default, in getopt's combined form after an option with an argument. nopreempt with state MASTER: `keepalived -t` exits 5.
    ns.exec(&format!(
        "mkdir -p /etc/keepalived; rm -f /etc/keepalived/keepalived.conf
         printf 'vrrp_instance VI_1 {{\\n  state MASTER\\n  nopreempt\\n  interface ens3\\n  virtual_router_id 51\\n  priority 100\\n  virtual_ipaddress {{\\n    {VIP}\\n  }}\\n}}\\nvirtual_server {VIP} 80 {{\\n  lb_algo rr\\n  lb_kind DR\\n  protocol TCP\\n  real_server 192.168.21.71 80 {{\\n  }}\\n}}\\n' >/etc/keepalived/lb.conf
         keepalived -p {p}/k.pid -PDf /etc/keepalived/lb.conf -r {p}/v.pid"
    ));
    let _k = Keepalived(p.clone());
    let mut running = false;
    for _ in 0..50 {
        if ns
            .exec("pidof keepalived")
            .trim()
            .split(' ')
            .any(|x| !x.is_empty())
        {
            running = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(running, "keepalived did not start in the namespace");
    let dr009 = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "DR009")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, before) = run(&ns, &[]);
    let m = dr009(&before);
    assert!(
        m.iter()
            .any(|x| x.contains("reports problems in /etc/keepalived/lb.conf (exit 5)")),
        "{m:?}"
    );
    // The file goes away under the running keepalived: `keepalived -t` would exit 0.
    ns.exec("rm /etc/keepalived/lb.conf");
    let (_, gone) = run(&ns, &[]);
    let m = dr009(&gone);
    assert!(
        m.iter()
            .any(|x| x.starts_with("/etc/keepalived/lb.conf does not exist")
                && x.contains("will not start again")),
        "{m:?}"
    );
}
