//! The fuzz targets' bodies, shared with tests/fuzz_regressions.rs (which replays every
//! input in fixtures/fuzz/<target>/ through the same function). Keep it dependent only on
//! lbdoctor, serde_json and tempfile, which the main crate has too.
#![allow(dead_code)]

use lbdoctor::audit::{self, facts, parse};
use lbdoctor::capture::analyze::{Analyzer, Config};
use lbdoctor::capture::decode::decode as decode_frame;
use lbdoctor::capture::source::linktype as lt;
use lbdoctor::capture::source::FileSource;
use lbdoctor::capture::verdict;
use lbdoctor::ipvs::parse_text;
use lbdoctor::keepalived::{self, checks, suppress, LoadOptions};
use std::io::Write;
use std::path::Path;

/// keepalived.conf: lexer, parser, effective model and every lint check, from memory.
pub fn keepalived(data: &[u8]) {
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
    let expected = lbdoctor::ipvs::from_keepalived::convert(
        &loaded.config,
        Path::new("/virtual/keepalived.conf"),
    );
    let _ = expected;
}

const TYPES: [u32; 10] = [
    lt::NULL,
    lt::ETHERNET,
    lt::RAW,
    lt::RAW_OPENBSD,
    lt::RAW_14,
    lt::LOOP,
    lt::LINUX_SLL,
    lt::IPV4,
    lt::IPV6,
    lt::LINUX_SLL2,
];

/// Frame decoding over every supported link type: the first byte picks the link type.
pub fn decode(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let _ = decode_frame(TYPES[sel as usize % TYPES.len()], rest);
    // An unsupported link type must be an error, not a panic.
    let _ = decode_frame(u32::from(sel) << 8, rest);
}

/// Raw pcap/pcapng bytes through the reader `detect --read` uses, the analyzer and the verdict.
pub fn capture(data: &[u8]) {
    let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
    tmp.write_all(data).expect("write temp file");
    let Ok(mut src) = FileSource::open(tmp.path()) else {
        return;
    };
    let mut an = Analyzer::new(Config {
        vip: "192.168.21.20".parse().unwrap(),
        port: None,
        // Tiny table: eviction runs on every fuzz input with a few flows.
        max_flows: 4,
    });
    let mut n = 0u32;
    while let Some(p) = src.next_packet() {
        an.packet(&p);
        n += 1;
        assert!(n <= 1_000_000, "reader does not terminate");
    }
    let a = an.finish();
    let _ = verdict::decide(&a, &Default::default());
}

/// IPVS state parsers (ipvsadm -Ln/-Lnc/--save/--stats/--rate, /proc/net/ip_vs*) and checks.
pub fn ipvs(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(state) = parse_text("fuzz", &text) {
        let _ = lbdoctor::ipvs::checks::run(&lbdoctor::ipvs::checks::Input {
            state: &state,
            config: None,
        });
    }
}

/// The whole batched host output (what `audit` gathers over SSH), then role, VIP and checks.
pub fn host_facts(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let f = facts::parse_output(&text);
    let role = audit::detect_role(&f);
    let vip = audit::infer_vip(&f).or(Some("192.168.21.20".parse().unwrap()));
    let t = audit::Target {
        vip,
        vip6: None,
        port: 80,
        deny_direct: Some("10.0.0.0/8".parse().unwrap()),
        allow_direct: vec!["10.0.0.2/32".parse().unwrap()],
        method: Some("DR".into()),
        fwmarks: vec![1],
        config_findings: Vec::new(),
    };
    let _ = audit::audit(&f, &t, role);
    let _ = audit::audit(&f, &t, audit::Role::Real);
    // The LVS-TUN and IPv6 real-server checks read other facts (tunnel modules, MTUs,
    // ip6tables, proxy NDP, address flags).
    let tun = audit::Target {
        method: Some("TUN".into()),
        ..t.clone()
    };
    let _ = audit::audit(&f, &tun, audit::Role::Real);
    let v6 = audit::Target {
        vip: None,
        vip6: Some("2001:db8:21::20".parse().unwrap()),
        ..t
    };
    let _ = audit::audit(&f, &v6, audit::Role::Real);
    let _ = serde_json::to_string(&f);
}

/// Each host fact parser alone: the first byte picks sysctl, iptables-save, nft, ip addr
/// (json/text/link), ip route/rule (via the batched parser), ss.
pub fn host_parsers(data: &[u8]) {
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
}

/// Secret redaction by file syntax (src/audit/redact.rs): the first byte picks the file's
/// path (and so its syntax). Never panics, keeps every line, and stays line-for-line when
/// applied again (what arrives from the host was redacted there already).
pub fn redact(data: &[u8]) {
    const PATHS: [&str; 8] = [
        "/etc/keepalived/keepalived.conf",
        "/etc/netplan/50-cloud-init.yaml",
        "/etc/NetworkManager/system-connections/vpn.nmconnection",
        "/etc/systemd/network/wg0.netdev",
        "/etc/network/interfaces",
        "/etc/sysconfig/network-scripts/ifcfg-lo:0",
        "/etc/sysctl.conf",
        "/etc/nftables.conf",
    ];
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let path = PATHS[sel as usize % PATHS.len()];
    let text = String::from_utf8_lossy(rest);
    let once = audit::redact::redact(path, &text);
    assert_eq!(
        once.matches('\n').count(),
        text.matches('\n').count(),
        "a line was added or lost"
    );
    let twice = audit::redact::redact(path, &once);
    assert_eq!(twice.matches('\n').count(), once.matches('\n').count());
}

/// The terminal sanitizer (src/report/sanitize.rs): whatever the bytes, nothing that acts on
/// a terminal is left, newlines stay only where `text` keeps them, and the human renderer
/// prints a finding built from the same bytes without a raw control.
pub fn sanitize(data: &[u8]) {
    use lbdoctor::report::sanitize;
    let s = String::from_utf8_lossy(data);
    let active = |c: char, nl: bool| {
        (c.is_control() && c != '\t' && (nl || c != '\n'))
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let l = sanitize::line(&s);
    assert!(!l.chars().any(|c| active(c, true)), "{l:?}");
    let t = sanitize::text(&s);
    assert!(!t.chars().any(|c| active(c, false)), "{t:?}");
    assert_eq!(t.matches('\n').count(), s.matches('\n').count());
    let mut r = lbdoctor::report::Report::new("audit");
    let loc = lbdoctor::finding::Location::new(s.to_string(), 1, 3).with_snippet(s.to_string(), 4);
    r.findings.push(
        lbdoctor::Finding::new("RS001", s.to_string(), s.to_string())
            .at(loc)
            .evidence(s.to_string())
            .fix_text(s.to_string()),
    );
    r.sections.push(lbdoctor::report::Section::Text {
        title: s.to_string(),
        body: s.to_string(),
    });
    let out = lbdoctor::report::human::render(&r, lbdoctor::report::style::Style::plain(), false);
    assert!(!out.chars().any(|c| active(c, false)), "{out:?}");
}
