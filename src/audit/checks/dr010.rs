//! DR010: the director lists one of its own addresses as a real server (ping-pong).
use crate::audit::parse::ipvs;
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(text) = a.f.ip_vs.as_deref() else {
        return;
    };
    for s in ipvs::parse(text).services {
        for (ip, port, fwd) in &s.reals {
            if a.f.has_address(&ip.to_string()).is_some() && !ip.is_loopback() {
                out.push(
                    Finding::new("DR010", &a.f.host, format!("the director lists its own address {ip}:{port} as a real server of {}:{}: with DR, connections it schedules to itself are answered locally and those sent to the peer ping-pong back", s.addr.map(|x| x.to_string()).unwrap_or_default(), s.port))
                        .evidence(format!("/proc/net/ip_vs: -> {ip}:{port} {fwd}"))
                        .fix_text("do not run the director on a real server; if you must, set net.ipv4.vs.backup_only=1 on the backup"),
                );
            }
        }
    }
}
