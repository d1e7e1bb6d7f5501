//! lbdoctor against keepalived itself: Debian's keepalived (2.2.7) runs `keepalived -t` on
//! every corpus file, inside a throwaway mount+network namespace with its own /run so the
//! host is not touched. Files keepalived accepts must give no parse errors in lbdoctor, and
//! every "unknown keyword" lbdoctor reports must be one keepalived reports too.
//! Skips with a message when keepalived, unshare or root is missing.

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
    for (file, (code, out)) in &results {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let l = load(file, &LoadOptions::default()).unwrap();
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
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
