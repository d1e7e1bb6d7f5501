//! `lbdoctor state` over fixtures recorded from a real IPVS kernel (Debian 12's 6.1 in the lab
//! VM, tests/lab/record-ipvs-fixtures.sh): every file parses, /proc and ipvsadm agree, and each
//! scenario gives the findings it must and none it must not. Scenarios not recorded yet are
//! skipped; the incident must be there.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn real_dir() -> PathBuf {
    Path::new(ROOT).join("fixtures/state/real")
}

/// The files `state --from` reads (keepalived.conf, uname-r.txt and truth.json are not IPVS state).
fn state_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.ends_with(".txt") && n != "uname-r.txt"
        })
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn state(args: &[&str]) -> Value {
    let mut a = vec!["--format", "json", "state", "--fail-on", "never"];
    a.extend_from_slice(args);
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(ROOT)
        .args(&a)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "state {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kernel(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("uname-r.txt"))
        .unwrap()
        .trim()
        .to_string()
}

/// Everything recorded for one scenario, with its keepalived.conf and kernel release.
fn full(dir: &Path) -> Value {
    let files = state_files(dir);
    let conf = dir.join("keepalived.conf");
    let k = kernel(dir);
    let mut args: Vec<&str> = vec!["--from"];
    args.extend(files.iter().map(String::as_str));
    let conf_s = conf.to_str().unwrap().to_string();
    if conf.exists() {
        args.extend(["--config", &conf_s]);
    }
    args.extend(["--kernel", &k]);
    state(&args)
}

fn findings(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                format!("{} {}", f["subject"], f["message"]),
            )
        })
        .collect()
}

fn scenarios() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(real_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("uname-r.txt").exists())
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_string(), p))
        .collect();
    v.sort();
    v
}

#[test]
fn every_real_file_parses_alone_and_proc_agrees_with_ipvsadm() {
    let all = scenarios();
    assert!(all.iter().any(|(s, _)| s == "incident"), "{all:?}");
    for (sc, dir) in &all {
        for f in state_files(dir) {
            let v = state(&["--from", &f]);
            assert!(v["sources"][0]["kind"].is_string(), "{sc}: {f}");
        }
        // The kernel's /proc table and ipvsadm's listing are the same table. Counters may
        // move between the two reads, and ipvsadm sorts the real servers by address while
        // /proc keeps the kernel's order: compare the rest, sorted.
        let table = |f: &str| {
            let v = state(&["--from", dir.join(f).to_str().unwrap()]);
            let mut t = v["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let mut rs: Vec<String> = s["real_servers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| {
                            format!(
                                "{}:{} {} w{}",
                                r["address"], r["port"], r["forward"], r["weight"]
                            )
                        })
                        .collect();
                    rs.sort();
                    format!("{} {} [{}]", s["key"], s["scheduler"], rs.join(", "))
                })
                .collect::<Vec<_>>();
            // ipvsadm sorts the services too; /proc lists them in hash order (ipv6 fixture).
            t.sort();
            t
        };
        let (p, l) = (table("proc-ip_vs.txt"), table("ipvsadm-Ln.txt"));
        assert_eq!(p, l, "{sc}: /proc/net/ip_vs vs ipvsadm -Ln");
        assert!(!p.is_empty() || sc == "empty", "{sc}: no service read");
        // The connection listing in both formats counts the same entries by state.
        let c = |f: &str| state(&["--from", dir.join(f).to_str().unwrap()])["connections"].clone();
        let (pc, lc) = (c("proc-ip_vs_conn.txt"), c("ipvsadm-Lnc.txt"));
        assert_eq!(pc["templates"], lc["templates"], "{sc}");
        // The kernel's own release decides the explanations.
        let v = full(dir);
        assert_eq!(v["ipvs"]["kernel"], kernel(dir).as_str(), "{sc}");
        assert!(v["ipvs"]["timeouts"]["tcp"].is_u64(), "{sc}: {}", v["ipvs"]);
        assert!(
            v["sysctls"]["conntrack"].is_string(),
            "{sc}: {}",
            v["sysctls"]
        );
    }
}

#[test]
fn each_scenario_gives_its_findings() {
    for (sc, dir) in scenarios() {
        let v = full(&dir);
        let f = findings(&v);
        let bad: Vec<&(String, String, String)> = f
            .iter()
            .filter(|(_, sev, _)| sev == "error" || sev == "warning")
            .collect();
        let has = |id: &str, sev: Option<&str>, text: &str| {
            f.iter()
                .any(|(i, s, m)| i == id && sev.is_none_or(|x| x == s) && m.contains(text))
        };
        match sc.as_str() {
            "incident" => {
                // The lead's e2e: an error naming the silent server, from ST005 or ST001.
                assert!(
                    has("ST005", Some("error"), "192.168.21.72")
                        || has("ST001", Some("error"), "192.168.21.72"),
                    "{sc}: {f:?}"
                );
                // And from the kernel's /proc files alone (what `state --host` reads).
                let p = state(&[
                    "--from",
                    dir.join("proc-ip_vs.txt").to_str().unwrap(),
                    dir.join("proc-ip_vs_conn.txt").to_str().unwrap(),
                ]);
                assert!(
                    findings(&p).iter().any(|(i, s, m)| i == "ST005"
                        && s == "error"
                        && m.contains("192.168.21.72")),
                    "{sc} /proc: {:?}",
                    findings(&p)
                );
                // The explanation matches the 6.1 kernel: SYN_RECV is active there.
                assert!(
                    !f.iter()
                        .any(|(_, _, m)| m.contains("stays inactive (SYN_RECV)")),
                    "{sc}: {f:?}"
                );
            }
            // Nothing wrong about the real servers; a config-only remark (ST011) may remain.
            "healthy" | "nat" | "tun" | "fwmark" | "persistence" | "ipv6" => {
                let about_servers: Vec<_> = bad
                    .iter()
                    .filter(|(i, _, _)| !matches!(i.as_str(), "ST011" | "ST018"))
                    // The IPv6 services were added beside the last scenario's IPv4 service
                    // (the co-located directors, which really are pinned): judge only them.
                    .filter(|(_, _, m)| sc != "ipv6" || m.contains("2001:db8"))
                    .collect();
                assert!(about_servers.is_empty(), "{sc}: {about_servers:?}");
                if sc == "persistence" {
                    assert!(
                        v["connections"]["templates"].as_u64().unwrap() > 0,
                        "{sc}: {}",
                        v["connections"]
                    );
                    assert!(v["services"][0]["persistent"].is_object(), "{sc}");
                }
                if sc == "nat" {
                    assert_eq!(v["services"][0]["real_servers"][0]["forward"], "Masq");
                }
                if sc == "tun" {
                    assert_eq!(v["services"][0]["real_servers"][0]["forward"], "Tunnel");
                }
                if sc == "fwmark" {
                    assert!(v["services"][0]["fwmark"].is_u64(), "{sc}");
                }
                if sc == "ipv6" {
                    assert!(
                        v["services"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|s| s["ipv6"] == true),
                        "{sc}"
                    );
                }
            }
            "inhibit" => assert!(has("ST002", None, "192.168.21.72"), "{sc}: {f:?}"),
            "syn-flood" => {
                assert!(has("ST004", None, ""), "{sc}: {f:?}");
                // Forged SYNs sit at every server: none is blamed.
                assert!(!has("ST005", None, ""), "{sc}: {f:?}");
            }
            _ => {}
        }
    }
}
