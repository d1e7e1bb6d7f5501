//! What keepalived refuses or silently changes (issue 14): one fixture per case under
//! fixtures/lint/refuses/, each linted end to end through the CLI (JSON output), with the
//! finding and line each case must produce, and what must not be reported.

use assert_cmd::Command;
use serde_json::Value;

fn lint(file: &str) -> Value {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--format", "json", "lint", "--fail-on", "never"])
        .arg(format!("fixtures/lint/refuses/{file}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (id, line, severity, message) of every finding.
fn found(v: &Value) -> Vec<(String, u64, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap_or(0),
                f["severity"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each (id, line) must be reported; returns the findings for further checks.
fn expect(file: &str, want: &[(&str, u64)]) -> Vec<(String, u64, String, String)> {
    let v = lint(file);
    let f = found(&v);
    for (id, line) in want {
        assert!(
            f.iter().any(|(i, l, _, _)| i == id && l == line),
            "{file}: expected {id} at line {line}, got {f:#?}"
        );
    }
    f
}

fn message<'a>(f: &'a [(String, u64, String, String)], id: &str, line: u64) -> &'a str {
    &f.iter().find(|x| x.0 == id && x.1 == line).unwrap().3
}

#[test]
fn missing_parameter_is_an_error() {
    let f = expect("missing-parameter.conf", &[("LB038", 8)]);
    let lb038 = f.iter().find(|x| x.0 == "LB038").unwrap();
    assert_eq!(lb038.2, "error");
    assert!(lb038.3.contains("is missing a parameter"), "{}", lb038.3);
}

#[test]
fn template_is_reported_once_without_its_brace_cascade() {
    let f = expect("template.conf", &[("LB039", 3)]);
    let ids: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(ids.iter().filter(|i| **i == "LB039").count(), 1, "{f:#?}");
    for cascade in ["LB002", "LB003", "LB004", "LB038"] {
        assert!(!ids.contains(&cascade), "{cascade} left in: {f:#?}");
    }
    assert!(message(&f, "LB039", 3).contains("template"));
}

#[test]
fn shell_syntax_in_scripts() {
    let f = expect("shell-syntax.conf", &[("LB040", 7), ("LB040", 17)]);
    // an explicit shell is fine
    assert!(!f.iter().any(|x| x.0 == "LB040" && x.1 == 18), "{f:#?}");
    assert!(message(&f, "LB040", 17).contains("user"));
    assert!(message(&f, "LB040", 7).contains("execve"));
}

#[test]
fn states_keepalived_forces_show_in_the_model() {
    for (file, line) in [("forced-state.conf", 6), ("forced-state-strict.conf", 5)] {
        let v = lint(file);
        let f = found(&v);
        assert!(
            f.iter().any(|x| x.0 == "LB041" && x.1 == line),
            "{file}: {f:#?}"
        );
        let vi = &v["model"][0]["vrrp_instances"][0];
        assert_eq!(vi["forced_state"]["state"], "BACKUP", "{file}: {vi}");
        assert_eq!(vi["state"]["value"], "MASTER");
    }
}

#[test]
fn addresses_keepalived_cannot_parse() {
    let f = expect(
        "bad-addresses.conf",
        &[
            ("LB010", 7),
            ("LB010", 9),
            ("LB010", 12),
            ("LB010", 13),
            ("LB010", 16),
            ("LB010", 19),
            // no VIP left at all
            ("LB010", 2),
        ],
    );
    assert!(message(&f, "LB010", 2).contains("No VIP specified"));
}

#[test]
fn values_out_of_range() {
    let f = expect(
        "out-of-range.conf",
        &[
            ("LB010", 3),
            ("LB010", 4),
            ("LB010", 8),
            ("LB010", 23),
            ("LB010", 28),
            ("LB010", 30),
        ],
    );
    assert!(message(&f, "LB010", 3).contains("vrrp_garp_interval"));
}

#[test]
fn repeats_deprecations_and_removals() {
    let f = expect(
        "repeats-deprecated.conf",
        &[
            ("LB002", 3),
            ("LB042", 23),
            ("LB043", 10),
            ("LB043", 15),
            ("LB043", 38),
        ],
    );
    // a removed keyword names its replacement, not a did-you-mean
    let lvs_id = message(&f, "LB002", 3);
    assert!(lvs_id.contains("router_id"), "{lvs_id}");
    assert!(!lvs_id.contains("did you mean"), "{lvs_id}");
    assert!(message(&f, "LB043", 38).contains("`retry`"));
    assert_eq!(
        f.iter().find(|x| x.0 == "LB043").unwrap().2,
        "info",
        "deprecated keywords still work"
    );
}

#[test]
fn track_scripts_both_ways() {
    // the misspelt name, and both scripts: nothing tracks either of them
    let f = expect(
        "track-scripts.conf",
        &[("LB044", 14), ("LB044", 2), ("LB044", 5)],
    );
    assert!(message(&f, "LB044", 14).contains("chk_haproxy"));
}

#[test]
fn sorry_server_on_the_director() {
    let f = expect("sorry-server-local.conf", &[("LB045", 6)]);
    assert!(message(&f, "LB045", 6).contains(":443"));
}
