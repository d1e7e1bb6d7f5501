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
