//! The incident configs, end to end through the binary: exact findings (ids and lines).

use assert_cmd::Command;
use serde_json::Value;

fn lint(args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--format", "json", "lint"])
        .args(args)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

fn ids_lines(v: &Value) -> Vec<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expect(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(i, l)| (i.to_string(), *l)).collect()
}

#[test]
fn seed_incident() {
    let (code, v) = lint(&["fixtures/incidents/seed-keepalived.conf"]);
    assert_eq!(code, 1);
    assert_eq!(
        ids_lines(&v),
        expect(&[
            ("LB026", 6),  // nopreempt with state MASTER
            ("LB001", 21), // lvs_sched rr ... lb_algo lc: lc wins
            ("LB011", 21), // lc in DR pins clients
            ("LB015", 25), // TCP_CHECK only tests the real IP
            ("LB017", 26), // connect_timeout 10 = delay_loop 10
            ("LB017", 31),
        ])
    );
    let lb001 = &v["findings"][1];
    assert!(lb001["message"]
        .as_str()
        .unwrap()
        .contains("uses `lc` from line 21"));
    // the model says what keepalived runs, with the line that won
    let vs = &v["model"][0]["virtual_servers"][0];
    assert_eq!(vs["scheduler"]["value"], "lc");
    assert_eq!(vs["scheduler"]["keyword"], "lb_algo");
    assert_eq!(vs["scheduler"]["span"]["line"], 21);
    assert_eq!(vs["scheduler"]["overridden"][0]["line"], 19);
    assert_eq!(vs["method"]["value"], "DR");
}

#[test]
fn colocated_incident_with_director_addr() {
    let (code, v) = lint(&[
        "fixtures/incidents/colocated-keepalived.conf",
        "--director-addr",
        "192.168.0.1",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        ids_lines(&v),
        expect(&[
            ("LB011", 23),
            ("LB025", 27), // real_server 192.168.0.1 is this director
            ("LB015", 30),
            ("LB017", 36),
            ("LB017", 48),
        ])
    );
    // without the director's address the ping-pong cannot be known
    let (_, v) = lint(&["fixtures/incidents/colocated-keepalived.conf"]);
    assert!(!ids_lines(&v).iter().any(|(id, _)| id == "LB025"));
}

#[test]
fn dsas_style_incident_missing_brace() {
    let (code, v) = lint(&["fixtures/incidents/dsas-style-keepalived.conf"]);
    assert_eq!(code, 1);
    assert_eq!(
        ids_lines(&v),
        expect(&[
            ("LB010", 2), // a.b.c.d is no address
            ("LB003", 5), // virtual_server never closed
            // no LB011 for lb_algo wlc: keepalived builds one real server, nothing to pin
            ("LB002", 9),  // nat_mask
            ("LB010", 11), // persistence_timeout 0: keepalived rejects it
            ("LB015", 15),
            ("LB017", 21),
            ("LB043", 22), // nb_get_retry: deprecated, use retry
            ("LB004", 25), // the real_server whose `}` is missing swallows the next one
            ("LB017", 34), // the swallowed HTTP_GET is a second checker of 192.168.8.1
            ("LB043", 35),
        ])
    );
    let lb004 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "LB004")
        .unwrap();
    assert!(lb004["message"]
        .as_str()
        .unwrap()
        .contains("opened at line 12 is probably missing its closing `}`"));
    // keepalived sees one real server with two HTTP_GET checkers
    let rs = v["model"][0]["virtual_servers"][0]["real_servers"]
        .as_array()
        .unwrap();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0]["checkers"].as_array().unwrap().len(), 2);
}

#[test]
fn human_output_points_at_the_line_with_a_caret() {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--color",
            "never",
            "lint",
            "fixtures/incidents/seed-keepalived.conf",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--> fixtures/incidents/seed-keepalived.conf:21:3"),
        "{text}"
    );
    assert!(
        text.contains("  21 |   lb_algo lc\n     |   ^^^^^^^^^^"),
        "{text}"
    );
    assert!(
        text.contains("lc (lb_algo line 21; overrides line 19)"),
        "{text}"
    );
}
