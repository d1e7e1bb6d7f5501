//! LB039: a file that still holds template markup (`{{ ... }}`, `{% ... %}`): a Jinja2,
//! Go-template or similar source, not a config. keepalived reads the braces as blocks and
//! reports a cascade of unexpected `{` and unknown keywords; lbdoctor says it once and drops
//! the brace and keyword findings of that file, counting them.

use crate::finding::Finding;
use crate::keepalived::parser::Document;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};

/// Findings a template's markup causes, which the one LB039 replaces.
const CASCADE: &[&str] = &["LB002", "LB003", "LB004", "LB009", "LB010", "LB038"];

/// A template marker: its line and (the start of) its text.
type Marker = (u32, String);

/// First template markers of a file, at most `max`.
fn markers(path: &std::path::Path, max: usize) -> Vec<Marker> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut rd = BufReader::new(f);
    let mut line = 0u32;
    loop {
        buf.clear();
        match rd.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => line += 1,
        }
        let has = |pat: &[u8]| buf.windows(pat.len()).any(|w| w == pat);
        if has(b"{{") || has(b"{%") {
            let text = String::from_utf8_lossy(&buf)
                .trim()
                .chars()
                .take(120)
                .collect();
            out.push((line, text));
            if out.len() >= max {
                break;
            }
        }
    }
    out
}

/// Replace the cascade findings of every file of `doc` that is a template with one LB039.
/// Only files with cascade findings are read again: markup always breaks the braces.
pub fn collapse(doc: &Document, findings: &mut Vec<Finding>) {
    let mut cascade: HashMap<String, usize> = HashMap::new();
    let mut broken: std::collections::HashSet<&str> = Default::default();
    for f in findings.iter() {
        if let Some(l) = &f.location {
            if CASCADE.contains(&f.id.as_str()) {
                *cascade.entry(l.file.clone()).or_default() += 1;
            }
            // markup always breaks braces or keywords; a file with only bad values (a
            // large valid config) is not read again
            if f.id != "LB010" && CASCADE.contains(&f.id.as_str()) {
                broken.insert(l.file.as_str());
            }
        }
    }
    cascade.retain(|file, _| broken.contains(file.as_str()));
    if cascade.is_empty() {
        return;
    }
    let mut templates: Vec<(String, Vec<Marker>, usize)> = Vec::new();
    for file in &doc.files {
        let name = file.path.display().to_string();
        let Some(&n) = cascade.get(&name) else {
            continue;
        };
        let m = markers(&file.path, 5);
        if !m.is_empty() {
            templates.push((name, m, n));
        }
    }
    if templates.is_empty() {
        return;
    }
    findings.retain(|f| {
        !(CASCADE.contains(&f.id.as_str())
            && f.location
                .as_ref()
                .is_some_and(|l| templates.iter().any(|t| t.0 == l.file)))
    });
    for (file, m, n) in templates {
        let (line, _) = m[0];
        let mut loc = crate::finding::Location::new(file.clone(), line, 1);
        loc.length = 0;
        findings.push(
            Finding::new(
                "LB039",
                file.clone(),
                format!(
                    "{file} is a template, not a config: it still has template markup (`{{{{ ... }}}}` or `{{% ... %}}`), which keepalived reads as braces and keywords; {n} brace and keyword findings of this file are left out because they all come from it"
                ),
            )
            .at(loc)
            .evidence_lines(m.iter().map(|(l, t)| format!("line {l}: {t}")))
            .fix_text("lint the rendered file (run the template engine first, e.g. ansible's template module with --check --diff, or render it to a temporary file)"),
        );
    }
}
