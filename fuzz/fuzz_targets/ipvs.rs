//! IPVS state parsers (ipvsadm -Ln/-Lnc/--save/--stats/--rate, /proc/net/ip_vs*) and checks.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::ipvs(data));
