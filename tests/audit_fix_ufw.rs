//! A real server with ufw enabled (issue 15.2): the real ufw 0.36.2 from Debian's package,
//! unpacked by scripts/install-deps.sh under /opt/lbdoctor-test/ufw (not installed: it would
//! replace this machine's firewall) and run here in a network namespace over a private /usr,
//! /etc and /run. ufw denies incoming but SSH, as `ufw allow 22/tcp; ufw enable` leaves it.
//! `--fix --deny-direct` must work through ufw (before.rules and a ufw rule), install and
//! remove nothing, survive ufw.service's own start at boot, and be idempotent.

mod common;
use common::*;

const VIP: &str = "192.168.21.20";
const CIDR: &str = "192.168.21.0/26";
const UFW_ROOT: &str = "/opt/lbdoctor-test/ufw";

fn ufw_host() -> Option<NetNs> {
    if !can_use_netns() {
        return None;
    }
    if !std::path::Path::new(UFW_ROOT).join("usr/sbin/ufw").exists() {
        eprintln!("SKIP: no unpacked ufw under {UFW_ROOT} (run scripts/install-deps.sh)");
        return None;
    }
    let ns = NetNs::app_with_prefix("lbdfix", "fxu", 19);
    // Debian 12 merges /lib into /usr/lib: ufw's /lib/ufw goes to the /usr overlay.
    let tree = ns.dir.path().join("ufwtree");
    let t = tree.display();
    sh(&format!(
        "set -e; mkdir -p {t}/usr; cp -a {UFW_ROOT}/usr/. {t}/usr/; cp -a {UFW_ROOT}/lib/. {t}/usr/lib/"
    ));
    // What ufw's postinst does (templates to /etc/ufw, mode 640), then enable it.
    let out = ns.exec(&format!(
        "set -e
         mount -t overlay lbd-ufw -o lowerdir={t}/usr:/usr /usr
         mount -t tmpfs lbd-run /run
         mount -t tmpfs lbd-nodpkg /var/lib/dpkg/info
         rm -f /etc/iptables/rules.v4
         printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf
         cp -a {UFW_ROOT}/etc/ufw /etc/; cp {UFW_ROOT}/etc/default/ufw /etc/default/ufw
         for f in before.rules after.rules user.rules before6.rules after6.rules user6.rules; do cp /usr/share/ufw/iptables/$f /etc/ufw/$f; chmod 640 /etc/ufw/$f; done
         cp /usr/share/ufw/ufw.conf /etc/ufw/
         ufw allow 22/tcp >/dev/null
         ufw --force enable
         ufw status"
    ));
    assert!(out.contains("Status: active"), "{out}");
    Some(ns)
}

/// Reboot: empty tables with ACCEPT policies, the sysctl defaults, then the boot steps in
/// their order: systemd-sysctl, then ufw.service's ExecStart.
fn reboot(ns: &NetNs) {
    let out = ns.exec("for t in filter nat; do iptables -t $t -F; iptables -t $t -X; done; iptables -P INPUT ACCEPT; iptables -P FORWARD ACCEPT; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1; /lib/ufw/ufw-init start quiet; echo rc=$?");
    assert!(out.contains("rc=0"), "{out}");
}

#[test]
fn ufw_host_is_fixed_through_ufw_survives_reboot_and_is_idempotent() {
    let Some(ns) = ufw_host() else { return };
    let c = Client::attach(&ns, "fxu");
    assert_eq!(c.curl(VIP), "000");

    let (_, v) = ns.audit_local(VIP, &["--deny-direct", CIDR]);
    let found = ids(&v, "findings");
    assert!(found.contains(&"RS001".to_string()), "{found:?}");

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
    let kinds: Vec<String> = v["plan"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect();
    for k in ["firewall-runtime", "ufw-persist", "ufw-rule"] {
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
    assert!(ns.exec("ufw status").contains("Status: active"));
    let before = ns.exec("cat /etc/ufw/before.rules");
    assert!(
        before.contains("-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"),
        "{before}"
    );
    assert!(ns
        .exec("cat /etc/ufw/user.rules")
        .contains("### tuple ### deny tcp 80 0.0.0.0/0 any 192.168.21.0/26 in"));
    assert!(
        ns.exec("ls /etc/ufw/").contains("before.rules.lbdoctor-"),
        "backup"
    );
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl("192.168.21.19"), "000");

    let (_, v) = ns.audit_local(VIP, &["--fix", "--yes", "--deny-direct", CIDR]);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["plan"]
    );

    reboot(&ns);
    assert_eq!(c.curl(VIP), "200");
    assert_eq!(c.curl("192.168.21.19"), "000");
    let (code, v) = ns.audit_local(VIP, &["--fix", "--yes", "--deny-direct", CIDR]);
    assert!(
        ids(&v, "findings").is_empty(),
        "after reboot: {:#}",
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
