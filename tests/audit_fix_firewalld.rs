//! A real server where firewalld runs (issue 15.2): the real firewalld 1.3.3 of Debian 12
//! (nftables backend), unpacked by scripts/install-deps.sh under /opt/lbdoctor-test/firewalld
//! with python3-firewall and python3-nftables (not installed: it would take over this
//! machine's firewall), run in a network namespace over a private /usr, /etc and /run, on a
//! private system bus of its own (no service activation, so no polkit: firewalld then
//! authorizes root by uid, as it does on a host without polkit). The public zone allows SSH
//! and HTTP. `--fix --deny-direct` must work through firewalld's direct rules, runtime and
//! permanent, survive a firewalld restart from nothing (the reboot), and be idempotent.

mod common;
use common::*;
use std::time::{Duration, Instant};

const VIP: &str = "192.168.21.20";
const CIDR: &str = "192.168.21.0/26";
const ROOT: &str = "/opt/lbdoctor-test/firewalld";

/// The namespace host with its bus and firewalld; both are killed (by pid) on drop.
struct FirewalldHost {
    ns: NetNs,
    pids: Vec<String>,
}

impl Drop for FirewalldHost {
    fn drop(&mut self) {
        for p in &self.pids {
            let _ = sh(&format!("kill {p} 2>/dev/null"));
        }
    }
}

impl FirewalldHost {
    fn start_firewalld(&mut self) {
        let pid = self
            .ns
            .exec("firewalld --nofork --nopid >/dev/null 2>&1 </dev/null & echo $!");
        self.pids.push(pid.trim().to_string());
        let start = Instant::now();
        while self.ns.exec("firewall-cmd --state 2>&1").trim() != "running" {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "firewalld did not start"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn stop_firewalld(&mut self) {
        if let Some(p) = self.pids.pop() {
            sh(&format!("kill {p}"));
            let start = Instant::now();
            while std::path::Path::new(&format!("/proc/{p}")).exists() {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "firewalld did not stop"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

const BUS: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#;

fn firewalld_host() -> Option<FirewalldHost> {
    if !can_use_netns() {
        return None;
    }
    if !std::path::Path::new(ROOT)
        .join("usr/sbin/firewalld")
        .exists()
    {
        eprintln!("SKIP: no unpacked firewalld under {ROOT} (run scripts/install-deps.sh)");
        return None;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxf", 21);
    let d = ns.dir.path().display().to_string();
    std::fs::write(ns.dir.path().join("bus.conf"), BUS).unwrap();
    let out = ns.exec(&format!(
        "set -e
         mount -t overlay lbd-fw -o lowerdir={ROOT}/usr:/usr /usr
         mount -t tmpfs lbd-run /run; mkdir -p /run/dbus
         mount -t tmpfs lbd-nodpkg /var/lib/dpkg/info
         rm -f /etc/iptables/rules.v4
         printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf
         cp -a {ROOT}/etc/firewalld /etc/
         dbus-daemon --config-file={d}/bus.conf --fork --print-pid"
    ));
    let bus = out.trim().to_string();
    assert!(bus.parse::<u32>().is_ok(), "dbus-daemon: {out}");
    let mut h = FirewalldHost {
        ns,
        pids: vec![bus],
    };
    h.start_firewalld();
    let out = h.ns.exec("firewall-cmd --permanent --add-service=http && firewall-cmd --reload && firewall-cmd --list-services");
    assert!(out.contains("http"), "{out}");
    Some(h)
}

/// The real server's own address on the client's segment (ens3).
const REAL: &str = "192.168.21.21";

#[test]
fn firewalld_host_is_fixed_through_direct_rules_survives_restart_and_is_idempotent() {
    let Some(mut h) = firewalld_host() else {
        return;
    };
    let c = Client::attach(&h.ns, "fxf");
    assert_eq!(c.curl(VIP), "000");
    assert_eq!(
        c.curl(REAL),
        "200",
        "the zone allows http, so direct access is open"
    );

    let (code, v) = h.ns.audit_local(
        VIP,
        &[
            "--fix",
            "--yes",
            "--rollback-timeout",
            "20",
            "--deny-direct",
            CIDR,
        ],
    );
    assert_eq!(v["applied"], true, "{v:#}");
    let kinds: Vec<String> = v["plan"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect();
    for k in ["firewall-runtime", "firewalld-permanent"] {
        assert!(kinds.iter().any(|x| x == k), "{k} not in {kinds:?}");
    }
    for k in [
        "package",
        "firewall-persist",
        "firewall-boot-unit",
        "service-enable",
    ] {
        assert!(!kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    assert!(ids(&v, "findings").is_empty(), "after: {:#}", v["findings"]);
    assert_eq!(code, Some(0));
    assert_eq!(h.ns.exec("firewall-cmd --state").trim(), "running");
    let xml = h.ns.exec("cat /etc/firewalld/direct.xml");
    assert!(xml.contains("-d 192.168.21.20/32 -j REDIRECT"), "{xml}");
    assert!(xml.contains("--dport 80 -j DROP"), "{xml}");
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl(REAL), "000");

    let (_, v) =
        h.ns.audit_local(VIP, &["--fix", "--yes", "--deny-direct", CIDR]);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:#}\n{}",
        v["plan"],
        h.ns.exec("iptables-save")
    );

    // Reboot: firewalld stops (removing its rules), everything else is flushed, the sysctl
    // files are applied, and firewalld starts from its permanent configuration.
    h.stop_firewalld();
    h.ns.exec("nft flush ruleset; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1");
    assert_eq!(c.curl(VIP), "000");
    h.start_firewalld();
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl(REAL), "000");
    let (code, v) =
        h.ns.audit_local(VIP, &["--fix", "--yes", "--deny-direct", CIDR]);
    assert!(
        ids(&v, "findings").is_empty(),
        "after restart: {:#}",
        v["findings"]
    );
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["plan"]
    );
    assert_eq!(code, Some(0));
}
