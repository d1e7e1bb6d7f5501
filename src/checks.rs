//! The checks registry: one Markdown file per check under checks/, with TOML front matter,
//! embedded at build time. `lbdoctor explain` and the README table are generated from it.

use crate::finding::Severity;
use serde::Deserialize;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/checks_embedded.rs"));

#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    /// kebab-case name, like ruff's and clippy's rule names.
    pub name: String,
    pub title: String,
    pub severity: Severity,
    pub summary: String,
    /// The Markdown body: what it does, why it matters, how to fix, examples.
    pub body: String,
    pub file: &'static str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    name: String,
    title: String,
    severity: String,
    summary: String,
}

/// What a family prefix means, for listings and the README table.
pub fn family(id: &str) -> &'static str {
    match id.get(..2) {
        Some("LB") => "lint",
        Some("DT") => "detect",
        Some("ST") => "state",
        Some("RS") => "audit (real server)",
        Some("DR") => "audit (director)",
        Some("CK") => "check",
        _ => "other",
    }
}

/// Parse one check file. Errors name the file: they surface in tests, never to users,
/// because the files are embedded at build time and the registry test parses them all.
pub fn parse(file: &'static str, text: &str) -> Result<Check, String> {
    let rest = text
        .strip_prefix("+++\n")
        .ok_or_else(|| format!("checks/{file}: must start with a +++ TOML front matter line"))?;
    let end = rest
        .find("\n+++\n")
        .ok_or_else(|| format!("checks/{file}: front matter is not closed by +++"))?;
    let fm: FrontMatter =
        toml::from_str(&rest[..end]).map_err(|e| format!("checks/{file}: front matter: {e}"))?;
    let severity = Severity::parse(&fm.severity)
        .ok_or_else(|| format!("checks/{file}: severity must be error, warning or info"))?;
    if file.trim_end_matches(".md") != fm.id {
        return Err(format!("checks/{file}: file name must be {}.md", fm.id));
    }
    Ok(Check {
        id: fm.id,
        name: fm.name,
        title: fm.title,
        severity,
        summary: fm.summary,
        body: rest[end + 5..].trim().to_string(),
        file,
    })
}

pub fn all() -> &'static [Check] {
    static ALL: OnceLock<Vec<Check>> = OnceLock::new();
    ALL.get_or_init(|| {
        CHECK_FILES
            .iter()
            .filter_map(|(file, text)| parse(file, text).ok())
            .collect()
    })
}

pub fn get(id: &str) -> Option<&'static Check> {
    let id = id.to_ascii_uppercase();
    all()
        .iter()
        .find(|c| c.id == id || c.name == id.to_ascii_lowercase())
}

/// The Markdown table README.md carries between its `checks:start`/`checks:end` markers.
pub fn readme_table() -> String {
    let mut out =
        String::from("| ID | Name | Family | Severity | Summary |\n|---|---|---|---|---|\n");
    for c in all() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.id,
            c.name,
            family(&c.id),
            c.severity,
            c.summary.replace('|', "\\|")
        ));
    }
    out
}

/// Does `s` look like a check id (two capital letters of a known family and three digits)?
pub fn is_check_id(s: &str) -> bool {
    s.len() == 5
        && matches!(&s[..2], "LB" | "DT" | "ST" | "RS" | "DR" | "CK")
        && s[2..].bytes().all(|b| b.is_ascii_digit())
}
