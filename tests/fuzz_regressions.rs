//! Every input a fuzz target crashed, hung or ran out of memory on, replayed through the
//! very function the target runs (fuzz/harness.rs). Inputs live in fixtures/fuzz/<target>/;
//! scripts/fuzz.sh tells you to add each new one there. Each also gets a named test below
//! stating what broke and where it was fixed.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for e in rd.flatten() {
        let data = std::fs::read(e.path()).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} panics", e.path().display());
        n += 1;
    }
    n
}

#[test]
fn every_stored_fuzz_input_replays_cleanly() {
    let n = replay("keepalived", harness::keepalived)
        + replay("decode", harness::decode)
        + replay("capture", harness::capture)
        + replay("ipvs", harness::ipvs)
        + replay("host_facts", harness::host_facts)
        + replay("host_parsers", harness::host_parsers)
        + replay("redact", harness::redact)
        + replay("sanitize", harness::sanitize);
    assert!(n >= 1, "fixtures/fuzz holds the regression inputs");
}

/// iptables-save: a quote in the chain word made the unquoted chain name shorter than the raw
/// text, and slicing the rule spec by its length cut inside a UTF-8 character
/// (src/audit/parse/iptables.rs parse()).
#[test]
fn iptables_rule_with_a_quote_in_the_chain_word() {
    let rs = lbdoctor::audit::parse::iptables::parse(
        "*nat\n-A PREROUTI\\\"quoipv4/con\u{fffd}\" -j ACCEPT\n-A PREROUTING -d 192.168.21.20/32 -j REDIRECT\nCOMMIT\n",
    );
    let pre = rs.chain("nat", "PREROUTING").unwrap();
    assert_eq!(pre.rules[0].spec, "-d 192.168.21.20/32 -j REDIRECT");
}

/// keepalived: every unknown keyword was compared (Jaro-Winkler) against every keyword of
/// its block, lower-casing the word again for each, so a file of long junk words cost
/// 0.6 s per 256 KB under the fuzzer. Words no keyword is near are now skipped
/// (src/keepalived/keywords.rs suggest()); typos still get their suggestion.
#[test]
fn unknown_keyword_suggestions_skip_overlong_junk() {
    let long = "x".repeat(5000);
    let text = format!("virtual_server 1.2.3.4 80 {{\n lvs_shed rr\n {long}\n}}\n");
    let l = lbdoctor::keepalived::load_str(
        "mem.conf",
        text.as_bytes(),
        &lbdoctor::keepalived::LoadOptions::default(),
    );
    let msgs: Vec<&str> = l.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(msgs.iter().any(|m| m.contains("lvs_sched")), "{msgs:?}");
    harness::keepalived(text.as_bytes());
}

/// iptables: a chain with several rules jumping to itself (or a fan of nested jumps) made the
/// rule walk exponential; the depth bound (32) alone allowed r^32 visits. The walk now also
/// has a budget of rules visited (src/audit/parse/iptables.rs walk()).
#[test]
fn iptables_walk_with_fan_out_jumps_terminates() {
    let mut t = String::from("*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n");
    for _ in 0..8 {
        t.push_str("-A INPUT -j A\n-A A -j INPUT\n-A A -j A\n");
    }
    t.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n");
    for _ in 0..8 {
        t.push_str("-A PREROUTING -j PREROUTING\n");
    }
    // No rule decides, so every path is walked to the end.
    t.push_str("COMMIT\n");
    let rs = lbdoctor::audit::parse::iptables::parse(&t);
    let _ = lbdoctor::audit::nat_rule_for(&rs, "192.168.21.20".parse().unwrap(), 80);
    harness::host_parsers(&[&[2u8][..], t.as_bytes()].concat());
}
