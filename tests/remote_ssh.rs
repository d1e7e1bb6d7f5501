//! The SSH transport against a real sshd on loopback: host-key policy, auth, errors.

mod common;
use common::*;
use lbdoctor::remote;

#[test]
fn runs_a_script_as_root_over_ssh_with_a_known_key() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    let mut t = remote::connect("target", &s.ssh_args(&kh)).unwrap();
    assert_eq!(t.host(), "target");
    let o = t.run("id -u; echo to-stderr >&2; exit 4").unwrap();
    assert_eq!(o.stdout_lossy(), "0\n");
    assert_eq!(o.stderr_lossy(), "to-stderr\n");
    assert_eq!(o.status, 4);
    // Large output crosses many SSH window adjustments without deadlock.
    let o = t
        .run("head -c 3000000 /dev/zero | tr '\\0' x; head -c 200000 /dev/zero >&2")
        .unwrap();
    assert_eq!(o.stdout.len(), 3_000_000);
    assert_eq!(o.stderr.len(), 200_000);
    // A second, independent session.
    let mut t2 = t.reconnect().unwrap();
    assert_eq!(t2.run("echo again").unwrap().stdout_lossy(), "again\n");
}

#[test]
fn unknown_key_is_refused_with_fingerprint_then_accept_new_records_it() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    let e = remote::connect("target", &s.ssh_args(&kh))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&s.host_fingerprint()), "{e}");
    assert!(e.contains("--accept-new"), "{e}");
    assert!(!kh.exists(), "nothing recorded without --accept-new");
    let mut args = s.ssh_args(&kh);
    args.accept_new = true;
    remote::connect("target", &args).unwrap();
    let recorded = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(recorded, s.known_hosts_line());
    // And now it connects without --accept-new.
    remote::connect("target", &s.ssh_args(&kh)).unwrap();
}

#[test]
fn hashed_known_hosts_entry_is_honoured() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    let st = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(st.status.success());
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(text.starts_with("|1|"), "{text}");
    remote::connect("target", &s.ssh_args(&kh)).unwrap();
}

#[test]
fn changed_key_is_refused_loudly_and_cli_exits_2() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    let other = s.path("other_key");
    keygen(&other, "ed25519");
    let pubk = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut f = pubk.split_whitespace();
    std::fs::write(
        &kh,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            s.port,
            f.next().unwrap(),
            f.next().unwrap()
        ),
    )
    .unwrap();
    let e = remote::connect("target", &s.ssh_args(&kh))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("HOST KEY HAS CHANGED"), "{e}");
    assert!(e.contains(&s.host_fingerprint()), "{e}");
    // --accept-new never overrides a changed key.
    let mut args = s.ssh_args(&kh);
    args.accept_new = true;
    assert!(remote::connect("target", &args).is_err());
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["audit", "--host", "target", "--accept-new", "--ssh-config"])
        .arg(s.path("ssh_config"))
        .arg("--known-hosts")
        .arg(&kh)
        .arg("--identity")
        .arg(s.path("id_ed25519"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HOST KEY HAS CHANGED"), "{err}");
}

#[test]
fn auth_failure_and_unreachable_are_clear_errors() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    let wrong = s.path("wrong_id");
    keygen(&wrong, "ed25519");
    let mut args = s.ssh_args(&kh);
    args.identity = Some(wrong.clone());
    // The ssh_config's IdentityFile is the right key; point the alias away from it.
    std::fs::write(
        s.path("ssh_config2"),
        format!(
            "Host target\n HostName 127.0.0.1\n Port {}\n User root\n",
            s.port
        ),
    )
    .unwrap();
    args.ssh_config = Some(s.path("ssh_config2"));
    let e = remote::connect("target", &args).err().unwrap().to_string();
    assert!(e.contains("authentication failed for user root"), "{e}");
    assert!(e.contains("wrong_id"), "{e}");

    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().port();
    drop(l);
    let e = remote::connect(&format!("root@127.0.0.1:{dead}"), &s.ssh_args(&kh))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("cannot connect to 127.0.0.1"), "{e}");
    assert!(e.contains("refused"), "{e}");
}

#[test]
fn sudo_password_prompt_is_a_clear_error() {
    if !can_run_sshd() {
        return;
    }
    // A login user that is not root, with a sudo that asks for a password.
    let s = Sshd::start();
    let user = "lbdtestuser";
    let _ = std::process::Command::new("useradd")
        .args(["-m", "-s", "/bin/sh", user])
        .status();
    let present = std::process::Command::new("id")
        .arg(user)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !present || !std::path::Path::new("/usr/bin/sudo").exists() {
        eprintln!("SKIP: needs useradd and sudo");
        return;
    }
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    let mut args = s.ssh_args(&kh);
    args.user = Some(user.into());
    std::fs::write(
        s.path("ssh_config3"),
        format!("Host target\n HostName 127.0.0.1\n Port {}\n", s.port),
    )
    .unwrap();
    args.ssh_config = Some(s.path("ssh_config3"));
    let mut t = remote::connect(&format!("{user}@target"), &args).unwrap();
    let e = t.run("id -u").unwrap_err().to_string();
    assert!(
        e.contains("sudo wants a password") || e.contains("sudo is not installed"),
        "{e}"
    );
}

#[test]
fn cli_audits_a_host_over_ssh_and_saves_its_facts() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    let facts = s.path("facts.json");
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "--format",
            "json",
            "audit",
            "--host",
            "target",
            "--vip",
            "192.0.2.80:8080",
            "--accept-new",
            "--ssh-config",
        ])
        .arg(s.path("ssh_config"))
        .arg("--known-hosts")
        .arg(&kh)
        .arg("--identity")
        .arg(s.path("id_ed25519"))
        .arg("--save-facts")
        .arg(&facts)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("recorded new host key"), "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{err}"));
    assert_eq!(v["hosts"][0]["host"], "target");
    // This machine does not serve 192.0.2.80: the audit says so.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "RS001"),
        "{v}"
    );
    let saved = lbdoctor::audit::facts::HostFacts::load(&facts).unwrap();
    assert!(
        saved[0].ssh_ports.contains(&s.port),
        "the SSH port in use is recorded: {:?}",
        saved[0].ssh_ports
    );
    assert!(saved[0].interfaces.iter().any(|i| i.name == "lo"));
}

#[test]
fn proxyjump_goes_through_openssh_with_the_same_host_key_policy() {
    if !can_run_sshd() || !std::path::Path::new("/usr/bin/ssh").exists() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    // The bastion is the same sshd (a jump to itself): the path is what matters.
    let cfg = s.path("ssh_config_jump");
    std::fs::write(
        &cfg,
        format!(
            "Host behind\n  HostName 127.0.0.1\n  Port {p}\n  ProxyJump bastion\nHost bastion\n  HostName 127.0.0.1\n  Port {p}\nHost *\n  User root\n  IdentityFile {id}\n  UserKnownHostsFile {kh}\n",
            p = s.port,
            id = s.path("id_ed25519").display(),
            kh = kh.display()
        ),
    )
    .unwrap();
    let mut args = s.ssh_args(&kh);
    args.ssh_config = Some(cfg.clone());
    let mut t = remote::connect("behind", &args).unwrap();
    assert_eq!(t.run("id -u").unwrap().stdout_lossy(), "0\n");
    // An unknown key behind the bastion is refused too.
    std::fs::write(&kh, "").unwrap();
    let e = remote::connect("behind", &args).err().unwrap().to_string();
    assert!(
        e.contains("unknown host key") || e.contains("--accept-new"),
        "{e}"
    );
}

#[test]
fn config_audits_every_real_server_with_the_configs_vip_and_port() {
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    let conf = s.path("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.80 8080 {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 127.0.0.1 8080 {\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--format", "json", "audit", "--config"])
        .arg(&conf)
        .arg("--ssh-config")
        .arg(s.path("ssh_config"))
        .arg("--known-hosts")
        .arg(&kh)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{err}"));
    // 127.0.0.1 is reached through the ssh_config alias whose HostName it is.
    assert_eq!(v["hosts"][0]["host"], "target", "{v}");
    assert_eq!(v["hosts"][0]["role"], "real");
    let rs001 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RS001")
        .expect("RS001");
    assert!(
        rs001["message"].as_str().unwrap().contains("192.0.2.80"),
        "{rs001}"
    );
    assert!(
        rs001["evidence"][0].as_str().unwrap().contains("port 8080"),
        "{rs001}"
    );
}
