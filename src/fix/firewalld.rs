//! Hosts where firewalld runs: the change goes through firewalld as direct rules, runtime
//! (under the rollback guard) and permanent (in /etc/firewalld/direct.xml, which firewalld
//! loads at boot and on every reload). firewalld is never stopped, disabled or removed, and no
//! package is installed.
//!
//! Checked against firewalld 1.3.3 (Debian 12, FirewallBackend=nftables): direct rules are
//! iptables rules, put in the built-in chain named (`CHAIN_direct` chains with the iptables
//! backend, see remedy::firewalld); its own `table inet firewalld` accepts `ct status dnat` in
//! filter_INPUT, so VIP traffic a REDIRECT rewrote passes its zone, and a drop in the
//! iptables table stops a direct connection whatever the zone allows (nftables evaluates both
//! base chains; a drop is final).

use super::{Change, HostPlan, WantRule};
use crate::audit::Analysis;

use crate::remedy::firewalld::{permanent_rules, DIRECT_XML};

/// The iptables rules as direct rules: in the `_direct` chains; established traffic is
/// accepted by firewalld itself and the drop is for the service port only, so those accepts
/// are not added.
pub(crate) fn wanted(want: Vec<WantRule>) -> Vec<WantRule> {
    want.into_iter()
        .filter(|w| {
            w.table == "nat"
                || w.spec.ends_with("-j DROP")
                || w.spec.contains("--ctorigdst")
                || w.spec.contains("/32 -p tcp")
                || super::is_allow_direct(&w.spec)
        })
        .collect()
}

/// Is the rule live, in the chain itself (nftables backend) or in its `_direct` chain?
fn live(a: &Analysis, w: &WantRule) -> bool {
    a.ipt.has_rule(w.table, w.chain, &w.spec)
        || a.ipt
            .has_rule(w.table, &format!("{}_direct", w.chain), &w.spec)
}

/// The `firewall-cmd` arguments of each rule, with its priority: the order of `want` (the
/// accepts before the drop).
fn direct_rules(want: &[WantRule]) -> Vec<(String, String, usize, String)> {
    let mut n: std::collections::BTreeMap<&str, usize> = Default::default();
    want.iter()
        .map(|w| {
            let p = n.entry(w.chain).or_default();
            let r = (w.table.to_string(), w.chain.to_string(), *p, w.spec.clone());
            *p += 1;
            r
        })
        .collect()
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The runtime change (under the guard) and the permanent one (after it is confirmed).
pub(crate) fn changes(a: &Analysis, want: &[WantRule], plan: &mut HostPlan) {
    let rules = direct_rules(want);
    let missing: Vec<_> = rules
        .iter()
        .zip(want)
        .filter(|(_, w)| !(live(a, w) || (w.table == "nat" && a.vip_is_nat())))
        .map(|(r, _)| r)
        .collect();
    let cmd = |perm: bool, (t, c, p, r): &(String, String, usize, String)| {
        format!(
            "firewall-cmd{} --direct --add-rule ipv4 {t} {c} {p} {}",
            if perm { " --permanent" } else { "" },
            r.split_whitespace().map(q).collect::<Vec<_>>().join(" ")
        )
    };
    if !missing.is_empty() {
        plan.changes.push(Change {
            kind: "firewall-runtime".into(),
            description: format!("add {} firewalld direct rule(s) now, under a rollback guard (restored unless a fresh SSH session confirms)", missing.len()),
            commands: missing.iter().map(|r| cmd(false, r)).collect(),
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
    let xml = a.f.files.get(DIRECT_XML).map(String::as_str).unwrap_or("");
    let perm = permanent_rules(xml);
    let admin_nat = perm.iter().any(|(t, c, r)| {
        t == "nat"
            && c == "PREROUTING"
            && a.t.vip.is_some_and(|v| {
                r.contains(&format!("-d {v}")) && (r.contains("REDIRECT") || r.contains("DNAT"))
            })
    });
    let todo: Vec<String> = rules
        .iter()
        .filter(|(t, c, _, r)| {
            let saved = perm
                .iter()
                .any(|(pt, pc, pr)| pt == t && pc == c && pr == r);
            !(saved || (t == "nat" && admin_nat))
        })
        .map(|r| cmd(true, r))
        .collect();
    if !todo.is_empty() {
        plan.changes.push(Change {
            kind: "firewalld-permanent".into(),
            description: format!("add the same rules to firewalld's permanent configuration ({DIRECT_XML}), which it loads at boot and on every reload"),
            commands: todo,
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
}
