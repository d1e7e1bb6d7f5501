//! IPVS state parsers (ipvsadm -Ln/-Lnc/--save/--stats/--rate, /proc/net/ip_vs*) and checks.
#![no_main]
use lbdoctor::ipvs::{checks, parse_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(state) = parse_text("fuzz", &text) {
        let _ = checks::run(&checks::Input {
            state: &state,
            config: None,
        });
    }
});
