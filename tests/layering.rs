//! Data flows audit -> fix: audit's checks quote repairs from src/remedy/, never from src/fix/,
//! and src/remedy/ depends on nothing of the crate's, so no cycle can form through it.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    assert!(!files.is_empty(), "no sources under {dir}");
    let mut bad = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, l) in text.lines().enumerate() {
            if forbidden.iter().any(|x| l.contains(x)) {
                bad.push(format!("{}:{}: {}", f.display(), n + 1, l.trim()));
            }
        }
    }
    bad
}

#[test]
fn audit_does_not_import_fix() {
    let bad = offenders("src/audit", &["crate::fix", "lbdoctor::fix", "super::fix"]);
    assert!(bad.is_empty(), "audit imports fix:\n{}", bad.join("\n"));
}

#[test]
fn remedy_imports_nothing_of_the_crate() {
    let bad = offenders(
        "src/remedy",
        &["crate::audit", "crate::fix", "super::super"],
    );
    assert!(
        bad.is_empty(),
        "remedy imports the crate:\n{}",
        bad.join("\n")
    );
}
