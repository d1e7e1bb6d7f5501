//! lbdoctor against keepalived itself: Debian's keepalived (2.2.7) runs `keepalived -t` on
//! every corpus file, inside a throwaway mount+network namespace with its own /run so the
//! host is not touched. Files keepalived accepts must give no parse errors in lbdoctor, and
//! every "unknown keyword" lbdoctor reports must be one keepalived reports too. And the other
//! way round: of the config diagnostics keepalived prints with a line number (not about
//! this host's interfaces, users or script files), the share on whose file and line lbdoctor
//! has a finding is measured, printed by category, and must not fall below MATCH_FLOOR.
//! Skips with a message when keepalived, unshare or root is missing.

use lbdoctor::keepalived::checks::{self, Options};
use lbdoctor::keepalived::{load, LoadOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn keepalived_t(file: &Path) -> Option<(i32, String)> {
    let script = format!(
        "mount -t tmpfs tmpfs /run && exec timeout 20 keepalived -t -f '{}' -l -D",
        file.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--net", "--fork", "sh", "-c", &script])
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some((out.status.code().unwrap_or(-1), text))
}

fn available() -> bool {
    let ka = Command::new("keepalived").arg("--version").output().is_ok();
    let root = nix::unistd::Uid::effective().is_root();
    if !ka || !root {
        eprintln!("SKIP: needs Debian's keepalived and root (for a throwaway namespace): keepalived={ka} root={root}");
    }
    ka && root
}

/// Lines keepalived reports as "Unknown keyword" in `file` (its own file only).
fn unknown_lines(file: &Path, out: &str) -> BTreeSet<u32> {
    let mut set = BTreeSet::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix('(') else {
            continue;
        };
        let Some((head, msg)) = rest.split_once(") ") else {
            continue;
        };
        if !msg.starts_with("Unknown keyword") {
            continue;
        }
        let (fname, num) = match head.rsplit_once("Line ") {
            Some((f, n)) => (f.trim_end_matches(": "), n),
            None => continue,
        };
        if !fname.is_empty() && !Path::new(fname).ends_with(file.file_name().unwrap()) {
            continue;
        }
        if let Ok(n) = num.parse() {
            set.insert(n);
        }
    }
    set
}

const PARSE_ERRORS: &[&str] = &["LB002", "LB003", "LB004", "LB009"];

/// keepalived diagnostics about this host rather than the config: the corpus names
/// interfaces, users and script files of other machines. Not counted.
const HOST_SPECIFIC: &[&str] = &[
    "doesn't exist",
    "Non-existent interface",
    "cannot use a loopback interface",
    "Unknown interface",
    "Unable to set default user",
    "Failed to set default user",
    "Error setting global script uid/gid",
    "Unable to set uid/gid",
    "is not executable",
    "Cannot find script",
    "No such file or directory",
    "Please use global lvs_sync_daemon",
];

/// The measured share of keepalived's line diagnostics that lbdoctor matches (99.1% with
/// Debian's 2.2.7; docs/lint.md lists what is missed and why); losing matches fails here.
const MATCH_FLOOR: f64 = 0.99;

/// (line, message) of every diagnostic keepalived printed for `file` itself.
fn diagnostics(file: &Path, out: &str) -> Vec<(u32, String)> {
    let mut v = Vec::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix('(') else {
            continue;
        };
        let Some((head, msg)) = rest.split_once(") ") else {
            continue;
        };
        let Some((fname, num)) = head.rsplit_once("Line ") else {
            continue;
        };
        let fname = fname.trim_end_matches(": ");
        if !fname.is_empty() && !Path::new(fname).ends_with(file.file_name().unwrap()) {
            continue;
        }
        if let Ok(n) = num.parse() {
            v.push((n, msg.to_string()));
        }
    }
    v
}

/// A diagnostic's category: its text with quoted values and numbers blanked.
fn category(msg: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in msg.chars() {
        match c {
            '\'' | '[' | ']' => {
                quoted = c == '\'' && !quoted || c == '[';
                out.push(c);
            }
            _ if quoted => {}
            '0'..='9' => {
                if !out.ends_with('N') {
                    out.push('N')
                }
            }
            _ => out.push(c),
        }
    }
    // the instance or script name in front: "(VI_1) track script ..." -> "(X) track ..."
    if out.starts_with('(') {
        if let Some(i) = out.find(") ") {
            out.replace_range(..=i, "(X)");
        }
    }
    out.chars().take(90).collect()
}

/// Unknown keywords keepalived 2.2.7 does not print although it does not know them: its
/// vrrp validation stops at the first missing interface and drops later vrrp messages.
const NOT_PRINTED: &[(&str, u32)] = &[("LeroyK111__nginx_learning__keepalived.conf", 68)];

#[test]
fn lbdoctor_agrees_with_keepalived_t() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/keepalived");
    if !dir.is_dir() {
        eprintln!("SKIP: corpus not found at {}", dir.display());
        return;
    }
    if !available() {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "INDEX.tsv"))
        .collect();
    files.sort();
    let results: BTreeMap<PathBuf, (i32, String)> = std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(4)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    c.iter()
                        .filter_map(|f| keepalived_t(f).map(|r| (f.clone(), r)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(
        results.len(),
        files.len(),
        "keepalived did not run on every file"
    );

    let mut accepted = 0;
    let mut disagreements = Vec::new();
    // keepalived's line diagnostics: (file, line) matched or not, by category
    let (mut lines_total, mut lines_matched, mut lines_strict) = (0usize, 0usize, 0usize);
    let mut missed: BTreeMap<String, usize> = BTreeMap::new();
    for (file, (code, out)) in &results {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let l = load(file, &LoadOptions::default()).unwrap();
        let found = checks::lint(&l, &Options::default());
        let strict: BTreeSet<u32> = found
            .iter()
            .filter_map(|f| f.location.as_ref())
            .filter(|loc| Path::new(&loc.file).ends_with(file.file_name().unwrap()))
            .map(|loc| loc.line)
            .collect();
        let mut ours: BTreeSet<u32> = found
            .iter()
            .filter_map(|f| f.location.as_ref())
            .filter(|loc| Path::new(&loc.file).ends_with(file.file_name().unwrap()))
            .map(|loc| loc.line)
            .collect();
        // one finding for a cascade (LB003/LB004) names each displaced line in its evidence
        // ("line 12: ..."): keepalived's messages on those lines are that finding's
        for f in found
            .iter()
            .filter(|f| matches!(f.id.as_str(), "LB003" | "LB004"))
        {
            for e in &f.evidence {
                if let Some(n) = e
                    .strip_prefix("line ")
                    .and_then(|r| r.split(':').next())
                    .and_then(|n| n.parse().ok())
                {
                    ours.insert(n);
                }
            }
        }
        let mut by_line: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for (n, msg) in diagnostics(file, out) {
            if !HOST_SPECIFIC.iter().any(|h| msg.contains(h)) {
                by_line.entry(n).or_default().push(msg);
            }
        }
        for (n, msgs) in &by_line {
            lines_total += 1;
            lines_strict += usize::from(strict.contains(n));
            if ours.contains(n) {
                lines_matched += 1;
            } else {
                *missed.entry(category(&msgs[0])).or_default() += 1;
            }
        }
        let structural_msg = [
            "Unknown keyword",
            "Unexpected '{'",
            "Missing '{'",
            "Extra '}'",
            "missing '}'",
            "Unmatched quote",
        ];
        let clean = *code == 0 && !structural_msg.iter().any(|m| out.contains(m));
        if clean {
            accepted += 1;
            for f in l
                .findings
                .iter()
                .filter(|f| PARSE_ERRORS.contains(&f.id.as_str()))
            {
                disagreements.push(format!(
                    "{name}: keepalived accepts it, lbdoctor says {} at line {}: {}",
                    f.id,
                    f.location.as_ref().unwrap().line,
                    f.message
                ));
            }
        }
        let ka_unknown = unknown_lines(file, out);
        for f in l.findings.iter().filter(|f| f.id == "LB002") {
            let line = f.location.as_ref().unwrap().line;
            if !ka_unknown.contains(&line) && !NOT_PRINTED.contains(&(name.as_str(), line)) {
                disagreements.push(format!(
                    "{name}:{line}: lbdoctor says unknown keyword, keepalived does not: {}",
                    f.message
                ));
            }
        }
    }
    assert!(
        accepted > 40,
        "keepalived accepted only {accepted} files; is it working?"
    );
    let rate = lines_matched as f64 / lines_total.max(1) as f64;
    eprintln!(
        "keepalived -t line diagnostics matched by a finding on the same line: {lines_strict}/{lines_total} = {:.1}%; counting the displaced lines a cascade finding (LB003/LB004) lists: {lines_matched}/{lines_total} = {:.1}%",
        lines_strict as f64 * 100.0 / lines_total.max(1) as f64,
        rate * 100.0
    );
    let mut missed: Vec<(String, usize)> = missed.into_iter().collect();
    missed.sort_by_key(|m| std::cmp::Reverse(m.1));
    for (cat, n) in &missed {
        eprintln!("  missed {n:4}  {cat}");
    }
    assert!(
        rate >= MATCH_FLOOR,
        "match rate {rate:.3} fell below {MATCH_FLOOR}"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
