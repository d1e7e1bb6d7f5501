//! DR007: SYN cookies disabled on a director.
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if a.f.sysctl_u32("net.ipv4.tcp_syncookies") == Some(0) {
        out.push(
            Finding::new("DR007", &a.f.host, "net.ipv4.tcp_syncookies is 0: under a SYN flood the director's own TCP services (health checks, SSH) lose their backlog")
                .evidence("net.ipv4.tcp_syncookies = 0")
                .fix_command("sysctl -w net.ipv4.tcp_syncookies=1"),
        );
    }
}
