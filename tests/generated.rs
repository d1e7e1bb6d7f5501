//! Generated files must match the code: completions/, man/, and README's check table.
//! Regenerate with `make generate` (LBDOCTOR_BLESS=1 cargo test --test generated).

use std::path::Path;

fn bless() -> bool {
    std::env::var_os("LBDOCTOR_BLESS").is_some()
}

#[test]
fn completions_and_man_pages_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (rel, want) in lbdoctor::gendocs::files() {
        let path = root.join(&rel);
        let have = std::fs::read(&path).unwrap_or_default();
        if have != want {
            if bless() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &want).unwrap();
            } else {
                stale.push(rel);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (run `make generate`): {stale:?}"
    );
}

#[test]
fn readme_check_table_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let want = lbdoctor::gendocs::readme_with_table(&readme)
        .expect("README.md must carry the checks:start/checks:end markers");
    if want != readme && bless() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        want == readme,
        "README's check table is stale (run `make generate`)"
    );
}

#[test]
fn man_pages_render_with_man() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: man is not installed (apt-get install man-db)");
        return;
    }
    for (rel, _) in lbdoctor::gendocs::files() {
        if !rel.starts_with("man/") {
            continue;
        }
        let out = std::process::Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(root.join(&rel))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "man -l {rel} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("SYNOPSIS"),
            "man -l {rel} rendered no SYNOPSIS:\n{text}"
        );
        if rel == "man/lbdoctor.1" {
            assert!(text.contains("EXIT STATUS"), "{text}");
        }
    }
}
