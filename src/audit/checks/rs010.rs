//! RS010: this real server is also an IPVS director for the same VIP (ping-pong).
use crate::audit::parse::ipvs;
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let (Some(vip), Some(text)) = (a.t.vip, a.f.ip_vs.as_deref()) else {
        return;
    };
    let t = ipvs::parse(text);
    if let Some(s) = t.services.iter().find(|s| s.addr == Some(vip)) {
        out.push(
            Finding::new("RS010", &a.f.host, format!(
                "this real server also runs IPVS with {vip}:{} as a virtual service: when the director sends a connection here, IPVS forwards it again and packets ping-pong between the boxes",
                s.port))
            .evidence(format!("/proc/net/ip_vs: {} {vip}:{} {} with {} real servers", s.proto, s.port, s.sched, s.reals.len()))
            .fix_text("run the director on its own host, or set net.ipv4.vs.backup_only=1 on the backup director so it stops balancing while it is a real server"),
        );
    }
}
