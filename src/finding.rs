//! The one result type every command produces.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a file a finding points. Lines and columns are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// Length of the offending span in characters, for the caret underline.
    #[serde(default)]
    pub length: u32,
    /// The offending source line, so renderers need not reopen the file.
    #[serde(default)]
    pub snippet: Option<String>,
}

impl Location {
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            file: file.into(),
            line,
            column,
            length: 0,
            snippet: None,
        }
    }

    pub fn with_snippet(mut self, snippet: impl Into<String>, length: u32) -> Self {
        self.snippet = Some(snippet.into());
        self.length = length;
        self
    }
}

/// How to repair what a finding reports: prose and, where possible, the exact commands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub text: String,
    #[serde(default)]
    pub commands: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    /// What the finding is about: a file, a host, a VIP, a MAC.
    pub subject: String,
    #[serde(default)]
    pub evidence: Vec<String>,
    pub location: Option<Location>,
    pub fix: Option<Fix>,
}

impl Finding {
    /// A finding for check `id`, with the title and default severity from its checks/ file.
    ///
    /// An id with no checks/ file is a programming error; the registry test catches it, and
    /// at run time the finding still renders, titled by its id.
    pub fn new(id: &str, subject: impl Into<String>, message: impl Into<String>) -> Self {
        let (title, severity) = match crate::checks::get(id) {
            Some(c) => (c.title.clone(), c.severity),
            None => (id.to_string(), Severity::Warning),
        };
        Finding {
            id: id.to_string(),
            severity,
            title,
            message: message.into(),
            subject: subject.into(),
            evidence: Vec::new(),
            location: None,
            fix: None,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn evidence_lines<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.extend(lines.into_iter().map(Into::into));
        self
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn fix_text(mut self, text: impl Into<String>) -> Self {
        self.fix.get_or_insert_with(Fix::default).text = text.into();
        self
    }

    pub fn fix_command(mut self, command: impl Into<String>) -> Self {
        self.fix
            .get_or_insert_with(Fix::default)
            .commands
            .push(command.into());
        self
    }
}

/// Sort findings for stable output: by file/subject, then position, then id.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let ka = (
            a.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column)),
            &a.subject,
            &a.id,
        );
        let kb = (
            b.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column)),
            &b.subject,
            &b.id,
        );
        ka.cmp(&kb)
    });
}
