//! An air-gapped Debian real server (issue 15.1): no iptables-persistent or
//! netfilter-persistent installed (dpkg's file lists hidden in a private mount) and no
//! package repository reachable (the namespace has no route out). `--fix` must not try to
//! install anything: it persists our rules with lbdoctor-iptables.service, which survives
//! the reboot simulation (sysctls from the files, then the unit's own ExecStart, as systemd
//! would run it because `systemctl enable` linked it), and a second run plans nothing.

mod common;
use common::*;

const VIP: &str = "192.168.21.20";
const CIDR: &str = "192.168.21.0/26";

/// What systemd runs at boot for an enabled unit: its ExecStart, if multi-user.target wants it.
fn boot_unit(ns: &NetNs) -> String {
    let wants =
        ns.exec("readlink /etc/systemd/system/multi-user.target.wants/lbdoctor-iptables.service");
    assert!(
        wants.contains("lbdoctor-iptables.service"),
        "not enabled: {wants}"
    );
    let unit = ns.exec("cat /etc/systemd/system/lbdoctor-iptables.service");
    assert!(
        unit.contains("Before=network-pre.target shutdown.target"),
        "{unit}"
    );
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart in {unit}"))
        .to_string();
    ns.exec(&format!("{exec}; echo rc=$?"))
}

#[test]
fn airgapped_host_is_fixed_with_our_unit_survives_reboot_and_is_idempotent() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxa", 18);
    ns.exec("mount -t tmpfs lbd-nodpkg /var/lib/dpkg/info; rm -f /etc/iptables/rules.v4");
    // The strict reverse-path default the reboot below restores (as in audit_fix_netns.rs).
    ns.exec("printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf");
    // fail2ban's and docker's chains are live: they must not end up in our boot file.
    ns.exec("iptables -N f2b-sshd; iptables -A f2b-sshd -s 203.0.113.9/32 -j REJECT; iptables -A f2b-sshd -j RETURN; iptables -A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd");
    assert!(ns
        .exec("ip route get 151.101.2.132 2>&1")
        .contains("unreachable"));
    let c = Client::attach(&ns, "fxa");
    assert_eq!(c.curl(VIP), "000");

    let (_, v) = ns.audit_local(VIP, &["--fix", "--dry-run", "--deny-direct", CIDR]);
    let plan = v["plan"][0].to_string();
    assert!(!plan.contains("apt-get"), "{plan}");
    assert!(!plan.contains("\"package\""), "{plan}");

    let (code, v) = ns.audit_local(
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
    assert!(ids(&v, "findings").is_empty(), "after: {:#}", v["findings"]);
    assert_eq!(code, Some(0));
    let kinds: Vec<String> = v["plan"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect();
    for k in [
        "firewall-runtime",
        "firewall-persist",
        "firewall-boot-unit",
        "service-enable",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} not in {kinds:?}");
    }
    let rules = ns.exec("cat /etc/lbdoctor/iptables.rules");
    assert!(
        rules.contains("-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"),
        "{rules}"
    );
    assert!(
        rules.contains(&format!(
            "-A INPUT -s {CIDR} -p tcp -m tcp --dport 80 -j DROP"
        )),
        "{rules}"
    );
    assert!(!rules.contains("f2b"), "{rules}");
    assert!(ns
        .exec("ls /etc/iptables/rules.v4 2>&1")
        .contains("No such file"));
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl("192.168.21.18"), "000");

    let (_, v) = ns.audit_local(VIP, &["--fix", "--yes", "--deny-direct", CIDR]);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["plan"]
    );

    // Reboot: empty tables, the distribution's sysctl defaults, then the boot files.
    ns.exec("iptables -t nat -F; iptables -F; iptables -X; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1");
    assert_eq!(c.curl(VIP), "000");
    assert!(boot_unit(&ns).contains("rc=0"));
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl("192.168.21.18"), "000");
    let input = ns.exec("iptables -S INPUT");
    let pos = |s: &str| {
        input
            .lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("{s} not in {input}"))
    };
    assert!(
        pos("ESTABLISHED") < pos("-j DROP") && pos("--dport 22 -j ACCEPT") < pos("-j DROP"),
        "{input}"
    );
    // A restart of the unit adds nothing twice.
    let before = ns.exec("iptables-save | grep '^-A' | sort");
    assert!(boot_unit(&ns).contains("rc=0"));
    assert_eq!(ns.exec("iptables-save | grep '^-A' | sort"), before);
    let (code, v) = ns.audit_local(VIP, &["--deny-direct", CIDR]);
    assert!(
        ids(&v, "findings").is_empty(),
        "after reboot: {:#}",
        v["findings"]
    );
    assert_eq!(code, Some(0));
}

/// `--install-packages`: the plan carries apt's own simulation of the install, run on the
/// host (real apt, offline: `-s` reads only the local package lists), before anything is
/// applied; nothing is installed by a dry run.
#[test]
fn install_packages_shows_apts_simulation_in_the_plan() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxp", 22);
    ns.exec("mount -t tmpfs lbd-nodpkg /var/lib/dpkg/info; rm -f /etc/iptables/rules.v4");
    let (_, v) = ns.audit_local(VIP, &["--fix", "--dry-run", "--install-packages"]);
    let changes = v["plan"][0]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"));
    let pkg = changes
        .iter()
        .find(|c| c["kind"] == "package")
        .unwrap_or_else(|| panic!("no package change: {v:#}"));
    assert!(
        pkg["commands"]
            .to_string()
            .contains("--no-remove iptables-persistent"),
        "{pkg}"
    );
    let sim = pkg["diff"].as_str().unwrap();
    assert!(
        sim.starts_with("apt-get -s install iptables-persistent:"),
        "{sim}"
    );
    // apt's own words (this machine has the package, as its dpkg status says).
    assert!(sim.contains("iptables-persistent"), "{sim}");
    assert!(!sim.contains("Remv "), "{sim}");
    assert_eq!(v["applied"], false);
    let persist = changes
        .iter()
        .find(|c| c["kind"] == "firewall-persist")
        .unwrap();
    assert_eq!(persist["file"], "/etc/iptables/rules.v4");
}
