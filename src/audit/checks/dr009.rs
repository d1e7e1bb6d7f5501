//! DR009: the director's keepalived.conf does not pass `keepalived -t`, or lint found errors.
use crate::audit::Analysis;
use crate::{Finding, Severity};

/// What `keepalived -t`'s exit status means (keepalived's config_test_exit(); checked with
/// Debian 12's keepalived 2.2.7): 5 is KEEPALIVED_EXIT_CONFIG_TEST, problems it reported and
/// worked around (a line ignored, a value cleared), and it still starts; 6 is a script-security
/// error, and the scripts it names are not run; anything else (a missing parameter exits 2,
/// a fatal config error 4) and it does not start.
fn verdict(rc: i32, conf: &str) -> (Severity, String) {
    match rc {
        5 => (Severity::Warning, format!("`keepalived -t` reports problems in {conf} (exit 5): keepalived starts with it, but ignores or changes what the lines below say")),
        6 => (Severity::Error, format!("`keepalived -t` reports script-security errors in {conf} (exit 6): keepalived does not run the scripts it names")),
        _ => (Severity::Error, format!("`keepalived -t` rejects {conf} (exit {rc}): keepalived would not start with it")),
    }
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let conf = a.f.keepalived_conf_path();
    if a.f.keepalived_installed && a.f.keepalived_conf_missing {
        // keepalived 2.2.7: `-t` exits 0 for a missing file, and keepalived itself logs
        // "Config files missing" and stops.
        let now = if a.f.keepalived_running {
            "the running keepalived keeps what it loaded, but will not start again after a restart or reboot"
        } else {
            "keepalived stops at start (\"Config files missing\")"
        };
        out.push(
            Finding::new(
                "DR009",
                &a.f.host,
                format!("{conf} does not exist: {now}; `keepalived -t` does not notice (exit 0)"),
            )
            .evidence_lines(a.f.keepalived_cmdlines.iter().map(|c| format!("process: {c}")))
            .fix_text(format!("Restore {conf} (from configuration management or a backup), check it with `keepalived -t -f {conf}`, then reload keepalived.")),
        );
    }
    if let Some((rc, text)) = &a.f.keepalived_test {
        if *rc != 0 {
            let (sev, msg) = verdict(*rc, conf);
            out.push(
                Finding::new("DR009", &a.f.host, msg)
                    .severity(sev)
                    .evidence_lines(text.lines().take(10).map(String::from))
                    .fix_command(format!("keepalived -t -f {conf}")),
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
