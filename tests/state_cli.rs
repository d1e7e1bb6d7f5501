//! `lbdoctor state` end to end on the fixtures: the incident's exact findings, every source
//! format, IPv6/fwmark/persistence, config drift, and bad input.

use assert_cmd::Command;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn lbd(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> (Value, i32) {
    let mut a = vec!["--format", "json", "state"];
    a.extend_from_slice(args);
    let out = lbd(&a);
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), code)
}

/// (id, severity, subject, file:line) of each finding.
fn findings(v: &Value) -> Vec<(String, String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let loc = match &f["location"] {
                Value::Null => String::new(),
                l => format!("{}:{}", l["file"].as_str().unwrap(), l["line"]),
            };
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                loc,
            )
        })
        .collect()
}

fn f(id: &str, sev: &str, subject: &str, loc: &str) -> (String, String, String, String) {
    (id.into(), sev.into(), subject.into(), loc.into())
}

#[test]
fn incident_table_alone() {
    let (v, code) = json(&["--from", "fixtures/incidents/seed-ipvsadm-Ln.txt"]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&v),
        vec![f(
            "ST001",
            "warning",
            "TCP 192.168.21.20:80",
            "fixtures/incidents/seed-ipvsadm-Ln.txt:6"
        )]
    );
    let msg = v["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("192.168.21.71:80 holds 1 active connection (overhead 1×256+3 = 259)"),
        "{msg}"
    );
    assert!(
        msg.contains("192.168.21.72:80 (overhead 4) gets every new connection: about the next 255"),
        "{msg}"
    );
    let s = &v["services"][0];
    assert_eq!(s["scheduler"], "lc");
    assert_eq!(s["next_pick"], "192.168.21.72:80");
    assert_eq!(s["real_servers"][0]["method"], "DR");
    assert_eq!(s["real_servers"][0]["active"], 1);
    assert_eq!(s["real_servers"][1]["inactive"], 4);
    assert_eq!(s["real_servers"][1]["share"], 0.5);
    assert_eq!(v["ipvs"]["table_size"], 4096);
    assert_eq!(v["connections"], Value::Null);
}

#[test]
fn incident_with_config_names_the_line_that_chose_lc() {
    let (v, _) = json(&[
        "--from",
        "fixtures/incidents/seed-ipvsadm-Ln.txt",
        "--config",
        "fixtures/incidents/seed-keepalived.conf",
    ]);
    assert_eq!(
        findings(&v),
        vec![
            f(
                "ST001",
                "warning",
                "TCP 192.168.21.20:80",
                "fixtures/incidents/seed-ipvsadm-Ln.txt:6"
            ),
            f(
                "ST011",
                "warning",
                "TCP 192.168.21.20:80",
                "fixtures/incidents/seed-keepalived.conf:21"
            ),
        ]
    );
    let st011 = v["findings"][1]["message"].as_str().unwrap();
    assert!(
        st011.contains("because of `lb_algo lc` at fixtures/incidents/seed-keepalived.conf:21"),
        "{st011}"
    );
    assert!(
        st011.contains("It overrides `lvs_sched rr` at line 19"),
        "{st011}"
    );
    let st001 = v["findings"][0]["message"].as_str().unwrap();
    assert!(st001.contains("keepalived.conf chose lc with `lb_algo lc` at fixtures/incidents/seed-keepalived.conf:21, which overrides `lvs_sched rr` at line 19"), "{st001}");
}

#[test]
fn incident_human_output_shows_the_annotated_table_and_the_caret() {
    let out = lbd(&[
        "state",
        "--from",
        "fixtures/incidents/seed-ipvsadm-Ln.txt",
        "--config",
        "fixtures/incidents/seed-keepalived.conf",
    ]);
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("Virtual services (ipvsadm -Ln view)"), "{s}");
    assert!(
        s.contains("gets the next new connections (lc, overhead 4)"),
        "{s}"
    );
    assert!(s.contains("Route (DR)"), "{s}");
    assert!(s.contains("21 |   lb_algo lc"), "{s}");
    assert!(s.contains("0 errors, 2 warnings"), "{s}");
}

#[test]
fn incident_every_format_gives_the_same_table() {
    let base = json(&["--from", "fixtures/state/incident-ipvsadm-Ln.txt"]).0;
    for f in ["incident-proc-ip_vs.txt", "incident-ipvsadm-save.txt"] {
        let v = json(&["--from", &format!("fixtures/state/{f}")]).0;
        let (a, b) = (&base["services"][0], &v["services"][0]);
        for k in ["key", "scheduler", "protocol", "address", "port"] {
            assert_eq!(a[k], b[k], "{f}: {k}");
        }
        // ipvsadm sorts real servers by address; /proc keeps the kernel's order (newest
        // first), as the real 6.1 kernel shows: match them by address.
        for i in 0..2 {
            let x = &a["real_servers"][i];
            let y = b["real_servers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|y| y["address"] == x["address"])
                .unwrap();
            for k in ["address", "port", "method", "weight"] {
                assert_eq!(x[k], y[k], "{f}: real server {i} {k}");
            }
        }
        if f.contains("proc") {
            assert_eq!(b["real_servers"][0]["address"], "192.168.21.72", "{f}");
        }
    }
    // ipvsadm-save has no counters: no ST001, and counters are null, not 0.
    let v = json(&["--from", "fixtures/state/incident-ipvsadm-save.txt"]).0;
    assert!(findings(&v).is_empty());
    assert_eq!(v["services"][0]["real_servers"][0]["active"], Value::Null);
    // --stats and --rate give counters.
    let v = json(&["--from", "fixtures/state/incident-ipvsadm-Ln-stats.txt"]).0;
    assert_eq!(v["services"][0]["real_servers"][0]["stats"]["inpkts"], 33);
    let v = json(&["--from", "fixtures/state/incident-ipvsadm-Ln-rate.txt"]).0;
    assert_eq!(v["services"][0]["real_servers"][1]["rates"]["inpps"], 4);
    let v = json(&["--from", "fixtures/state/incident-proc-ip_vs_stats.txt"]).0;
    assert_eq!(v["global_stats"]["totals"]["inpkts"], 45);
    assert_eq!(v["global_stats"]["rates"]["inbps"], 320);
}

#[test]
fn incident_with_connection_entries_proves_app2_does_not_answer() {
    for conn in ["incident-ipvsadm-Lnc.txt", "incident-proc-ip_vs_conn.txt"] {
        let (v, _) = json(&[
            "--from",
            "fixtures/state/incident-ipvsadm-Ln.txt",
            &format!("fixtures/state/{conn}"),
            "--config",
            "fixtures/incidents/seed-keepalived.conf",
        ]);
        let got = findings(&v);
        let ids: Vec<(&str, &str)> = got.iter().map(|f| (f.0.as_str(), f.1.as_str())).collect();
        assert_eq!(
            ids,
            vec![("ST001", "error"), ("ST005", "error"), ("ST011", "warning")],
            "{conn}"
        );
        assert_eq!(got[1].2, "192.168.21.72:80");
        // ST005 points at the first SYN_RECV entry to .72.
        assert_eq!(
            got[1].3,
            format!(
                "fixtures/state/{conn}:{}",
                if conn.contains("Lnc") { 7 } else { 6 }
            )
        );
        let c = &v["connections"];
        assert_eq!(c["total"], 8);
        assert_eq!(c["by_state"]["SYN_RECV"], 4);
        assert_eq!(c["by_destination"]["192.168.21.72:80"]["SYN_RECV"], 4);
        assert_eq!(c["by_destination"]["192.168.21.71:80"]["ESTABLISHED"], 1);
    }
}

#[test]
fn ipv6_fwmark_persistence_read_alike_from_proc_ipvsadm_and_save() {
    let ln = json(&["--from", "fixtures/state/mixed-ipvsadm-Ln.txt"]).0;
    let proc_ = json(&["--from", "fixtures/state/mixed-proc-ip_vs.txt"]).0;
    let save = json(&["--from", "fixtures/state/mixed-ipvsadm-save.txt"]).0;
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["key"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    let want = vec![
        "FWM 10",
        "FWM 268439552 IPv6",
        "TCP 10.0.0.1:443",
        "TCP 10.0.0.2:80",
        "TCP [2001:db8::20]:80",
        "UDP 10.0.0.1:53",
    ];
    assert_eq!(keys(&ln), want);
    assert_eq!(keys(&proc_), want);
    assert_eq!(keys(&save), want);
    let svc = |v: &Value, key: &str| -> Value {
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap()
            .clone()
    };
    // Persistence: seconds from ipvsadm, jiffies from /proc (HZ is not in the file).
    assert_eq!(
        svc(&ln, "TCP 10.0.0.1:443")["persistent"]["timeout"]["seconds"],
        10800
    );
    assert_eq!(
        svc(&proc_, "TCP 10.0.0.1:443")["persistent"]["timeout"]["jiffies"],
        2_700_000
    );
    assert_eq!(
        svc(&proc_, "TCP 10.0.0.1:443")["persistent"]["netmask"],
        "255.255.255.0"
    );
    assert_eq!(
        svc(&ln, "TCP [2001:db8::20]:80")["persistent"]["netmask"],
        "64"
    );
    assert_eq!(
        svc(&proc_, "TCP [2001:db8::20]:80")["persistent"]["netmask"],
        "64"
    );
    assert_eq!(
        svc(&save, "TCP [2001:db8::20]:80")["persistent"]["netmask"],
        "64"
    );
    assert_eq!(
        svc(&ln, "TCP 10.0.0.1:443")["sched_flags"],
        serde_json::json!(["sh-fallback", "sh-port"])
    );
    assert_eq!(svc(&ln, "UDP 10.0.0.1:53")["ops"], true);
    assert_eq!(svc(&proc_, "UDP 10.0.0.1:53")["ops"], true);
    assert_eq!(svc(&proc_, "FWM 10")["real_servers"][0]["method"], "TUN");
    assert_eq!(svc(&ln, "TCP 10.0.0.2:80")["persistent"], false);
    for v in [&ln, &proc_] {
        assert_eq!(
            findings(v)
                .iter()
                .map(|f| (f.0.as_str(), f.2.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("ST001", "TCP [2001:db8::20]:80"),
                ("ST002", "TCP 10.0.0.1:443"),
                ("ST003", "TCP 10.0.0.2:80"),
            ]
        );
    }
    // Connection entries: IPv6 and persistence templates.
    for f in ["mixed-proc-ip_vs_conn.txt", "mixed-ipvsadm-Lnc.txt"] {
        let v = json(&["--from", &format!("fixtures/state/{f}")]).0;
        assert_eq!(v["connections"]["total"], 4, "{f}");
        assert_eq!(v["connections"]["templates"], 1, "{f}");
        assert_eq!(
            v["connections"]["by_destination"]["[2001:db8::11]:80"]["ESTABLISHED"], 1,
            "{f}"
        );
    }
}

#[test]
fn syn_flood_and_big_table() {
    let (v, _) = json(&["--from", "fixtures/state/synflood-proc-ip_vs_conn.txt"]);
    let got = findings(&v);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "ST004");
    let msg = v["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("3000 of 3020 connection entries are in SYN_RECV (99%)"),
        "{msg}"
    );
    assert!(v["connections"]["syn_recv_sources"].as_u64().unwrap() > 2900);
    let (v, _) = json(&["--from", "fixtures/state/bigtable-ipvsadm-Ln.txt"]);
    assert_eq!(
        findings(&v)
            .iter()
            .map(|f| (f.0.as_str(), f.1.as_str()))
            .collect::<Vec<_>>(),
        vec![("ST006", "warning"), ("ST007", "warning")]
    );
    let st007 = v["findings"][1]["fix"]["commands"][0].as_str().unwrap();
    assert_eq!(
        st007,
        "echo 'options ip_vs conn_tab_bits=17' > /etc/modprobe.d/ip_vs.conf"
    );
}

#[test]
fn kernel_drifted_from_config() {
    let (v, _) = json(&[
        "--from",
        "fixtures/state/drift/ipvsadm-Ln.txt",
        "--config",
        "fixtures/state/drift/keepalived.conf",
    ]);
    let cfg = "fixtures/state/drift/keepalived.conf";
    let ln = "fixtures/state/drift/ipvsadm-Ln.txt";
    let mut got = findings(&v);
    got.sort();
    let mut want = vec![
        f(
            "ST002",
            "warning",
            "TCP 192.168.30.10:80",
            &format!("{ln}:6"),
        ),
        f(
            "ST010",
            "error",
            "TCP 192.168.30.10:80",
            &format!("{cfg}:4"),
        ),
        f(
            "ST012",
            "error",
            "TCP 192.168.30.10:80",
            &format!("{cfg}:5"),
        ),
        f(
            "ST013",
            "warning",
            "TCP 192.168.30.10:80",
            &format!("{cfg}:10"),
        ),
        f(
            "ST014",
            "warning",
            "TCP 192.168.30.10:80",
            &format!("{cfg}:7"),
        ),
        f(
            "ST015",
            "warning",
            "TCP 192.168.30.10:80",
            &format!("{cfg}:22"),
        ),
        f(
            "ST016",
            "warning",
            "TCP 192.168.30.10:80",
            &format!("{ln}:7"),
        ),
        f(
            "ST017",
            "error",
            "UDP 192.168.30.10:443",
            &format!("{cfg}:29"),
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    let st002 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "ST002")
        .unwrap();
    assert!(st002["message"]
        .as_str()
        .unwrap()
        .contains("inhibit_on_failure"));
}

#[test]
fn bad_input_is_a_clear_error_with_file_and_line() {
    for (file, want) in [
        (
            "truncated-ipvsadm-Ln.txt",
            "truncated-ipvsadm-Ln.txt:6: truncated real server line",
        ),
        (
            "truncated-proc-ip_vs.txt",
            "truncated-proc-ip_vs.txt:6: truncated real server line",
        ),
        (
            "garbled-ipvsadm-Ln.txt",
            "garbled-ipvsadm-Ln.txt:6: bad ActiveConn \"zero\"",
        ),
        (
            "truncated-proc-ip_vs_conn.txt",
            "truncated-proc-ip_vs_conn.txt:6: truncated connection line",
        ),
        (
            "garbled-ipvsadm-Lnc.txt",
            "garbled-ipvsadm-Lnc.txt:3: bad expiry \"1457\"",
        ),
        (
            "truncated-proc-ip_vs_stats.txt",
            "truncated-proc-ip_vs_stats.txt:3: truncated",
        ),
        (
            "headless-ipvsadm-Ln.txt",
            "headless-ipvsadm-Ln.txt:1: truncated",
        ),
        (
            "not-ipvs.txt",
            "not-ipvs.txt:1: not a known IPVS state format",
        ),
        ("empty.txt", "empty.txt: is empty"),
    ] {
        let out = lbd(&["state", "--from", &format!("fixtures/state/bad/{file}")]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("lbdoctor: error: fixtures/state/bad/{want}")),
            "{file}: {err}"
        );
        assert!(!err.contains("panicked"), "{file}: {err}");
        assert!(out.stdout.is_empty(), "{file}");
    }
    let out = lbd(&["state", "--from", "fixtures/state/no-such-file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file: cannot read"));
}

#[test]
fn no_source_on_a_kernel_without_ipvs_is_a_clear_error() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("SKIP: this kernel has IPVS");
        return;
    }
    let out = lbd(&["state"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "lbdoctor: error: no IPVS on this host: /proc/net/ip_vs is absent; load ip_vs or use --from"
    );
}

#[test]
fn two_snapshots_show_inactive_growing() {
    let (v, _) = json(&[
        "--from",
        "fixtures/state/synflood-ipvsadm-Ln-t0.txt",
        "fixtures/state/synflood-ipvsadm-Ln-t1.txt",
    ]);
    assert_eq!(
        findings(&v),
        vec![
            f(
                "ST006",
                "warning",
                "TCP 192.168.21.20:80",
                "fixtures/state/synflood-ipvsadm-Ln-t1.txt:4"
            ),
            f(
                "ST008",
                "warning",
                "TCP 192.168.21.20:80",
                "fixtures/state/synflood-ipvsadm-Ln-t1.txt:4"
            ),
        ]
    );
    let msg = v["findings"][1]["message"].as_str().unwrap();
    assert!(msg.starts_with("InActConn of TCP 192.168.21.20:80 grew from 78 to 4801 since fixtures/state/synflood-ipvsadm-Ln-t0.txt"), "{msg}");
    // The table shown is the later one.
    assert_eq!(v["services"][0]["inactive"], 4801);
    // One snapshot alone: no growth to report.
    let (v, _) = json(&["--from", "fixtures/state/synflood-ipvsadm-Ln-t0.txt"]);
    assert!(findings(&v).is_empty());
}

#[test]
fn json_output_matches_the_documented_report_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let compiled = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    for args in [
        vec![
            "--from",
            "fixtures/state/incident-ipvsadm-Ln.txt",
            "fixtures/state/incident-proc-ip_vs_conn.txt",
            "--config",
            "fixtures/incidents/seed-keepalived.conf",
        ],
        vec!["--from", "fixtures/state/mixed-proc-ip_vs.txt"],
        vec![
            "--from",
            "fixtures/state/drift/ipvsadm-Ln.txt",
            "--config",
            "fixtures/state/drift/keepalived.conf",
        ],
    ] {
        let (v, _) = json(&args);
        if let Err(errors) = compiled.validate(&v) {
            let msgs: Vec<String> = errors
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            panic!("{args:?}: {msgs:?}");
        }
        assert_eq!(v["command"], "state");
    }
}

#[test]
fn the_same_table_in_two_formats_is_merged_not_compared() {
    let (v, _) = json(&[
        "--from",
        "fixtures/state/incident-proc-ip_vs.txt",
        "fixtures/state/incident-ipvsadm-Ln.txt",
    ]);
    assert!(
        !v["notes"].to_string().contains("snapshot"),
        "{}",
        v["notes"]
    );
    assert_eq!(v["sources"].as_array().unwrap().len(), 2);
    assert_eq!(v["services"].as_array().unwrap().len(), 1);
    assert_eq!(findings(&v).len(), 1);
    // The finding points at the first table given: .72, added last, is the kernel's first.
    assert_eq!(
        findings(&v)[0].3,
        "fixtures/state/incident-proc-ip_vs.txt:5"
    );
}

#[test]
fn kernel_release_decides_what_activeconn_means() {
    let (v, _) = json(&[
        "--from",
        "fixtures/incidents/seed-ipvsadm-Ln.txt",
        "--kernel",
        "6.1.0-57-amd64",
    ]);
    assert_eq!(v["ipvs"]["kernel"], "6.1.0-57-amd64");
    let st001 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "ST001")
        .unwrap();
    let m = st001["message"].as_str().unwrap();
    assert!(m.contains("Linux 4.8 or later"), "{m}");
    assert!(!m.contains("stays inactive"), "{m}");
    let (v, _) = json(&["--from", "fixtures/incidents/seed-ipvsadm-Ln.txt"]);
    assert_eq!(v["ipvs"]["kernel"], Value::Null);

    let out = lbd(&[
        "state",
        "--from",
        "fixtures/incidents/seed-ipvsadm-Ln.txt",
        "--kernel",
        "latest",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "lbdoctor: error: --kernel \"latest\": expected a kernel release as `uname -r` prints it, e.g. 6.1.0-57-amd64"
    );
}
