//! The JSON renderer. Schema (stable, documented in README):
//! `{"tool","version","command","summary":{"errors","warnings","info"},"findings":[..], ..command data}`

use super::Report;
use crate::finding::Severity;
use serde_json::{json, Map, Value};

pub fn to_value(report: &Report) -> Value {
    let mut top = Map::new();
    top.insert("tool".into(), json!("lbdoctor"));
    top.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    top.insert("command".into(), json!(report.command));
    top.insert(
        "summary".into(),
        json!({
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
            "info": report.count(Severity::Info),
        }),
    );
    top.insert(
        "findings".into(),
        serde_json::to_value(&report.findings).unwrap_or(Value::Array(vec![])),
    );
    for (k, v) in &report.data {
        // Command data never overwrites the fixed keys above.
        top.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(top)
}

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(report)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
