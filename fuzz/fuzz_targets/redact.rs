//! Secret redaction by each gathered file's syntax (the first byte picks the file).
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::redact(data));
