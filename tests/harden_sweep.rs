//! Corpus sweeps through the real binary, each run bounded by a wall-clock limit enforced
//! by killing the process (a hang fails the test; nothing here asserts speed):
//! lint over every keepalived file of ../shared/corpus/keepalived, detect over every capture
//! of ../shared/corpus/pcaps, and detect over a copy of every classic pcap cut in the middle
//! of a packet (a genuinely malformed capture: the error names the packet, the rest is
//! analysed). The in-process sweeps in lint_corpus.rs / detect_replay.rs check the models
//! and verdicts; these check the process boundary: exit codes, no panic, no hang.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Per-file bound. Generous: the biggest corpus capture takes well under a second; this only
/// catches an endless loop, and a loaded 2-core CI machine must not trip it.
const PER_FILE: Duration = Duration::from_secs(60);

fn corpus(sub: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(sub);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: corpus not found at {}", p.display());
        None
    }
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// Run lbdoctor with a deadline; a hang is a test failure naming the file.
fn run_bounded(args: &[&str], file: &Path) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lbdoctor"))
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let te = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > PER_FILE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "HANG: lbdoctor {args:?} {} still running after {:?}",
                file.display(),
                PER_FILE
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = to.join().unwrap();
    let stderr = String::from_utf8_lossy(&te.join().unwrap()).into_owned();
    let code = status.code().unwrap_or_else(|| {
        panic!(
            "lbdoctor {args:?} {} killed by a signal: {status:?}; stderr: {stderr}",
            file.display()
        )
    });
    assert!(
        code != 101 && !stderr.contains("panicked"),
        "PANIC: lbdoctor {args:?} {}: {stderr}",
        file.display()
    );
    Run {
        code,
        stdout,
        stderr,
    }
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            captures(&p, out);
        } else if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
            if ["pcap", "pcapng", "cap"].contains(&ext) {
                out.push(p);
            }
        }
    }
}

#[test]
fn lint_binary_over_every_corpus_config_no_panic_no_hang() {
    let Some(dir) = corpus("keepalived") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() > 300, "corpus incomplete: {}", files.len());
    let mut codes = [0usize; 3];
    for f in &files {
        let r = run_bounded(&["--format", "json", "lint"], f);
        assert!(
            (0..=2).contains(&r.code),
            "{}: exit {}",
            f.display(),
            r.code
        );
        if r.code == 2 {
            // Only INDEX.tsv-like non-configs may be refused, and with a clear message.
            assert!(r.stderr.contains("lbdoctor: error:"), "{}", r.stderr);
        } else {
            let j: Value = serde_json::from_slice(&r.stdout)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", f.display()));
            assert!(j["findings"].is_array(), "{}", f.display());
        }
        codes[r.code as usize] += 1;
    }
    eprintln!(
        "lint sweep: {} files: {} clean, {} with findings, {} errors",
        files.len(),
        codes[0],
        codes[1],
        codes[2]
    );
    assert_eq!(codes[2], 0, "no corpus file should be an error");
}

#[test]
fn detect_binary_over_every_corpus_capture_no_panic_no_hang() {
    let Some(dir) = corpus("pcaps") else {
        return;
    };
    let mut files = Vec::new();
    captures(&dir, &mut files);
    files.sort();
    assert!(files.len() > 100, "corpus incomplete: {}", files.len());
    let mut errors = 0;
    for f in &files {
        let r = run_bounded(&["--format", "json", "detect", "192.168.21.20", "-r"], f);
        match r.code {
            0 | 1 => {
                let j: Value = serde_json::from_slice(&r.stdout)
                    .unwrap_or_else(|e| panic!("{}: not JSON: {e}", f.display()));
                assert!(j["verdict"]["mode"].is_string(), "{}", f.display());
            }
            2 => {
                assert!(
                    r.stderr.contains(&f.display().to_string()),
                    "an error must name the file: {}",
                    r.stderr
                );
                errors += 1;
            }
            c => panic!("{}: exit {c}: {}", f.display(), r.stderr),
        }
    }
    eprintln!("detect sweep: {} captures, {errors} refused", files.len());
    // detect_replay.rs pins which one (the Kuznetzov-format pcap).
    assert!(errors <= 1, "{errors} captures refused");
}

/// Cut every classic pcap of the corpus in the middle of a later packet record: the result
/// must name the packet where the file ends and still analyse every packet before it.
#[test]
fn detect_cut_corpus_captures_name_the_packet_and_keep_the_rest() {
    let Some(dir) = corpus("pcaps") else {
        return;
    };
    let mut files = Vec::new();
    captures(&dir, &mut files);
    files.sort();
    let tmp = tempfile::tempdir().unwrap();
    let mut cut_files = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let Some((cut, before)) = cut_point(&data) else {
            continue;
        };
        let p = tmp.path().join("cut.pcap");
        std::fs::write(&p, &data[..cut]).unwrap();
        let r = run_bounded(&["--format", "json", "detect", "192.168.21.20", "-r"], &p);
        assert!(r.code == 0 || r.code == 1, "{}: {}", f.display(), r.stderr);
        let j: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(
            j["capture"]["packets"].as_u64(),
            Some(before),
            "{}: every packet before the cut is analysed",
            f.display()
        );
        let issues = j["capture"]["issues"].as_array().unwrap();
        let fatal = issues
            .iter()
            .find(|i| i["fatal"] == true)
            .unwrap_or_else(|| panic!("{}: no fatal issue: {issues:?}", f.display()));
        assert_eq!(
            fatal["packet"].as_u64(),
            Some(before + 1),
            "{}",
            f.display()
        );
        assert!(
            fatal["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("packet {}:", before + 1)),
            "{fatal}"
        );
        cut_files += 1;
    }
    eprintln!("cut sweep: {cut_files} classic pcaps cut mid-packet");
    assert!(cut_files > 50, "only {cut_files} classic pcaps found");
}

/// For a classic pcap with at least 2 packets: a byte offset inside the data of the middle
/// packet, and how many whole packets come before it.
fn cut_point(d: &[u8]) -> Option<(usize, u64)> {
    if d.len() < 24 {
        return None;
    }
    let magic = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        _ => return None,
    };
    let rd = |o: usize| {
        let b = [d[o], d[o + 1], d[o + 2], d[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut recs = Vec::new();
    let mut o = 24;
    while o + 16 <= d.len() {
        let incl = rd(o + 8) as usize;
        if incl < 2 || o + 16 + incl > d.len() {
            break;
        }
        recs.push(o);
        o += 16 + incl;
    }
    if recs.len() < 2 {
        return None;
    }
    let k = recs.len() / 2;
    let incl = rd(recs[k] + 8) as usize;
    Some((recs[k] + 16 + incl / 2, k as u64))
}
