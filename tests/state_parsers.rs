//! Bad input never panics: every fixture cut at every byte (the first 4 KiB of big ones) and
//! mutated at random is parsed and checked; the result is a state or an error naming the file
//! (and line), never a panic.

use lbdoctor::ipvs::{checks, source};
use rand::{Rng, SeedableRng};
use std::path::Path;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/state");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("drift"), root.join("bad")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "txt") {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    assert!(out.len() >= 25, "fixtures missing: {}", out.len());
    out.sort();
    out
}

fn parse_and_check(name: &str, bytes: &[u8]) {
    let mut lines = source::Lines::new(name, bytes);
    match source::parse_any(&mut lines) {
        Ok(state) => {
            let _ = checks::run(&checks::Input {
                state: &state,
                config: None,
            });
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("{name}:")), "{msg}");
            let rest = &msg[name.len() + 1..];
            // file:LINE: message, or file: message (empty input)
            let has_line = rest.split(':').next().unwrap().parse::<usize>().is_ok();
            assert!(has_line || rest.starts_with(' '), "{msg}");
        }
    }
}

#[test]
fn every_truncation_parses_or_fails_cleanly() {
    for (name, bytes) in fixtures() {
        for cut in 0..=bytes.len().min(4096) {
            parse_and_check(&name, &bytes[..cut]);
        }
    }
}

#[test]
fn random_mutations_parse_or_fail_cleanly() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let alphabet: &[u8] = b"0123456789ABCDEFabcdef:[]. ->\n\tTCPUDPFWMxyz%\xff\x00";
    for (name, bytes) in fixtures() {
        let bytes = &bytes[..bytes.len().min(8192)];
        if bytes.is_empty() {
            continue;
        }
        for _ in 0..300 {
            let mut m = bytes.to_vec();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..m.len());
                m[i] = alphabet[rng.gen_range(0..alphabet.len())];
            }
            parse_and_check(&name, &m);
        }
    }
}

#[test]
fn huge_counters_do_not_overflow() {
    let text = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.0.1:80 wlc\n  -> 10.0.0.71:80 Route 9223372036854775807 18446744073709551615 18446744073709551615\n  -> 10.0.0.72:80 Route 1 0 18446744073709551615\n";
    parse_and_check("huge", text.as_bytes());
    let lnc = "IPVS connection entries\nTCP 99999999999999999:59 SYN_RECV 1.2.3.4:5 10.0.0.1:80 10.0.0.71:80\n";
    parse_and_check("huge-lnc", lnc.as_bytes());
}
