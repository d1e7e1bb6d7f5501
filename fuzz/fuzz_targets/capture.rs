//! Raw pcap/pcapng bytes through the reader `detect --read` uses, the analyzer and the verdict.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::capture(data));
