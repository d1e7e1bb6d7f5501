//! The terminal sanitizer and the human renderer over arbitrary host text.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sanitize(data));
