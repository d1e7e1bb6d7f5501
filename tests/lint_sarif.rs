//! `lbdoctor lint --format sarif` validates against the SARIF 2.1.0 schema (OASIS, vendored
//! in fixtures/lint/, see SOURCE.md there).

use assert_cmd::Command;
use serde_json::Value;

fn schema() -> jsonschema::JSONSchema {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lint/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::JSONSchema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .compile(&schema)
        .expect("the SARIF schema compiles")
}

fn sarif(args: &[&str]) -> Value {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--format", "sarif", "lint"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn assert_valid(v: &Value) {
    let schema = schema();
    let msgs: Vec<String> = match schema.validate(v) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect(),
    };
    assert!(
        msgs.is_empty(),
        "SARIF output is not valid SARIF 2.1.0:\n{}",
        msgs.join("\n")
    );
}

#[test]
fn incident_findings_are_valid_sarif() {
    let v = sarif(&[
        "fixtures/incidents/seed-keepalived.conf",
        "fixtures/incidents/colocated-keepalived.conf",
        "fixtures/incidents/dsas-style-keepalived.conf",
        "--director-addr",
        "192.168.0.1",
    ]);
    assert_valid(&v);
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 10);
    let lb001 = results.iter().find(|r| r["ruleId"] == "LB001").unwrap();
    assert_eq!(
        lb001["locations"][0]["physicalLocation"]["region"]["startLine"],
        21
    );
    assert_eq!(lb001["level"], "warning");
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["id"] == "LB004" && r["name"] == "misspelt-block"));
}

#[test]
fn clean_config_is_valid_sarif_with_no_results() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ok.conf");
    std::fs::write(&p, "global_defs {\n  router_id lb1\n}\n").unwrap();
    let v = sarif(&[&p.display().to_string()]);
    assert_valid(&v);
    assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 0);
}

#[test]
fn the_validator_rejects_broken_sarif() {
    // guard against a schema that accepts anything
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {}}]});
    assert!(schema().validate(&bad).is_err());
}
