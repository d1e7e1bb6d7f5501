//! `lbdoctor state` reading a live director: the local path and `--host` over a real sshd.
//!
//! This kernel has no IPVS module, so the director is simulated the one way that keeps every
//! other part real: a private mount namespace whose /proc is a tmpfs holding /proc/net/ip_vs*
//! files in the kernel's format (fixtures/state), with /boot/config-$(uname -r) giving HZ and,
//! for one test, an `ipvsadm` that prints a saved `ipvsadm -Ln`. The script, /bin/sh, sshd,
//! the SSH transport and host-key checks are the real ones. Needs root and unshare.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn can_unshare() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let ok = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !root || !ok {
        eprintln!("SKIP: needs root and unshare --mount (root={root})");
        return false;
    }
    true
}

/// A directory with the files a director's /proc/net would have, and the wrapper that
/// mounts them in a private namespace before running a command.
struct FakeDirector {
    dir: tempfile::TempDir,
}

impl FakeDirector {
    fn new(ip_vs: &str, conn: Option<&str>, ipvsadm_ln: Option<&str>) -> FakeDirector {
        let dir = tempfile::tempdir().unwrap();
        let fx = Path::new(ROOT).join("fixtures/state");
        std::fs::copy(fx.join(ip_vs), dir.path().join("ip_vs")).unwrap();
        std::fs::copy(
            fx.join("incident-proc-ip_vs_stats.txt"),
            dir.path().join("ip_vs_stats"),
        )
        .unwrap();
        if let Some(c) = conn {
            std::fs::copy(fx.join(c), dir.path().join("ip_vs_conn")).unwrap();
        }
        if let Some(l) = ipvsadm_ln {
            let script = format!("#!/bin/sh\ncat {}\n", fx.join(l).display());
            let p = dir.path().join("ipvsadm");
            std::fs::write(&p, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakeDirector { dir }
    }

    fn wrapper(&self) -> Vec<String> {
        let d = self.dir.path().display();
        let setup = format!(
            "mount -t tmpfs lbd-proc /proc && mkdir /proc/net && cp {d}/ip_vs* /proc/net/ && \
             mkdir -p /proc/sys/net/ipv4/vs && echo 0 > /proc/sys/net/ipv4/vs/expire_quiescent_template && \
             echo 0 > /proc/sys/net/ipv4/vs/drop_entry && echo 1024 > /proc/sys/net/ipv4/vs/amemthresh && \
             mount -t tmpfs lbd-boot /boot && echo CONFIG_HZ=250 > /boot/config-$(uname -r) && \
             if [ -f {d}/ipvsadm ] && command -v ipvsadm >/dev/null; then \
             mount --bind {d}/ipvsadm \"$(command -v ipvsadm)\"; fi; \
             exec \"$@\""
        );
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &setup,
            "sh",
        ]
        .map(String::from)
        .to_vec()
    }
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("lbdoctor")
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["id"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn local_director_read_from_proc() {
    if !can_unshare() {
        return;
    }
    let fake = FakeDirector::new(
        "incident-proc-ip_vs.txt",
        Some("incident-proc-ip_vs_conn.txt"),
        None,
    );
    let mut argv = fake.wrapper();
    argv.push(bin().display().to_string());
    argv.extend(["--format", "json", "state"].map(String::from));
    let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
    let v = json_of(&out);
    assert_eq!(ids(&v), vec!["ST001/error", "ST005/error"]);
    let kinds: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"proc-ip-vs")
            && kinds.contains(&"proc-ip-vs-conn")
            && kinds.contains(&"proc-ip-vs-stats"),
        "{kinds:?}"
    );
    assert_eq!(v["connections"]["total"], 8);
    assert_eq!(v["global_stats"]["totals"]["conns"], 8);
    assert_eq!(v["services"][0]["next_pick"], "192.168.21.72:80");
    // The real ipvsadm on a kernel without IPVS fails; that is a note, not an error.
    if Command::new("sh")
        .args(["-c", "command -v ipvsadm"])
        .output()
        .unwrap()
        .status
        .success()
    {
        let notes = v["notes"].to_string();
        assert!(
            notes.contains("`ipvsadm -Ln` failed on localhost"),
            "{notes}"
        );
    }
}

#[test]
fn remote_director_over_ssh_in_one_round_trip() {
    if !can_unshare() || !common::can_run_sshd() {
        return;
    }
    let fake = FakeDirector::new(
        "mixed-proc-ip_vs.txt",
        Some("mixed-proc-ip_vs_conn.txt"),
        Some("mixed-ipvsadm-Ln.txt"),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sshd = common::Sshd::start_with(Some(fake.wrapper()), "127.0.0.1", port);
    let kh = sshd.path("known_hosts");
    std::fs::write(&kh, sshd.known_hosts_line()).unwrap();
    let out = Command::new(bin())
        .args([
            "--format",
            "json",
            "state",
            "--host",
            "target",
            "--ssh-config",
        ])
        .arg(sshd.path("ssh_config"))
        .arg("--known-hosts")
        .arg(&kh)
        .arg("--identity")
        .arg(sshd.path("id_ed25519"))
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        ids(&v),
        vec!["ST001/warning", "ST002/warning", "ST003/error"]
    );
    let svc = |key: &str| {
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key} in {}", v["services"]))
    };
    // HZ=250 from the host's kernel config turns /proc's 2700000 jiffies into 10800 s.
    assert_eq!(
        svc("TCP 10.0.0.1:443")["persistent"]["timeout"]["seconds"],
        10800
    );
    // ipvsadm (present on this "host") tells the family of the fwmark service.
    assert!(v["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["key"] == "FWM 268439552 IPv6"));
    assert_eq!(v["connections"]["templates"], 1);
    // With ipvsadm installed here, the host's `ipvsadm -Ln` (the fake) was read as well.
    if Command::new("sh")
        .args(["-c", "command -v ipvsadm"])
        .output()
        .unwrap()
        .status
        .success()
    {
        assert!(
            v["sources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["kind"] == "ipvsadm-list"),
            "{}",
            v["sources"]
        );
    }
    let origin = svc("TCP 10.0.0.2:80")["origin"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(origin, "target:/proc/net/ip_vs:7");
    // net.ipv4.vs settings come along and sharpen the findings.
    assert_eq!(v["sysctls"]["expire_quiescent_template"], "0");
    assert_eq!(v["sysctls"]["amemthresh"], "1024");
    let st002 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "ST002")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        st002.contains("expire_quiescent_template is 0 on this director"),
        "{st002}"
    );
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().contains("HZ=250")),
        "{notes:?}"
    );
}

#[test]
fn remote_host_without_ipvs_is_a_clear_error() {
    if !common::can_run_sshd() {
        return;
    }
    if Path::new("/proc/net/ip_vs").exists() {
        eprintln!("SKIP: this kernel has IPVS");
        return;
    }
    let sshd = common::Sshd::start();
    let kh = sshd.path("known_hosts");
    std::fs::write(&kh, sshd.known_hosts_line()).unwrap();
    let out = Command::new(bin())
        .args(["state", "--host", "target", "--ssh-config"])
        .arg(sshd.path("ssh_config"))
        .arg("--known-hosts")
        .arg(&kh)
        .arg("--identity")
        .arg(sshd.path("id_ed25519"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "lbdoctor: error: host target: no IPVS on this host: /proc/net/ip_vs is absent; load ip_vs or use --from"
    );
}
