//! Bad input never panics, always names file:line, and memory stays bounded.

use assert_cmd::Command;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn lint_json(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--format", "json", "lint"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn findings(v: &Value) -> Vec<(String, u64, String)> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["id"].as_str().unwrap().to_string(),
                        f["location"]["line"].as_u64().unwrap_or(0),
                        f["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write(dir: &Path, name: &str, text: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(text).unwrap();
    p.display().to_string()
}

#[test]
fn unbalanced_braces_name_the_lines() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "k.conf",
        b"global_defs {\n  router_id a\n}\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n",
    );
    let (code, v, _) = lint_json(&[&f]);
    assert_eq!(code, 1);
    let got: Vec<(String, u64)> = findings(&v)
        .into_iter()
        .filter(|f| f.0 == "LB003")
        .map(|f| (f.0, f.1))
        .collect();
    assert_eq!(got, [("LB003".to_string(), 4), ("LB003".to_string(), 5)]);
}

#[test]
fn include_cycle_and_missing_include() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.conf",
        b"include b.conf\ninclude nowhere.conf\nglobal_defs {\n}\n",
    );
    write(d.path(), "b.conf", b"include a.conf\n");
    let (code, v, _) = lint_json(&[&a]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert!(
        f.iter()
            .any(|x| x.0 == "LB007" && x.2.contains("include cycle")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|x| x.0 == "LB007" && x.1 == 2 && x.2.contains("does not exist")),
        "{f:?}"
    );
}

#[test]
fn binary_file_is_one_finding() {
    let d = tempfile::tempdir().unwrap();
    let mut junk = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    junk.extend((0..20_000u32).map(|i| (i * 7919 % 251) as u8));
    let f = write(d.path(), "k.conf", &junk);
    let (code, v, _) = lint_json(&[&f]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "LB008");
}

#[test]
fn missing_and_unreadable_files_are_errors_naming_the_file() {
    let (code, _, err) = lint_json(&["/nonexistent/keepalived.conf"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/keepalived.conf"), "{err}");
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = lint_json(&[&d.path().display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn very_deep_nesting_does_not_recurse() {
    let d = tempfile::tempdir().unwrap();
    // 200,000 levels of a block keepalived does not know, and as many `}`
    let mut text = String::from("virtual_server 10.0.0.1 80 {\n");
    for _ in 0..200_000 {
        text.push_str("TCP_CHEK {\n");
    }
    for _ in 0..200_001 {
        text.push_str("}\n");
    }
    let f = write(d.path(), "k.conf", text.as_bytes());
    let (code, v, _) = lint_json(&[&f]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert!(
        f.iter().any(|x| x.0 == "LB004" && x.1 == 2),
        "{:?}",
        &f[..f.len().min(3)]
    );
    // one root cause, not 200,000 findings
    assert!(f.len() < 10, "{}", f.len());
}

#[test]
fn a_huge_line_is_read_in_keepalived_chunks() {
    let d = tempfile::tempdir().unwrap();
    let mut text = b"global_defs {\n  router_id ".to_vec();
    text.extend(std::iter::repeat_n(b'x', 5 << 20));
    text.extend(b"\n}\n");
    let f = write(d.path(), "k.conf", &text);
    let (code, v, _) = lint_json(&[&f]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert!(f.iter().any(|x| x.0 == "LB006" && x.1 == 2), "{f:?}");
}

#[test]
fn oversized_file_is_reported_not_read() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("huge.conf");
    // sparse: costs no disk, but is over the 256 MB input limit
    std::fs::File::create(&p)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let (code, v, _) = lint_json(&[&p.display().to_string()]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, "LB008");
    assert!(f[0].2.contains("limit"), "{}", f[0].2);
}

/// A large generated config (~33 MB, ~1.7 million lines): linted with bounded memory.
#[test]
fn large_generated_file_in_bounded_memory() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.conf");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        for v in 0..32_000u32 {
            writeln!(w, "virtual_server 10.{}.{}.{} 80 {{\n  delay_loop 10\n  lvs_sched rr\n  lvs_method DR\n  protocol TCP", v >> 16, (v >> 8) & 255, v & 255).unwrap();
            for r in 0..10 {
                writeln!(w, "  real_server 172.16.{}.{} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}", v & 255, r + 1).unwrap();
            }
            writeln!(w, "}}").unwrap();
        }
    }
    let size = std::fs::metadata(&p).unwrap().len();
    assert!(size > 30 << 20, "{size}");
    let out = Command::cargo_bin("lbdoctor")
        .unwrap()
        .args(["--quiet", "lint", &p.display().to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // peak RSS of the finished child (the largest child so far: this test's only big one)
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes into the struct we pass.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0);
    let peak_mb = ru.ru_maxrss / 1024;
    assert!(
        peak_mb < 400,
        "peak RSS {peak_mb} MB for a {} MB config",
        size >> 20
    );
}
