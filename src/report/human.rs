//! The human renderer: summary tables first, then findings grouped by subject, file findings
//! with the offending line and a caret (rustc style), then a one-line tally.

use super::sanitize::{line as l1, text as tx};
use super::style::Style;
use super::{Report, Section};
use crate::finding::{Finding, Severity};
use comfy_table::{presets, ContentArrangement, Table};
use std::fmt::Write;

pub fn table(header: &[String], rows: &[Vec<String>]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !header.is_empty() {
        t.set_header(header.iter().map(|h| tx(h)));
    }
    for r in rows {
        t.add_row(r.iter().map(|c| tx(c)));
    }
    t
}

fn render_section(out: &mut String, s: &Section, style: Style) {
    match s {
        Section::Table {
            title,
            header,
            rows,
        } => {
            let _ = writeln!(out, "{}", style.bold(&l1(title)));
            let _ = writeln!(out, "{}\n", table(header, rows));
        }
        Section::Pairs { title, pairs } => {
            let rows: Vec<Vec<String>> = pairs
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect();
            let _ = writeln!(out, "{}", style.bold(&l1(title)));
            let _ = writeln!(out, "{}\n", table(&[], &rows));
        }
        Section::Text { title, body } => {
            if !title.is_empty() {
                let _ = writeln!(out, "{}", style.bold(&l1(title)));
            }
            let _ = writeln!(out, "{}\n", tx(body.trim_end()));
        }
    }
}

fn render_finding(out: &mut String, f: &Finding, style: Style) {
    let sev = style.severity(f.severity, &format!("{}[{}]", f.severity, l1(&f.id)));
    let _ = writeln!(out, "{sev}: {}", style.bold(&l1(&f.title)));
    match &f.location {
        Some(loc) => {
            let _ = writeln!(
                out,
                "  {} {}:{}:{}",
                style.dim("-->"),
                l1(&loc.file),
                loc.line,
                loc.column
            );
            if let Some(snippet) = &loc.snippet {
                let num = loc.line.to_string();
                let pad = " ".repeat(num.len());
                // Columns count the source's characters; an escaped control is wider on
                // screen, so the caret is measured on the escaped text.
                let col = loc.column.saturating_sub(1) as usize;
                let before: String = snippet.chars().take(col).collect();
                let caret_pad: String = l1(&before)
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let span: String = if loc.length > 0 {
                    snippet
                        .chars()
                        .skip(col)
                        .take(loc.length as usize)
                        .collect()
                } else {
                    snippet
                        .chars()
                        .skip(col)
                        .take_while(|c| !c.is_whitespace())
                        .collect()
                };
                let len = if loc.length > 0 {
                    (loc.length as usize).max(l1(&span).chars().count())
                } else {
                    l1(&span).chars().count().max(1)
                };
                let snippet = l1(snippet);
                let bar = style.dim("|");
                let _ = writeln!(out, "  {pad} {bar}");
                let _ = writeln!(out, "  {} {bar} {}", style.dim(&num), snippet);
                let _ = writeln!(
                    out,
                    "  {pad} {bar} {caret_pad}{}",
                    style.severity(f.severity, &"^".repeat(len))
                );
            }
        }
        None => {
            let _ = writeln!(out, "  {} {}", style.dim("-->"), l1(&f.subject));
        }
    }
    for line in f.message.lines() {
        let _ = writeln!(out, "  {}", l1(line));
    }
    for e in &f.evidence {
        let _ = writeln!(out, "  {} evidence: {}", style.dim("="), l1(e));
    }
    if let Some(fix) = &f.fix {
        if !fix.text.is_empty() {
            let _ = writeln!(out, "  {} fix: {}", style.dim("="), tx(&fix.text));
        }
        for c in &fix.commands {
            let _ = writeln!(out, "  {}     $ {}", style.dim("="), tx(c));
        }
    }
    let _ = writeln!(out);
}

pub fn render(report: &Report, style: Style, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        for s in &report.sections {
            render_section(&mut out, s, style);
        }
    }
    // Group by file (lint) or subject (hosts, VIPs), keeping the report's order within a group.
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        let key = f
            .location
            .as_ref()
            .map(|l| l.file.clone())
            .unwrap_or_else(|| f.subject.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    let many = groups.len() > 1;
    for (key, fs) in &groups {
        if many && !quiet {
            let _ = writeln!(out, "{}", style.bold(&format!("== {}", l1(key))));
        }
        for f in fs {
            render_finding(&mut out, f, style);
        }
    }
    if !quiet {
        let (e, w, i) = (
            report.count(Severity::Error),
            report.count(Severity::Warning),
            report.count(Severity::Info),
        );
        if e + w + i == 0 {
            let _ = writeln!(out, "{}", style.good("No findings."));
        } else {
            let _ = writeln!(
                out,
                "{}, {}, {}",
                style.severity(Severity::Error, &plural(e, "error")),
                style.severity(Severity::Warning, &plural(w, "warning")),
                style.severity(Severity::Info, &plural(i, "info"))
            );
        }
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 || word == "info" {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
