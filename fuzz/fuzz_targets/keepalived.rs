//! keepalived.conf: lexer, parser, effective model and every lint check, from memory.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::keepalived(data));
