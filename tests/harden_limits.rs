//! Limits that hold under hostile input: each bound is hit on purpose, and the result must be
//! a finding or a clear error (never a panic, never unbounded memory or time), with the rest
//! of the input still used. Bounds already tested elsewhere: the long keepalived line
//! (lexer unit test), the capture flow table with its eviction count (detect_replay.rs
//! bounded_flow_table_reports_evictions_and_keeps_counts), /proc/net/ip_vs_conn entries kept
//! (ipvs::proc_conn unit test), local-transport output and timeout (remote::local tests).

mod common;

use lbdoctor::keepalived::{self, lexer::Limits, LoadOptions};
use std::path::Path;
use std::time::{Duration, Instant};

fn load_with(path: &Path, limits: Limits) -> keepalived::Loaded {
    keepalived::load(
        path,
        &LoadOptions {
            limits: Some(limits),
            ..Default::default()
        },
    )
    .unwrap()
}

fn messages(l: &keepalived::Loaded, id: &str) -> Vec<String> {
    l.findings
        .iter()
        .filter(|f| f.id == id)
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn keepalived_include_depth_is_bounded() {
    let d = tempfile::tempdir().unwrap();
    // A chain 60 files long: each includes the next.
    for i in 0..60 {
        std::fs::write(
            d.path().join(format!("f{i}.conf")),
            format!(
                "virtual_server 10.0.{}.{} 80 {{ lb_algo rr }}\ninclude f{}.conf\n",
                i / 200,
                i % 200 + 1,
                i + 1
            ),
        )
        .unwrap();
    }
    let l = keepalived::load(&d.path().join("f0.conf"), &LoadOptions::default()).unwrap();
    let depth = Limits::default().max_include_depth;
    let m = messages(&l, "LB007");
    assert!(
        m.iter()
            .any(|m| m.contains(&format!("deeper than {depth} levels"))),
        "{m:?}"
    );
    // Everything above the cut is still read.
    assert_eq!(l.config.virtual_servers.len(), depth);
}

#[test]
fn keepalived_include_fan_out_is_bounded_by_file_count() {
    // Every file includes every file: cycles are refused on the include stack, but the
    // number of distinct include paths grows factorially; the file count bound stops it.
    let d = tempfile::tempdir().unwrap();
    for i in 0..12 {
        std::fs::write(
            d.path().join(format!("f{i:02}.conf")),
            format!("include *.conf\nvirtual_server 10.0.0.{} 80 {{ }}\n", i + 1),
        )
        .unwrap();
    }
    let limits = Limits {
        max_files: 200,
        ..Default::default()
    };
    let start = Instant::now();
    let l = load_with(&d.path().join("f00.conf"), limits);
    assert!(
        l.doc.files.len() <= 200,
        "{} files opened",
        l.doc.files.len()
    );
    let m = messages(&l, "LB007");
    assert!(m.iter().any(|m| m.contains("200")), "{m:?}");
    // Not a speed assertion: a factorial walk would take hours, this guards against that.
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn keepalived_token_limit_stops_reading_with_a_finding() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.conf");
    let mut s = String::from("virtual_server 192.168.21.20 80 {\n lb_algo rr\n}\n");
    for i in 0..5000 {
        s.push_str(&format!("notify_fifo /tmp/x{i} a b c d e f g\n"));
    }
    std::fs::write(&p, s).unwrap();
    let l = load_with(
        &p,
        Limits {
            max_tokens: 1000,
            ..Default::default()
        },
    );
    let m = messages(&l, "LB008");
    assert!(
        m.iter().any(|m| m.contains("more than 1000 tokens")),
        "{m:?}"
    );
    // Checked per line, and a line holds at most 1023 bytes: at most ~512 tokens over.
    assert!(l.doc.toks.len() < 1000 + 512, "{}", l.doc.toks.len());
    assert_eq!(l.config.virtual_servers.len(), 1, "what came first is kept");
}

#[test]
fn keepalived_file_size_limits_refuse_with_a_finding() {
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("k.conf");
    std::fs::write(
        &top,
        "virtual_server 192.168.21.20 80 { lb_algo rr }\ninclude big.conf\n",
    )
    .unwrap();
    std::fs::write(d.path().join("big.conf"), "# x\n".repeat(100_000)).unwrap();
    // Per-file limit on an included file, and on the top file itself.
    let l = load_with(
        &top,
        Limits {
            max_file_bytes: 64 << 10,
            ..Default::default()
        },
    );
    assert!(!messages(&l, "LB008").is_empty(), "{:?}", l.findings);
    assert_eq!(l.config.virtual_servers.len(), 1);
    let l = load_with(
        &d.path().join("big.conf"),
        Limits {
            max_file_bytes: 64 << 10,
            ..Default::default()
        },
    );
    assert!(messages(&l, "LB008").iter().any(|m| m.contains("not read")));
    // Total over all files.
    let l = load_with(
        &top,
        Limits {
            max_total_bytes: 64 << 10,
            ..Default::default()
        },
    );
    assert!(
        !messages(&l, "LB008").is_empty() || !messages(&l, "LB007").is_empty(),
        "{:?}",
        l.findings
    );
    assert_eq!(l.config.virtual_servers.len(), 1);
}

#[test]
fn keepalived_seq_generation_is_bounded() {
    let l = keepalived::load_str(
        "mem.conf",
        b"~SEQ(i,1,4000000000) virtual_server 10.0.0.1 $i { }\n",
        &LoadOptions {
            limits: Some(Limits {
                max_generated_lines: 5000,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    assert!(l.config.virtual_servers.len() <= 5000);
    assert!(!l.findings.is_empty(), "the cut must be reported");
}

#[test]
fn keepalived_huge_line_without_newline_is_bounded() {
    // 8 MB on one line: read in keepalived's 1023-byte chunks, reported, not kept whole.
    let mut data = b"virtual_server 192.168.21.20 80 { lb_algo rr }\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 8 << 20));
    let l = keepalived::load_str("mem.conf", &data, &LoadOptions::default());
    let m = messages(&l, "LB006");
    assert!(m.iter().any(|m| m.contains("8388608 bytes")), "{m:?}");
    assert!(l.doc.text.len() < 4096, "the line is not kept whole");
    assert_eq!(l.config.virtual_servers.len(), 1);
}

#[test]
fn keepalived_in_memory_includes_resolve_to_nothing() {
    let l = keepalived::load_str(
        "mem.conf",
        b"include /etc/*\ninclude ../../../../etc/passwd\nvirtual_server 1.2.3.4 80 { }\n",
        &LoadOptions::default(),
    );
    assert_eq!(l.doc.files.len(), 1, "no real file may be read");
    assert_eq!(l.config.virtual_servers.len(), 1);
}

#[test]
fn ipvs_connection_entries_are_counted_but_kept_bounded() {
    use lbdoctor::ipvs::model::MAX_CONNECTIONS_KEPT;
    let n = MAX_CONNECTIONS_KEPT * 3;
    let mut s = String::from("IPVS connection entries\npro expire state       source             virtual            destination\n");
    for i in 0..n {
        s.push_str(&format!(
            "TCP 00:59  SYN_RECV    10.{}.{}.{}:{} 192.168.21.20:80   192.168.21.71:80\n",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255,
            1024 + i % 60000
        ));
    }
    let st = lbdoctor::ipvs::parse_text("conn.txt", &s).unwrap();
    let c = st.connections.unwrap();
    assert_eq!(c.total, n as u64, "every entry is counted");
    assert!(c.kept.len() <= MAX_CONNECTIONS_KEPT);
    assert!(c.syn_recv_clients.len() <= MAX_CONNECTIONS_KEPT);
    assert_eq!(c.by_state["SYN_RECV"], n as u64);
}

/// Over a real sshd (libssh2 transport): output beyond the limit and a command beyond the
/// time limit are clear errors naming the host, and the command does not keep running.
#[test]
fn ssh_command_output_and_time_are_bounded() {
    use common::*;
    use lbdoctor::remote::{self, Limits};
    if !can_run_sshd() {
        return;
    }
    let s = Sshd::start();
    let kh = s.path("known_hosts");
    std::fs::write(&kh, s.known_hosts_line()).unwrap();
    let mut t = remote::connect("target", &s.ssh_args(&kh)).unwrap();
    t.set_limits(Limits {
        timeout: Duration::from_secs(20),
        max_output: 1 << 20,
    });
    let Err(e) = t.run("head -c 50000000 /dev/zero") else {
        panic!("output over the limit must be refused");
    };
    let m = format!("{e:#}");
    assert!(m.contains("target"), "{m}");
    t.set_limits(Limits {
        timeout: Duration::from_secs(1),
        max_output: 1 << 20,
    });
    let marker = format!("lbd-harden-{}", std::process::id());
    let start = Instant::now();
    let Err(e) = t.run(&format!("sleep 30; echo {marker}")) else {
        panic!("a command over the time limit must fail");
    };
    let m = format!("{e:#}");
    assert!(m.contains("target"), "{m}");
    // Bounded: the 30 s command did not run to its end before the error.
    assert!(
        start.elapsed() < Duration::from_secs(25),
        "{:?}",
        start.elapsed()
    );
    // A fresh connection still works after both failures.
    let mut t2 = remote::connect("target", &s.ssh_args(&kh)).unwrap();
    assert_eq!(t2.run("echo ok").unwrap().stdout_lossy(), "ok\n");
}
