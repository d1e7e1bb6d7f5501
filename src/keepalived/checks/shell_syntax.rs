//! LB040: shell syntax in a script keyword (notify*, script, misc_path, ...). keepalived 2.x
//! runs scripts with execve(), not a shell (lib/notify.c in 2.2.7, keepalived/core/notify.c in 2.4: system() only for a
//! "</file" test or, with libmagic, a script without #!), and reads the command from the
//! keyword's first argument: unquoted, the words after it are dropped (script, misc_path) or
//! taken as the user and group to run as (notify*: an unknown user makes keepalived drop the
//! script); quoted, keepalived splits it into words and passes `&&`, `;`, `|` and `>` to the
//! first program as arguments. Either way the second command never runs.

use super::{at, Ctx};
use crate::finding::Finding;

/// Shell operators, as whole words or glued to a word.
fn shell_operator(word: &str) -> Option<&'static str> {
    const OPS: &[&str] = &["2>&1", "&&", "||", ">>", ";", "|", ">", "<", "`", "$("];
    OPS.iter().copied().find(|op| word.contains(op))
}

/// A command run by a shell on purpose: `sh -c '...'`, `/bin/bash -c ...`.
fn is_shell(first: &str) -> bool {
    let name = first.rsplit('/').next().unwrap_or(first);
    matches!(
        name,
        "sh" | "bash" | "dash" | "ash" | "ksh" | "zsh" | "busybox"
    )
}

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    for s in &cx.loaded.config.scripts {
        let words: Vec<&str> = s.command.split_whitespace().collect();
        let Some(first) = words.first() else {
            continue;
        };
        if s.quoted && is_shell(first) {
            continue;
        }
        // `</file` is a file test keepalived runs with system()
        if first.starts_with('<') {
            continue;
        }
        let Some(op) = words.iter().skip(1).find_map(|w| shell_operator(w)) else {
            continue;
        };
        let notify = s.keyword.starts_with("notify") || s.keyword.starts_with("quorum_");
        let what = if s.quoted {
            format!(
                "keepalived runs `{first}` directly with execve(), not through a shell, and passes `{op}` and the words after it to it as arguments"
            )
        } else if notify {
            format!(
                "keepalived takes only `{first}` as the command (quote it to give arguments) and reads the next word, `{}`, as the user to run it as: no such user, so it drops the script (\"Invalid user/group for {} script\")",
                words[1], s.keyword
            )
        } else {
            format!(
                "keepalived takes only `{first}` as the command (quote it to give arguments) and silently drops the rest of the line"
            )
        };
        out.push(
            Finding::new(
                "LB040",
                format!("{} {}", s.keyword, first),
                format!(
                    "`{} {}` uses shell syntax (`{op}`), but {what}; the commands after `{op}` never run (keepalived 2.x; 1.x ran scripts through /bin/sh)",
                    s.keyword, s.command
                ),
            )
            .at(at(&s.span, s.keyword.len()))
            .fix_text(format!(
                "put the commands in one script file and call that, or ask for a shell explicitly: {} \"/bin/sh -c '{}'\"",
                s.keyword,
                s.command.trim_matches('"').replace('\'', "'\\''")
            )),
        );
    }
}
