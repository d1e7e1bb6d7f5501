//! The JSON renderer. Schema (stable, documented in README):
//! `{"tool","version","command","summary":{"errors","warnings","info"},"findings":[..], ..command data}`
//!
//! `write` streams the envelope straight to the output with serde (no Value tree): a lint
//! run over 100,000 real servers has tens of thousands of findings and a large model.

use super::Report;
use crate::finding::Severity;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{json, Map, Value};
use std::io::Write;

/// Keys of the envelope, which command data never overwrites.
const FIXED: &[&str] = &["tool", "version", "command", "summary", "findings"];

#[derive(serde::Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    info: usize,
}

fn summary(report: &Report) -> Summary {
    let (mut errors, mut warnings, mut info) = (0, 0, 0);
    for f in &report.findings {
        match f.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Info => info += 1,
        }
    }
    Summary {
        errors,
        warnings,
        info,
    }
}

/// The envelope as a Value (tests, and callers that post-process it).
pub fn to_value(report: &Report) -> Value {
    let mut top = Map::new();
    top.insert("tool".into(), json!("lbdoctor"));
    top.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    top.insert("command".into(), json!(report.command));
    top.insert(
        "summary".into(),
        serde_json::to_value(summary(report)).unwrap_or(Value::Null),
    );
    top.insert(
        "findings".into(),
        serde_json::to_value(&report.findings).unwrap_or(Value::Array(vec![])),
    );
    for (k, v) in &report.data {
        // Command data never overwrites the fixed keys above.
        top.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &report.raw {
        if let Ok(v) = serde_json::from_str(v.get()) {
            top.entry(k.clone()).or_insert(v);
        }
    }
    Value::Object(top)
}

/// Stream the report as pretty-printed JSON, with a final newline.
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
    {
        let mut ser = serde_json::Serializer::pretty(&mut buf);
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("tool", "lbdoctor")?;
        m.serialize_entry("version", env!("CARGO_PKG_VERSION"))?;
        m.serialize_entry("command", report.command)?;
        m.serialize_entry("summary", &summary(report))?;
        m.serialize_entry("findings", &report.findings)?;
        for (k, v) in &report.data {
            if !FIXED.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        for (k, v) in &report.raw {
            if !FIXED.contains(&k.as_str()) && !report.data.contains_key(k) {
                m.serialize_entry(k, v)?;
            }
        }
        SerializeMap::end(m)?;
    }
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
