//! LB019: scripts (notify*, misc_path, vrrp_script) without enable_script_security and a
//! script_user: keepalived runs them as root, and -t reports it only as a "SECURITY
//! VIOLATION" exit code many wrappers ignore.

use super::{at, Ctx};
use crate::finding::Finding;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let cfg = &cx.loaded.config;
    let Some(first) = cfg.scripts.first() else {
        return;
    };
    let missing: Vec<&str> = [
        (
            "enable_script_security",
            cfg.global.enable_script_security.is_none(),
        ),
        ("script_user", cfg.global.script_user.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| *k)
    .collect();
    if missing.is_empty() {
        return;
    }
    let consequence = if cfg.global.enable_script_security.is_none() {
        "keepalived runs them as root without checking who can write them (\"SECURITY VIOLATION - scripts are being executed but script_security not enabled\"; keepalived -t exits 6)"
    } else {
        "keepalived runs them as the default user keepalived_script, or root if that user does not exist"
    };
    let listed: Vec<String> = cfg
        .scripts
        .iter()
        .take(10)
        .map(|s| {
            format!(
                "{}:{}: {} {}",
                s.span.file.display(),
                s.span.line,
                s.keyword,
                s.command
            )
        })
        .collect();
    out.push(
        Finding::new(
            "LB019",
            first.span.file.display().to_string(),
            format!(
                "{} script{} configured but global_defs has no {}: {consequence}",
                cfg.scripts.len(),
                if cfg.scripts.len() == 1 { " is" } else { "s are" },
                missing.join(" or ")
            ),
        )
        .at(at(&first.span, first.keyword.len()))
        .evidence_lines(listed)
        .fix_text("in global_defs add `enable_script_security` and `script_user <unprivileged user>`, and make the scripts writable by root only"),
    );
}
