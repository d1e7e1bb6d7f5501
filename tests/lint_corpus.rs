//! Every keepalived config of the shared corpus (../shared/corpus/keepalived) goes through
//! load + all checks without a panic; the genuinely broken ones are listed with the reason,
//! and the include sets are read with their includes resolved.

use lbdoctor::keepalived::checks::{self, Options};
use lbdoctor::keepalived::{load, LoadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/keepalived");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: corpus not found at {} (tests read it from ../shared/corpus)",
            p.display()
        );
        None
    }
}

/// Files whose block structure keepalived itself cannot read as written, and why.
/// (LB003/LB004/LB008/LB009 findings; every one was checked against keepalived 2.2.7 -t.)
const BROKEN: &[(&str, &str)] = &[
    (
        "3fong__openresty-demo__keepalived.conf",
        "virtual_server line without `{`",
    ),
    (
        "Familyer__keepalive__keepalived.conf.backup",
        "`//` comments with `{VRID}` in them",
    ),
    (
        "Familyer__keepalive__keepalived.conf.master",
        "`//` comments with `{VRID}` in them",
    ),
    (
        "KailongLi__elb-test__keepalived.conf",
        "DPVS/FULLNAT fork block local_address_group",
    ),
    (
        "LeroyK111__nginx_learning__keepalived.conf",
        "misspelt vrrp_script_chk_nginx block",
    ),
    (
        "acassen__keepalived__removed-sample__doc__samples__keepalived.conf.real_server_group",
        "real_server_group, removed from keepalived",
    ),
    (
        "acassen__keepalived__v1.1.0__doc__samples__keepalived.conf.track_interface",
        "static_route block of keepalived 1.1 (now static_routes)",
    ),
    (
        "atakosvektorius__cyberark-lb__keepalived.conf.backup",
        "undefined ${DATAPLANE_IP_BACKUP} leaves a `{`",
    ),
    (
        "atakosvektorius__cyberark-lb__keepalived.conf.primary",
        "undefined ${DATAPLANE_IP_PRIMARY} leaves a `{`",
    ),
    (
        "frylion007__keepalived_nginx__etc__keepalived__keepalived.conf",
        "DPVS/FULLNAT fork block local_address_group",
    ),
    (
        "hsksyusk__topecongiro-etc__keepalived__keepalived.conf.2",
        "extra `}` and a misplaced block",
    ),
    (
        "iqiyi__dpvs__doc__containerized__keepalived.conf",
        "DPVS fork block local_address_group",
    ),
    (
        "iqiyi__dpvs__tools__keepalived__keepalived.conf",
        "DPVS fork block deny_address_group",
    ),
    (
        "iqiyi__dpvs__tools__keepalived__kpalive_cluster_test.conf",
        "DPVS fork block deny_address_group",
    ),
    (
        "pmzgit__old-note__conf__keepalived-mysql.conf",
        "non-breaking spaces and an extra `}`",
    ),
    (
        "pqarmitage__keepalived-devel-tools__configs__1446__conf.d__anon22.conf",
        "fragment: last virtual_server not closed",
    ),
    (
        "pqarmitage__keepalived-devel-tools__configs__dump_data.conf",
        "test file with vrrp_defs block and extra braces",
    ),
    (
        "pqarmitage__keepalived-devel-tools__configs__notify12.conf",
        "${NAME} undefined without -i, leaves a `{`",
    ),
    (
        "pqarmitage__keepalived-devel-tools__configs__rest.conf",
        "REST API blocks of a development branch",
    ),
    (
        "shidg__note__keepalived__keepalived.conf",
        "misspelt SMTP_CHEKC block",
    ),
];

const STRUCTURE: &[&str] = &["LB003", "LB004", "LB008", "LB009"];

#[test]
fn every_corpus_file_lints_and_broken_ones_are_known() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "INDEX.tsv"))
        .collect();
    files.sort();
    assert!(
        files.len() > 300,
        "corpus looks incomplete: {}",
        files.len()
    );
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut models = 0;
    for p in &files {
        let l = load(p, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let all: Vec<_> = l
            .findings
            .iter()
            .cloned()
            .chain(checks::run(&l, &Options::default()))
            .collect();
        for f in &all {
            assert!(
                f.location.as_ref().is_some_and(|loc| loc.line > 0),
                "{}: {f:?}",
                p.display()
            );
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let structural: Vec<String> = all
            .iter()
            .filter(|f| STRUCTURE.contains(&f.id.as_str()))
            .map(|f| format!("{}:{}", f.id, f.location.as_ref().unwrap().line))
            .collect();
        if !structural.is_empty() {
            broken.insert(name, structural);
        }
        models += usize::from(
            !l.config.virtual_servers.is_empty() || !l.config.vrrp_instances.is_empty(),
        );
    }
    let expected: Vec<&str> = BROKEN.iter().map(|(n, _)| *n).collect();
    let got: Vec<&str> = broken.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "structural findings per file: {broken:#?}");
    assert!(models > 280, "only {models} files produced a model");
}

#[test]
fn corpus_lvs_configs_have_their_virtual_servers() {
    let Some(dir) = corpus() else { return };
    // keepalived's default config: three address virtual servers, read completely.
    let l = load(
        &dir.join("acassen__keepalived__keepalived__etc__keepalived__keepalived.conf"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(l.config.virtual_servers.len() >= 2);
    assert!(l
        .config
        .virtual_servers
        .iter()
        .all(|v| !v.real_servers.is_empty()));
    // ~SEQ inside multi-line definitions expand into virtual servers (keepalived's own test config)
    let l = load(
        &dir.join("pqarmitage__keepalived-devel-tools__configs__check_align.conf"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(
        l.config.virtual_servers.len() > 10,
        "{}",
        l.config.virtual_servers.len()
    );
    assert!(
        !l.findings.iter().any(|f| f.id == "LB002"),
        "{:?}",
        l.findings.iter().find(|f| f.id == "LB002")
    );
}

#[test]
fn include_sets_resolve() {
    let Some(dir) = corpus() else { return };
    let sets = dir.join("include_sets");
    // (top file, files read at least, map /etc/keepalived here)
    let cases: &[(&str, usize, Option<&str>)] = &[
        ("KailongLi__elb-test/keepalived.conf", 2, None),
        (
            "sangrealest__shell/keepalived/keepalived.conf",
            16,
            Some("sangrealest__shell/keepalived"),
        ),
        (
            "pqarmitage__keepalived-devel-tools/1446/1446/keepalived.conf",
            20,
            None,
        ),
        ("pqarmitage__keepalived-devel-tools/1708/1708.conf", 2, None),
        (
            "pqarmitage__keepalived-devel-tools/821_839/839.conf",
            2,
            None,
        ),
        ("pqarmitage__keepalived-devel-tools/incl/incl.conf", 2, None),
        (
            "pqarmitage__keepalived-devel-tools/ASAP/ASAP/keepalived.conf",
            1,
            Some("pqarmitage__keepalived-devel-tools/ASAP/ASAP"),
        ),
    ];
    for (top, min_files, map) in cases {
        let mut opts = LoadOptions::default();
        if let Some(m) = map {
            opts.include_map
                .push(("/etc/keepalived".into(), sets.join(m)));
        }
        let l = load(&sets.join(top), &opts).unwrap();
        assert!(
            l.config.files.len() >= *min_files,
            "{top}: read {:?}",
            l.config.files
        );
        let _ = checks::run(&l, &Options::default());
        if *min_files > 1 {
            let missing: Vec<_> = l
                .findings
                .iter()
                .filter(|f| f.id == "LB007" && f.message.contains("does not exist"))
                .collect();
            assert!(
                missing.is_empty() || top.contains("incl.conf"),
                "{top}: {missing:?}"
            );
        }
    }
}
