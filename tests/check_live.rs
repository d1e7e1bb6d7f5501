//! `lbdoctor check` against real network namespaces on one bridge (names `lbdchk-*`): a
//! director-like host holding the VIP, another client host without it, a real server with
//! the VIP setup (VIP on lo, arp_ignore=1, arp_announce=2), one without it (the incident's
//! app2: its real IP answers, the VIP path does not), one that holds the VIP but serves only on
//! its real IP (refused), and the error cases. Skips unless root with iproute2 and python3.

use serde_json::Value;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NETS: [&str; 6] = ["sw", "dir", "cli", "good", "bad", "refuse"];
const VIP: &str = "10.231.0.20";

struct Lab {
    servers: Vec<Child>,
    /// VLAN 21 interfaces could be made (the kernel has 802.1Q).
    vlan: bool,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.servers {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in NETS {
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("lbdchk-{n}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn sh(cmd: &str) {
    let st = Command::new("sh").args(["-ec", cmd]).status().unwrap();
    assert!(st.success(), "lab step failed: {cmd}");
}

fn can_run() -> bool {
    let ok = nix::unistd::geteuid().is_root()
        && Command::new("ip").arg("-V").output().is_ok()
        && Command::new("python3").arg("--version").output().is_ok();
    if !ok {
        eprintln!("SKIP: needs root, iproute2 and python3");
    }
    ok
}

/// (namespace, address, MAC suffix, serve on) for the hosts on the bridge.
fn lab() -> Lab {
    for n in NETS {
        let _ = Command::new("ip")
            .args(["netns", "del", &format!("lbdchk-{n}")])
            .stderr(Stdio::null())
            .status();
    }
    let mut lab = Lab {
        servers: Vec::new(),
        vlan: false,
    };
    for n in NETS {
        sh(&format!(
            "ip netns add lbdchk-{n}; ip -n lbdchk-{n} link set lo up"
        ));
    }
    sh("ip -n lbdchk-sw link add br0 type bridge && ip -n lbdchk-sw link set br0 up");
    for (i, (n, addr)) in [
        ("dir", "10.231.0.2"),
        ("cli", "10.231.0.50"),
        ("good", "10.231.0.11"),
        ("bad", "10.231.0.12"),
        ("refuse", "10.231.0.13"),
    ]
    .iter()
    .enumerate()
    {
        sh(&format!(
            "ip -n lbdchk-sw link add p{i} type veth peer name eth0 netns lbdchk-{n}
             ip -n lbdchk-sw link set p{i} master br0 up
             ip -n lbdchk-{n} link set eth0 address 02:00:00:e7:00:{:02x}
             ip -n lbdchk-{n} addr add {addr}/24 dev eth0
             ip -n lbdchk-{n} link set eth0 up",
            i + 1
        ));
    }
    // VLAN 21 between the client host and the good real server: check sends on eth0.21
    // (the interface that routes to 10.231.21.11), and the kernel tags the frames.
    // Kernels without 802.1Q support (no 8021q module) skip this part.
    lab.vlan = Command::new("ip")
        .args([
            "-n",
            "lbdchk-cli",
            "link",
            "add",
            "link",
            "eth0",
            "name",
            "eth0.21",
            "type",
            "vlan",
            "id",
            "21",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if lab.vlan {
        sh("ip -n lbdchk-good link add link eth0 name eth0.21 type vlan id 21");
        for (n, a) in [("cli", "10.231.21.50"), ("good", "10.231.21.11")] {
            sh(&format!(
                "ip -n lbdchk-{n} addr add {a}/24 dev eth0.21
                 ip -n lbdchk-{n} link set eth0.21 up"
            ));
        }
    }
    // The director holds the VIP, as the VRRP master does.
    sh(&format!("ip -n lbdchk-dir addr add {VIP}/32 dev eth0"));
    // DR real server set up right: the VIP on lo, and no ARP answers for it.
    for n in ["good", "refuse"] {
        sh(&format!(
            "ip -n lbdchk-{n} addr add {VIP}/32 dev lo
             ip netns exec lbdchk-{n} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"
        ));
    }
    for (n, bind) in [
        ("good", "0.0.0.0"),
        ("bad", "0.0.0.0"),
        // Holds the VIP but listens on its real IP only: the VIP path is refused.
        ("refuse", "10.231.0.13"),
    ] {
        lab.servers.push(
            Command::new("ip")
                .args(["netns", "exec", &format!("lbdchk-{n}")])
                .args(["python3", "-m", "http.server", "80", "--bind", bind])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    // Wait for every listener, from the client host.
    for ip in ["10.231.0.11", "10.231.0.12", "10.231.0.13"] {
        let start = Instant::now();
        loop {
            let ok = Command::new("ip")
                .args(["netns", "exec", "lbdchk-cli", "python3", "-c"])
                .arg(format!(
                    "import socket; socket.create_connection(('{ip}', 80), 0.5)"
                ))
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success();
            if ok {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{ip}:80 never listened"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    lab
}

fn check_in(ns: &str, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", &format!("lbdchk-{ns}")])
        .arg(assert_cmd::cargo::cargo_bin("lbdoctor"))
        .args(args)
        .output()
        .unwrap()
}

fn json_in(ns: &str, args: &[&str]) -> (Option<i32>, Value) {
    let mut a = vec!["--format", "json", "check"];
    a.extend_from_slice(args);
    let out = check_in(ns, &a);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{a:?} in {ns}: exit {:?}, stderr {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// Validates a `--format json` output against docs/report.schema.json.
fn assert_matches_report_schema(v: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let compiled = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    if let Err(errors) = compiled.validate(v) {
        let msgs: Vec<String> = errors
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        panic!("output does not match docs/report.schema.json: {msgs:?}");
    };
}

fn row<'a>(v: &'a Value, ip: &str) -> &'a Value {
    v["check"]["real_servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ip"] == ip)
        .unwrap_or_else(|| panic!("no row for {ip}: {v:#}"))
}

#[test]
fn check_finds_the_broken_vip_path_from_the_director_and_from_another_host() {
    if !can_run() {
        return;
    }
    let lab = lab();
    let target = format!("{VIP}:80");
    for ns in ["dir", "cli"] {
        let (code, v) = json_in(
            ns,
            &[
                &target,
                "--rs",
                "10.231.0.11",
                "--rs",
                "10.231.0.12",
                "--rs",
                "10.231.0.13",
            ],
        );
        assert_eq!(code, Some(1), "from {ns}: {v:#}");
        assert_matches_report_schema(&v);
        let good = row(&v, "10.231.0.11");
        assert_eq!(good["answered"], true, "from {ns}: {good:#}");
        assert_eq!(good["reply"], "syn-ack");
        assert_eq!(good["mac"], "02:00:00:e7:00:03");
        assert!(good["rtt_ms"].as_f64().unwrap() < 1000.0);
        // The incident's app2: the real IP answers, the VIP path does not.
        let bad = row(&v, "10.231.0.12");
        assert_eq!(
            (&bad["answered"], &bad["reply"]),
            (&Value::Bool(false), &"none".into()),
            "from {ns}: {bad:#}"
        );
        assert!(bad["rtt_ms"].is_null());
        assert_eq!(bad["real_ip"]["reply"], "syn-ack");
        let refused = row(&v, "10.231.0.13");
        assert_eq!(refused["reply"], "rst", "from {ns}: {refused:#}");
        assert_eq!(refused["real_ip"]["reply"], "syn-ack");
        let ids: Vec<(&str, &str)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].as_str().unwrap(), f["subject"].as_str().unwrap()))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("CK001", "real server 10.231.0.12 (02:00:00:e7:00:04)"),
                ("CK002", "real server 10.231.0.13 (02:00:00:e7:00:05)")
            ],
            "from {ns}"
        );
    }
    // Over the VLAN interface.
    if lab.vlan {
        let (code, v) = json_in("cli", &[&target, "--rs", "10.231.21.11"]);
        assert_eq!(code, Some(0), "{v:#}");
        assert_eq!(row(&v, "10.231.21.11")["interface"], "eth0.21");
        assert_eq!(row(&v, "10.231.21.11")["reply"], "syn-ack");
    } else {
        eprintln!("SKIP (part): this kernel cannot make VLAN interfaces (no 8021q)");
    }

    // --config: every real server of the VIP's DR virtual_server.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        format!("virtual_server {VIP} 80 {{\n    lvs_method DR\n    protocol TCP\n    real_server 10.231.0.11 80 {{\n        TCP_CHECK {{\n        }}\n    }}\n    real_server 10.231.0.12 80 {{\n        TCP_CHECK {{\n        }}\n    }}\n}}\n"),
    )
    .unwrap();
    let (code, v) = json_in("cli", &[VIP, "--config", conf.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["check"]["port"], 80);
    assert_eq!(row(&v, "10.231.0.11")["reply"], "syn-ack");
    assert_eq!(row(&v, "10.231.0.12")["reply"], "none");

    // The good server alone passes: exit 0.
    let (code, v) = json_in("cli", &[&target, "--rs", "10.231.0.11"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(v["findings"].as_array().unwrap().is_empty());

    // No half-open connection is left on the real server: our RST cleared SYN_RECV.
    let ss = Command::new("ip")
        .args([
            "netns",
            "exec",
            "lbdchk-good",
            "ss",
            "-Htn",
            "state",
            "syn-recv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ss.stdout).trim(),
        "",
        "half-open connections left"
    );

    // As keepalived runs a MISC_CHECK: no tty, empty environment, cwd /, -q. Silent, fast
    // for a good server, and the exit status is the verdict.
    let misc = |rs: &str| {
        let start = Instant::now();
        let out = Command::new("ip")
            .args(["netns", "exec", "lbdchk-dir", "env", "-i"])
            .arg(assert_cmd::cargo::cargo_bin("lbdoctor"))
            .args(["check", &target, "--rs", rs, "--timeout", "0.5", "-q"])
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out, start.elapsed())
    };
    let (out, took) = misc("10.231.0.11");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert!(
        took < Duration::from_millis(500),
        "a passing MISC_CHECK took {took:?}"
    );
    let (out, took) = misc("10.231.0.12");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert!(
        took < Duration::from_millis(1500),
        "a failing MISC_CHECK took {took:?}"
    );

    // keepalived's script_user is not root: the copy with the file capability passes as
    // nobody, the same copy without it cannot test (exit 2, which keepalived counts as down).
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("lbdoctor");
    std::fs::copy(assert_cmd::cargo::cargo_bin("lbdoctor"), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = || {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                "lbdchk-dir",
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "env",
                "-i",
            ])
            .arg(&bin)
            .args(["check", &target, "--rs", "10.231.0.11", "-q"])
            .current_dir("/")
            .output()
            .unwrap()
    };
    let out = as_nobody();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("setcap cap_net_raw+ep"));
    if Command::new("setcap")
        .arg("cap_net_raw+ep")
        .arg(&bin)
        .status()
        .is_ok_and(|s| s.success())
    {
        let out = as_nobody();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty() && out.stderr.is_empty());
    } else {
        eprintln!("SKIP (part): setcap is missing or the file system takes no file capabilities");
    }

    // The human table names the broken one.
    let out = check_in(
        "cli",
        &["--color", "never", "check", &target, "--rs", "10.231.0.12"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("VIP path broken") && text.contains("error[CK001]"),
        "{text}"
    );

    // detect on the director: with DR forwarding on (an nftables netdev rule, as in
    // tests/lab/lab.sh: this kernel has no IPVS), a live capture there sees each client SYN
    // come in and leave again for a real server's MAC, and names the silent one by MAC and IP.
    let rule = dir.path().join("dsr.nft");
    std::fs::write(
        &rule,
        format!(
            "table netdev lbdchk_dsr {{
  chain ingress {{
    type filter hook ingress device \"eth0\" priority 0; policy accept;
    ip daddr {VIP} tcp dport 80 ether saddr set 02:00:00:e7:00:01 ether daddr set jhash ip saddr . tcp sport mod 2 seed 0x5eed map {{ 0 : 02:00:00:e7:00:03, 1 : 02:00:00:e7:00:04 }} fwd to \"eth0\"
  }}
}}
"
        ),
    )
    .unwrap();
    sh(&format!(
        "ip netns exec lbdchk-dir nft -f {}",
        rule.display()
    ));
    // The director's health checks: it resolves each real IP, as keepalived's TCP_CHECK does.
    for ip in ["10.231.0.11", "10.231.0.12"] {
        sh(&format!(
            "ip netns exec lbdchk-dir python3 -c \"import socket; socket.create_connection(('{ip}', 80), 1).close()\""
        ));
    }
    let detect = Command::new("ip")
        .args(["netns", "exec", "lbdchk-dir"])
        .arg(assert_cmd::cargo::cargo_bin("lbdoctor"))
        .args(["--format", "json", "detect", VIP, "--no-probe", "-d", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let clients = format!(
        "import socket\nfor i in range(12):\n    s = socket.socket()\n    s.settimeout(0.4)\n    try:\n        s.connect(('{VIP}', 80))\n    except OSError:\n        pass\n    s.close()\n"
    );
    let st = Command::new("ip")
        .args(["netns", "exec", "lbdchk-cli", "python3", "-c", &clients])
        .status()
        .unwrap();
    assert!(st.success());
    let out = detect.wait_with_output().unwrap();
    let j: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("detect: {}", String::from_utf8_lossy(&out.stderr)));
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["lb_mac"], "02:00:00:e7:00:01");
    assert_eq!(j["capture"]["source"], "live on eth0");
    let (ans, unans) = (
        v["flows"]["answered"].as_u64().unwrap(),
        v["flows"]["unanswered"].as_u64().unwrap(),
    );
    assert_eq!(ans + unans, 12, "{v:#}");
    assert!(
        ans > 0 && unans > 0,
        "the flow hash sent every connection one way: {v:#}"
    );
    let dt003 = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DT003")
        .expect("DT003");
    let msg = dt003["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "forwarded to MAC(s): 02:00:00:e7:00:04 (10.231.0.12), {unans} flows"
        )),
        "{msg}"
    );
    sh("ip netns exec lbdchk-dir nft delete table netdev lbdchk_dsr");

    // Errors, exit 2, one line each.
    let err = |ns: &str, args: &[&str], want: &str| {
        let mut a = vec!["check", &target];
        a.extend_from_slice(args);
        let out = check_in(ns, &a);
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(out.stdout.is_empty());
    };
    // Nobody at this address: no neighbour entry and no ARP answer.
    err(
        "cli",
        &["--rs", "10.231.0.99", "--timeout", "0.3"],
        "no MAC for real server(s) 10.231.0.99 on eth0",
    );
    err(
        "cli",
        &["--rs", "10.231.0.11", "-i", "lbdchk-nope0"],
        "interface lbdchk-nope0 does not exist",
    );
    err(
        "cli",
        &["--rs", "10.99.0.1"],
        "no route to real server 10.99.0.1",
    );
    err(
        "cli",
        &["--rs", "10.231.0.50"],
        "is an address of this host",
    );
    err(
        "cli",
        &["--rs", "10.231.0.11", "-i", "lo"],
        "no IPv4 address other than the VIP",
    );
}

#[test]
fn check_without_cap_net_raw_is_one_clear_line_and_exit_2() {
    if !nix::unistd::geteuid().is_root()
        || Command::new("setpriv").arg("--version").output().is_err()
    {
        eprintln!("SKIP: needs root and setpriv to drop privileges");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("lbdoctor");
    std::fs::copy(assert_cmd::cargo::cargo_bin("lbdoctor"), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(&bin)
        .args(["check", "127.0.0.20:80", "--rs", "127.0.0.1", "-i", "lo"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("needs CAP_NET_RAW") && e.contains("setcap cap_net_raw+ep"),
        "{e}"
    );
}

#[test]
fn the_schema_holds_check_reports_and_rejects_a_malformed_one() {
    use lbdoctor::check::{wire::Reply, Answer, RsResult};
    let a = |reply, ms: Option<u64>| Answer {
        reply,
        rtt: ms.map(Duration::from_millis),
        from_mac: None,
        vlan: None,
        tries: 1,
    };
    let rs = RsResult {
        ip: "10.0.0.12".parse().unwrap(),
        mac: [2, 0, 0, 0, 0, 0x12],
        mac_source: "arp",
        iface: "eth0".into(),
        source: "10.0.0.1".parse().unwrap(),
        sport: 40000,
        vip: a(Reply::None, None),
        real_ip: a(Reply::SynAck, Some(1)),
    };
    let r = lbdoctor::commands::check::build_report("10.0.0.20".parse().unwrap(), 80, 1.0, &[rs]);
    let mut v = lbdoctor::report::json::to_value(&r);
    assert_matches_report_schema(&v);
    v["check"]["real_servers"][0]["reply"] = "maybe".into();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::JSONSchema::compile(&schema)
        .unwrap()
        .is_valid(&v));
    // A check report without its `check` object is not a check report.
    v.as_object_mut().unwrap().remove("check");
    assert!(!jsonschema::JSONSchema::compile(&schema)
        .unwrap()
        .is_valid(&v));
}

#[test]
fn bad_arguments_are_one_line_and_exit_2_before_anything_is_sent() {
    let run = |args: &[&str]| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("lbdoctor"))
            .arg("check")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (args, want) in [
        (
            &["10.0.0.20:80", "--rs", "app2"][..],
            "--rs app2: not an IPv4 address",
        ),
        (
            &["10.0.0.20:80", "--rs", "2001:db8::12"],
            "IPv6 real servers are not tested yet",
        ),
        (
            &["[2001:db8::20]:80", "--rs", "10.0.0.12"],
            "IPv4 VIPs only",
        ),
        (&["vip.example:80", "--rs", "10.0.0.12"], "not VIP[:PORT]"),
        (
            &["10.0.0.20:80", "--rs", "10.0.0.12", "--timeout", "0"],
            "--timeout must be",
        ),
        (&["10.0.0.20:80", "--rs", "10.0.0.20"], "is the VIP itself"),
        (
            &["10.0.0.20:80", "--config", "/nonexistent/keepalived.conf"],
            "/nonexistent/keepalived.conf",
        ),
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // Neither --rs nor --config: clap's usage error, also exit 2.
    let (code, err) = run(&["10.0.0.20:80"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--rs"), "{err}");
    // The help lists the command and its exit statuses.
    let out = Command::new(assert_cmd::cargo::cargo_bin("lbdoctor"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("EXIT STATUS") && help.contains("CAP_NET_RAW"),
        "{help}"
    );
}
