//! DR015: net.ipv4.vs expiry settings that hurt with how keepalived manages this director's
//! real servers (Documentation/networking/ipvs-sysctl.rst; both default to 0 on every kernel).
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let f = a.f;
    let Some(conf) = f.keepalived_conf_text() else {
        return;
    };
    // Only the configuration's own lines, comments stripped.
    let lines: Vec<&str> = conf
        .lines()
        .map(|l| l.split(['#', '!']).next().unwrap_or("").trim())
        .collect();
    let has = |kw: &str| {
        lines
            .iter()
            .any(|l| l.split_whitespace().next() == Some(kw))
    };
    if !has("virtual_server") || !has("real_server") {
        return;
    }
    let get = |k: &str| f.sysctl_u32(&format!("net.ipv4.vs.{k}"));
    let inhibit = has("inhibit_on_failure");
    if get("expire_nodest_conn") == Some(0) && !inhibit {
        out.push(
            Finding::new("DR015", &f.host, "keepalived removes a real server from IPVS when its check fails (no inhibit_on_failure), and net.ipv4.vs.expire_nodest_conn=0: the kernel keeps that server's connection entries and silently drops their packets, so its clients hang until they give up and the entries expire (up to 15 min for ESTABLISHED), instead of reconnecting to a healthy server at once.")
                .evidence("net.ipv4.vs.expire_nodest_conn = 0")
                .evidence(format!("{}: real_server blocks without inhibit_on_failure", f.keepalived_conf_path()))
                .fix_text("Expire a removed server's connections at their next packet, so clients get a reset and reconnect; persist it in /etc/sysctl.d/")
                .fix_command("sysctl -w net.ipv4.vs.expire_nodest_conn=1"),
        );
    }
    if get("expire_quiescent_template") == Some(0) && inhibit && has("persistence_timeout") {
        out.push(
            Finding::new("DR015", &f.host, "keepalived sets a failed real server's weight to 0 (inhibit_on_failure) in a persistent virtual_server, and net.ipv4.vs.expire_quiescent_template=0: each client's persistence template still points at the quiesced server, so returning clients keep being sent to the failed server until their template expires.")
                .evidence("net.ipv4.vs.expire_quiescent_template = 0")
                .evidence(format!("{}: persistence_timeout and inhibit_on_failure", f.keepalived_conf_path()))
                .fix_text("Expire the templates of quiesced servers so returning clients are scheduled again; persist it in /etc/sysctl.d/")
                .fix_command("sysctl -w net.ipv4.vs.expire_quiescent_template=1"),
        );
    }
}
