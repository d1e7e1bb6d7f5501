//! DR014: keepalived runs without its checker process (`-P`/`--vrrp`: VRRP only) while its
//! config has virtual_server blocks: nothing programs IPVS or removes failed real servers.
use crate::audit::Analysis;
use crate::Finding;

/// Does this keepalived command line run the VRRP subsystem only? keepalived's options:
/// `-P`/`--vrrp` (VRRP only), `-C`/`--check` (checkers only); short options may be bundled.
pub fn vrrp_only(cmdline: &str) -> bool {
    cmdline.split_whitespace().skip(1).any(|t| {
        t == "--vrrp"
            || (t.starts_with('-')
                && !t.starts_with("--")
                && t[1..].bytes().all(|b| b.is_ascii_alphabetic())
                && t.contains('P'))
    })
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let f = a.f;
    if !f.keepalived_running || f.keepalived_cmdlines.is_empty() {
        return;
    }
    let conf = f.keepalived_conf_path();
    let has_vs = f.keepalived_conf_text().is_some_and(|c| {
        c.lines()
            .any(|l| l.trim_start().starts_with("virtual_server"))
    });
    if !has_vs || !f.keepalived_cmdlines.iter().all(|c| vrrp_only(c)) {
        return;
    }
    let services = f
        .ip_vs
        .as_deref()
        .map(|t| crate::audit::parse::ipvs::parse(t).services.len())
        .unwrap_or(0);
    out.push(
        Finding::new(
            "DR014",
            &f.host,
            format!(
                "keepalived runs with -P (--vrrp): only its VRRP process, no checker. The virtual_server blocks in {conf} are not applied: nothing adds the services to IPVS, health-checks the real servers or removes a failed one. The kernel holds {services} virtual service{} now, which keepalived neither made nor maintains.",
                if services == 1 { "" } else { "s" }
            ),
        )
        .evidence_lines(f.keepalived_cmdlines.iter().map(|c| format!("process: {c}")))
        .evidence(format!("{conf}: has virtual_server blocks"))
        .fix_text("Run keepalived without -P/--vrrp (on Debian, remove it from DAEMON_ARGS in /etc/default/keepalived; on RHEL, KEEPALIVED_OPTIONS in /etc/sysconfig/keepalived) and restart it, or run a second keepalived with -C for the checkers."),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrrp_only_reads_keepalived_options() {
        assert!(vrrp_only("/usr/sbin/keepalived -P"));
        assert!(vrrp_only("/usr/sbin/keepalived --dont-fork -DP"));
        assert!(vrrp_only(
            "keepalived --vrrp -f /etc/keepalived/keepalived.conf"
        ));
        assert!(!vrrp_only("/usr/sbin/keepalived --dont-fork"));
        assert!(!vrrp_only(
            "/usr/sbin/keepalived -D -f /etc/keepalived/P.conf"
        ));
        assert!(!vrrp_only("/usr/sbin/keepalived -C"));
    }

    #[test]
    fn the_gather_script_reports_keepalived_command_lines() {
        use crate::audit::facts::{parse_output, GATHER_SCRIPT, MARK};
        assert!(GATHER_SCRIPT.contains("keepalived-cmdline $(tr '\\0' ' ' < /proc/$p/cmdline"));
        let f = parse_output(&format!(
            "{MARK} tools\nkeepalived\nkeepalived-running\nkeepalived-cmdline /usr/sbin/keepalived --dont-fork -P \n{MARK} end\n"
        ));
        assert!(f.keepalived_running);
        assert_eq!(
            f.keepalived_cmdlines,
            ["/usr/sbin/keepalived --dont-fork -P"]
        );
    }
}
