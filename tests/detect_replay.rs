//! Replays captures through `lbdoctor detect -r` and asserts verdicts and counts: the crafted
//! edge cases under fixtures/detect/crafted/, the lab recordings under fixtures/detect/lab/
//! (when present), and every capture of the shared corpus (no panic, clear errors).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const VIP: &str = "192.168.21.20";
const LB1: &str = "02:1b:00:00:00:02";
const APP1: &str = "02:a9:00:00:00:11";
const APP2: &str = "02:a9:00:00:00:12";

fn crafted(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/detect/crafted")
        .join(name)
}

/// Run detect on a file; returns (exit code, JSON).
fn detect(vip: &str, file: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--format", "json", "detect", vip, "-r"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}); stderr: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

fn ids(j: &Value) -> Vec<String> {
    let mut v: Vec<String> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn finding<'a>(j: &'a Value, id: &str) -> &'a Value {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {:#}", j["findings"]))
}

fn backends(j: &Value) -> Vec<(String, Option<String>, u64)> {
    j["verdict"]["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["mac"].as_str().unwrap().to_string(),
                b["ip"].as_str().map(str::to_string),
                b["flows"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn flows(j: &Value) -> [u64; 5] {
    let f = &j["verdict"]["flows"];
    [
        "attempted",
        "completed",
        "unanswered",
        "reset",
        "retransmitted",
    ]
    .map(|k| f[k].as_u64().unwrap_or_else(|| panic!("flows.{k} missing")))
}

fn healthy_backends() -> Vec<(String, Option<String>, u64)> {
    vec![
        (APP1.into(), Some("192.168.21.11".into()), 10),
        (APP2.into(), Some("192.168.21.12".into()), 10),
    ]
}

#[test]
fn crafted_fixtures_match_the_generator() {
    for (name, bytes) in lbdoctor::capture::synth::crafted_fixtures() {
        let on_disk = std::fs::read(crafted(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; run `cargo run --example detect_fixtures`"));
        assert!(
            on_disk == bytes,
            "{name} differs from the generator; run `cargo run --example detect_fixtures`"
        );
    }
}

#[test]
fn incident_is_dsr_with_one_silent_backend_and_the_json_contract() {
    let (code, j) = detect(VIP, &crafted("incident.pcap"), &[]);
    assert_eq!(code, 1, "an error finding makes exit status 1");
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr");
    assert!(v["confidence"].as_f64().unwrap() >= 0.8);
    assert_eq!(v["vip"], VIP);
    assert_eq!(v["port"], 80);
    assert_eq!(v["lb_mac"], LB1);
    assert_eq!(
        backends(&j),
        vec![(APP1.into(), Some("192.168.21.11".into()), 10)]
    );
    // 20 attempts: 10 answered by app1 and completed, 10 never answered (each SYN resent once).
    assert_eq!(flows(&j), [20, 10, 10, 0, 10]);
    assert_eq!(ids(&j), ["DT001", "DT003"]);
    let dt3 = finding(&j, "DT003");
    let msg = dt3["message"].as_str().unwrap();
    assert!(msg.contains("10 of 20"), "{msg}");
    assert!(msg.contains("health check"), "{msg}");
    assert!(msg.contains(APP1), "names the answering real server: {msg}");
    assert_eq!(dt3["severity"], "error");
    assert!(dt3["evidence"][0].as_str().unwrap().starts_with("packet "));
    // VRRP is explained as LB redundancy, not the balancing method.
    let dt1 = finding(&j, "DT001")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(dt1.contains("not the balancing method"), "{dt1}");
    let vrrp = j["vrrp"].as_array().unwrap();
    assert_eq!(vrrp.len(), 1);
    assert_eq!(vrrp[0]["vrid"], 51);
    assert_eq!(vrrp[0]["priority"], 150);
    assert_eq!(vrrp[0]["interval"], 1.0);
    assert_eq!(vrrp[0]["vips"][0], VIP);
    assert_eq!(vrrp[0]["src_mac"], LB1);
    assert_eq!(vrrp[0]["src_ip"], "192.168.21.2");
    assert_eq!(vrrp[0]["version"], 2);
    assert_eq!(vrrp[0]["count"], 6);
    // MACs are lower-case and colon-separated everywhere.
    let text = j.to_string();
    for m in text
        .split('"')
        .filter(|s| s.len() == 17 && s.matches(':').count() == 5)
    {
        assert_eq!(m, m.to_lowercase());
    }
}

#[test]
fn healthy_dsr_on_every_link_layer_and_file_format() {
    for name in [
        "healthy.pcap",
        "healthy.pcapng",
        "qinq.pcap",
        "sll.pcap",
        "sll2.pcap",
        "vrrp3.pcap",
    ] {
        let (code, j) = detect(VIP, &crafted(name), &[]);
        assert_eq!(j["verdict"]["mode"], "dsr", "{name}");
        assert_eq!(j["verdict"]["lb_mac"], LB1, "{name}");
        assert_eq!(backends(&j), healthy_backends(), "{name}");
        assert_eq!(flows(&j), [20, 20, 0, 0, 0], "{name}");
        assert_eq!(ids(&j), ["DT001"], "{name}");
        assert_eq!(code, 0, "{name}: info only");
    }
    // Cooked captures carry no destination MAC: the LB MAC comes from the VIP's ARP owner.
    let (_, j) = detect(VIP, &crafted("sll2.pcap"), &[]);
    assert_eq!(j["verdict"]["lb_mac_source"], "arp");
    let (_, j) = detect(VIP, &crafted("vrrp3.pcap"), &[]);
    assert_eq!(j["vrrp"][0]["version"], 3);
    assert_eq!(j["vrrp"][0]["interval"], 1.0);
}

#[test]
fn mirror_port_on_a_vlan_names_where_unanswered_syns_were_forwarded() {
    let (_, j) = detect(VIP, &crafted("mirror-vlan.pcap"), &[]);
    assert_eq!(j["verdict"]["mode"], "dsr");
    assert_eq!(j["verdict"]["lb_mac"], LB1);
    assert_eq!(flows(&j), [20, 10, 10, 0, 10]);
    let msg = finding(&j, "DT003")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(&format!(
            "forwarded to MAC(s): {APP2} (192.168.21.12), 10 flows: this is the real server"
        )),
        "{msg}"
    );
}

#[test]
fn nat_proxy_and_direct_are_told_apart() {
    let (_, j) = detect(VIP, &crafted("nat.pcap"), &[]);
    assert_eq!(j["verdict"]["mode"], "nat");
    assert!(j["verdict"]["confidence"].as_f64().unwrap() >= 0.8);
    assert_eq!(j["verdict"]["backends"].as_array().unwrap().len(), 0);
    let (_, j) = detect(VIP, &crafted("proxy.pcap"), &[]);
    assert_eq!(j["verdict"]["mode"], "proxy");
    assert_eq!(j["verdict"]["lb_mac"], LB1);
    let (_, j) = detect(VIP, &crafted("direct.pcap"), &[]);
    assert_eq!(j["verdict"]["mode"], "direct");
    assert_eq!(flows(&j), [20, 20, 0, 0, 0]);
}

#[test]
fn ipv6_vip_uses_neighbour_discovery() {
    let (_, j) = detect("2001:db8:21::20", &crafted("ipv6.pcap"), &[]);
    assert_eq!(j["verdict"]["mode"], "dsr");
    assert_eq!(j["verdict"]["vip"], "2001:db8:21::20");
    assert_eq!(
        backends(&j),
        vec![
            (APP1.into(), Some("2001:db8:21::11".into()), 10),
            (APP2.into(), Some("2001:db8:21::12".into()), 10),
        ]
    );
    assert_eq!(j["arp_owners"][0]["mac"], LB1);
    let (_, j) = detect("[2001:db8:21::20]:80", &crafted("ipv6.pcap"), &[]);
    assert_eq!(flows(&j), [20, 20, 0, 0, 0]);
}

#[test]
fn truncated_file_names_the_packet_and_keeps_the_rest() {
    let (code, j) = detect(VIP, &crafted("truncated.pcap"), &[]);
    assert_eq!(code, 1);
    let dt7 = finding(&j, "DT007");
    let msg = dt7["message"].as_str().unwrap();
    assert!(
        msg.starts_with("packet 112: the file ends inside the packet"),
        "{msg}"
    );
    assert_eq!(j["capture"]["packets"], 111);
    assert_eq!(j["capture"]["issues"][0]["packet"], 112);
    assert_eq!(j["capture"]["issues"][0]["fatal"], true);
    // Every flow was complete before the cut.
    assert_eq!(j["verdict"]["mode"], "dsr");
    assert_eq!(flows(&j)[0], 20);
}

#[test]
fn malformed_packet_is_named_and_the_rest_analysed() {
    let (_, j) = detect(VIP, &crafted("malformed.pcap"), &[]);
    let dt7 = finding(&j, "DT007");
    assert!(dt7["evidence"][0]
        .as_str()
        .unwrap()
        .starts_with("packet 5: malformed: IPv4 header"));
    assert_eq!(j["capture"]["malformed"], 1);
    assert_eq!(j["verdict"]["mode"], "dsr");
    assert_eq!(backends(&j), healthy_backends());
    assert_eq!(flows(&j), [20, 20, 0, 0, 0]);
    // Packet 5 was the first VRRP advert; the other five are still counted.
    assert_eq!(j["vrrp"][0]["count"], 5);
}

#[test]
fn split_brain_names_both_routers() {
    let (_, j) = detect(VIP, &crafted("split-brain.pcap"), &[]);
    let msg = finding(&j, "DT004")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("vrid 51"), "{msg}");
    assert!(
        msg.contains("192.168.21.2 (02:1b:00:00:00:02)")
            && msg.contains("192.168.21.3 (02:1b:00:00:00:03)"),
        "{msg}"
    );
    assert_eq!(j["vrrp"].as_array().unwrap().len(), 2);
    // One master only: no split brain.
    let (_, j) = detect(VIP, &crafted("healthy.pcap"), &[]);
    assert!(!ids(&j).contains(&"DT004".to_string()));
}

#[test]
fn arp_conflict_names_every_mac() {
    let (_, j) = detect(VIP, &crafted("arp-conflict.pcap"), &[]);
    let f = finding(&j, "DT005");
    assert_eq!(f["severity"], "error");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains(LB1) && msg.contains(APP2), "{msg}");
    assert_eq!(j["arp_owners"].as_array().unwrap().len(), 2);
}

#[test]
fn syn_flood_signature_and_counting_rule() {
    let (_, j) = detect(VIP, &crafted("syn-flood.pcap"), &[]);
    let f = finding(&j, "DT006");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.starts_with("3020 SYNs"), "{msg}");
    assert!(msg.contains("3000 (99%) have window 0"), "{msg}");
    let cmd = f["fix"]["commands"][0].as_str().unwrap();
    assert!(cmd.contains("--u32 \"0x20&0xffff=0x0\"") && cmd.contains("--length 40"));
    assert_eq!(j["syn"]["bare"], 3000);
    let distinct = j["syn"]["distinct_sources"].as_u64().unwrap();
    assert!((2800..=3200).contains(&distinct), "{distinct}");
    // The flood's SYNs are kept out of the connection accounting: clients' flows are clean.
    assert_eq!(j["verdict"]["flows"]["flood_syns"], 3000);
    assert_eq!(flows(&j), [20, 20, 0, 0, 0]);
    assert_eq!(j["verdict"]["mode"], "dsr");
    assert!(!ids(&j).contains(&"DT003".to_string()));
}

#[test]
fn bounded_flow_table_reports_evictions_and_keeps_counts() {
    let (_, full) = detect(VIP, &crafted("healthy.pcap"), &[]);
    let (_, small) = detect(VIP, &crafted("healthy.pcap"), &["--max-flows", "3"]);
    let msg = finding(&small, "DT008")["message"].as_str().unwrap();
    assert!(msg.contains("at most 3 flows"), "{msg}");
    assert_eq!(small["verdict"]["flows"]["evicted"], 17);
    // Counts survive eviction (flows are folded into the totals as they leave).
    assert_eq!(flows(&small), flows(&full));
    assert_eq!(backends(&small), backends(&full));
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "not a capture").unwrap();
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["detect", VIP, "-r"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt: is not a pcap or pcapng capture"),
        "{err}"
    );
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["detect", "lb.example.com", "-r"])
        .arg(crafted("healthy.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an IP address"));
}

#[test]
fn human_output_has_the_verdict_backends_flows_and_vrrp_tables() {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--color", "never", "detect", VIP, "-r"])
        .arg(crafted("incident.pcap"))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Verdict",
        "DSR",
        "Backends (MACs answering from the VIP)",
        "192.168.21.11 (arp in capture)",
        "Flows to 192.168.21.20:80",
        "VRRP adverts (load-balancer redundancy, not the balancing method)",
        "error[DT003]",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
}

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pcaps");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: corpus not found at {}", p.display());
        None
    }
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            captures(&p, out);
        } else if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
            if ["pcap", "pcapng", "cap"].contains(&ext) {
                out.push(p);
            }
        }
    }
}

/// Every corpus capture goes through the whole pipeline (reader, decoder, analyzer, verdict,
/// report) in-process: no panic, and unreadable files are clear errors naming the file.
#[test]
fn every_corpus_capture_is_read_without_panic() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    captures(&dir, &mut files);
    files.sort();
    assert!(files.len() > 100, "expected the corpus's captures");
    let ctx = lbdoctor::commands::Ctx {
        format: lbdoctor::cli::Format::Json,
        style: lbdoctor::report::style::Style::from_choice(lbdoctor::cli::ColorChoice::Never),
        quiet: true,
        verbose: 0,
        interactive: false,
    };
    let (mut ok, mut errors) = (0, Vec::new());
    for f in &files {
        let args = lbdoctor::cli::DetectArgs {
            target: VIP.into(),
            interface: None,
            read: Some(f.clone()),
            write: None,
            duration: 10.0,
            count: None,
            probes: 20,
            no_probe: false,
            max_flows: 1000,
        };
        match std::panic::catch_unwind(|| lbdoctor::commands::detect::run(&args, &ctx)) {
            Ok(Ok(report)) => {
                let j = lbdoctor::report::json::to_value(&report);
                assert!(j["verdict"]["mode"].is_string(), "{}", f.display());
                ok += 1;
            }
            Ok(Err(e)) => {
                let m = e.to_string();
                assert!(
                    m.contains(&f.display().to_string()),
                    "error must name the file: {m}"
                );
                errors.push(m);
            }
            Err(_) => panic!("panic on {}", f.display()),
        }
    }
    // Only the "modified" (Kuznetzov) pcap is refused, with a conversion hint.
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("editcap"), "{}", errors[0]);
    assert_eq!(ok, files.len() - 1);
}

#[test]
fn malformed_corpus_packets_are_named_and_the_rest_analysed() {
    let Some(dir) = corpus() else { return };
    // Packets 2 and 4 have a bad IPv6 version; 1 and 3 are fine.
    let (_, j) = detect(VIP, &dir.join("tcpdump/ipv6-bad-version.pcap"), &[]);
    let issues: Vec<u64> = j["capture"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["packet"].as_u64().unwrap())
        .collect();
    assert_eq!(issues, [2, 4]);
    assert_eq!(j["capture"]["packets"], 4);
    assert_eq!(j["capture"]["malformed"], 2);
    let msg = finding(&j, "DT007")["evidence"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.starts_with("packet 2: malformed: IPv6 header"), "{msg}");
    // A real LVS capture (client side, FNAT) decodes cleanly.
    let (_, j) = detect(
        "192.168.1.188",
        &dir.join("other/kailongli-elb-test/lvs.pcap"),
        &[],
    );
    assert_eq!(j["capture"]["issues_total"], 0);
    assert!(j["verdict"]["flows"]["attempted"].as_u64().unwrap() > 0);
}

/// Lab recordings (branch `lab`): asserted against their sidecar's expected truths.
#[test]
fn lab_fixtures_match_their_sidecars() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/detect/lab");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: no lab recordings in {}", dir.display());
        return;
    };
    let mut n = 0;
    for e in rd {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pcap") {
            let side = p.with_extension("json");
            let Ok(text) = std::fs::read_to_string(&side) else {
                continue;
            };
            let want: Value = serde_json::from_str(&text).unwrap();
            lab_check(&p, &want);
            n += 1;
        }
    }
    eprintln!("{n} lab recordings checked");
    assert!(n >= 6, "expected the lab's six recordings, found {n}");
}

fn lab_check(p: &Path, want: &Value) {
    let vip = want["vip"].as_str().unwrap_or(VIP);
    let (_, j) = detect(vip, p, &[]);
    let name = p.display();
    let v = &j["verdict"];
    assert_eq!(v["mode"], want["mode"], "{name}");
    // Requests may go to either director under split brain: any of lb_macs is right.
    let lb = v["lb_mac"].as_str().unwrap_or("-").to_string();
    let allowed: Vec<String> = want["lb_macs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m.as_str().unwrap().to_lowercase())
                .collect()
        })
        .unwrap_or_else(|| vec![want["lb_mac"].as_str().unwrap_or("").to_lowercase()]);
    assert!(
        allowed.contains(&lb),
        "{name}: lb_mac {lb} not in {allowed:?}"
    );
    for k in ["attempted", "completed", "unanswered"] {
        if let Some(n) = want["expected"][k].as_u64() {
            assert_eq!(v["flows"][k], n, "{name}: flows.{k}");
        }
    }
    let mut got = backends(&j);
    got.sort();
    let mut exp: Vec<(String, Option<String>, u64)> = want["backends"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    (
                        b["mac"].as_str().unwrap().to_lowercase(),
                        b["ip"].as_str().map(str::to_string),
                        b["flows"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    exp.sort();
    if want["mode"] == "dsr" {
        // IPs come from the capture's ARP; the lab's captures may not hold every host's.
        let strip = |v: &[(String, Option<String>, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(m, _, f)| (m.clone(), *f)).collect()
        };
        assert_eq!(strip(&got), strip(&exp), "{name}: backends");
        for ((_, gip, _), (_, eip, _)) in got.iter().zip(&exp) {
            if let Some(g) = gip {
                assert_eq!(Some(g), eip.as_ref(), "{name}: backend ip");
            }
        }
    }
    let split = ids(&j).contains(&"DT004".to_string());
    assert_eq!(
        split,
        want["split_brain"].as_bool().unwrap_or(false),
        "{name}: split brain"
    );
    if let Some(vr) = want["vrrp"].as_array() {
        for w in vr {
            assert!(
                j["vrrp"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g["vrid"] == w["vrid"]
                        && g["src_mac"] == w["src_mac"]
                        && g["priority"] == w["priority"]
                        && g["version"] == w["version"]),
                "{name}: VRRP {w} not reported"
            );
        }
    }
    if let Some(n) = want["flood"]["syns"].as_u64() {
        assert_eq!(j["syn"]["bare"], n, "{name}: flood SYNs");
        assert!(ids(&j).contains(&"DT006".to_string()), "{name}");
    }
    if let Some(macs) = want["vip_arp_macs"].as_array() {
        let f = finding(&j, "DT005");
        for m in macs {
            assert!(
                f["message"].as_str().unwrap().contains(m.as_str().unwrap()),
                "{name}: DT005 must name {m}"
            );
        }
    }
    if let Some(packets) = want["packets"].as_u64() {
        assert_eq!(j["capture"]["packets"], packets, "{name}");
    }
}
