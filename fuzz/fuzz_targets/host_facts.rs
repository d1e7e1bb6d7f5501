//! The whole batched host output (what `audit` gathers over SSH), then role, VIP and checks.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::host_facts(data));
