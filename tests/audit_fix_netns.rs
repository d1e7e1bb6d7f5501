//! audit and --fix against real network namespaces: real iptables, real sysctls, a private
//! /etc (overlay), the incident's broken app2 as the starting point.

mod common;
use common::*;

const VIP: &str = "192.168.21.20";

fn record(name: &str, facts: &std::path::Path) {
    if std::env::var_os("LBDOCTOR_RECORD").is_some() {
        let dst = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/audit")
            .join(name);
        std::fs::copy(facts, dst).unwrap();
    }
}

#[test]
fn app2_audit_fix_idempotent_backup_and_reboot() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app("t1", 12);
    // A rules file already there, so the fix must back it up.
    // The strict reverse-path default some distributions ship (RHEL's sysctl defaults).
    ns.exec("printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf");
    ns.exec("mkdir -p /etc/iptables && printf '*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n' > /etc/iptables/rules.v4");
    let c = Client::attach(&ns, "t1");
    assert_eq!(
        c.curl(VIP),
        "000",
        "broken app2 must not answer before the fix"
    );
    let facts = ns.dir.path().join("app2.json");
    let out = ns
        .lbdoctor()
        .args([
            "--format",
            "json",
            "audit",
            "--local",
            "--vip",
            VIP,
            "--save-facts",
        ])
        .arg(&facts)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let found = ids(&v, "findings");
    for id in ["RS001", "RS003", "RS004", "RS005"] {
        assert!(
            found.contains(&id.to_string()),
            "{id} missing from {found:?}"
        );
    }
    assert_eq!(v["hosts"][0]["role"], "real");
    assert_eq!(v["hosts"][0]["ok"], false);
    record("app2-lab.json", &facts);

    // Plan only.
    let out = ns
        .lbdoctor()
        .args([
            "--format",
            "json",
            "audit",
            "--local",
            "--vip",
            VIP,
            "--fix",
            "--dry-run",
            "--deny-direct",
            "192.168.21.0/26",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["applied"], false);
    let changes = v["plan"][0]["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"sysctl-runtime")
            && kinds.contains(&"sysctl-persist")
            && kinds.contains(&"firewall-runtime")
            && kinds.contains(&"firewall-persist"),
        "{kinds:?}"
    );
    let persist = changes
        .iter()
        .find(|c| c["kind"] == "firewall-persist")
        .unwrap();
    assert_eq!(persist["file"], "/etc/iptables/rules.v4");
    assert!(persist["diff"]
        .as_str()
        .unwrap()
        .contains("+-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"));
    assert!(
        ns.exec("iptables -t nat -S PREROUTING").lines().count() == 1,
        "dry run changed nothing"
    );

    // Without --yes and without a terminal, --fix refuses (exit 2) and changes nothing.
    let out = ns
        .lbdoctor()
        .args(["audit", "--local", "--vip", VIP, "--fix"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(ns.exec("iptables -t nat -S PREROUTING").lines().count() == 1);

    // Apply.
    let out = ns
        .lbdoctor()
        .args([
            "--format",
            "json",
            "audit",
            "--local",
            "--vip",
            VIP,
            "--fix",
            "--yes",
            "--rollback-timeout",
            "20",
            "--deny-direct",
            "192.168.21.0/26",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        v["applied"],
        true,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ids(&v, "findings").is_empty(), "after: {:?}", v["findings"]);
    assert!(ids(&v, "findings_before").contains(&"RS001".to_string()));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["hosts"][0]["ok"], true);
    let nat = ns.exec("iptables -t nat -S PREROUTING");
    assert!(
        nat.contains("-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"),
        "{nat}"
    );
    let input = ns.exec("iptables -S INPUT");
    let pos = |s: &str| {
        input
            .lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("{s} not in {input}"))
    };
    assert!(
        pos("ESTABLISHED") < pos("-j DROP")
            && pos("--dport 22 -j ACCEPT") < pos("-j DROP")
            && pos("ctorigdst") < pos("-j DROP")
    );
    let sysctl_file = ns.exec("cat /etc/sysctl.d/90-lbdoctor-lvs-dr.conf");
    assert!(
        sysctl_file.contains("net.ipv4.conf.all.arp_ignore = 1"),
        "{sysctl_file}"
    );
    assert!(
        sysctl_file.contains("net.ipv4.conf.ens4.rp_filter = 0"),
        "{sysctl_file}"
    );
    let backups = ns.exec("ls /etc/iptables/");
    assert!(
        backups.contains("rules.v4.lbdoctor-"),
        "backup of rules.v4: {backups}"
    );
    // Real traffic from a client at 192.168.21.50 that sends to the VIP with app2's MAC as
    // destination, exactly what an LVS-DR director does: answered. Direct HTTP from the
    // denied CIDR: dropped. SSH port from the same client: not dropped (RST, no sshd there).
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl("192.168.21.12"), "000");
    assert!(c
        .exec("timeout 3 bash -c 'echo > /dev/tcp/192.168.21.12/22' 2>&1")
        .contains("refused"));

    // Second run: nothing to do.
    let out = ns
        .lbdoctor()
        .args([
            "--format",
            "json",
            "audit",
            "--local",
            "--vip",
            VIP,
            "--fix",
            "--yes",
            "--deny-direct",
            "192.168.21.0/26",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:?}",
        v["plan"]
    );
    assert_eq!(v["applied"], false);
    assert_eq!(out.status.code(), Some(0));

    // Simulated reboot: runtime back to the broken defaults, then the boot files as the
    // distribution applies them.
    ns.exec("iptables -t nat -F; iptables -F; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1; iptables-restore < /etc/iptables/rules.v4");
    let out = ns
        .lbdoctor()
        .args([
            "--format",
            "json",
            "audit",
            "--local",
            "--vip",
            VIP,
            "--deny-direct",
            "192.168.21.0/26",
            "--save-facts",
        ])
        .arg(ns.dir.path().join("healthy.json"))
        .output()
        .unwrap();
    let v = json(&out);
    assert!(
        ids(&v, "findings").is_empty(),
        "after reboot: {:?}",
        v["findings"]
    );
    record("healthy-lab.json", &ns.dir.path().join("healthy.json"));
}

#[test]
fn rollback_guard_restores_rules_when_no_fresh_session_confirms() {
    if !can_use_netns() {
        return;
    }
    use lbdoctor::audit::{self, Role, Target};
    use lbdoctor::remote::Transport;
    let ns = NetNs::app("t2", 13);
    let mut t = ns.transport();
    let before = ns.exec("iptables-save -t filter | grep -v '^#'");
    let facts = audit::facts::gather(&mut t, None).unwrap();
    let target = Target {
        vip: Some(VIP.parse().unwrap()),
        port: 80,
        deny_direct: Some("192.168.21.0/26".parse().unwrap()),
        ..Default::default()
    };
    let a = audit::Analysis::new(&facts, &target, Role::Real);
    let mut plan = lbdoctor::fix::plan(&a);
    assert!(plan.has_firewall_runtime());
    // The firewall guard alone (the sysctl guard comes first and would stop the apply:
    // tests/audit_fix_guard.rs).
    plan.changes.retain(|c| c.kind.starts_with("firewall"));
    let mut fresh = || -> anyhow::Result<Box<dyn Transport>> {
        anyhow::bail!("simulated: cannot open a new SSH session")
    };
    let out = lbdoctor::fix::apply::apply(&mut t, &plan, 2, &mut fresh).unwrap();
    assert!(
        out.rolled_back
            .as_deref()
            .unwrap_or("")
            .contains("cannot open a new SSH session"),
        "{out:?}"
    );
    // The new rules are live right now...
    assert!(ns.exec("iptables -S INPUT").contains("-j DROP"));
    // ...and gone once the guard fires; the rules file was not written.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let after = ns.exec("iptables-save -t filter | grep -v '^#'");
    let strip = |s: &str| {
        s.lines()
            .map(|l| {
                if l.starts_with(':') {
                    l.split('[').next().unwrap().to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&after), strip(&before));
    assert!(!ns
        .exec("cat /etc/iptables/rules.v4 2>/dev/null")
        .contains("DROP"));
}

#[test]
fn app1_runtime_only_settings_are_lost_at_reboot() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app("t3", 11);
    ns.exec("printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf");
    // What the incident's operator typed on app1, never persisted.
    ns.exec("iptables -t nat -A PREROUTING -d 192.168.21.20 -j REDIRECT; sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.ens3.rp_filter=0 net.ipv4.conf.ens4.rp_filter=0");
    let facts = ns.dir.path().join("app1.json");
    let out = ns
        .lbdoctor()
        .args([
            "--format",
            "json",
            "audit",
            "--local",
            "--vip",
            VIP,
            "--save-facts",
        ])
        .arg(&facts)
        .output()
        .unwrap();
    let v = json(&out);
    let found = ids(&v, "findings");
    assert!(
        found.contains(&"RS007".to_string()) && found.contains(&"RS008".to_string()),
        "{found:?}"
    );
    for id in ["RS001", "RS003", "RS004", "RS005"] {
        assert!(
            !found.contains(&id.to_string()),
            "{id} must not fire on app1: {found:?}"
        );
    }
    record("app1-lab.json", &facts);
    // --fix persists without touching the runtime.
    let out = ns
        .lbdoctor()
        .args([
            "--format", "json", "audit", "--local", "--vip", VIP, "--fix", "--yes",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    let kinds: Vec<String> = v["plan"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !kinds.contains(&"sysctl-runtime".to_string())
            && !kinds.contains(&"firewall-runtime".to_string()),
        "{kinds:?}"
    );
    assert!(ids(&v, "findings").is_empty(), "{:?}", v["findings"]);
    let rules = ns.exec("cat /etc/iptables/rules.v4");
    assert_eq!(
        rules.matches("-j REDIRECT").count(),
        1,
        "no duplicate: {rules}"
    );
}

/// A RHEL-layout real server: /etc/os-release says RHEL, iptables-services' files are in /etc
/// (no rpm here: its /etc/sysconfig/iptables-config stands for the package), dpkg's database is
/// hidden, and RHEL's default /etc/sysconfig/iptables (REJECT all but SSH) is loaded, as the
/// enabled iptables.service does at boot. Not a real RHEL host: the layout and the boot step
/// (`iptables-restore < /etc/sysconfig/iptables`, what iptables.init runs) are.
#[test]
fn rhel_iptables_services_layout_fix_persists_and_survives_reboot() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app("rh1", 14);
    ns.exec(
        "set -e
         mount -t tmpfs lbd-nodpkg /var/lib/dpkg/info
         rm -f /etc/os-release
         printf 'NAME=\"Red Hat Enterprise Linux\"\\nVERSION_ID=\"9.4\"\\nID=\"rhel\"\\nID_LIKE=\"fedora\"\\n' > /etc/os-release
         printf 'net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.default.rp_filter = 1\n' > /etc/sysctl.d/10-distro-strict.conf
         mkdir -p /etc/sysconfig /etc/systemd/system/basic.target.wants
         printf 'IPTABLES_SAVE_ON_STOP=\"no\"\\nIPTABLES_SAVE_ON_RESTART=\"no\"\\n' > /etc/sysconfig/iptables-config
         ln -sf /usr/lib/systemd/system/iptables.service /etc/systemd/system/basic.target.wants/iptables.service
         cat > /etc/sysconfig/iptables <<'RULES'
# sample configuration for iptables service
# you can edit this manually or use system-config-firewall
# please do not ask us to add additional ports/services to this default configuration
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
RULES
         iptables-restore < /etc/sysconfig/iptables",
    );
    let c = Client::attach(&ns, "rh1");
    assert_eq!(c.curl(VIP), "000");
    let audit = |extra: &[&str]| ns.audit_local(VIP, extra);
    let (_, v) = audit(&[]);
    let found = ids(&v, "findings");
    assert!(found.contains(&"RS001".to_string()), "{found:?}");
    let rs013 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RS013")
        .unwrap_or_else(|| panic!("RS013 missing: {found:?}"));
    assert!(rs013["message"]
        .as_str()
        .unwrap()
        .starts_with("after a reboot, the rules restored from /etc/sysconfig/iptables drop"));
    assert!(rs013["evidence"][0]
        .as_str()
        .unwrap()
        .contains("-A INPUT -j REJECT --reject-with icmp-host-prohibited"));

    let (code, v) = audit(&["--fix", "--yes", "--rollback-timeout", "20"]);
    assert_eq!(v["applied"], true, "{v:#}");
    let persist = v["plan"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "firewall-persist")
        .unwrap_or_else(|| panic!("{:#}", v["plan"]));
    assert_eq!(persist["file"], "/etc/sysconfig/iptables");
    let diff = persist["diff"].as_str().unwrap();
    assert!(
        diff.contains("+-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"),
        "{diff}"
    );
    // RHEL's REJECT would drop the redirected VIP traffic: an accept for it goes first.
    assert!(
        diff.contains(
            "+-A INPUT -p tcp -m conntrack --ctorigdst 192.168.21.20 -m tcp --dport 80 -j ACCEPT"
        ),
        "{diff}"
    );
    assert!(ids(&v, "findings").is_empty(), "after: {:#}", v["findings"]);
    assert_eq!(code, Some(0));
    assert!(ns.exec("ls /etc/sysconfig/").contains("iptables.lbdoctor-"));
    assert_eq!(c.curl(VIP), "200");
    // SSH and the rest of RHEL's policy are kept: direct HTTP to the real IP is still rejected.
    assert_eq!(c.curl("192.168.21.14"), "000");

    let (_, v) = audit(&["--fix", "--yes"]);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["plan"]
    );

    // Reboot as RHEL does it: sysctls from the files, then iptables.service restores its file.
    ns.exec("iptables -t nat -F; iptables -F; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1; iptables-restore < /etc/sysconfig/iptables");
    assert_eq!(c.curl(VIP), "200");
    let (_, v) = audit(&[]);
    assert!(
        ids(&v, "findings").is_empty(),
        "after reboot: {:#}",
        v["findings"]
    );
}
