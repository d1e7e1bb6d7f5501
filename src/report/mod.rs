//! One report type for every command, and one renderer set: human, JSON, SARIF.

pub mod human;
pub mod json;
pub mod sanitize;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::FailOn;
    use crate::commands::exit_code;
    use crate::finding::{Finding, Location};

    fn sample() -> Report {
        let mut r = Report::new("lint");
        r.findings.push(
            Finding::new(
                "LB001",
                "keepalived.conf",
                "lb_algo lc overrides lvs_sched rr",
            )
            .at(Location::new("keepalived.conf", 19, 3).with_snippet("  lb_algo lc", 10))
            .evidence("line 16: lvs_sched rr")
            .fix_text("delete one of the two lines"),
        );
        r.findings
            .push(Finding::new("LB001", "host", "an info").severity(Severity::Info));
        r
    }

    #[test]
    fn human_shows_the_line_with_a_caret_under_the_span() {
        let out = human::render(&sample(), style::Style::plain(), false);
        let lines: Vec<&str> = out.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains("19 |   lb_algo lc"))
            .expect(&out);
        assert!(lines[i - 2].contains("--> keepalived.conf:19:3"), "{out}");
        // Column 3, length 10: two spaces then ten carets under `lb_algo lc`.
        assert!(lines[i + 1].ends_with("|   ^^^^^^^^^^"), "{out}");
        assert!(out.contains("warning[LB001]"));
        assert!(out.contains("= fix: delete one of the two lines"));
        assert!(out.contains("1 warning, 1 info"), "{out}");
    }

    #[test]
    fn quiet_human_output_has_only_findings() {
        let mut r = sample();
        r.sections.push(Section::Text {
            title: "Verdict".into(),
            body: "dsr".into(),
        });
        let out = human::render(&r, style::Style::plain(), true);
        assert!(!out.contains("Verdict"));
        assert!(!out.contains("1 warning"));
        assert!(out.contains("LB001"));
    }

    #[test]
    fn json_envelope_is_stable() {
        let r = sample().with_data("verdict", serde_json::json!({"mode": "dsr"}));
        let v = json::to_value(&r);
        assert_eq!(v["tool"], "lbdoctor");
        assert_eq!(v["command"], "lint");
        assert_eq!(v["summary"]["warnings"], 1);
        assert_eq!(v["summary"]["info"], 1);
        assert_eq!(v["verdict"]["mode"], "dsr");
        let f = &v["findings"][0];
        for key in [
            "id", "severity", "title", "message", "subject", "evidence", "location", "fix",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}");
        }
        assert_eq!(f["location"]["line"], 19);
        // Absent location/fix are explicit nulls, so consumers can rely on the keys.
        assert!(v["findings"][1]["location"].is_null());
    }

    #[test]
    fn command_data_cannot_overwrite_envelope_keys() {
        let r = sample().with_data("tool", serde_json::json!("evil"));
        assert_eq!(json::to_value(&r)["tool"], "lbdoctor");
    }

    #[test]
    fn sarif_results_carry_rule_level_and_region() {
        let v = sarif::to_value(&sample());
        assert_eq!(v["version"], "2.1.0");
        let res = &v["runs"][0]["results"];
        assert_eq!(res[0]["ruleId"], "LB001");
        assert_eq!(res[0]["level"], "warning");
        assert_eq!(
            res[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            19
        );
        assert_eq!(res[1]["level"], "note");
    }

    #[test]
    fn exit_code_follows_fail_on() {
        let r = sample();
        assert_eq!(exit_code(&r, FailOn::Warning), 1);
        assert_eq!(exit_code(&r, FailOn::Error), 0);
        assert_eq!(exit_code(&r, FailOn::Never), 0);
        assert_eq!(exit_code(&Report::new("x"), FailOn::Info), 0);
    }
}
