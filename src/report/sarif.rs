//! SARIF 2.1.0, for code-scanning UIs. Findings without a file location attach to the subject.

use super::Report;
use crate::finding::Severity;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn to_value(report: &Report) -> Value {
    let ids: BTreeSet<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    let rules: Vec<Value> = ids
        .iter()
        .map(|id| {
            let check = crate::checks::get(id);
            json!({
                "id": id,
                "name": check.map(|c| c.name.as_str()).unwrap_or(id),
                "shortDescription": {"text": check.map(|c| c.title.as_str()).unwrap_or(id)},
                "fullDescription": {"text": check.map(|c| c.summary.as_str()).unwrap_or(id)},
                "help": {"text": format!("lbdoctor explain {id}"),
                         "markdown": check.map(|c| c.body.as_str()).unwrap_or("")},
                "defaultConfiguration": {"level": level(check.map(|c| c.severity).unwrap_or(Severity::Warning))},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.id,
                "level": level(f.severity),
                "message": {"text": f.message},
            });
            let loc = match &f.location {
                Some(l) => json!({"physicalLocation": {
                    "artifactLocation": {"uri": l.file},
                    "region": {"startLine": l.line.max(1), "startColumn": l.column.max(1)}
                }}),
                None => json!({"logicalLocations": [{"name": f.subject}]}),
            };
            r["locations"] = json!([loc]);
            if let Some(fix) = &f.fix {
                r["properties"] =
                    json!({"fix": fix.text, "commands": fix.commands, "evidence": f.evidence});
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lbdoctor",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/lbdoctor/lbdoctor",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(report)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
