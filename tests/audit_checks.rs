//! Every RS/DR check over recorded fact snapshots (fixtures/audit/*.json, recorded from real
//! namespaces by tests/audit_fix_netns.rs with LBDOCTOR_RECORD=1), failing and passing.
//! Variants change one recorded fact to real command output of the bad state.

use lbdoctor::audit::{self, facts::HostFacts, Role, Target};

fn load(name: &str) -> HostFacts {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/audit")
        .join(name);
    HostFacts::load(&p).unwrap().remove(0)
}

fn target() -> Target {
    Target {
        vip: Some("192.168.21.20".parse().unwrap()),
        port: 80,
        ..Default::default()
    }
}

fn ids(f: &HostFacts, t: &Target, role: Role) -> Vec<String> {
    audit::audit(f, t, role).into_iter().map(|x| x.id).collect()
}

fn has(v: &[String], id: &str) -> bool {
    v.iter().any(|x| x == id)
}

#[test]
fn incident_app2_is_missing_everything() {
    let v = ids(&load("app2-lab.json"), &target(), Role::Real);
    for id in ["RS001", "RS003", "RS004", "RS005"] {
        assert!(has(&v, id), "{id} in {v:?}");
    }
    assert!(
        !has(&v, "RS007") && !has(&v, "RS008"),
        "nothing to lose at reboot: {v:?}"
    );
    let findings = audit::audit(&load("app2-lab.json"), &target(), Role::Real);
    let rs005: Vec<_> = findings
        .iter()
        .filter(|f| f.id == "RS005")
        .map(|f| f.message.clone())
        .collect();
    assert_eq!(rs005.len(), 1, "{rs005:?}");
    assert!(
        rs005[0].contains("1 on ens3, 1 on ens4"),
        "one finding names both NICs: {rs005:?}"
    );
}

#[test]
fn incident_app1_works_now_but_not_after_reboot() {
    let f = load("app1-lab.json");
    let findings = audit::audit(&f, &target(), Role::Real);
    let v: Vec<String> = findings.iter().map(|x| x.id.clone()).collect();
    for id in ["RS001", "RS003", "RS004", "RS005"] {
        assert!(!has(&v, id), "{id} must pass on app1: {v:?}");
    }
    assert!(has(&v, "RS007") && has(&v, "RS008"), "{v:?}");
    let rs007 = findings
        .iter()
        .find(|x| x.id == "RS007" && x.message.contains("rp_filter"))
        .unwrap();
    assert!(
        rs007
            .evidence
            .iter()
            .any(|e| e.contains("/etc/sysctl.d/10-distro-strict.conf:1")),
        "{:?}",
        rs007.evidence
    );
}

#[test]
fn repaired_host_is_clean_even_with_deny_direct() {
    let mut t = target();
    t.deny_direct = Some("192.168.21.0/26".parse().unwrap());
    let v = ids(&load("healthy-lab.json"), &t, Role::Real);
    assert!(v.is_empty(), "{v:?}");
    // And the fix planner agrees: nothing to do.
    let f = load("healthy-lab.json");
    let a = audit::Analysis::new(&f, &t, Role::Real);
    assert!(lbdoctor::fix::plan(&a).changes.is_empty());
}

#[test]
fn rs002_vip_on_a_nic_or_wide_prefix() {
    let mut f = load("healthy-lab.json");
    f.interfaces
        .iter_mut()
        .find(|i| i.name == "lo")
        .unwrap()
        .addrs
        .push(audit::facts::Addr {
            ip: "192.168.21.20".into(),
            prefix: 24,
        });
    assert!(has(&ids(&f, &target(), Role::Real), "RS002"));
    let mut f = load("healthy-lab.json");
    f.interfaces
        .iter_mut()
        .find(|i| i.name == "lo")
        .unwrap()
        .addrs
        .push(audit::facts::Addr {
            ip: "192.168.21.20".into(),
            prefix: 32,
        });
    let v = ids(&f, &target(), Role::Real);
    assert!(!has(&v, "RS002") && !has(&v, "RS001"), "{v:?}");
    let mut f = load("healthy-lab.json");
    f.interfaces
        .iter_mut()
        .find(|i| i.name == "ens3")
        .unwrap()
        .addrs
        .push(audit::facts::Addr {
            ip: "192.168.21.20".into(),
            prefix: 24,
        });
    assert!(has(&ids(&f, &target(), Role::Real), "RS002"));
}

#[test]
fn rs001_accepts_nft_redirect_and_vip_on_lo() {
    let mut f = load("app2-lab.json");
    f.nft_ruleset = Some("table ip nat {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 192.168.21.20 tcp dport 80 redirect\n\t}\n}\n".into());
    assert!(!has(&ids(&f, &target(), Role::Real), "RS001"));
}

#[test]
fn rs006_service_must_listen_where_packets_land() {
    let mut f = load("healthy-lab.json");
    assert!(!has(&ids(&f, &target(), Role::Real), "RS006"));
    for l in &mut f.listeners {
        if l.port == 80 {
            l.addr = "127.0.0.1".into();
        }
    }
    assert!(has(&ids(&f, &target(), Role::Real), "RS006"));
}

#[test]
fn rs009_persisted_but_not_loaded() {
    let mut f = load("healthy-lab.json");
    f.sysctl
        .insert("net.ipv4.conf.all.arp_ignore".into(), "0".into());
    let v = ids(&f, &target(), Role::Real);
    assert!(has(&v, "RS009") && has(&v, "RS003"), "{v:?}");
}

#[test]
fn rs010_colocated_director() {
    let mut f = load("healthy-lab.json");
    f.ip_vs_loaded = true;
    f.ip_vs = Some("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 rr \n  -> C0A8150C:0050      Route   1      0          0\n".into());
    assert!(has(&ids(&f, &target(), Role::Real), "RS010"));
}

#[test]
fn rs011_rs012_rs013_firewall_walks() {
    let mut t = target();
    t.deny_direct = Some("192.168.21.0/26".parse().unwrap());
    // app1 has no INPUT rules: direct HTTP open.
    assert!(has(&ids(&load("app1-lab.json"), &t, Role::Real), "RS011"));
    // The naive repair: DROP before any VIP accept also kills load-balanced traffic (RS013),
    // and a DROP policy without an SSH accept locks operators out (RS012).
    let mut f = load("app1-lab.json");
    let save = f.iptables_save.clone().unwrap();
    assert!(!save.contains("*filter"), "app1 had no filter rules");
    f.iptables_save = Some(save + "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 192.168.21.0/26 -p tcp -m tcp --dport 80 -j DROP\nCOMMIT\n");
    let v = ids(&f, &t, Role::Real);
    assert!(
        has(&v, "RS012") && has(&v, "RS013") && !has(&v, "RS011"),
        "{v:?}\n{}",
        f.iptables_save.unwrap()
    );
}

fn director() -> HostFacts {
    // A director: the recorded host, plus real /proc/net/ip_vs text and incident 3's mangle rules.
    let mut f = load("healthy-lab.json");
    f.ip_vs_loaded = true;
    f.ip_vs = Some("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 lc \n  -> C0A8150B:0050      Route   1      1          0\n  -> C0A8150D:0050      Route   1      0          12\n".into());
    f.ip_vs_conn_count = Some(13);
    f.keepalived_running = true;
    f.keepalived_test = Some((0, String::new()));
    f.sysctl
        .insert("net.ipv4.tcp_syncookies".into(), "1".into());
    f
}

#[test]
fn healthy_director_passes_every_dr_check() {
    let v = ids(&director(), &target(), Role::Director);
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn director_checks_fail_on_their_incidents() {
    let t = target();
    let mut f = director();
    f.ip_vs = Some(f.ip_vs.unwrap().replace("Route", "Masq"));
    f.sysctl.insert("net.ipv4.ip_forward".into(), "0".into());
    assert!(has(&ids(&f, &t, Role::Director), "DR001"));

    // Incident 3: marks without the rule/route, strict rp_filter, VIP still on the NIC.
    let mut f = director();
    f.iptables_save = Some("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.21.20/32 -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n".into());
    f.sysctl
        .insert("net.ipv4.conf.all.rp_filter".into(), "1".into());
    f.interfaces
        .iter_mut()
        .find(|i| i.name == "ens3")
        .unwrap()
        .addrs
        .push(audit::facts::Addr {
            ip: "192.168.21.20".into(),
            prefix: 24,
        });
    let v = ids(&f, &t, Role::Director);
    assert!(
        has(&v, "DR002") && has(&v, "DR003") && has(&v, "DR004"),
        "{v:?}"
    );
    f.rules.push("100:\tfrom all fwmark 0x1 lookup 100".into());
    f.routes
        .push("local default dev lo table 100 scope host".into());
    assert!(!has(&ids(&f, &t, Role::Director), "DR004"));
    let mut t2 = t.clone();
    t2.fwmarks = vec![2];
    assert!(has(&ids(&f, &t2, Role::Director), "DR004"));

    let mut f = director();
    f.ip_vs_conn_count = Some(2_000_000);
    f.mem_total_kb = 1_000_000;
    let v = ids(&f, &t, Role::Director);
    assert_eq!(v.iter().filter(|x| *x == "DR005").count(), 2, "{v:?}");

    let mut f = director();
    f.arch = "i686".into();
    f.sysctl
        .insert("net.ipv4.tcp_syncookies".into(), "0".into());
    f.keepalived_running = false;
    f.keepalived_test = Some((
        1,
        "Configuration file '/etc/keepalived/keepalived.conf' ... error".into(),
    ));
    let v = ids(&f, &t, Role::Director);
    for id in ["DR006", "DR007", "DR008", "DR009"] {
        assert!(has(&v, id), "{id} in {v:?}");
    }

    // ip_forward fixed by hand on a NAT director (runtime 1) but in no boot file: DR011, not
    // DR001; once a sysctl.d file carries it, neither.
    let mut f = director();
    f.ip_vs = Some(f.ip_vs.unwrap().replace("Route", "Masq"));
    f.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
    let v = ids(&f, &t, Role::Director);
    assert!(has(&v, "DR011") && !has(&v, "DR001"), "{v:?}");
    f.files.insert(
        "/etc/sysctl.d/90-lbdoctor-lvs-director.conf".into(),
        "net.ipv4.ip_forward = 1\n".into(),
    );
    assert!(!has(&ids(&f, &t, Role::Director), "DR011"));

    // Incident 4: the director lists its own address as a real server.
    let mut f = director();
    assert!(!has(&ids(&f, &t, Role::Director), "DR010"));
    f.ip_vs = Some(f.ip_vs.unwrap().replace("C0A8150D:0050", "C0A8150C:0050"));
    assert!(has(&ids(&f, &t, Role::Director), "DR010"));
}

#[test]
fn role_detection_and_vip_inference() {
    assert_eq!(audit::detect_role(&load("app2-lab.json")), Role::Real);
    assert_eq!(audit::detect_role(&director()), Role::Director);
    assert_eq!(
        audit::infer_vip(&load("app1-lab.json")),
        Some("192.168.21.20".parse().unwrap())
    );
    assert_eq!(audit::infer_vip(&load("app2-lab.json")), None);
}

#[test]
fn offline_audit_from_saved_facts_via_cli() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/app2-lab.json");
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "--format",
            "json",
            "audit",
            "--vip",
            "192.168.21.20",
            "--facts",
        ])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"][0]["host"], "app2");
    assert_eq!(v["hosts"][0]["ok"], false);
    // --fix --dry-run works offline too: the plan, nothing applied.
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "--format",
            "json",
            "audit",
            "--vip",
            "192.168.21.20",
            "--fix",
            "--dry-run",
            "--facts",
        ])
        .arg(&p)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["applied"], false);
    assert!(v["plan"][0]["changes"].as_array().unwrap().len() >= 3);
    // A bad facts file is a clear error, exit 2.
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["audit", "--facts", "Cargo.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cargo.toml: not a facts JSON file"));
}

fn load_all(name: &str) -> Vec<HostFacts> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/audit")
        .join(name);
    HostFacts::load(&p).unwrap()
}

/// Facts gathered over SSH from the lab cluster (tests/lab, scenario incident, then after
/// `audit --fix --deny-direct 192.168.21.0/26` and a simulated reboot of both app servers).
#[test]
fn lab_snapshots_over_ssh_tell_the_incident_story() {
    let incident = load_all("lab-incident-apps.json");
    assert_eq!(incident.len(), 2);
    let by_host = |h: &str| incident.iter().find(|f| f.host == h).unwrap();
    let app1 = ids(by_host("app1"), &target(), Role::Real);
    let mut sorted = app1.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["RS007", "RS008"],
        "app1: right now, lost at reboot"
    );
    let app2 = ids(by_host("app2"), &target(), Role::Real);
    let mut sorted = app2.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["RS001", "RS003", "RS004", "RS005"],
        "app2: missing everything"
    );
    // The lab distribution's strict default is what a reboot would bring back.
    let f = audit::audit(by_host("app1"), &target(), Role::Real);
    let rs007 = f.iter().find(|x| x.id == "RS007").unwrap();
    assert!(
        rs007
            .evidence
            .iter()
            .any(|e| e.contains("/usr/lib/sysctl.d/50-default.conf")),
        "{:?}",
        rs007.evidence
    );

    let mut t = target();
    t.deny_direct = Some("192.168.21.0/26".parse().unwrap());
    for f in load_all("lab-healthy-apps.json") {
        assert!(
            ids(&f, &t, Role::Real).is_empty(),
            "{}: {:?}",
            f.host,
            ids(&f, &t, Role::Real)
        );
        assert!(f.files["/etc/sysctl.d/90-lbdoctor-lvs-dr.conf"].contains("rp_filter = 0"));
    }
}

#[test]
fn lab_director_snapshot() {
    let lb1 = load_all("lab-lb1-director.json").remove(0);
    assert_eq!(audit::detect_role(&lb1), Role::Director);
    // The library alone: keepalived -t exits 6 on the lab's notify scripts without
    // script_security.
    let v = ids(&lb1, &target(), Role::Director);
    assert_eq!(v, ["DR009"], "{v:?}");
    // The command also lints the director's own keepalived.conf from the facts: the
    // incident's `lvs_sched rr` overridden by `lb_algo lc` shows up, located on the host.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/audit/lab-lb1-director.json");
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "--format",
            "json",
            "audit",
            "--vip",
            "192.168.21.20",
            "--facts",
        ])
        .arg(&p)
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["hosts"][0]["role"], "director");
    let lint = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("lint findings"))
        .expect("lint DR009");
    assert!(
        lint["evidence"].as_array().unwrap().iter().any(|e| e
            .as_str()
            .unwrap()
            .starts_with("LB001 lb1:/etc/keepalived/keepalived.conf:31")),
        "{lint}"
    );
}

#[test]
fn rs014_vip_on_lo_without_boot_configuration() {
    let mut f = load("healthy-lab.json");
    f.interfaces
        .iter_mut()
        .find(|i| i.name == "lo")
        .unwrap()
        .addrs
        .push(audit::facts::Addr {
            ip: "192.168.21.20".into(),
            prefix: 32,
        });
    let findings = audit::audit(&f, &target(), Role::Real);
    let rs014: Vec<_> = findings.iter().filter(|x| x.id == "RS014").collect();
    assert_eq!(rs014.len(), 1, "{findings:?}");
    assert!(rs014[0].message.contains("192.168.21.20/32 is on lo"));
    // A file that configures a different, longer address does not count...
    f.files.insert(
        "/etc/network/interfaces.d/vip".into(),
        "auto lo:0\niface lo:0 inet static\n    address 192.168.21.201/32\n".into(),
    );
    assert!(has(&ids(&f, &target(), Role::Real), "RS014"));
    // ...the VIP itself does.
    f.files.insert(
        "/etc/network/interfaces.d/vip".into(),
        "auto lo:0\niface lo:0 inet static\n    address 192.168.21.20/32\n".into(),
    );
    assert!(!has(&ids(&f, &target(), Role::Real), "RS014"));
}

#[test]
fn rs014_is_silent_when_the_vip_is_accepted_by_redirect() {
    let v = ids(&load("healthy-lab.json"), &target(), Role::Real);
    assert!(!has(&v, "RS014"), "{v:?}");
}

/// app2's recorded snapshot as an nftables-only host: no iptables, the ruleset from
/// fixtures/audit/nft/<name>.{nft,json} (real `nft list ruleset` / `nft -j list ruleset`
/// output from nft 1.0.6 in a namespace).
fn nft_host(name: &str) -> HostFacts {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/nft");
    let mut f = load("app2-lab.json");
    f.iptables_save = None;
    f.nft_ruleset = Some(std::fs::read_to_string(dir.join(format!("{name}.nft"))).unwrap());
    f.nft_json = Some(std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap());
    f
}

fn findings(f: &HostFacts, t: &Target, id: &str) -> Vec<lbdoctor::Finding> {
    audit::audit(f, t, Role::Real)
        .into_iter()
        .filter(|x| x.id == id)
        .collect()
}

#[test]
fn rs012_fires_on_an_nft_ssh_drop() {
    let f = nft_host("ssh_drop");
    let v = findings(&f, &target(), "RS012");
    assert_eq!(v.len(), 2, "ens3 and ens4: {v:?}");
    assert_eq!(
        v[0].evidence,
        ["nftables input hook on ens3: table inet filter chain input handle 2: tcp dport 22 drop"]
    );
    let fix = v[0].fix.as_ref().unwrap();
    assert_eq!(
        fix.commands,
        ["nft insert rule inet filter input tcp dport 22 accept"]
    );
}

#[test]
fn rs012_silent_when_nft_accepts_established_and_ssh_before_its_drop() {
    let f = nft_host("ssh_ok");
    let v = ids(&f, &target(), Role::Real);
    assert!(!has(&v, "RS012"), "{v:?}");
    // The same file's final `drop` does close direct HTTP: RS011 sees it too.
    let mut t = target();
    t.deny_direct = Some("192.168.21.0/26".parse().unwrap());
    assert!(!has(&ids(&f, &t, Role::Real), "RS011"));
    // ...while a ruleset that drops only SSH leaves it open, and says which chain decided.
    let v = findings(&nft_host("ssh_drop"), &t, "RS011");
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(
        v[0].evidence,
        ["nftables input hook for 192.168.21.1 -> 192.168.21.12:80 on ens3: policy accept of inet filter chain input"]
    );
}

#[test]
fn rs012_accept_in_one_table_then_drop_in_another_is_dropped() {
    // inet early (priority -10) accepts 22; ip late (priority 10) drops 192.168.21.0/26.
    let f = nft_host("priority");
    let mut t = target();
    t.deny_direct = Some("192.168.21.0/26".parse().unwrap());
    let v = findings(&f, &t, "RS012");
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(
        v[0].evidence[0].contains("table ip late chain input"),
        "{:?}",
        v[0].evidence
    );
    // Without --deny-direct the client is outside the CIDR: SSH stays open.
    assert!(!has(&ids(&f, &target(), Role::Real), "RS012"));
}

#[test]
fn rs013_fires_when_nft_input_drops_redirected_vip_traffic() {
    let f = nft_host("vip_drop");
    let all = ids(&f, &target(), Role::Real);
    assert!(!has(&all, "RS001"), "table ip lbdoctor redirects: {all:?}");
    let v = findings(&f, &target(), "RS013");
    assert_eq!(v.len(), 1, "{all:?}");
    assert_eq!(
        v[0].evidence,
        ["nftables input hook for a client -> 192.168.21.12:80 (original destination 192.168.21.20): policy drop of inet filter chain input"]
    );
    let fix = v[0].fix.as_ref().unwrap();
    assert!(
        fix.text.contains("nft insert rule inet filter input ct original ip daddr 192.168.21.20 tcp dport 80 accept"),
        "{}",
        fix.text
    );
    // SSH is accepted there: no lockout.
    assert!(!has(&all, "RS012"));
}

#[test]
fn rs013_silent_with_ct_original_daddr_accept_ahead() {
    let v = ids(&nft_host("vip_ok"), &target(), Role::Real);
    assert!(!has(&v, "RS013") && !has(&v, "RS001"), "{v:?}");
}

#[test]
fn rs012_iptables_nft_rules_are_reported_once() {
    // iptables-nft's `-A INPUT -p tcp --dport 22 -j DROP` shows in iptables-save and as nft's
    // table ip filter: the iptables walk reports it, the nft walk skips that table.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/nft");
    let mut f = nft_host("iptables-nft");
    f.iptables_save = Some(std::fs::read_to_string(dir.join("iptables-nft.rules")).unwrap());
    let v = findings(&f, &target(), "RS012");
    assert_eq!(v.len(), 2, "one per real IP: {v:?}");
    assert!(
        v.iter().all(|x| x.evidence[0].starts_with("INPUT on ")),
        "{v:?}"
    );
    // With the legacy backend the same nft table is someone else's: walked.
    f.iptables_save = Some(String::new());
    let v = findings(&f, &target(), "RS012");
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].evidence[0].starts_with("nftables input hook"));
}

#[test]
fn director_keepalived_and_ipvs_expiry_settings() {
    let t = target();
    let conf = "virtual_server 192.168.21.20 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  real_server 192.168.21.71 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n";
    let with = |conf: &str, sysctls: &[(&str, &str)], cmdlines: &[&str]| {
        let mut f = director();
        f.files
            .insert("/etc/keepalived/keepalived.conf".into(), conf.into());
        for (k, v) in sysctls {
            f.sysctl.insert(format!("net.ipv4.vs.{k}"), v.to_string());
        }
        f.keepalived_cmdlines = cmdlines.iter().map(|s| s.to_string()).collect();
        audit::audit(&f, &t, Role::Director)
    };
    // keepalived -P: VRRP only, the virtual_server is never applied (the old lab's mode).
    let v = with(conf, &[], &["/usr/sbin/keepalived --dont-fork -P"]);
    let dr014: Vec<_> = v.iter().filter(|x| x.id == "DR014").collect();
    assert_eq!(dr014.len(), 1, "{v:?}");
    assert_eq!(dr014[0].severity, lbdoctor::finding::Severity::Error);
    assert!(
        dr014[0].message.contains("no checker"),
        "{}",
        dr014[0].message
    );
    let v = with(conf, &[], &["/usr/sbin/keepalived --dont-fork"]);
    assert!(!v.iter().any(|x| x.id == "DR014"), "{v:?}");

    // expire_nodest_conn=0 while keepalived deletes failed servers: DR015 with the command.
    let v = with(conf, &[("expire_nodest_conn", "0")], &[]);
    let dr015: Vec<_> = v.iter().filter(|x| x.id == "DR015").collect();
    assert_eq!(dr015.len(), 1, "{v:?}");
    assert_eq!(
        dr015[0].fix.as_ref().unwrap().commands,
        vec!["sysctl -w net.ipv4.vs.expire_nodest_conn=1"]
    );
    assert!(!with(conf, &[("expire_nodest_conn", "1")], &[])
        .iter()
        .any(|x| x.id == "DR015"));
    // inhibit_on_failure quiesces instead of deleting: expire_nodest_conn does not matter,
    // but with persistence the templates keep clients on the failed server.
    let inhibit = conf
        .replace("  real_server", "  persistence_timeout 300\n  real_server")
        .replace("TCP_CHECK", "inhibit_on_failure\n    TCP_CHECK");
    let v = with(
        &inhibit,
        &[
            ("expire_nodest_conn", "0"),
            ("expire_quiescent_template", "0"),
        ],
        &[],
    );
    let dr015: Vec<_> = v.iter().filter(|x| x.id == "DR015").collect();
    assert_eq!(dr015.len(), 1, "{v:?}");
    assert!(
        dr015[0].message.contains("persistence template"),
        "{}",
        dr015[0].message
    );
    assert!(!with(&inhibit, &[("expire_quiescent_template", "1")], &[])
        .iter()
        .any(|x| x.id == "DR015"));
}

#[test]
fn rs024_deny_direct_over_the_directors_drops_their_health_checks_and_the_fix_spares_them() {
    let mut t = target();
    t.deny_direct = Some("192.168.21.0/26".parse().unwrap());
    t.allow_direct = vec!["192.168.21.2/32".parse().unwrap()];
    // An earlier --deny-direct without the directors: lb1 (192.168.21.2) cannot check app1.
    let mut f = load("app1-lab.json");
    let save = f.iptables_save.clone().unwrap();
    f.iptables_save = Some(save + "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -s 192.168.21.0/26 -p tcp -m conntrack --ctorigdst 192.168.21.20 -m tcp --dport 80 -j ACCEPT\n-A INPUT -s 192.168.21.0/26 -p tcp -m tcp --dport 80 -j DROP\nCOMMIT\n");
    let rs024 = findings(&f, &t, "RS024");
    assert!(!rs024.is_empty(), "{:?}", ids(&f, &t, Role::Real));
    assert!(
        rs024[0]
            .message
            .contains("192.168.21.2's direct connections"),
        "{}",
        rs024[0].message
    );
    assert!(
        rs024[0].evidence.iter().any(|e| e.contains("-j DROP")),
        "{:?}",
        rs024[0].evidence
    );
    // The walk for RS011 sends from a host the exemption does not cover: still closed.
    assert!(!has(&ids(&f, &t, Role::Real), "RS011"));
    // The fix puts the director's accept before the drop, in the rules a reboot restores too.
    let a = audit::Analysis::new(&f, &t, Role::Real);
    let plan = lbdoctor::fix::plan(&a);
    let boot = plan
        .changes
        .iter()
        .find_map(|c| c.content.as_ref().filter(|s| s.contains("*filter")))
        .expect("a rules file with the filter table");
    let accept = boot
        .find("-A INPUT -s 192.168.21.2/32 -p tcp -m tcp --dport 80 -j ACCEPT")
        .expect(boot);
    let drop = boot
        .find("-A INPUT -s 192.168.21.0/26 -p tcp -m tcp --dport 80 -j DROP")
        .unwrap();
    assert!(accept < drop, "{boot}");
    // Applied: neither RS024 nor RS011, and a rerun plans no firewall change.
    let mut fixed = f.clone();
    fixed.iptables_save = Some(boot.clone());
    let v = ids(&fixed, &t, Role::Real);
    assert!(!has(&v, "RS024") && !has(&v, "RS011"), "{v:?}");
    // Without the exemption nothing is reported: RS024 only tests named or audited directors.
    t.allow_direct.clear();
    assert!(findings(&f, &t, "RS024").is_empty());
}

#[test]
fn deny_direct_spares_the_directors_audited_in_the_same_run() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit");
    let run = |extra: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("lbdoctor")
            .unwrap()
            .args(["--format", "json", "audit", "--vip", "192.168.21.20"])
            .args(["--deny-direct", "192.168.21.0/26", "--fix", "--dry-run"])
            .args(extra)
            .arg("--facts")
            .arg(dir.join("lab-lb1-director.json"))
            .arg("--facts")
            .arg(dir.join("app2-lab.json"))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        v["plan"].to_string()
    };
    // lb1 is detected as the director (192.168.21.2; the VIP it holds is not a source).
    let plan = run(&[]);
    assert!(
        plan.contains("-s 192.168.21.2/32 -p tcp -m tcp --dport 80 -j ACCEPT"),
        "{plan}"
    );
    assert!(!plan.contains("-s 192.168.21.20/32"), "{plan}");
    // An operator's --allow-direct adds to it.
    let plan = run(&["--allow-direct", "192.168.21.3"]);
    assert!(
        plan.contains("-s 192.168.21.3/32 -p tcp -m tcp --dport 80 -j ACCEPT"),
        "{plan}"
    );
    // A bad address is a usage error naming it.
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "audit",
            "--deny-direct",
            "192.168.21.0/26",
            "--allow-direct",
            "lb1",
            "--facts",
        ])
        .arg(dir.join("app2-lab.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--allow-direct lb1: not an IPv4 address or CIDR"));
}

#[test]
fn dr009_tells_keepalived_t_warnings_from_a_config_that_does_not_start() {
    let t = target();
    let dr009 = |rc: i32, text: &str| {
        let mut f = director();
        f.keepalived_test = Some((rc, text.into()));
        audit::audit(&f, &t, Role::Director)
            .into_iter()
            .filter(|x| x.id == "DR009")
            .collect::<Vec<_>>()
    };
    // Real output of Debian 12's keepalived 2.2.7 on the lab's director (exit 5): it starts.
    let w = dr009(
        5,
        "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing",
    );
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].severity, lbdoctor::Severity::Warning);
    assert!(
        w[0].message.contains("keepalived starts with it") && !w[0].message.contains("rejects"),
        "{}",
        w[0].message
    );
    // A keyword missing its parameter: keepalived 2.2.7 exits 2 and does not start.
    let e = dr009(2, "(/tmp/k3.conf: Line 4) *** Configuration line starting `lvs_sync_daemon_interface` is missing a parameter after keyword `lvs_sync_daemon_interface` at word position 2");
    assert_eq!(e[0].severity, lbdoctor::Severity::Error);
    assert!(e[0].message.contains("would not start"), "{}", e[0].message);
    assert!(dr009(0, "").is_empty());
}

#[test]
fn dr016_failover_without_sync_or_sloppy_tcp() {
    let t = target();
    let dr016 = |conf: &str, sloppy: &str| {
        let mut f = director();
        f.files
            .insert("/etc/keepalived/keepalived.conf".into(), conf.into());
        f.sysctl
            .insert("net.ipv4.vs.sloppy_tcp".into(), sloppy.into());
        audit::audit(&f, &t, Role::Director)
            .into_iter()
            .filter(|x| x.id == "DR016")
            .count()
    };
    let pair = "vrrp_instance VI_1 {\n  state MASTER\n}\nvirtual_server 192.168.21.20 80 {\n  real_server 192.168.21.71 80 {\n  }\n}\n";
    assert_eq!(dr016(pair, "0"), 1);
    assert_eq!(dr016(pair, "1"), 0);
    // keepalived's sync daemon carries the entries over instead.
    let synced = format!("global_defs {{\n  lvs_sync_daemon ens3 VI_1\n}}\n{pair}");
    assert_eq!(dr016(&synced, "0"), 0);
    // A commented-out sync daemon does not count; a director without VRRP has no failover.
    let commented = format!("# lvs_sync_daemon ens3 VI_1\n{pair}");
    assert_eq!(dr016(&commented, "0"), 1);
    assert_eq!(dr016("virtual_server 192.168.21.20 80 {\n}\n", "0"), 0);
}

#[test]
fn dr009_reports_a_missing_keepalived_conf_that_keepalived_t_passes() {
    let t = target();
    let dr009 = |f: &HostFacts| {
        audit::audit(f, &t, Role::Director)
            .into_iter()
            .filter(|x| x.id == "DR009")
            .collect::<Vec<_>>()
    };
    // Facts as the gathering script prints them for a keepalived started with -f on a file
    // that has since gone: keepalived 2.2.7's `-t` exits 0 on it, so no keepalived-test.
    let f = lbdoctor::audit::facts::parse_output(
        "@@LBD@@ tools\nkeepalived\nkeepalived-running\nkeepalived-cmdline keepalived -D -f /etc/keepalived/lb.conf\nkeepalived-conf /etc/keepalived/lb.conf\nkeepalived-conf-missing\n@@LBD@@ end\n",
    );
    assert_eq!(
        f.keepalived_conf.as_deref(),
        Some("/etc/keepalived/lb.conf")
    );
    assert!(f.keepalived_conf_missing && f.keepalived_test.is_none());
    let mut d = director();
    d.keepalived_conf = f.keepalived_conf.clone();
    d.keepalived_conf_missing = true;
    d.keepalived_cmdlines = f.keepalived_cmdlines.clone();
    d.keepalived_test = None;
    let v = dr009(&d);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].severity, lbdoctor::Severity::Error);
    assert!(
        v[0].message
            .starts_with("/etc/keepalived/lb.conf does not exist")
            && v[0].message.contains("after a restart"),
        "{}",
        v[0].message
    );
    // Not running: keepalived would stop at start.
    d.keepalived_running = false;
    assert!(dr009(&d)[0].message.contains("Config files missing"));
    // Present, tested from the -f path: the message names that file.
    d.keepalived_conf_missing = false;
    d.keepalived_test = Some((2, "missing a parameter".into()));
    let v = dr009(&d);
    assert!(
        v[0].message.contains("rejects /etc/keepalived/lb.conf"),
        "{}",
        v[0].message
    );
}
