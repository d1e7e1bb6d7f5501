//! DR009: the director's keepalived.conf does not pass `keepalived -t`, or lint found errors.
use crate::audit::Analysis;
use crate::{Finding, Severity};

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if let Some((rc, text)) = &a.f.keepalived_test {
        if *rc != 0 {
            out.push(
                Finding::new(
                    "DR009",
                    &a.f.host,
                    format!("`keepalived -t` rejects /etc/keepalived/keepalived.conf (exit {rc})"),
                )
                .evidence_lines(text.lines().take(10).map(String::from))
                .fix_command("keepalived -t -f /etc/keepalived/keepalived.conf"),
            );
        }
    }
    let errors: Vec<&Finding> =
        a.t.config_findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
    if !errors.is_empty() {
        out.push(
            Finding::new(
                "DR009",
                &a.f.host,
                format!(
                    "keepalived.conf has {} lint findings at warning or above",
                    errors.len()
                ),
            )
            .evidence_lines(errors.iter().take(10).map(|f| {
                format!(
                    "{} {}: {}",
                    f.id,
                    f.location
                        .as_ref()
                        .map(|l| format!("{}:{}", l.file, l.line))
                        .unwrap_or_default(),
                    f.message
                )
            }))
            .fix_command("lbdoctor lint /etc/keepalived/keepalived.conf"),
        );
    }
}
