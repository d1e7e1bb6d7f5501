//! RS006: nothing listens where packets for VIP:port end up (after REDIRECT: the address of
//! the receiving interface; with the VIP local: the VIP or a wildcard).
use crate::audit::parse::ss::accepts;
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip else { return };
    let port = a.t.port;
    let listeners: Vec<_> = a.f.listeners.iter().filter(|l| l.port == port).collect();
    // Where the packets land: REDIRECT rewrites dst to the primary address of the receiving
    // interface; a local VIP keeps dst = VIP.
    let mut targets: Vec<String> = Vec::new();
    if a.vip_is_nat() || a.acceptance.is_empty() {
        targets.extend(a.real_ips().into_iter().map(|(_, ip)| ip.to_string()));
    }
    if a.vip_is_local() {
        targets.push(vip.to_string());
    }
    let missing: Vec<&String> = targets
        .iter()
        .filter(|t| !listeners.iter().any(|l| accepts(l, t)))
        .collect();
    if missing.is_empty() {
        return;
    }
    let mut f = Finding::new(
        "RS006",
        &a.f.host,
        format!(
            "no service listens on port {port} at {} where packets for {vip}:{port} arrive; connections are refused",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ),
    );
    if listeners.is_empty() {
        f = f.evidence(format!("ss -ltn shows nothing on port {port}"));
    }
    for l in &listeners {
        f = f.evidence(format!("listening on {}:{}", l.addr, l.port));
    }
    out.push(f.fix_text(
        "bind the service to 0.0.0.0 (or to the VIP when the VIP is on lo), then restart it",
    ));
}
