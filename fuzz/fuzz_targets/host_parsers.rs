//! Each host fact parser alone: the first byte picks sysctl, iptables-save, nft, ip addr
//! (json/text/link), ip route/rule (via the batched parser), ss.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::host_parsers(data));
