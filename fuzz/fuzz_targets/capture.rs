//! Raw pcap/pcapng bytes through the reader `detect --read` uses, the analyzer and the verdict.
#![no_main]
use lbdoctor::capture::analyze::{Analyzer, Config};
use lbdoctor::capture::source::FileSource;
use lbdoctor::capture::verdict;
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
    tmp.write_all(data).expect("write temp file");
    let Ok(mut src) = FileSource::open(tmp.path()) else {
        return;
    };
    let mut an = Analyzer::new(Config {
        vip: "192.168.21.20".parse().unwrap(),
        port: None,
        // Tiny table: eviction runs on every fuzz input with a few flows.
        max_flows: 4,
    });
    let mut n = 0u32;
    while let Some(p) = src.next_packet() {
        an.packet(&p);
        n += 1;
        assert!(n <= 1_000_000, "reader does not terminate");
    }
    let a = an.finish();
    let _ = verdict::decide(&a, &Default::default());
});
