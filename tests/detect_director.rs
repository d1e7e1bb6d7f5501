//! `detect` from the director's side: fixtures/detect/lab/director-side.pcap, recorded by
//! tests/lab/record-director.sh with tcpdump on the director's NIC while it forwarded 20
//! client connections at layer 2 (as IPVS DR does) to app1 (VIP setup, answers) and app2
//! (no VIP setup, drops them). tcpdump counts in that capture: 12 flows forwarded to
//! 02:00:00:21:00:11, 8 to 02:00:00:21:00:12, each of those SYNs sent twice. The replies
//! never pass the director, so the verdict rests on the forwarded copies and the clients'
//! ACKs, and DT003 must name the silent real server by MAC and IP.

use assert_cmd::Command;
use serde_json::Value;

const PCAP: &str = "fixtures/detect/lab/director-side.pcap";

fn detect(fmt: &str) -> (Option<i32>, String) {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--format",
            fmt,
            "--color",
            "never",
            "detect",
            "192.168.21.20",
            "-r",
            PCAP,
        ])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_director_side_capture_names_the_silent_real_server_by_mac_and_ip() {
    let (code, text) = detect("json");
    assert_eq!(code, Some(1));
    let j: Value = serde_json::from_str(&text).unwrap();
    let v = &j["verdict"];
    assert_eq!(v["mode"], "dsr", "{v:#}");
    assert_eq!(v["lb_mac"], "02:00:00:21:00:02");
    // Answered = the client's ACK followed its SYN through the director.
    assert_eq!(v["flows"]["attempted"], 20);
    assert_eq!(v["flows"]["answered"], 12);
    assert_eq!(v["flows"]["unanswered"], 8);
    let backends: Vec<(String, String, u64)> = v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["mac"].as_str().unwrap().to_string(),
                b["ip"].as_str().unwrap_or("-").to_string(),
                b["flows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        backends,
        vec![
            ("02:00:00:21:00:11".into(), "192.168.21.11".into(), 12),
            ("02:00:00:21:00:12".into(), "192.168.21.12".into(), 0),
        ]
    );
    let dt003 = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DT003")
        .expect("DT003");
    let msg = dt003["message"].as_str().unwrap();
    assert!(
        msg.contains("forwarded to MAC(s): 02:00:00:21:00:12 (192.168.21.12), 8 flows"),
        "{msg}"
    );
    assert!(
        msg.contains("Answering real servers: 02:00:00:21:00:11 (192.168.21.11)."),
        "{msg}"
    );
    let fix: Vec<&str> = dt003["fix"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        fix,
        [
            "lbdoctor audit --host 192.168.21.12",
            "lbdoctor check 192.168.21.20:80 --rs 192.168.21.12"
        ]
    );
    assert!(dt003["evidence"][0]
        .as_str()
        .unwrap()
        .ends_with("forwarded to MAC 02:00:00:21:00:12 (192.168.21.12)"));
}

#[test]
fn client_side_recordings_keep_their_verdicts() {
    // The client's view of the same incident: replies visible, no forwarded copies, so the
    // ACK rule (which needs a forwarded copy) changes nothing there.
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--format",
            "json",
            "detect",
            "192.168.21.20",
            "-r",
            "fixtures/detect/lab/incident.pcap",
        ])
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["verdict"]["mode"], "dsr");
    assert_eq!(j["verdict"]["flows"]["answered"], 10);
    assert_eq!(j["verdict"]["flows"]["unanswered"], 10);
}
