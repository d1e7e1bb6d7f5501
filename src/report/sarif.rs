//! SARIF 2.1.0, for code-scanning UIs. Findings without a file location attach to the subject.
//!
//! `write` streams the results with serde (no Value tree per finding); only the rules, one
//! per check id present, are built as Values.

use super::Report;
use crate::finding::{Finding, Severity};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;

fn rules(report: &Report) -> Vec<Value> {
    let ids: BTreeSet<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    ids.iter()
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
        .collect()
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

#[derive(Serialize)]
struct Artifact<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical<'a> {
    artifact_location: Artifact<'a>,
    region: Region,
}

#[derive(Serialize)]
struct Logical<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Loc<'a> {
    #[serde(rename_all = "camelCase")]
    Physical { physical_location: Physical<'a> },
    #[serde(rename_all = "camelCase")]
    Logical { logical_locations: [Logical<'a>; 1] },
}

#[derive(Serialize)]
struct Props<'a> {
    fix: &'a str,
    commands: &'a [String],
    evidence: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    level: &'static str,
    message: Text<'a>,
    locations: [Loc<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Props<'a>>,
}

fn result(f: &Finding) -> SarifResult<'_> {
    let loc = match &f.location {
        Some(l) => Loc::Physical {
            physical_location: Physical {
                artifact_location: Artifact { uri: &l.file },
                region: Region {
                    start_line: l.line.max(1),
                    start_column: l.column.max(1),
                },
            },
        },
        None => Loc::Logical {
            logical_locations: [Logical { name: &f.subject }],
        },
    };
    SarifResult {
        rule_id: &f.id,
        level: level(f.severity),
        message: Text { text: &f.message },
        locations: [loc],
        properties: f.fix.as_ref().map(|fix| Props {
            fix: &fix.text,
            commands: &fix.commands,
            evidence: &f.evidence,
        }),
    }
}

/// The results array, serialized one finding at a time.
struct Results<'a>(&'a [Finding]);

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for f in self.0 {
            seq.serialize_element(&result(f))?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<Value>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
struct Run<'a> {
    tool: Tool,
    results: Results<'a>,
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

fn log(report: &Report) -> Log<'_> {
    Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "lbdoctor",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://github.com/lbdoctor/lbdoctor",
                    rules: rules(report),
                },
            },
            results: Results(&report.findings),
        }],
    }
}

pub fn to_value(report: &Report) -> Value {
    serde_json::to_value(log(report)).unwrap_or(Value::Null)
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Stream the SARIF log, pretty-printed, with a final newline.
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buf, &log(report))?;
    buf.write_all(b"\n")?;
    buf.flush()
}

pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    if write(report, &mut out).is_err() {
        return "{}\n".into();
    }
    String::from_utf8(out).unwrap_or_else(|_| "{}\n".into())
}
