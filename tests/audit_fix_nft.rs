//! audit --fix on an nftables-only real server: the incident's broken app2 in a network
//! namespace with a private /etc (overlay) whose iptables alternatives are removed (so
//! `command -v iptables-save` fails, as on a host without iptables), real nft, a real sshd in
//! the namespace and lbdoctor connecting from a client namespace over SSH.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VIP: &str = "192.168.21.20";
const CIDR: &str = "192.168.21.0/26";

/// app2 without iptables: the overlay hides the alternatives the iptables commands point to.
fn nft_only_app(tag: &str) -> NetNs {
    let ns = NetNs::app(tag, 12);
    // The strict reverse-path default some distributions ship, so a reboot sets it to 1.
    ns.exec("printf 'net.ipv4.conf.all.rp_filter = 1\\nnet.ipv4.conf.default.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf");
    ns.exec("rm -f /etc/alternatives/iptables* /etc/alternatives/ip6tables*");
    assert!(
        ns.exec("export PATH=/usr/sbin:/usr/bin:/sbin:/bin; command -v iptables-save || command -v iptables || echo absent")
            .trim()
            == "absent",
        "iptables must be absent in the namespace"
    );
    assert!(ns.exec("nft --version").contains("nftables"));
    // The rollback guard's state dir must be this host's own (NetNs overlays only /etc).
    ns.exec("mkdir -p /var/lib/lbdoctor && mount -t tmpfs tmpfs /var/lib/lbdoctor");
    // An admin's own table the fix must leave alone.
    ns.exec("nft add table inet admin; nft add chain inet admin input '{ type filter hook input priority 10; policy accept; }'; nft add rule inet admin input tcp dport 9999 counter accept");
    ns
}

/// lbdoctor run in the client's namespace against the sshd in the app namespace.
fn lbdoctor_over_ssh(c: &Client, s: &Sshd, extra: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", &c.name])
        .arg(env!("CARGO_BIN_EXE_lbdoctor"))
        .args([
            "--format", "json", "audit", "--host", "target", "--vip", VIP,
        ])
        .arg("--ssh-config")
        .arg(s.path("ssh_config"))
        .arg("--known-hosts")
        .arg(s.path("known_hosts"))
        .arg("--identity")
        .arg(s.path("id_ed25519"))
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn admin_table(ns: &NetNs) -> String {
    ns.exec("nft list table inet admin")
}

#[test]
fn nft_only_app2_fix_over_ssh_idempotent_deny_direct_and_reboot() {
    if !can_use_netns() || !can_run_sshd() {
        return;
    }
    let tag = "nf";
    let ns = nft_only_app(tag);
    let admin_before = admin_table(&ns);
    assert!(admin_before.contains("tcp dport 9999"), "{admin_before}");
    let client = Client::attach(&ns, tag);
    let mut wrapper = vec!["nsenter".to_string()];
    wrapper.extend(ns.prefix());
    let s = Sshd::start_with(Some(wrapper), "192.168.21.12", 2222);
    std::fs::write(s.path("known_hosts"), s.known_hosts_line()).unwrap();
    assert_eq!(client.curl(VIP), "000", "broken app2 must not answer");

    // Audit (waiting until the client namespace reaches sshd).
    let start = Instant::now();
    let out = loop {
        let out = lbdoctor_over_ssh(&client, &s, &[]);
        if !String::from_utf8_lossy(&out.stderr).contains("refused")
            || start.elapsed() > Duration::from_secs(10)
        {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = ids(&json(&out), "findings");
    for id in ["RS001", "RS003", "RS004", "RS005"] {
        assert!(found.contains(&id.to_string()), "{id} missing: {found:?}");
    }

    // Plan only.
    let out = lbdoctor_over_ssh(&client, &s, &["--fix", "--dry-run", "--deny-direct", CIDR]);
    let v = json(&out);
    assert_eq!(v["applied"], false);
    let changes = v["plan"][0]["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    for k in [
        "sysctl-runtime",
        "sysctl-persist",
        "nft-runtime",
        "nft-persist",
        "service-enable",
    ] {
        assert!(kinds.contains(&k), "{k} not in {kinds:?}");
    }
    assert!(!kinds.contains(&"firewall-runtime"), "{kinds:?}");
    let runtime = changes.iter().find(|c| c["kind"] == "nft-runtime").unwrap();
    assert!(runtime["commands"][0]
        .as_str()
        .unwrap()
        .contains("ip daddr 192.168.21.20 redirect"));
    let persist = changes.iter().find(|c| c["kind"] == "nft-persist").unwrap();
    assert_eq!(persist["file"], "/etc/nftables.conf");
    let diff = persist["diff"].as_str().unwrap();
    for want in [
        "+# BEGIN lbdoctor",
        "+\t\tip daddr 192.168.21.20 redirect",
        "+\t\ttcp dport 2222 accept",
        "+\t\tip saddr 192.168.21.0/26 ct original ip daddr 192.168.21.20 tcp dport 80 accept",
        "+\t\tip saddr 192.168.21.0/26 tcp dport 80 drop",
        "+# END lbdoctor",
    ] {
        assert!(diff.contains(want), "{want:?} not in\n{diff}");
    }
    // Debian's default file starts with `flush ruleset`: the plan says what enabling means.
    let notes = v["plan"][0]["notes"].to_string();
    assert!(notes.contains("flush ruleset"), "{notes}");
    assert!(
        ns.exec("nft list table ip lbdoctor 2>&1")
            .contains("No such"),
        "dry run changed nothing"
    );

    // Apply over SSH; the guard is confirmed by a fresh SSH session.
    let out = lbdoctor_over_ssh(
        &client,
        &s,
        &[
            "--fix",
            "--yes",
            "--rollback-timeout",
            "20",
            "--deny-direct",
            CIDR,
        ],
    );
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
    assert!(
        v["outcomes"][0]["applied"]
            .to_string()
            .contains("confirmed by a fresh session"),
        "{}",
        v["outcomes"]
    );
    assert!(v["outcomes"][0]["rolled_back"].is_null());
    let table = ns.exec("nft list table ip lbdoctor");
    assert!(table.contains("ip daddr 192.168.21.20 redirect"), "{table}");
    let pos = |s: &str| {
        table
            .lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("{s} not in {table}"))
    };
    assert!(
        pos("established") < pos("drop")
            && pos("tcp dport 2222 accept") < pos("drop")
            && pos("ct original ip daddr") < pos("drop")
    );
    assert_eq!(admin_table(&ns), admin_before, "other tables untouched");
    assert!(
        !ns.exec("ls /etc/systemd/system/sysinit.target.wants/")
            .is_empty()
            && ns
                .exec("ls /etc/systemd/system/sysinit.target.wants/")
                .contains("nftables.service"),
        "nftables.service enabled"
    );
    let conf = ns.exec("cat /etc/nftables.conf");
    assert!(
        conf.find("flush ruleset").unwrap() < conf.find("# BEGIN lbdoctor").unwrap(),
        "{conf}"
    );
    assert!(ns.exec("ls /etc/").contains("nftables.conf.lbdoctor-"));
    // Traffic: the VIP answers; direct HTTP from the denied CIDR is dropped; a fresh SSH
    // session from the same CIDR still gets in (the audit below connects anew).
    assert_eq!(client.curl(VIP), "200");
    assert_eq!(client.curl("192.168.21.12"), "000");
    let out = lbdoctor_over_ssh(&client, &s, &["--deny-direct", CIDR]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fresh SSH session after the fix: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Second run: nothing to do.
    let out = lbdoctor_over_ssh(&client, &s, &["--fix", "--yes", "--deny-direct", CIDR]);
    let v = json(&out);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:?}",
        v["plan"]
    );
    assert_eq!(out.status.code(), Some(0));
    let conf2 = ns.exec("cat /etc/nftables.conf");
    assert_eq!(conf2, conf);
    assert_eq!(conf2.matches("# BEGIN lbdoctor").count(), 1);

    // The directors' health checks: --allow-direct puts an accept before the drop (nft lists
    // the /32 as a bare address, and a rerun finds it unchanged).
    let allow = [
        "--fix",
        "--yes",
        "--rollback-timeout",
        "20",
        "--deny-direct",
        CIDR,
        "--allow-direct",
        "192.168.21.2",
    ];
    let out = lbdoctor_over_ssh(&client, &s, &allow);
    assert_eq!(
        json(&out)["applied"],
        true,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = ns.exec("nft list table ip lbdoctor");
    let at = |s: &str| {
        table
            .lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("{s} not in {table}"))
    };
    assert!(
        at("ip saddr 192.168.21.2 tcp dport 80 accept") < at("drop"),
        "{table}"
    );
    let v = json(&lbdoctor_over_ssh(&client, &s, &allow));
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:?}",
        v["plan"]
    );
    assert!(ids(&v, "findings").is_empty(), "{:?}", v["findings"]);

    // Simulated reboot: empty ruleset, broken sysctls, then what the boot does: sysctl
    // files, and nftables.service's `nft -f /etc/nftables.conf`.
    ns.exec("nft flush ruleset; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1");
    assert_eq!(client.curl(VIP), "000", "rebooted without the rules");
    let o = ns.exec("nft -f /etc/nftables.conf && echo loaded");
    assert!(o.contains("loaded"), "{o}");
    let out = lbdoctor_over_ssh(&client, &s, &["--deny-direct", CIDR]);
    let v = json(&out);
    assert!(
        ids(&v, "findings").is_empty(),
        "after reboot: {:?}",
        v["findings"]
    );
    assert_eq!(client.curl(VIP), "200");
    assert_eq!(client.curl("192.168.21.12"), "000");
    // Loading the file again (a service restart) does not duplicate our rules.
    ns.exec("nft -f /etc/nftables.conf");
    assert_eq!(
        ns.exec("nft list ruleset")
            .matches("ip daddr 192.168.21.20 redirect")
            .count(),
        1
    );
}

#[test]
fn nft_guard_rolls_back_only_our_table_and_settles_an_interrupted_run() {
    if !can_use_netns() {
        return;
    }
    use lbdoctor::audit::{self, Role, Target};
    use lbdoctor::remote::Transport;
    let ns = nft_only_app("ng");
    // An earlier version of our table (another VIP): the rollback must bring it back as is.
    ns.exec("nft -f - <<'EOF'\ntable ip lbdoctor {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 10.1.1.1 redirect\n\t}\n}\nEOF");
    let ours_before = ns.exec("nft list table ip lbdoctor");
    assert!(ours_before.contains("10.1.1.1"), "{ours_before}");
    let admin_before = admin_table(&ns);
    let conf_before = ns.exec("cat /etc/nftables.conf");
    let mut t = ns.transport();
    let target = Target {
        vip: Some(VIP.parse().unwrap()),
        port: 80,
        deny_direct: Some(CIDR.parse().unwrap()),
        ..Default::default()
    };
    let facts = audit::facts::gather(&mut t, None).unwrap();
    assert!(facts.iptables_save.is_none() && facts.nft_ruleset.is_some());
    let a = audit::Analysis::new(&facts, &target, Role::Real);
    let mut plan = lbdoctor::fix::plan(&a);
    assert!(plan.has_firewall_runtime(), "{plan:?}");
    // The firewall guard alone (the sysctl guard comes first and would stop the apply:
    // tests/audit_fix_guard.rs).
    plan.changes.retain(|c| c.kind.starts_with("nft"));
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
    // Live now (the earlier line kept, ours added)...
    let live = ns.exec("nft list table ip lbdoctor");
    assert!(
        live.contains("ip daddr 192.168.21.20 redirect") && live.contains("drop"),
        "{live}"
    );
    // ...and our table back to its previous state once the guard fires; the admin's table
    // was never touched and nftables.conf was not written.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(ns.exec("nft list table ip lbdoctor"), ours_before);
    assert_eq!(admin_table(&ns), admin_before);
    assert_eq!(ns.exec("cat /etc/nftables.conf"), conf_before);

    // Interrupted run: a long guard nobody confirms; the next run settles it at once.
    ns.exec("nft delete table ip lbdoctor");
    let facts = audit::facts::gather(&mut t, None).unwrap();
    let a = audit::Analysis::new(&facts, &target, Role::Real);
    let mut plan = lbdoctor::fix::plan(&a);
    plan.changes.retain(|c| c.kind.starts_with("nft"));
    let out = lbdoctor::fix::apply::apply(&mut t, &plan, 60, &mut fresh).unwrap();
    assert!(out.rolled_back.is_some());
    assert!(ns.exec("nft list table ip lbdoctor").contains("drop"));
    let settled = lbdoctor::fix::apply::settle_interrupted(&mut t).unwrap();
    assert_eq!(settled.len(), 1, "{settled:?}");
    // No table of ours before that run: none after settling.
    assert!(ns
        .exec("nft list table ip lbdoctor 2>&1")
        .contains("No such"));
    assert_eq!(admin_table(&ns), admin_before);

    // A load nft rejects: the guard puts our table back at once and leaves no pending cookie.
    ns.exec("nft -f - <<'EOF'\ntable ip lbdoctor {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 10.1.1.1 redirect\n\t}\n}\nEOF");
    let o = t
        .run(&lbdoctor::fix::nft::guarded_script(
            "badload",
            60,
            "table ip lbdoctor {}\ndelete table ip lbdoctor\ntable ip lbdoctor {\n\tchain input {\n\t\tno such statement\n\t}\n}\n",
        ))
        .unwrap();
    assert_eq!(o.status, 5, "{}", o.stderr_lossy());
    assert_eq!(ns.exec("nft list table ip lbdoctor"), ours_before);
    assert!(ns
        .exec("ls /var/lib/lbdoctor/")
        .contains("rollback-badload.pending.failed"));
    assert!(lbdoctor::fix::apply::settle_interrupted(&mut t)
        .unwrap()
        .is_empty());
    assert_eq!(admin_table(&ns), admin_before);
}

/// RHEL 8's stock /etc/sysconfig/nftables.conf, as the nftables package ships it.
const RHEL_STOCK: &str = r#"# Uncomment the include statement here to load the default config sample
# in /etc/nftables for nftables service.

#include "/etc/nftables/ipv4-filter.nft"
#include "/etc/nftables/ipv4-nat.nft"
#include "/etc/nftables/ipv6-filter.nft"
#include "/etc/nftables/ipv6-nat.nft"
#include "/etc/nftables/inet-filter.nft"

# To customize, either edit the samples in /etc/nftables, append further
# commands to the end of this file or overwrite it after first service
# start by calling: 'nft list ruleset >/etc/sysconfig/nftables.conf'.
"#;

#[test]
fn rhel_nft_only_fix_persists_in_sysconfig_nftables_conf_and_survives_reboot() {
    if !can_use_netns() {
        return;
    }
    let tag = "nr";
    let ns = nft_only_app(tag);
    // A RHEL layout: os-release, no dpkg database (no rpm either, as in a minimal image: the
    // package is known by the file it ships), the stock sysconfig file, no /etc/nftables.conf.
    std::fs::write(ns.dir.path().join("rhel-stock.conf"), RHEL_STOCK).unwrap();
    ns.exec(&format!(
        "set -e
         mount -t tmpfs lbd-nodpkg /var/lib/dpkg/info
         rm -f /etc/os-release /etc/nftables.conf /etc/sysconfig/iptables-config
         rm -f /etc/systemd/system/*.wants/nftables.service
         printf 'NAME=\"Red Hat Enterprise Linux\"\\nVERSION_ID=\"9.4\"\\nID=\"rhel\"\\nID_LIKE=\"fedora\"\\n' > /etc/os-release
         mkdir -p /etc/sysconfig
         cp {} /etc/sysconfig/nftables.conf",
        ns.dir.path().join("rhel-stock.conf").display()
    ));
    assert_eq!(ns.exec("command -v rpm || echo none").trim(), "none");
    assert_eq!(ns.exec("ls /var/lib/dpkg/info | wc -l").trim(), "0");
    assert_eq!(ns.exec("cat /etc/sysconfig/nftables.conf"), RHEL_STOCK);
    let c = Client::attach(&ns, tag);
    assert_eq!(c.curl(VIP), "000", "broken app2 must not answer");
    let audit = |extra: &[&str]| ns.audit_local(VIP, extra);
    let (code, v) = audit(&[]);
    assert_eq!(code, Some(1));
    assert!(ids(&v, "findings").contains(&"RS001".to_string()));

    let (code, v) = audit(&["--fix", "--yes", "--rollback-timeout", "20"]);
    assert_eq!(v["applied"], true, "{v:#}");
    let changes = v["plan"][0]["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    for k in ["nft-runtime", "nft-persist", "service-enable"] {
        assert!(kinds.contains(&k), "{k} not in {kinds:?}");
    }
    let persist = changes.iter().find(|c| c["kind"] == "nft-persist").unwrap();
    assert_eq!(persist["file"], "/etc/sysconfig/nftables.conf");
    let enable = changes
        .iter()
        .find(|c| c["kind"] == "service-enable")
        .unwrap();
    assert!(
        enable["description"]
            .as_str()
            .unwrap()
            .contains("/etc/sysconfig/nftables.conf"),
        "{enable}"
    );
    assert!(
        !v["plan"][0]["notes"].to_string().contains("include"),
        "{}",
        v["plan"][0]["notes"]
    );
    assert!(ids(&v, "findings").is_empty(), "after: {:#}", v["findings"]);
    assert_eq!(code, Some(0));
    // The block follows RHEL's stock comments and includes; /etc/nftables.conf never appears.
    let conf = ns.exec("cat /etc/sysconfig/nftables.conf");
    assert!(conf.starts_with(RHEL_STOCK), "{conf}");
    assert!(
        conf[RHEL_STOCK.len()..].starts_with("\n# BEGIN lbdoctor"),
        "{conf}"
    );
    assert!(
        conf.contains("\t\tip daddr 192.168.21.20 redirect\n"),
        "{conf}"
    );
    assert!(conf.ends_with("# END lbdoctor\n"), "{conf}");
    assert!(ns
        .exec("ls /etc/nftables.conf 2>&1")
        .contains("No such file"));
    assert!(ns
        .exec("ls /etc/sysconfig/")
        .contains("nftables.conf.lbdoctor-"));
    assert!(ns
        .exec("ls /etc/systemd/system/*.wants/")
        .contains("nftables.service"));
    assert_eq!(c.curl(VIP), "200");

    // Second run: nothing to do, the file unchanged.
    let (code, v) = audit(&["--fix", "--yes"]);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["plan"]
    );
    assert_eq!(code, Some(0));
    assert_eq!(ns.exec("cat /etc/sysconfig/nftables.conf"), conf);

    // Reboot as RHEL does it: sysctl files, then nftables.service's
    // `nft -f /etc/sysconfig/nftables.conf`.
    ns.exec("nft flush ruleset; sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0; sysctl -q --system >/dev/null 2>&1");
    assert_eq!(c.curl(VIP), "000", "rebooted without the rules");
    let o = ns.exec("nft -f /etc/sysconfig/nftables.conf && echo loaded");
    assert!(o.contains("loaded"), "{o}");
    assert_eq!(c.curl(VIP), "200");
    let (code, v) = audit(&[]);
    assert!(
        ids(&v, "findings").is_empty(),
        "after reboot: {:#}",
        v["findings"]
    );
    assert_eq!(code, Some(0));
}

/// A native nftables firewall (what Debian 12 / RHEL 9 admins write) that drops SSH from the
/// CIDR, in a real namespace: `audit --local` run inside it gathers `nft -j list ruleset`,
/// walks the input hook and reports the lockout (RS012), naming the rule.
#[test]
fn nft_ssh_drop_from_cidr_is_rs012_in_a_real_namespace() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app("nw", 12);
    ns.exec("nft -f - <<'EOF'\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct state established,related accept\n\t\tip saddr 192.168.21.0/26 tcp dport 22 drop\n\t}\n}\nEOF");
    assert!(ns.exec("nft list ruleset").contains("tcp dport 22 drop"));
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
            CIDR,
        ])
        .output()
        .unwrap();
    let v = json(&out);
    let found = ids(&v, "findings");
    assert!(found.iter().any(|i| i == "RS012"), "{found:?}\n{v}");
    let rs012 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RS012")
        .unwrap();
    let ev = rs012["evidence"][0].as_str().unwrap();
    assert!(
        ev.starts_with("nftables input hook on ens")
            && ev.ends_with("table inet filter chain input handle 3: ip saddr 192.168.21.0/26 tcp dport 22 drop"),
        "{ev}"
    );
    // Direct HTTP from the CIDR is not dropped by that ruleset: RS011, from the same walk.
    assert!(found.iter().any(|i| i == "RS011"), "{found:?}");
    // Accept SSH first (in its own chain) and the lockout is gone.
    ns.exec("nft insert rule inet filter input tcp dport 22 accept");
    let v = json(
        &ns.lbdoctor()
            .args([
                "--format",
                "json",
                "audit",
                "--local",
                "--vip",
                VIP,
                "--deny-direct",
                CIDR,
            ])
            .output()
            .unwrap(),
    );
    let found = ids(&v, "findings");
    assert!(!found.iter().any(|i| i == "RS012"), "{found:?}");
}
