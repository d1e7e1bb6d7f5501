//! RS022: nothing listens where packets for the IPv6 VIP end up.
use crate::audit::parse::ss::accepts;
use crate::audit::{Acceptance, Analysis};
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let Some(vip) = a.t.vip6 else { return };
    let acc = a.acceptance6();
    if acc.is_empty() {
        return; // RS019 says so
    }
    let port = a.t.port;
    let v = vip.to_string();
    // A local VIP keeps dst = VIP; after REDIRECT the packet goes to the receiving NIC's
    // primary address, so only a wildcard listener is sure to get it.
    let nat = acc.iter().any(|x| !matches!(x, Acceptance::Address { .. }));
    let ok = a.f.listeners.iter().filter(|l| l.port == port).any(|l| {
        if nat {
            matches!(l.addr.as_str(), "*" | "::")
        } else {
            accepts(l, &v) && l.addr != "0.0.0.0"
        }
    });
    if ok {
        return;
    }
    let mut f = Finding::new(
        "RS022",
        &a.f.host,
        format!(
            "no service listens on port {port} for the IPv6 VIP {vip}: connections are refused"
        ),
    );
    for l in a.f.listeners.iter().filter(|l| l.port == port) {
        let why = if l.addr.contains(':') {
            "another address"
        } else {
            "IPv4 only"
        };
        f = f.evidence(format!("listening on {}:{} ({why})", l.addr, l.port));
    }
    out.push(f.fix_text(format!(
        "bind the service to [::] (or to [{vip}]) and restart it"
    )));
}
