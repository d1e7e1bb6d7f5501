//! Cross-file VRRP checks, when the configs of several directors are linted together:
//! LB028 mismatched settings (VRID, advert_int, authentication, VIPs), LB029 equal
//! priorities, LB030 both MASTER, LB031 unicast peers that do not name each other. A node
//! that ignores its peer's adverts becomes MASTER too: split brain. Instances are paired by
//! what they share (a VIP, unicast addresses, interface and VRID), never by name alone.

use super::at;
use crate::finding::Finding;
use crate::keepalived::model::{Span, VrrpInstance};
use crate::keepalived::Loaded;

fn fname(s: &Span) -> String {
    s.file.display().to_string()
}

fn setting_span<T>(
    s: &Option<crate::keepalived::model::Setting<T>>,
    v: &VrrpInstance,
) -> (Span, usize) {
    match s {
        Some(x) => (x.span.clone(), x.keyword.len()),
        None => (v.span.clone(), "vrrp_instance".len()),
    }
}

/// Why two instances of different files are the same VRRP router on two directors, or
/// None. Names prove nothing (every sample config has a VI_1): instances pair when one's
/// unicast_src_ip is in the other's unicast_peer list; when they share a VIP and also the
/// interface or the virtual_router_id (copies of keepalived's sample config share its VIPs
/// and nothing else; a real peer with a wrong VRID still has the same interface); or when
/// they have the same interface and VRID and one of them has no VIP to compare.
fn related(a: &VrrpInstance, b: &VrrpInstance) -> Option<String> {
    for (x, y) in [(a, b), (b, a)] {
        if let Some(src) = x.unicast_src_ip.filter(|s| y.unicast_peers.contains(s)) {
            return Some(format!("unicast peer {src}"));
        }
    }
    let same = |f: fn(&VrrpInstance) -> Option<String>| f(a).is_some() && f(a) == f(b);
    let iface = same(|v| v.interface.as_ref().map(|i| i.value.clone()));
    let vrid = same(|v| v.virtual_router_id.as_ref().map(|i| i.value.to_string()));
    let vips_b = b.vip_addrs();
    if let Some(v) = a.vip_addrs().into_iter().find(|v| vips_b.contains(v)) {
        if iface || vrid {
            return Some(format!("VIP {v}"));
        }
    }
    if iface && vrid && (a.vips.is_empty() || b.vips.is_empty()) {
        return Some(format!(
            "interface {} and virtual_router_id {}",
            a.interface.as_ref().map_or("", |i| i.value.as_str()),
            a.virtual_router_id.as_ref().map_or(0, |i| i.value)
        ));
    }
    None
}

/// Two instances found to be peers, and why.
pub struct Pairing {
    pub file_a: usize,
    pub file_b: usize,
    pub instance_a: String,
    pub instance_b: String,
    pub why: String,
}

/// Every pair of peer instances across the files.
pub fn pairings(files: &[&Loaded]) -> Vec<Pairing> {
    let mut out = Vec::new();
    for (i, a) in files.iter().enumerate() {
        for (j, b) in files.iter().enumerate().skip(i + 1) {
            for va in &a.config.vrrp_instances {
                for vb in &b.config.vrrp_instances {
                    if let Some(why) = related(va, vb) {
                        out.push(Pairing {
                            file_a: i,
                            file_b: j,
                            instance_a: va.name.clone(),
                            instance_b: vb.name.clone(),
                            why,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The files grouped into clusters of directors that share VRRP instances (connected
/// components of the pairings); files with no peer are left out.
pub fn clusters(nfiles: usize, pairs: &[Pairing]) -> Vec<Vec<usize>> {
    let mut comp: Vec<usize> = (0..nfiles).collect();
    fn root(c: &mut [usize], mut i: usize) -> usize {
        while c[i] != i {
            c[i] = c[c[i]];
            i = c[i];
        }
        i
    }
    for p in pairs {
        let (ra, rb) = (root(&mut comp, p.file_a), root(&mut comp, p.file_b));
        comp[ra.max(rb)] = ra.min(rb);
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..nfiles {
        let r = root(&mut comp, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

pub fn check(files: &[&Loaded]) -> Vec<Finding> {
    check_pairs(files, &pairings(files))
}

pub fn check_pairs(files: &[&Loaded], pairs: &[Pairing]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in pairs {
        let find = |f: usize, name: &str| {
            files[f]
                .config
                .vrrp_instances
                .iter()
                .find(|v| v.name == name)
        };
        if let (Some(va), Some(vb)) = (find(p.file_a, &p.instance_a), find(p.file_b, &p.instance_b))
        {
            pair(va, vb, &mut out);
        }
    }
    out
}

fn pair(a: &VrrpInstance, b: &VrrpInstance, out: &mut Vec<Finding>) {
    let subject = if a.name == b.name {
        format!("vrrp_instance {}", a.name)
    } else {
        format!("vrrp_instance {} / {}", a.name, b.name)
    };
    let peer = |s: &Span| format!("{}:{}", fname(s), s.line);
    let mut mismatch = |what: &str,
                        va: String,
                        vb: String,
                        span_b: (Span, usize),
                        span_a: Span,
                        consequence: &str| {
        out.push(
            Finding::new(
                "LB028",
                subject.clone(),
                format!(
                    "{what} differs between peers: {va} in {} but {vb} here; {consequence}",
                    fname(&span_a),
                ),
            )
            .at(at(&span_b.0, span_b.1))
            .evidence(format!("{}: {va}", peer(&span_a)))
            .evidence(format!("{}: {vb}", peer(&span_b.0)))
            .fix_text(format!(
                "make {what} identical in both files; only priority and state should differ"
            )),
        );
    };
    let show_i = |s: &Option<crate::keepalived::model::Setting<i64>>| {
        s.as_ref()
            .map_or("unset".to_string(), |x| x.value.to_string())
    };
    if a.virtual_router_id.as_ref().map(|x| x.value)
        != b.virtual_router_id.as_ref().map(|x| x.value)
    {
        mismatch(
            "virtual_router_id",
            show_i(&a.virtual_router_id),
            show_i(&b.virtual_router_id),
            setting_span(&b.virtual_router_id, b),
            setting_span(&a.virtual_router_id, a).0,
            "each node ignores the other's adverts as an unknown VRID, so both become MASTER (split brain)",
        );
    }
    let adv = |v: &VrrpInstance| v.advert_int.as_ref().map_or(1.0, |x| x.value);
    if adv(a) != adv(b) {
        mismatch(
            "advert_int",
            format!("{}s", adv(a)),
            format!("{}s", adv(b)),
            setting_span(&b.advert_int, b),
            setting_span(&a.advert_int, a).0,
            "VRRPv2 drops adverts with another interval (\"advertisement interval mismatch\"), so both become MASTER",
        );
    }
    let auth = |v: &VrrpInstance| {
        (
            v.auth_type.as_ref().map(|x| x.value.clone()),
            v.auth_pass.as_ref().map(|x| x.value.clone()),
        )
    };
    if auth(a) != auth(b) {
        let show = |v: &VrrpInstance| match auth(v) {
            (None, _) => "no authentication".to_string(),
            (Some(t), p) => format!(
                "auth_type {t}{}",
                if p.is_some() { " with a password" } else { "" }
            ),
        };
        let (sa, sb) = (show(a), show(b));
        let (sa, sb) = if sa == sb {
            ("one password".to_string(), "another".to_string())
        } else {
            (sa, sb)
        };
        mismatch(
            "authentication",
            sa,
            sb,
            setting_span(&b.auth_pass, b),
            setting_span(&a.auth_pass, a).0,
            "VRRPv2 rejects the peer's adverts (\"received an invalid passwd\"), so both become MASTER",
        );
    }
    let mut vips_a: Vec<&str> = a.vips.iter().map(|x| x.0.as_str()).collect();
    let mut vips_b: Vec<&str> = b.vips.iter().map(|x| x.0.as_str()).collect();
    vips_a.sort_unstable();
    vips_b.sort_unstable();
    if vips_a != vips_b {
        let span_b = b
            .vips
            .first()
            .map_or((b.span.clone(), "vrrp_instance".len()), |x| {
                (x.1.clone(), x.0.len())
            });
        mismatch(
            "the VIP list",
            format!("[{}]", vips_a.join(", ")),
            format!("[{}]", vips_b.join(", ")),
            span_b,
            a.vips.first().map_or(a.span.clone(), |x| x.1.clone()),
            "on failover the new MASTER brings up a different set of addresses",
        );
    }
    if a.effective_priority() == b.effective_priority() {
        let (sb, lb) = setting_span(&b.priority, b);
        out.push(
            Finding::new(
                "LB029",
                subject.clone(),
                format!(
                    "both peers have priority {}; the election falls to the higher IP address, so which director holds the VIP depends on addressing, not on the config",
                    b.effective_priority()
                ),
            )
            .at(at(&sb, lb))
            .evidence(format!("{}: priority {}", peer(&setting_span(&a.priority, a).0), a.effective_priority()))
            .fix_text("give the preferred director a higher priority (e.g. 150 vs 100)"),
        );
    }
    if a.effective_state() == "MASTER" && b.effective_state() == "MASTER" {
        let (sb, lb) = setting_span(&b.state, b);
        out.push(
            Finding::new(
                "LB030",
                subject.clone(),
                "both peers start as MASTER: at boot, or whenever they lose sight of each other, both hold the VIP and answer ARP for it".to_string(),
            )
            .at(at(&sb, lb))
            .evidence(format!("{}: state MASTER", peer(&setting_span(&a.state, a).0)))
            .fix_text("use `state BACKUP` on every node and let priority decide"),
        );
    }
    let uni_a = !a.unicast_peers.is_empty();
    let uni_b = !b.unicast_peers.is_empty();
    if uni_a != uni_b {
        let (u, m) = if uni_a { (a, b) } else { (b, a) };
        out.push(
            Finding::new(
                "LB031",
                subject.clone(),
                format!(
                    "{} sends unicast adverts but {} multicasts; each rejects the other's packets (\"Expected unicast packet but received multicast\"), so both become MASTER",
                    fname(&u.span),
                    fname(&m.span)
                ),
            )
            .at(at(&b.span, "vrrp_instance".len()))
            .fix_text("configure unicast_peer (and unicast_src_ip) on both peers, or on neither"),
        );
    } else if uni_a && uni_b {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(src) = y.unicast_src_ip {
                if !x.unicast_peers.contains(&src) {
                    let listed: Vec<String> =
                        x.unicast_peers.iter().map(|p| p.to_string()).collect();
                    out.push(
                        Finding::new(
                            "LB031",
                            subject.clone(),
                            format!(
                                "the unicast_peer list in {} ({}) does not include {src}, the unicast_src_ip of its peer in {}; adverts never reach that peer, which becomes MASTER too",
                                fname(&x.span),
                                listed.join(", "),
                                fname(&y.span)
                            ),
                        )
                        .at(at(
                            x.unicast_peer_spans.first().unwrap_or(&x.span),
                            x.unicast_peers.first().map_or(1, |p| p.to_string().len()),
                        ))
                        .fix_text(format!("add {src} to unicast_peer in {}", fname(&x.span))),
                    );
                }
            }
        }
    }
}
