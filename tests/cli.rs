//! The CLI surface: help, explain, output formats, exit codes.

use assert_cmd::Command;
use predicates::prelude::*;

fn lbdoctor() -> Command {
    let mut c = Command::cargo_bin("lbdoctor").unwrap();
    c.env_remove("NO_COLOR");
    c
}

#[test]
fn help_lists_every_subcommand_and_exit_codes() {
    let out = lbdoctor().arg("--help").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for sub in ["detect", "lint", "state", "audit", "explain", "EXIT STATUS"] {
        assert!(text.contains(sub), "--help lacks {sub}");
    }
}

#[test]
fn explain_prints_one_check() {
    lbdoctor()
        .args(["explain", "LB001"])
        .assert()
        .success()
        .stdout(predicate::str::contains("duplicate-setting"))
        .stdout(predicate::str::contains("## Why it matters"));
}

#[test]
fn explain_accepts_lower_case_ids_and_names() {
    lbdoctor().args(["explain", "lb001"]).assert().success();
    lbdoctor()
        .args(["explain", "duplicate-setting"])
        .assert()
        .success();
}

#[test]
fn explain_unknown_id_is_a_usage_error() {
    lbdoctor()
        .args(["explain", "LB999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no check named"));
}

#[test]
fn explain_lists_all_checks_as_json() {
    let out = lbdoctor()
        .args(["--format", "json", "explain"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["tool"], "lbdoctor");
    assert_eq!(v["command"], "explain");
    assert!(v["findings"].as_array().unwrap().is_empty());
    let ids: Vec<_> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&"LB001".to_string()));
    assert_eq!(ids.len(), lbdoctor::checks::all().len());
}

#[test]
fn sarif_is_refused_outside_lint() {
    lbdoctor()
        .args(["--format", "sarif", "explain"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "only available for `lbdoctor lint`",
        ));
}

#[test]
fn unknown_flag_exits_2() {
    lbdoctor()
        .args(["lint", "--no-such-flag", "x"])
        .assert()
        .code(2);
}

#[test]
fn color_never_and_no_color_produce_no_escape_codes() {
    let out = lbdoctor()
        .args(["--color", "never", "explain", "LB001"])
        .assert()
        .success();
    assert!(!out.get_output().stdout.contains(&0x1b));
    let out = lbdoctor()
        .env("NO_COLOR", "1")
        .args(["explain", "LB001"])
        .assert()
        .success();
    assert!(!out.get_output().stdout.contains(&0x1b));
    let out = lbdoctor()
        .args(["--color", "always", "explain", "LB001"])
        .assert()
        .success();
    assert!(out.get_output().stdout.contains(&0x1b));
}

/// Validates a `--format json` output against docs/report.schema.json (the documented schema).
pub fn assert_matches_report_schema(v: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let compiled = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    let msgs: Vec<String> = match compiled.validate(v) {
        Ok(()) => return,
        Err(errors) => errors
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect(),
    };
    panic!("output does not match docs/report.schema.json: {msgs:?}");
}

#[test]
fn explain_json_matches_the_documented_schema() {
    let out = lbdoctor()
        .args(["--format", "json", "explain", "LB001"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_matches_report_schema(&v);
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = lbdoctor()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_command_prints_the_documented_envelope_and_its_contract_keys() {
    let detect = json_of(&[
        "detect",
        "192.168.21.20",
        "-r",
        "fixtures/detect/lab/incident.pcap",
    ]);
    assert_matches_report_schema(&detect);
    let v = &detect["verdict"];
    assert_eq!(v["mode"], "dsr");
    for key in ["confidence", "vip", "port", "lb_mac", "backends", "flows"] {
        assert!(!v[key].is_null(), "verdict.{key} missing");
    }
    for key in ["attempted", "completed", "unanswered", "reset"] {
        assert!(v["flows"][key].is_u64(), "verdict.flows.{key} missing");
    }
    assert!(detect["vrrp"].is_array());

    let lint = json_of(&["lint", "fixtures/incidents/seed-keepalived.conf"]);
    assert_matches_report_schema(&lint);
    assert!(lint["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "LB001"));

    let state = json_of(&["state", "--from", "fixtures/incidents/seed-ipvsadm-Ln.txt"]);
    assert_matches_report_schema(&state);
    assert!(state["services"].is_array());

    let audit = json_of(&[
        "audit",
        "--facts",
        "fixtures/audit/lab-incident-apps.json",
        "--vip",
        "192.168.21.20:80",
    ]);
    assert_matches_report_schema(&audit);
    assert!(audit["hosts"].as_array().unwrap().len() >= 2);
}
