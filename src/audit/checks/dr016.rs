//! DR016: a VRRP pair of directors whose backup cannot carry established connections: no
//! lvs_sync_daemon copies IPVS's connection entries, and net.ipv4.vs.sloppy_tcp=0 lets the new
//! master create an entry only from a SYN.
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let f = a.f;
    let Some(conf) = f.keepalived_conf_text() else {
        return;
    };
    let first_words: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.split(['#', '!']).next()?.split_whitespace().next())
        .collect();
    let has = |kw: &str| first_words.contains(&kw);
    // A TCP virtual_server (the default protocol) behind a VRRP-held VIP, with no sync daemon.
    if !has("vrrp_instance") || !has("virtual_server") {
        return;
    }
    if has("lvs_sync_daemon") || has("lvs_sync_daemon_interface") {
        return;
    }
    if f.sysctl_u32("net.ipv4.vs.sloppy_tcp") != Some(0) {
        return;
    }
    out.push(
        Finding::new(
            "DR016",
            &f.host,
            "keepalived moves the VIP between directors (vrrp_instance), but no lvs_sync_daemon copies IPVS's connection entries to the backup and net.ipv4.vs.sloppy_tcp=0: after a failover the new master creates an entry only for a SYN, hands every packet of an established connection to its own stack, which holds the VIP and answers with a reset. Every open connection through the VIP breaks at each failover.",
        )
        .evidence("net.ipv4.vs.sloppy_tcp = 0")
        .evidence(format!("{}: vrrp_instance and virtual_server, no lvs_sync_daemon", f.keepalived_conf_path()))
        .fix_text("Set net.ipv4.vs.sloppy_tcp=1 on both directors (IPVS then schedules a connection from any packet; Linux 3.11 or later), or run keepalived's connection sync (`lvs_sync_daemon IFACE INSTANCE` in global_defs). Persist the sysctl with ip_vs loaded before systemd-sysctl runs (`ip_vs` in /etc/modules-load.d/), or it does not exist yet at boot.")
        .fix_command("sysctl -w net.ipv4.vs.sloppy_tcp=1"),
    );
}
