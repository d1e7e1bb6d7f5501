//! Issue 13: a hostile host or config must not reach the operator's files, terminal or
//! secrets. Each test here failed on the code before its fix.

mod common;

use assert_cmd::Command;
use std::path::Path;
use std::time::Duration;

fn lbdoctor() -> Command {
    Command::cargo_bin("lbdoctor").unwrap()
}

/// The lab director's facts with `extra` appended to its keepalived.conf, written to `dir`.
fn director_facts(dir: &Path, extra: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/lab-lb1-director.json"),
    )
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let conf = v["files"]["/etc/keepalived/keepalived.conf"]
        .as_str()
        .unwrap()
        .to_string();
    v["files"]["/etc/keepalived/keepalived.conf"] = (conf + extra).into();
    let p = dir.join("facts.json");
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    p
}

#[test]
fn a_hosts_includes_never_read_the_operators_files() {
    let dir = tempfile::tempdir().unwrap();
    // The "operator's private key", on this machine.
    let secret = dir.path().join("ssh");
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("id_test"), "OPERATOR-SECRET-KEY-LINE\n").unwrap();
    let abs = secret.display().to_string();
    let extra = format!(
        "include {abs}/id_*\ninclude ../../../../../../..{abs}/id_test\ninclude /dev/stdin\ninclude /etc/sysctl.conf\n"
    );
    // A password the host redacted is not reported as 10 characters long (LB032).
    let extra = extra
        + "vrrp_instance VI_9 {\n  authentication {\n    auth_type PASS\n    auth_pass <redacted>\n  }\n}\n";
    let facts = director_facts(dir.path(), &extra);
    // /dev/stdin is a pipe that never ends: following it would hang until the timeout.
    let out = lbdoctor()
        .args(["audit", "--format", "json", "--facts"])
        .arg(&facts)
        .timeout(Duration::from_secs(60))
        .write_stdin("")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code().is_some(), "lbdoctor hung or was killed");
    assert!(
        !stdout.contains("OPERATOR-SECRET"),
        "the operator's file reached the report: {stdout}"
    );
    assert!(
        stdout.contains("id_* not followed") && stdout.contains("/dev/stdin not followed"),
        "{stdout}"
    );
    // Locations name the host's path, never the private copy.
    assert!(
        stdout.contains("lb1:/etc/keepalived/keepalived.conf:45"),
        "{stdout}"
    );
    assert!(!stdout.contains("/host/etc/"), "{stdout}");
    assert!(!stdout.contains("LB032"), "{stdout}");
}

#[test]
fn lint_skips_non_regular_includes_and_bounds_globs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    std::fs::create_dir(d.join("many")).unwrap();
    for i in 0..40 {
        std::fs::write(d.join(format!("many/{i:03}.conf")), "global_defs {\n}\n").unwrap();
    }
    std::fs::write(
        d.join("keepalived.conf"),
        "include fifo.conf\ninclude many/*.conf\n",
    )
    .unwrap();
    let opts = lbdoctor::keepalived::LoadOptions {
        limits: Some(lbdoctor::keepalived::lexer::Limits {
            max_files: 10,
            ..Default::default()
        }),
        ..Default::default()
    };
    // A FIFO with no writer: opening it would block forever.
    let (tx, rx) = std::sync::mpsc::channel();
    let path = d.join("keepalived.conf");
    std::thread::spawn(move || {
        let l = lbdoctor::keepalived::load(&path, &opts).unwrap();
        let _ = tx.send(l.findings);
    });
    let findings = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the lexer hung on a FIFO include");
    let msgs: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("fifo.conf is not a regular file")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("matches more files than lbdoctor's limit of 10")),
        "{msgs:#?}"
    );
    // The top file itself must be regular too: a clear error, not a hang.
    let e = lbdoctor::keepalived::load(&fifo, &Default::default())
        .err()
        .expect("a FIFO is not a config");
    assert!(format!("{e:#}").contains("not a regular file"), "{e:#}");
}

#[test]
fn accept_new_refuses_a_known_host_offering_a_key_type_not_on_file() {
    if !common::can_run_sshd() {
        return;
    }
    let s = common::Sshd::start();
    // known_hosts has this host, but only with an ECDSA key; the server offers ed25519.
    common::keygen(&s.path("other_ecdsa"), "ecdsa");
    let pubk = std::fs::read_to_string(s.path("other_ecdsa.pub")).unwrap();
    let mut f = pubk.split_whitespace();
    let line = format!(
        "[{}]:{} {} {}\n",
        s.addr,
        s.port,
        f.next().unwrap(),
        f.next().unwrap()
    );
    let kh = s.path("known_hosts");
    std::fs::write(&kh, &line).unwrap();
    let mut args = s.ssh_args(&kh);
    args.accept_new = true;
    let e = format!(
        "{:#}",
        lbdoctor::remote::connect("target", &args).err().unwrap()
    );
    assert!(e.contains("HAS CHANGED") && e.contains("ecdsa"), "{e}");
    assert!(
        !e.contains("--accept-new"),
        "must not suggest --accept-new: {e}"
    );
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        line,
        "nothing recorded"
    );
}

#[test]
fn proxyjump_bastion_is_verified_against_known_hosts_like_the_target() {
    if !common::can_run_sshd() || !Path::new("/usr/bin/ssh").exists() {
        return;
    }
    let target = common::Sshd::start();
    let bastion = common::Sshd::start();
    let id = target.path("id_ed25519");
    // The same client key logs in to both.
    std::fs::copy(
        target.path("id_ed25519.pub"),
        bastion.path("authorized_keys"),
    )
    .unwrap();
    let kh = target.path("known_hosts");
    let cfg = target.path("ssh_config_jump");
    // The user's config turns checking off for the bastion: lbdoctor's policy must win.
    std::fs::write(
        &cfg,
        format!(
            "Host behind\n  HostName 127.0.0.1\n  Port {tp}\n  ProxyJump bastion\nHost behind2\n  HostName 127.0.0.1\n  Port {tp}\n  ProxyJump bastion,bastion2\nHost bastion bastion2\n  HostName 127.0.0.1\n  Port {bp}\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\nHost *\n  User root\n  IdentityFile {id}\n",
            tp = target.port,
            bp = bastion.port,
            id = id.display(),
        ),
    )
    .unwrap();
    let mut args = target.ssh_args(&kh);
    args.ssh_config = Some(cfg.clone());
    // Only the target is on file: the bastion's key is unknown, so no connection.
    std::fs::write(&kh, target.known_hosts_line()).unwrap();
    for host in ["behind", "behind2"] {
        let started = std::time::Instant::now();
        let e = format!(
            "{:#}",
            lbdoctor::remote::connect(host, &args)
                .err()
                .unwrap_or_else(|| panic!(
                    "{host}: connected through a bastion whose key is not in --known-hosts"
                ))
        );
        assert!(e.contains(&kh.display().to_string()), "names our file: {e}");
        assert!(e.contains("unknown host key"), "{e}");
        // Non-interactive: no prompt waits for the 30 s timeout.
        assert!(started.elapsed() < Duration::from_secs(20), "{e}");
    }
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        target.known_hosts_line(),
        "nothing recorded without --accept-new"
    );
    // With both keys on file it works, through one hop and through two.
    std::fs::write(&kh, target.known_hosts_line() + &bastion.known_hosts_line()).unwrap();
    for host in ["behind", "behind2"] {
        let mut t =
            lbdoctor::remote::connect(host, &args).unwrap_or_else(|e| panic!("{host}: {e:#}"));
        assert_eq!(t.run("id -u").unwrap().stdout_lossy(), "0\n");
    }
}

#[test]
fn save_facts_is_private_atomic_and_does_not_follow_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dir.path().join("facts.json");
    std::os::unix::fs::symlink(&victim, &out).unwrap();
    let st = lbdoctor()
        .args([
            "audit",
            "--facts",
            "fixtures/audit/app1-lab.json",
            "--save-facts",
        ])
        .arg(&out)
        .args(["--vip", "192.168.21.20:80", "--fail-on", "never"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    let meta = std::fs::symlink_metadata(&out).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by a file"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(lbdoctor::audit::facts::HostFacts::load(&out).is_ok());
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn host_text_reaches_the_terminal_escaped_and_json_exact() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("fixtures/audit/app2-lab.json").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let evil = "\x1b]0;pwned\x07\x1b[1A\x1b[2K\u{9b}31m\u{202e}";
    v["kernel"] = format!("6.1.0{evil}").into();
    v["hostname"] = format!("app2{evil}").into();
    v["host"] = format!("app2{evil}").into();
    let files: Vec<String> = v["files"].as_object().unwrap().keys().cloned().collect();
    for f in files {
        let body = v["files"][&f].as_str().unwrap().to_string();
        v["files"][&f] = format!("# {evil}\n{body}").into();
    }
    v["gather_errors"] = serde_json::json!([format!("nft {evil}")]);
    let facts = dir.path().join("evil.json");
    std::fs::write(&facts, serde_json::to_string(&v).unwrap()).unwrap();
    let run = |format: &str| {
        let o = lbdoctor()
            .args(["--format", format, "--color", "always", "audit", "--facts"])
            .arg(&facts)
            .args(["--vip", "192.168.21.20:80", "--fix", "--dry-run"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let human = run("human");
    assert!(human.contains("Plan"), "{human}");
    // Our own colors are SGR sequences `ESC[...m`; the host's are escaped to `\x1b`.
    let mut rest = human.as_str();
    while let Some(i) = rest.find('\x1b') {
        let seq = &rest[i..];
        let end = seq.find('m').expect("an ESC that is not a color");
        assert!(
            seq[1..end].starts_with('[')
                && seq[2..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "raw control sequence from the host: {:?}",
            &seq[..end.min(20)]
        );
        rest = &seq[1..];
    }
    assert!(!human.contains('\x07') && !human.contains('\u{9b}') && !human.contains('\u{202e}'));
    assert!(human.contains("6.1.0\\x1b]0;pwned\\x07"), "{human}");
    // JSON keeps the exact bytes.
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["hosts"][0]["host"], format!("app2{evil}"));
}

/// One sample per format gathered from hosts; every secret value contains "SECRET".
const REDACTION_SAMPLES: &[(&str, &str)] = &[
    (
        "etc/keepalived/keepalived.conf",
        "vrrp_instance VI_1 {\n  authentication { auth_pass SECRET1 }\n  auth_hmac {\n    key 1 SECRET2\n    active_key 1\n  }\n  authentication {\n    auth_type PASS\n    auth_pass\tSECRET3 # comment\n  }\n}\n$PW=auth_pass SECRET4\nSSL {\n  password SECRET5\n}\n",
    ),
    (
        "etc/systemd/network/wg0.netdev",
        "[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=SECRET1\nPrivateKeyFile=/etc/wg/key\n[WireGuardPeer]\nPublicKey=pub=\nPresharedKey = SECRET2\n[MACsecReceiveAssociation]\nKey=SECRET3\n",
    ),
    (
        "etc/NetworkManager/system-connections/vpn.nmconnection",
        "[connection]\nid=vpn\n[wifi-security]\nkey-mgmt=none\nwep-key0=SECRET1\npsk=SECRET2\n[802-1x]\nprivate-key=SECRET3\nprivate-key-password=SECRET4\ncert-pass=SECRET5\n[gsm]\npin=SECRET6\n[vpn]\nservice-type=org.freedesktop.NetworkManager.vpnc\n[vpn-secrets]\nXauth password=SECRET7\nIPSec secret=SECRET8\n[wireguard]\nprivate-key=SECRET9\n",
    ),
    (
        "etc/netplan/50-cloud-init.yaml",
        "network:\n  version: 2\n  wifis:\n    wlan0:\n      access-points:\n        \"home\":\n          password: \"SECRET1\"\n        'office':\n          auth:\n            key-management: eap\n            password: >\n              SECRET2\n            method: peap\n  tunnels:\n    wg0:\n      mode: wireguard\n      key: SECRET3\n      keys:\n        private: SECRET4\n      peers:\n        - keys: {public: Pub, shared: SECRET5}\n          allowed-ips: [0.0.0.0/0]\n        - keys:\n            shared: SECRET6\n",
    ),
    (
        "etc/network/interfaces",
        "auto wlan0\niface wlan0 inet dhcp\n    wpa-ssid home\n    wpa-psk SECRET1\n    wireless-key SECRET2\n\twpa-password  SECRET3\n    address 10.0.0.2/24\n",
    ),
    (
        "etc/sysconfig/network-scripts/ifcfg-lo:1",
        "DEVICE=lo:1\nIPADDR=192.168.21.20\nWPA_PSK=SECRET1\nKEY1=SECRET2\nKEY_MGMT=WPA-PSK\n",
    ),
    (
        "etc/sysctl.conf",
        "net.ipv4.ip_forward = 1\nsecret_thing: SECRET1\nmy.password  SECRET2\n",
    ),
];

#[test]
fn redaction_by_each_files_syntax_on_the_host_and_here_agree() {
    use lbdoctor::audit::{facts, redact};
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (rel, text) in REDACTION_SAMPLES {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        paths.push(p.display().to_string());
    }
    // The gather script's own file loop and awk, run by the real sh and awk.
    let s = facts::GATHER_SCRIPT;
    let start = s.find("set --\nfor f in").unwrap();
    let body = &s[start..s.find("s packages").unwrap()];
    let list_end = body.find("; do\n").unwrap();
    let script = format!(
        "M=@@LBD@@\ns() {{ echo \"$M $1 $2\"; }}\nset --\nfor f in {}{}",
        paths.join(" "),
        &body[list_end..]
    );
    // Hosts run whatever awk they have: mawk (Debian), gawk (RHEL), busybox (Alpine).
    let mut awks = vec![("awk".to_string(), "exec /usr/bin/awk \"$@\"")];
    for (bin, cmd) in [
        ("/usr/bin/gawk", "exec /usr/bin/gawk \"$@\""),
        ("/usr/bin/nawk", "exec /usr/bin/nawk \"$@\""),
        ("/usr/bin/busybox", "exec /usr/bin/busybox awk \"$@\""),
    ] {
        if Path::new(bin).exists() {
            awks.push((bin.to_string(), cmd));
        }
    }
    for (name, cmd) in awks {
        let bin = dir.path().join(format!("bin-{}", name.replace('/', "_")));
        std::fs::create_dir_all(&bin).unwrap();
        let w = bin.join("awk");
        std::fs::write(&w, format!("#!/bin/sh\n{cmd}\n")).unwrap();
        std::fs::set_permissions(&w, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("LC_ALL", "C")
            .env("PATH", path)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = facts::sections(&text);
        assert_eq!(got.len(), REDACTION_SAMPLES.len(), "{name}: {text}");
        for ((_, path, host_side), (rel, original)) in got.iter().zip(REDACTION_SAMPLES) {
            assert!(path.ends_with(rel));
            assert!(
                !host_side.contains("SECRET"),
                "{name}: {rel}: a secret left the host:\n{host_side}"
            );
            let here = redact::redact(path, original);
            assert_eq!(
                host_side, &here,
                "{name}: {rel}: the awk and redact.rs disagree"
            );
            // Nothing but secrets is removed.
            assert_eq!(here.lines().count(), original.lines().count());
            assert!(here.contains(redact::MARK));
        }
    }
    // A snapshot saved with a secret in it (an older version) is redacted when loaded.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("fixtures/audit/app1-lab.json").unwrap())
            .unwrap();
    v["files"]["/etc/systemd/network/wg0.netdev"] = REDACTION_SAMPLES[1].1.into();
    let p = dir.path().join("old.json");
    std::fs::write(&p, v.to_string()).unwrap();
    let f = facts::HostFacts::load(&p).unwrap();
    assert!(!f[0].files["/etc/systemd/network/wg0.netdev"].contains("SECRET"));
}

#[test]
fn a_host_supplied_write_target_must_be_a_plain_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/audit/vip-on-lo-ifupdown.json").unwrap(),
    )
    .unwrap();
    // systemd-networkd, and its file matching lo has a hostile name.
    let files = v["files"].as_object_mut().unwrap();
    files.remove("/etc/network/interfaces");
    let evil = "/etc/systemd/network/../../../root/.bashrc'\"$(touch /tmp/lbdsec-pwned)\n.network";
    files.insert(evil.into(), "[Match]\nName=lo\n\n[Network]\n".into());
    let facts = dir.path().join("f.json");
    std::fs::write(&facts, v.to_string()).unwrap();
    let out = lbdoctor()
        .args(["--format", "json", "audit", "--facts"])
        .arg(&facts)
        .args(["--fix", "--dry-run"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let plan = &j["plan"][0];
    for c in plan["changes"].as_array().unwrap() {
        assert_ne!(c["file"], evil, "the hostile path is a write target: {c}");
    }
    assert!(
        plan["notes"].to_string().contains("not writing")
            && plan["notes"].to_string().contains("RS023"),
        "{plan}"
    );
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RS023")
        .unwrap_or_else(|| panic!("no RS023: {j}"));
    assert!(f["message"].as_str().unwrap().contains("will not write"));
    // Plain names in the directories the fix writes to pass; anything else does not.
    use lbdoctor::audit::write_target::problem as bad;
    assert!(bad("/etc/systemd/network/10-lo.network").is_none());
    assert!(bad("/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20").is_none());
    for p in [
        "/etc/systemd/network/../x.network",
        "/etc/systemd/network/sub/x.network",
        "/etc/systemd/network/a b.network",
        "/etc/systemd/network/a$(x).network",
        "/etc/systemd/network/a\n.network",
        "/etc/systemd/network/'.network",
        "/root/.bashrc",
        "etc/sysctl.conf",
    ] {
        assert!(bad(p).is_some(), "{p:?} accepted");
    }
}

#[test]
fn a_new_file_that_appeared_is_named_in_a_quoted_message() {
    use lbdoctor::remote::Transport;
    // The echo in vip_boot's "appeared meanwhile" guard once put the path inside double
    // quotes, where `$(...)` runs. The file exists, so that branch is taken.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x$(echo RAN >&2)y").display().to_string();
    std::fs::write(&path, "someone else's\n").unwrap();
    let c = lbdoctor::fix::Change {
        kind: "address-persist".into(),
        description: "test".into(),
        commands: vec![],
        file: Some(path.clone()),
        diff: None,
        content: Some("new\n".into()),
        old: None,
    };
    let mut t = lbdoctor::remote::local::LocalTransport::new("localhost");
    assert_eq!(t.host(), "localhost");
    let mut o = lbdoctor::fix::apply::Outcome::default();
    let e = format!(
        "{:#}",
        lbdoctor::fix::vip_boot::apply_change(&mut t, &c, &mut o).unwrap_err()
    );
    // Quoted, the message names the path as it is; unquoted, `$(...)` ran and vanished.
    assert!(e.contains("x$(echo RAN >&2)y appeared since"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's\n");
}

/// A valid `nft -j list ruleset` of about `mb` MB: one table, one chain, many rules.
fn big_nft_json(mb: usize) -> String {
    let mut s = String::from(
        r#"{"nftables":[{"metainfo":{"version":"1.0.6","json_schema_version":1}},{"table":{"family":"inet","name":"t","handle":1}},{"chain":{"family":"inet","table":"t","name":"in","handle":1,"type":"filter","hook":"input","prio":0,"policy":"accept"}}"#,
    );
    let mut i = 0;
    while s.len() < mb << 20 {
        i += 1;
        s.push_str(&format!(
            r#",{{"rule":{{"family":"inet","table":"t","chain":"in","handle":{i},"expr":[{{"match":{{"op":"==","left":{{"payload":{{"protocol":"tcp","field":"dport"}}}},"right":{}}}}},{{"accept":null}}]}}}}"#,
            10000 + i % 50000
        ));
    }
    s + "]}"
}

#[test]
fn an_oversized_nft_ruleset_is_refused_before_parsing() {
    let j = big_nft_json(9);
    let e = lbdoctor::audit::parse::nft::parse(&j).expect_err("parsed 9 MB");
    assert!(e.contains("not parsed"), "{e}");
    // Under the limit it still parses.
    assert!(lbdoctor::audit::parse::nft::parse(&big_nft_json(1)).is_ok());

    // A facts file with a 12.8 MB ruleset: dropped on load, reported, and memory stays small.
    let dir = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("fixtures/audit/app1-lab.json").unwrap())
            .unwrap();
    v["nft_json"] = big_nft_json(13).into();
    v["nft_ruleset"] = "table inet t {\n}\n".into();
    let p = dir.path().join("big.json");
    std::fs::write(&p, v.to_string()).unwrap();
    let out = lbdoctor()
        .args(["--format", "json", "audit", "--facts"])
        .arg(&p)
        .args(["--vip", "192.168.21.20:80", "--fail-on", "never"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = lbdoctor::audit::facts::HostFacts::load(&p).unwrap();
    assert!(f[0].nft_json.is_none());
    assert!(
        f[0].gather_errors.iter().any(|e| e.contains("not walked")),
        "{:?}",
        f[0].gather_errors
    );
    // Peak memory of the biggest child so far (lbdoctor, 12.8 MB of input): the JSON tree
    // alone took 640 MB before.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) },
        0
    );
    let max_mb = ru.ru_maxrss / 1024;
    assert!(max_mb < 300, "lbdoctor peaked at {max_mb} MB");
}
