//! keepalived.conf: lexer, parser, effective model and every lint check, from memory.
#![no_main]
use lbdoctor::keepalived::{self, checks, suppress, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Smaller token/generation limits so one hostile ~SEQ stays fast; same code paths.
    let opts = LoadOptions {
        config_id: Some("lb1".into()),
        limits: Some(keepalived::lexer::Limits {
            max_tokens: 50_000,
            max_generated_lines: 2_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    let loaded = keepalived::load_str("/virtual/keepalived.conf", data, &opts);
    let copts = checks::Options {
        director_addrs: vec!["192.168.21.2".parse().unwrap()],
    };
    let mut f = loaded.findings.clone();
    f.extend(checks::run(&loaded, &copts));
    f.extend(checks::peers::check(&[&loaded, &loaded]));
    let kept = suppress::apply(&loaded.doc, f, &|_| true);
    let _ = serde_json::to_string(&kept);
    // The IPVS view derived from the config (state --config) and the state checks on it.
    let expected =
        lbdoctor::ipvs::from_keepalived::convert(&loaded.config, Path::new("/virtual/keepalived.conf"));
    let _ = expected;
});
