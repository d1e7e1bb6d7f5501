//! Every check id used in src/ has a checks/ file, every checks/ file is used in src/, and
//! every file parses with the sections a reader expects.

use std::collections::BTreeSet;
use std::path::Path;

fn ids_in_source(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            ids_in_source(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Ids appear in code as string literals: "LB001".
            for part in text.split('"') {
                if lbdoctor::checks::is_check_id(part) {
                    out.insert(part.to_string());
                }
            }
        }
    }
}

#[test]
fn every_check_file_parses_and_has_the_expected_sections() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
    let mut n = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let name: &'static str = Box::leak(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
                .into_boxed_str(),
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let c = lbdoctor::checks::parse(name, &text).unwrap_or_else(|e| panic!("{e}"));
        for heading in [
            "## What it does",
            "## Why it matters",
            "## How to fix",
            "## Example",
        ] {
            assert!(c.body.contains(heading), "checks/{name} lacks `{heading}`");
        }
        assert!(
            lbdoctor::checks::is_check_id(&c.id),
            "checks/{name}: bad id"
        );
        n += 1;
    }
    assert_eq!(
        n,
        lbdoctor::checks::all().len(),
        "embedded registry is out of date"
    );
}

#[test]
fn ids_used_in_code_and_check_files_match() {
    let mut used = BTreeSet::new();
    ids_in_source(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut used,
    );
    let documented: BTreeSet<String> = lbdoctor::checks::all()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let undocumented: Vec<_> = used.difference(&documented).collect();
    let unused: Vec<_> = documented.difference(&used).collect();
    assert!(
        undocumented.is_empty(),
        "check ids used in src/ without a checks/ file: {undocumented:?}"
    );
    assert!(unused.is_empty(), "checks/ files no code emits: {unused:?}");
}

#[test]
fn check_names_are_unique() {
    let mut names = BTreeSet::new();
    for c in lbdoctor::checks::all() {
        assert!(
            names.insert(c.name.clone()),
            "duplicate check name {}",
            c.name
        );
    }
}
