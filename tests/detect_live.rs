//! Live `detect` against a real HTTP server in a network namespace behind a veth pair:
//! libpcap capture on the interface that routes to the VIP, connection probes from distinct
//! source ports, -w evidence file, kernel counters. Skips (with a message) unless run as root
//! with `ip` and python3 available. Also: the one-line permission error without CAP_NET_RAW.

use assert_cmd::Command;
use serde_json::Value;
use std::process::{Child, Command as Proc, Stdio};

struct Netns {
    name: String,
    host_if: String,
    server: Option<Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Proc::new("ip").args(["netns", "del", &self.name]).status();
        let _ = Proc::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
    }
}

fn sh(args: &[&str]) -> bool {
    Proc::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A namespace holding `vip` on its end of a veth pair, serving HTTP on port 80.
fn setup(tag: &str, subnet: u8) -> Option<(Netns, String)> {
    if !is_root() || !sh(&["ip", "-V"]) || !sh(&["python3", "--version"]) {
        eprintln!("skipping: needs root, iproute2 and python3");
        return None;
    }
    let name = format!("dtlive-{tag}");
    let host_if = format!("dtl{tag}0");
    let peer = format!("dtl{tag}1");
    let vip = format!("10.{subnet}.0.20");
    let _ = sh(&["ip", "netns", "del", &name]);
    let _ = sh(&["ip", "link", "del", &host_if]);
    let mut ns = Netns {
        name: name.clone(),
        host_if: host_if.clone(),
        server: None,
    };
    let steps: Vec<Vec<String>> = vec![
        vec!["ip".into(), "netns".into(), "add".into(), name.clone()],
        format!("ip link add {host_if} type veth peer name {peer}")
            .split(' ')
            .map(String::from)
            .collect(),
        format!("ip link set {peer} netns {name}")
            .split(' ')
            .map(String::from)
            .collect(),
        format!("ip addr add 10.{subnet}.0.1/24 dev {host_if}")
            .split(' ')
            .map(String::from)
            .collect(),
        format!("ip link set {host_if} up")
            .split(' ')
            .map(String::from)
            .collect(),
        format!("ip netns exec {name} ip addr add {vip}/24 dev {peer}")
            .split(' ')
            .map(String::from)
            .collect(),
        format!("ip netns exec {name} ip link set {peer} up")
            .split(' ')
            .map(String::from)
            .collect(),
    ];
    for s in &steps {
        let a: Vec<&str> = s.iter().map(String::as_str).collect();
        assert!(sh(&a), "setup step failed: {s:?}");
    }
    ns.server = Some(
        Proc::new("ip")
            .args([
                "netns",
                "exec",
                &name,
                "python3",
                "-m",
                "http.server",
                "80",
                "--bind",
                &vip,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait for the listener.
    for _ in 0..50 {
        if std::net::TcpStream::connect_timeout(
            &format!("{vip}:80").parse().unwrap(),
            std::time::Duration::from_millis(100),
        )
        .is_ok()
        {
            return Some((ns, vip));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("HTTP server in {name} did not start");
}

#[test]
fn live_capture_with_probes_sees_a_direct_server_and_saves_evidence() {
    let Some((ns, vip)) = setup("a", 97) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("evidence.pcap");
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "--format", "json", "detect", &vip, "-d", "8", "--probes", "6", "-w",
        ])
        .arg(&pcap)
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("stderr: {}", String::from_utf8_lossy(&out.stderr)));
    // The default interface is the one that routes to the VIP.
    assert_eq!(
        j["capture"]["source"],
        format!("live on {}", ns.host_if),
        "{j:#}"
    );
    assert_eq!(j["probes"]["sent"], 6);
    assert_eq!(j["probes"]["answered"], 6, "{:#}", j["probes"]);
    assert_eq!(j["probes"]["http_answered"], 6);
    let ports = j["probes"]["source_ports"].as_array().unwrap();
    let mut p: Vec<u64> = ports.iter().map(|x| x.as_u64().unwrap()).collect();
    p.sort();
    p.dedup();
    assert_eq!(p.len(), 6, "distinct source ports");
    // One host answers with one stack and no VRRP: no load balancer in the path.
    assert_eq!(j["verdict"]["mode"], "direct", "{:#}", j["verdict"]);
    assert_eq!(j["verdict"]["flows"]["attempted"], 6);
    assert_eq!(j["verdict"]["flows"]["completed"], 6);
    assert_eq!(j["verdict"]["flows"]["unanswered"], 0);
    assert_eq!(j["capture"]["kernel"]["dropped"], 0);
    // The saved evidence replays to the same verdict.
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--format", "json", "detect", &vip, "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verdict"]["mode"], "direct");
    assert_eq!(r["verdict"]["flows"]["attempted"], 6);
    drop(ns);
}

#[test]
fn live_capture_without_cap_net_raw_is_one_clear_line_and_exit_2() {
    if !is_root() || !sh(&["setpriv", "--version"]) {
        eprintln!("skipping: needs root and setpriv to drop privileges");
        return;
    }
    // Copy the binary where an unprivileged user can run it.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("lbdoctor");
    std::fs::copy(assert_cmd::cargo::cargo_bin("lbdoctor"), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Proc::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(&bin)
        .args(["detect", "192.168.21.20", "-i", "lo", "--no-probe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs CAP_NET_RAW"), "{err}");
    assert!(
        err.contains("sudo") && err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
}
