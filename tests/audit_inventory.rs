//! `audit --inventory`: an Ansible inventory of two hosts, each a real sshd on loopback with
//! its own port and key, audited over SSH with the inventory's ansible_host/port/user/key.

mod common;
use common::{can_run_sshd, json, Sshd};
use std::path::Path;

fn lbdoctor(inv: &Path, kh: &Path, ssh_config: &Path, extra: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--format", "json", "audit", "--inventory"])
        .arg(inv)
        .arg("--known-hosts")
        .arg(kh)
        // An empty ssh_config, so the runner's own ~/.ssh/config plays no part.
        .arg("--ssh-config")
        .arg(ssh_config)
        .args(extra)
        .output()
        .unwrap()
}

fn free_port(addr: &str) -> u16 {
    let l = std::net::TcpListener::bind((addr, 0)).unwrap();
    l.local_addr().unwrap().port()
}

fn hosts(v: &serde_json::Value) -> Vec<(String, String)> {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                h["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn inventory_group_is_audited_over_ssh_with_its_connection_vars() {
    if !can_run_sshd() {
        return;
    }
    // Two addresses, so that --config can name app1's alone as a real server.
    let a = Sshd::start();
    let b = Sshd::start_with(None, "127.0.0.2", free_port("127.0.0.2"));
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::write(&kh, a.known_hosts_line() + &b.known_hosts_line()).unwrap();
    let cfg = dir.path().join("ssh_config");
    std::fs::write(&cfg, "").unwrap();
    let ini = dir.path().join("hosts");
    std::fs::write(
        &ini,
        format!(
            "[lvs_directors]\nlb1 ansible_host=127.0.0.1 ansible_port={pa} ansible_ssh_private_key_file={ka}\n\n\
             [app_servers]\napp1 ansible_host=127.0.0.2 ansible_port={pb} ansible_ssh_private_key_file={kb}\n\n\
             [dc:children]\nlvs_directors\napp_servers\n\n[dc:vars]\nansible_user=root\n",
            pa = a.port,
            pb = b.port,
            ka = a.path("id_ed25519").display(),
            kb = b.path("id_ed25519").display(),
        ),
    )
    .unwrap();
    let facts = dir.path().join("facts.json");
    let out = lbdoctor(
        &ini,
        &kh,
        &cfg,
        &[
            "--vip",
            "192.0.2.80:8080",
            "--jobs",
            "2",
            "--save-facts",
            facts.to_str().unwrap(),
        ],
    );
    let v = json(&out);
    assert_eq!(
        hosts(&v),
        [
            ("lb1".to_string(), "director".to_string()),
            ("app1".to_string(), "real".to_string())
        ],
        "{v}"
    );
    // The real server is checked against --vip; its finding names the inventory host.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "RS001" && f["subject"] == "app1"),
        "{v}"
    );
    // Each host was reached on its own port (the facts record the SSH port in use).
    let saved = lbdoctor::audit::facts::HostFacts::load(&facts).unwrap();
    let by = |n: &str| {
        saved
            .iter()
            .find(|f| f.host == n)
            .unwrap()
            .ssh_ports
            .clone()
    };
    assert!(by("lb1").contains(&a.port), "{:?}", by("lb1"));
    assert!(by("app1").contains(&b.port), "{:?}", by("app1"));

    // --limit, and the same inventory as YAML.
    let yml = dir.path().join("hosts.yml");
    std::fs::write(
        &yml,
        format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_host: 127.0.0.1\n  children:\n    keepalived:\n      hosts:\n        lb1: {{ansible_port: {pa}, ansible_ssh_private_key_file: {ka}}}\n    web:\n      hosts:\n        app1:\n          ansible_host: 127.0.0.2\n          ansible_port: {pb}\n          ansible_ssh_private_key_file: {kb}\n",
            pa = a.port,
            pb = b.port,
            ka = a.path("id_ed25519").display(),
            kb = b.path("id_ed25519").display(),
        ),
    )
    .unwrap();
    let v = json(&lbdoctor(
        &yml,
        &kh,
        &cfg,
        &["--vip", "192.0.2.80:8080", "--limit", "web"],
    ));
    assert_eq!(hosts(&v), [("app1".to_string(), "real".to_string())], "{v}");
    let v = json(&lbdoctor(
        &yml,
        &kh,
        &cfg,
        &["--vip", "192.0.2.80", "--limit", "keepalived"],
    ));
    assert_eq!(
        hosts(&v),
        [("lb1".to_string(), "director".to_string())],
        "{v}"
    );

    // With --config, a host whose ansible_host is a real_server gets that virtual server's
    // VIP and port (no --vip), and the director group still makes lb1 the director.
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.80 8080 {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 127.0.0.2 8080 {\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\n",
    )
    .unwrap();
    let v = json(&lbdoctor(
        &ini,
        &kh,
        &cfg,
        &["--config", conf.to_str().unwrap()],
    ));
    assert_eq!(
        hosts(&v),
        [
            ("lb1".to_string(), "director".to_string()),
            ("app1".to_string(), "real".to_string())
        ],
        "{v}"
    );
    let rs001 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RS001" && f["subject"] == "app1")
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        rs001["message"].as_str().unwrap().contains("192.0.2.80"),
        "{rs001}"
    );
    assert!(
        rs001["evidence"][0].as_str().unwrap().contains("port 8080"),
        "{rs001}"
    );

    // known_hosts applies as with --host: a host whose key is not there is refused by name.
    std::fs::write(&kh, a.known_hosts_line()).unwrap();
    let out = lbdoctor(&ini, &kh, &cfg, &["--vip", "192.0.2.80:8080"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("host app1") && err.contains("unknown host key"),
        "{err}"
    );
    assert!(!err.contains("host lb1"), "{err}");
}

#[test]
fn bad_inventory_is_one_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("hosts");
    std::fs::write(&ini, "[web]\napp1 ansible_port=ssh\n").unwrap();
    let cfg = dir.path().join("ssh_config");
    std::fs::write(&cfg, "").unwrap();
    let out = lbdoctor(&ini, &dir.path().join("kh"), &cfg, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:2: ansible_port \"ssh\"", ini.display())),
        "{err}"
    );
    let out = lbdoctor(&ini, &dir.path().join("kh"), &cfg, &["--limit", "db"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--limit db: \"db\" is neither a group nor a host"),
        "{err}"
    );
}
