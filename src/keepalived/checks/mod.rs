//! Lint checks over a loaded keepalived config: one module per check (or per family of
//! closely related checks), each with its checks/LBxxx.md file. Parse-level checks
//! (LB002-LB010, LB027) are produced while loading; these run on the result.

pub mod auth_pass;
pub mod connect_timeout;
pub mod deprecated;
pub mod director_is_real_server;
pub mod dr_health_check;
pub mod dr_port;
pub mod duplicate_real_server;
pub mod duplicate_setting;
pub mod duplicate_virtual_server;
pub mod forced_state;
pub mod misc_check_timeout;
pub mod missing_method;
pub mod missing_parameter;
pub mod missing_protocol;
pub mod no_checker;
pub mod nopreempt_master;
pub mod peers;
pub mod repeats;
pub mod sched_flags;
pub mod scheduler_pinning;
pub mod script_security;
pub mod shell_syntax;
pub mod sorry_server;
pub mod state_after_master;
pub mod template;
pub mod track_scripts;
pub mod vip_without_vrrp;
pub mod vrrp_strict;
pub mod vs_groups;

use super::model::Span;
use super::Loaded;
use crate::finding::{Finding, Location};
use std::net::IpAddr;

/// Inputs a check may use besides the config.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Addresses of the director itself (--director-addr).
    pub director_addrs: Vec<IpAddr>,
}

pub struct Ctx<'a> {
    pub loaded: &'a Loaded,
    pub opts: &'a Options,
}

type CheckFn = fn(&Ctx, &mut Vec<Finding>);

/// Every per-file check, in a stable order.
const CHECKS: &[CheckFn] = &[
    duplicate_setting::check,
    scheduler_pinning::check,
    sched_flags::check,
    dr_port::check,
    dr_health_check::check,
    no_checker::check,
    connect_timeout::check,
    misc_check_timeout::check,
    script_security::check,
    duplicate_real_server::check,
    duplicate_virtual_server::check,
    vs_groups::check,
    vip_without_vrrp::check,
    director_is_real_server::check,
    nopreempt_master::check,
    auth_pass::check,
    state_after_master::check,
    vrrp_strict::check,
    missing_method::check,
    missing_protocol::check,
    missing_parameter::check,
    shell_syntax::check,
    forced_state::check,
    repeats::check,
    deprecated::check,
    track_scripts::check,
    sorry_server::check,
];

/// Everything lint reports for one file: the parse-level findings, every check, then a
/// template's cascade folded into its one LB039.
pub fn lint(loaded: &Loaded, opts: &Options) -> Vec<Finding> {
    let mut all = loaded.findings.clone();
    all.extend(run(loaded, opts));
    template::collapse(&loaded.doc, &mut all);
    all
}

pub fn run(loaded: &Loaded, opts: &Options) -> Vec<Finding> {
    let cx = Ctx { loaded, opts };
    let run_all = |checks: &[CheckFn]| {
        let mut out = Vec::new();
        for c in checks {
            c(&cx, &mut out);
        }
        out
    };
    // A large config runs the checks on two threads; the first holds the heaviest one.
    if loaded.doc.nodes.len() < 200_000 {
        return run_all(CHECKS);
    }
    let (a, b) = CHECKS.split_at(1);
    std::thread::scope(|s| {
        let h = s.spawn(|| run_all(b));
        let mut out = run_all(a);
        match h.join() {
            Ok(more) => out.extend(more),
            Err(p) => std::panic::resume_unwind(p),
        }
        out
    })
}

/// A location at a model span, underlining `len` characters.
pub fn at(span: &Span, len: usize) -> Location {
    let mut l = Location::new(
        span.file.display().to_string(),
        span.line,
        span.column.max(1),
    );
    l.length = len.max(1) as u32;
    l
}

/// "file:line" for messages.
pub fn line_ref(span: &Span, other: &Span) -> String {
    if span.file == other.file {
        format!("line {}", span.line)
    } else {
        format!("{}:{}", span.file.display(), span.line)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::keepalived::{load, LoadOptions};

    pub fn load_str(text: &str) -> (tempfile::TempDir, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keepalived.conf");
        std::fs::write(&p, text).unwrap();
        let l = load(&p, &LoadOptions::default()).unwrap();
        (dir, l)
    }

    pub fn lint_with(text: &str, id: &str, director: &[IpAddr]) -> Vec<Finding> {
        let (_d, l) = load_str(text);
        let opts = Options {
            director_addrs: director.to_vec(),
        };
        lint(&l, &opts).into_iter().filter(|f| f.id == id).collect()
    }

    pub fn lint_str(text: &str, id: &str) -> Vec<Finding> {
        lint_with(text, id, &[])
    }

    #[test]
    fn peers_split_brain_settings() {
        let a = "vrrp_instance VI_1 {\n state MASTER\n virtual_router_id 51\n priority 100\n advert_int 1\n unicast_src_ip 10.0.0.2\n unicast_peer {\n 10.0.0.9\n }\n virtual_ipaddress {\n 10.0.0.20\n }\n}\n";
        let b = "vrrp_instance VI_1 {\n state MASTER\n virtual_router_id 52\n priority 100\n advert_int 2\n unicast_src_ip 10.0.0.3\n unicast_peer {\n 10.0.0.2\n }\n virtual_ipaddress {\n 10.0.0.21\n }\n}\n";
        let (_da, la) = load_str(a);
        let (_db, lb) = load_str(b);
        let f = peers::check(&[&la, &lb]);
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            ["LB028", "LB028", "LB028", "LB029", "LB030", "LB031"],
            "{f:#?}"
        );
        assert_eq!(f[0].location.as_ref().unwrap().line, 3);
    }
}

#[cfg(test)]
mod table_tests {
    use super::tests::{lint_str, load_str};

    /// One small config per check, with the line it must point at; and its fixed twin must
    /// not trigger the check.
    #[test]
    fn each_check_fires_on_its_trap_and_not_on_the_fix() {
        let cases: &[(&str, &str, u32, &str)] = &[
            ("LB016", "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n weight 1\n }\n}\n", 3,
             "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n"),
            ("LB018", "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n MISC_CHECK {\n misc_path /bin/true\n }\n }\n}\n", 3,
             "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n MISC_CHECK {\n misc_path /bin/true\n misc_timeout 3\n }\n }\n}\n"),
            ("LB019", "vrrp_instance V {\n notify_master /x.sh\n}\n", 2,
             "global_defs {\n enable_script_security\n script_user nobody\n}\nvrrp_instance V {\n notify_master /x.sh\n}\n"),
            ("LB020", "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n real_server 10.0.0.2 80 {\n }\n}\n", 4,
             "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n real_server 10.0.0.3 80 {\n }\n}\n"),
            ("LB022", "virtual_server group web {\n protocol TCP\n}\n", 1,
             "virtual_server_group web {\n 10.0.0.1 80\n}\nvirtual_server group web {\n protocol TCP\n}\n"),
            ("LB023", "virtual_server_group web {\n 10.0.0.1 80\n}\n", 1,
             "virtual_server_group web {\n 10.0.0.1 80\n}\nvirtual_server group web {\n}\n"),
            ("LB024", "vrrp_instance V {\n virtual_ipaddress {\n 10.0.0.9\n }\n}\nvirtual_server 10.0.0.1 80 {\n}\n", 6,
             "vrrp_instance V {\n virtual_ipaddress {\n 10.0.0.1/24\n }\n}\nvirtual_server 10.0.0.1 80 {\n}\n"),
            ("LB026", "vrrp_instance V {\n state MASTER\n nopreempt\n}\n", 3,
             "vrrp_instance V {\n state BACKUP\n nopreempt\n}\n"),
            ("LB027", "vrrp_instance V {\n virtual_router_id 300\n}\n", 2,
             "vrrp_instance V {\n virtual_router_id 30\n}\n"),
            ("LB032", "vrrp_instance V {\n authentication {\n auth_type PASS\n auth_pass password123\n }\n}\n", 4,
             "vrrp_instance V {\n authentication {\n auth_type PASS\n auth_pass passw123\n }\n}\n"),
            ("LB033", "vrrp_instance V {\n state MASTER\n state BACKUP\n}\n", 3,
             "vrrp_instance V {\n state BACKUP\n state MASTER\n}\n"),
            ("LB034", "global_defs {\n vrrp_strict\n}\nvrrp_instance V {\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n", 2,
             "global_defs {\n vrrp_strict\n}\nvrrp_instance V {\n accept\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n"),
            ("LB035", "virtual_server 10.0.0.1 80 {\n protocol TCP\n}\n", 1,
             "virtual_server 10.0.0.1 80 {\n lb_kind DR\n protocol TCP\n}\n"),
            ("LB036", "virtual_server 10.0.0.1 80 {\n lvs_method DR\n}\n", 1,
             "virtual_server 10.0.0.1 80 {\n lvs_method DR\n protocol tcp\n}\n"),
            ("LB010", "virtual_server 10.0.0.1 80 {\n lvs_sched RR\n lvs_method dr\n}\n", 2,
             "virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lvs_method DR\n}\n"),
            ("LB005", "vrrp_instance V {\n authentication {\n auth_pass ab#cd\n }\n}\n", 3,
             "vrrp_instance V {\n authentication {\n auth_pass \"ab#cd\" # fine\n }\n}\n"),
            ("LB002", "global_defs {\n lvs_id LVS_DEVEL\n}\n", 2,
             "global_defs {\n router_id LVS_DEVEL\n}\n"),
            ("LB038", "vrrp_instance V {\n lvs_sync_daemon_interface\n}\n", 2,
             "global_defs {\n lvs_sync_daemon eth1\n}\n"),
            ("LB039", "vrrp_instance V {\n interface {{ iface }}\n}\n", 2,
             "vrrp_instance V {\n interface eth0\n}\n"),
            ("LB040", "vrrp_instance V {\n notify_master \"/x.sh && /y.sh\"\n}\n", 2,
             "vrrp_instance V {\n notify_master \"/bin/sh -c '/x.sh && /y.sh'\"\n}\n"),
            ("LB040", "vrrp_script s {\n script /x.sh > /dev/null 2>&1\n}\n", 2,
             "vrrp_script s {\n script \"/x.sh --quiet\"\n}\n"),
            ("LB041", "global_defs {\n vrrp_strict\n}\nvrrp_instance V {\n state MASTER\n priority 100\n}\n", 5,
             "global_defs {\n vrrp_strict\n}\nvrrp_instance V {\n state BACKUP\n priority 100\n}\n"),
            ("LB041", "vrrp_instance V {\n state MASTER\n priority 100\n authentication {\n auth_type AH\n auth_pass x\n }\n}\n", 2,
             "vrrp_instance V {\n state MASTER\n priority 100\n authentication {\n auth_type PASS\n auth_pass x\n }\n}\n"),
            ("LB042", "vrrp_instance A {\n lvs_sync_daemon_interface eth1\n}\nvrrp_instance B {\n lvs_sync_daemon_interface eth2\n}\n", 5,
             "global_defs {\n lvs_sync_daemon eth1 A\n}\nvrrp_instance A {\n}\n"),
            ("LB043", "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n HTTP_GET {\n nb_get_retry 3\n }\n }\n}\n", 4,
             "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n HTTP_GET {\n retry 3\n }\n }\n}\n"),
            ("LB043", "vrrp_instance V {\n virtual_routes {\n 10.1.0.0/16 gw 10.0.0.254\n }\n}\n", 3,
             "vrrp_instance V {\n virtual_routes {\n 10.1.0.0/16 via 10.0.0.254\n }\n}\n"),
            ("LB044", "vrrp_script chk {\n script /bin/true\n}\nvrrp_instance V {\n track_script {\n chk2\n }\n}\n", 6,
             "vrrp_script chk {\n script /bin/true\n}\nvrrp_instance V {\n track_script {\n chk\n }\n}\n"),
            ("LB044", "vrrp_script chk {\n weight 2\n}\nvrrp_instance V {\n track_script {\n chk\n }\n}\n", 1,
             "vrrp_script chk {\n script /bin/true\n weight 2\n}\nvrrp_instance V {\n track_script {\n chk\n }\n}\n"),
            ("LB045", "virtual_server 10.0.0.1 443 {\n sorry_server 127.0.0.1 80\n}\n", 2,
             "virtual_server 10.0.0.1 443 {\n sorry_server 127.0.0.1 443\n}\n"),
            ("LB010", "global_defs {\n vrrp_garp_interval 0\n}\n", 2,
             "global_defs {\n vrrp_garp_interval 0.001\n}\n"),
            ("LB010", "vrrp_instance V {\n virtual_ipaddress {\n 10.0.0.1\n ip/24\n }\n}\n", 4,
             "vrrp_instance V {\n virtual_ipaddress {\n 10.0.0.1\n 10.0.0.2/24\n }\n}\n"),
            ("LB010", "vrrp_instance V {\n unicast_src_ip [placeholder]\n unicast_peer {\n 10.0.0.3\n }\n}\n", 2,
             "vrrp_instance V {\n unicast_src_ip 10.0.0.2\n unicast_peer {\n 10.0.0.3\n }\n}\n"),
        ];
        for (id, bad, line, good) in cases {
            let f = lint_str(bad, id);
            assert!(!f.is_empty(), "{id} did not fire on:\n{bad}");
            assert_eq!(
                f[0].location.as_ref().unwrap().line,
                *line,
                "{id}: {:?}",
                f[0]
            );
            let g = lint_str(good, id);
            // the forced state must reach the model the VRRP table shows
            if *id == "LB041" {
                let (_d, l) = load_str(bad);
                assert_eq!(l.config.vrrp_instances[0].effective_state(), "BACKUP");
            }
            assert!(
                g.is_empty(),
                "{id} fired on the fixed config:\n{good}\n{g:?}"
            );
        }
    }
}
