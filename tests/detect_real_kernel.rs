//! `detect` on captures of a real IPVS kernel: fixtures/detect/real/, recorded by
//! tests/lab/record-ipvs-fixtures.sh in the lab VM (Debian's 6.1 kernel, keepalived 2.2.7
//! programming IPVS), with tcpdump on the client's NIC (`*-client.pcap`) and on the master
//! director's NIC (`*-director.pcap`). The sidecar truths are fixtures/state/real/<scenario>/
//! truth.json. Counts below were read off the captures with tcpdump.

use assert_cmd::Command;
use serde_json::Value;

const LB1: &str = "02:00:00:21:00:02";
const APP1_ENS3: &str = "02:00:00:21:00:11";
const APP2_ENS3: &str = "02:00:00:21:00:12";

fn detect(pcap: &str) -> (Option<i32>, Value) {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--format", "json", "detect", "192.168.21.20", "-r"])
        .arg(format!("fixtures/detect/real/{pcap}"))
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{pcap}: no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), j)
}

fn ids(j: &Value) -> Vec<String> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn backend_macs(v: &Value) -> Vec<String> {
    v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["mac"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn real_dr_incident_from_the_client_is_dsr_with_app2s_share_unanswered() {
    let (code, j) = detect("dr-incident-client.pcap");
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["lb_mac"], LB1);
    // 20 probes: 18 answered by app1, 2 sent by IPVS to the silent app2 (each SYN sent twice).
    assert_eq!(v["flows"]["attempted"], 20);
    assert_eq!(v["flows"]["answered"], 18);
    assert_eq!(v["flows"]["unanswered"], 2);
    assert_eq!(backend_macs(v), vec![APP1_ENS3.to_string()]);
    assert!(ids(&j).contains(&"DT003".to_string()), "{:?}", ids(&j));
    assert_eq!(code, Some(1));
}

#[test]
fn real_dr_incident_from_the_director_names_where_the_unanswered_syns_went() {
    let (code, j) = detect("dr-incident-director.pcap");
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["lb_mac"], LB1);
    assert_eq!(v["flows"]["unanswered"], 2);
    let dt003 = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DT003")
        .expect("DT003");
    // The real kernel resolved 192.168.21.72 to app2's ens3 MAC (app2 answers ARP for its
    // second address on both NICs while arp_ignore is 0): that is where IPVS sent the SYNs.
    assert!(
        dt003["message"].as_str().unwrap().contains(APP2_ENS3),
        "{dt003:#}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn real_dr_healthy_from_the_client_is_dsr_with_both_real_servers() {
    let (code, j) = detect("dr-client.pcap");
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["flows"]["attempted"], 20);
    assert_eq!(v["flows"]["unanswered"], 0);
    let mut macs = backend_macs(v);
    macs.sort();
    assert_eq!(macs, vec![APP1_ENS3.to_string(), APP2_ENS3.to_string()]);
    assert!(!ids(&j).contains(&"DT003".to_string()), "{:?}", ids(&j));
    assert_eq!(code, Some(0));
}

#[test]
fn real_nat_is_nat_from_the_client_and_from_the_director() {
    // IPVS NAT forwards the replies too, lowering their TTL by one hop: the client sees both
    // directions through the director's MAC.
    for pcap in ["nat-client.pcap", "nat-director.pcap"] {
        let (code, j) = detect(pcap);
        let v = &j["verdict"];
        assert_eq!(v["mode"], "nat", "{pcap}: {v:#}");
        assert_eq!(v["lb_mac"], LB1, "{pcap}");
        assert_eq!(v["flows"]["attempted"], 20, "{pcap}");
        assert_eq!(v["flows"]["unanswered"], 0, "{pcap}");
        assert_eq!(code, Some(0), "{pcap}");
    }
}

#[test]
fn real_tun_is_direct_return_from_the_client_and_tun_on_the_director() {
    let (code, j) = detect("tun-client.pcap");
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["flows"]["unanswered"], 0);
    let mut macs = backend_macs(v);
    macs.sort();
    assert_eq!(macs, vec![APP1_ENS3.to_string(), APP2_ENS3.to_string()]);
    assert_eq!(code, Some(0));

    // On the director the forwarded copies are IPIP packets to the real IPs: before IPIP was
    // decoded this capture read as 20 unanswered SYNs and no verdict.
    let (code, j) = detect("tun-director.pcap");
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["flows"]["attempted"], 20);
    assert_eq!(v["flows"]["answered"], 20);
    assert_eq!(v["flows"]["unanswered"], 0);
    let expl = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DT001")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        expl.contains("LVS-TUN")
            && expl.contains("192.168.21.71")
            && expl.contains("192.168.21.72"),
        "{expl}"
    );
    assert!(!ids(&j).contains(&"DT003".to_string()), "{:?}", ids(&j));
    assert_eq!(code, Some(0));
}
