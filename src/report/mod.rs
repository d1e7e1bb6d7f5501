//! One report type for every command, and one renderer set: human, JSON, SARIF.

pub mod human;
pub mod json;
pub mod sarif;
pub mod style;

use crate::finding::{Finding, Severity};
use serde_json::{Map, Value};

/// A human-only summary block printed before the findings (a verdict table, an IPVS table).
#[derive(Debug, Clone)]
pub enum Section {
    Table {
        title: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Key/value pairs shown as a two-column table.
    Pairs {
        title: String,
        pairs: Vec<(String, String)>,
    },
    Text {
        title: String,
        body: String,
    },
}

#[derive(Debug, Clone)]
pub struct Report {
    pub command: &'static str,
    pub findings: Vec<Finding>,
    /// Command-specific JSON objects placed at the top level (for example "verdict", "vrrp").
    pub data: Map<String, Value>,
    pub sections: Vec<Section>,
}

impl Report {
    pub fn new(command: &'static str) -> Self {
        Report {
            command,
            findings: Vec::new(),
            data: Map::new(),
            sections: Vec::new(),
        }
    }

    pub fn with_data(mut self, key: &str, value: Value) -> Self {
        self.data.insert(key.to_string(), value);
        self
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
