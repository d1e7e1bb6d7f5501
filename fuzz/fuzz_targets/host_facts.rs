//! The whole batched host output (what `audit` gathers over SSH), then role, VIP and checks.
#![no_main]
use lbdoctor::audit::{self, facts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let f = facts::parse_output(&text);
    let role = audit::detect_role(&f);
    let vip = audit::infer_vip(&f).or(Some("192.168.21.20".parse().unwrap()));
    let t = audit::Target {
        vip,
        port: 80,
        deny_direct: Some("10.0.0.0/8".parse().unwrap()),
        method: Some("DR".into()),
        fwmarks: vec![1],
        config_findings: Vec::new(),
    };
    let _ = audit::audit(&f, &t, role);
    let _ = audit::audit(&f, &t, audit::Role::Real);
    let _ = serde_json::to_string(&f);
});
