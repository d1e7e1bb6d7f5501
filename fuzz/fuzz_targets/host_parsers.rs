//! Each host fact parser alone: the first byte picks sysctl, iptables-save, nft, ip addr
//! (json/text/link), ip route/rule (via the batched parser), ss.
#![no_main]
use lbdoctor::audit::{self, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let vip = "192.168.21.20".parse().unwrap();
    match sel % 8 {
        0 => {
            let m = parse::sysctl::parse_proc_grep(&text);
            for k in m.keys() {
                let _ = parse::sysctl::normalize_key(k);
            }
        }
        1 => {
            let _ = parse::sysctl::parse_file(&text);
        }
        2 => {
            let rs = parse::iptables::parse(&text);
            let _ = audit::nat_rule_for(&rs, vip, 80);
            let _ = parse::iptables::split_args(&text);
        }
        3 => {
            let _ = audit::nft_nat_for(&text, vip);
        }
        4 => {
            let _ = parse::ip::parse_addr_json(&text);
        }
        5 => {
            let mut v = parse::ip::parse_addr_text(&text);
            parse::ip::apply_link_kinds(&mut v, &text);
        }
        6 => {
            let l = parse::ss::parse_listeners(&text);
            for x in &l {
                let _ = parse::ss::accepts(x, "192.168.21.20");
            }
        }
        _ => {
            let _ = parse::ipvs::parse(&text);
        }
    }
});
