//! Hosts with ufw enabled: the change goes through ufw, which owns INPUT and reloads it at
//! boot. Now: the rules go to ufw's own chains under the rollback guard (the VIP's accept
//! first in ufw-before-input, the --deny-direct drop first in ufw-user-input) and the VIP's
//! REDIRECT to nat PREROUTING. At boot: the REDIRECT and the accept go to /etc/ufw/before.rules
//! between lbdoctor markers (the REDIRECT in a `*nat` section at the top, as ufw's manual
//! does for NAT), and the drop becomes a ufw rule (`ufw prepend deny ...`, which ufw saves in
//! user.rules). ufw is never disabled or removed, and no package is installed.
//! Checked against ufw 0.36.2 (Debian 12): ufw-init loads before.rules with
//! `iptables-restore -n`, and does not flush the nat table (MANAGE_BUILTINS=no), so a manual
//! `ufw reload` adds the REDIRECT a second time (harmless; a reboot starts from one).

use super::{unified_diff, Change, HostPlan, WantRule};
use crate::audit::facts::{UFW_BEFORE, UFW_USER};
use crate::audit::Analysis;

const NAT_BEGIN: &str =
    "# BEGIN lbdoctor nat (written by lbdoctor audit --fix; replaced as a whole on each run)";
const NAT_END: &str = "# END lbdoctor nat";
const FILTER_BEGIN: &str =
    "# BEGIN lbdoctor filter (written by lbdoctor audit --fix; replaced as a whole on each run)";
const FILTER_END: &str = "# END lbdoctor filter";

/// The iptables rules mapped onto ufw's chains: ufw-before-input already accepts
/// established traffic and ufw decides SSH itself (the drop is for the service port only),
/// so those two are not added; the VIP's accept must precede ufw's user rules, and the
/// drop is a user rule.
pub(crate) fn wanted(want: Vec<WantRule>) -> Vec<WantRule> {
    want.into_iter()
        .filter_map(|mut w| {
            if w.table != "filter" {
                return Some(w);
            }
            if w.spec.ends_with("-j DROP") {
                w.chain = "ufw-user-input";
            } else if w.spec.contains("--ctorigdst")
                || w.spec.contains("/32 -p tcp")
                || super::is_allow_direct(&w.spec)
            {
                w.chain = "ufw-before-input";
            } else {
                return None;
            }
            Some(w)
        })
        .collect()
}

/// `text` without our blocks.
fn strip(text: &str) -> String {
    let mut out = Vec::new();
    let mut skip = false;
    for l in text.lines() {
        if l == NAT_BEGIN || l == FILTER_BEGIN {
            skip = true;
        } else if skip && (l == NAT_END || l == FILTER_END) {
            skip = false;
        } else if !skip {
            out.push(l);
        }
    }
    out.join("\n") + "\n"
}

/// before.rules with our blocks: nat before the first table, filter rules before the
/// *filter section's COMMIT (ufw's file says rules after it are not processed).
fn with_blocks(base: &str, nat: &[String], filter: &[String]) -> Option<String> {
    let mut lines: Vec<String> = base.lines().map(String::from).collect();
    if !filter.is_empty() {
        let start = lines.iter().position(|l| l.trim() == "*filter")?;
        let commit = (start..lines.len()).find(|&i| lines[i].trim() == "COMMIT")?;
        let mut block = vec![FILTER_BEGIN.to_string()];
        block.extend(filter.iter().map(|s| format!("-A ufw-before-input {s}")));
        block.push(FILTER_END.into());
        lines.splice(commit..commit, block);
    }
    if !nat.is_empty() {
        let first = lines.iter().position(|l| l.starts_with('*')).unwrap_or(0);
        let mut block = vec![
            NAT_BEGIN.to_string(),
            "*nat".into(),
            ":PREROUTING ACCEPT [0:0]".into(),
        ];
        block.extend(nat.iter().map(|s| format!("-A PREROUTING {s}")));
        block.extend(["COMMIT".into(), NAT_END.into()]);
        lines.splice(first..first, block);
    }
    Some(lines.join("\n") + "\n")
}

/// Is `deny proto tcp from NET to any port PORT` among ufw's rules? user.rules keeps each
/// rule as `### tuple ### ACTION PROTO DPORT DST SPORT SRC DIRECTION`.
fn has_deny(user_rules: &str, net: &str, port: u16) -> bool {
    user_rules.lines().any(|l| {
        let Some(t) = l.strip_prefix("### tuple ### ") else {
            return false;
        };
        let w: Vec<&str> = t.split_whitespace().collect();
        w.len() >= 7
            && w[0] == "deny"
            && w[1] == "tcp"
            && w[2] == port.to_string()
            && w[3] == "0.0.0.0/0"
            && w[5] == net
            && w[6].starts_with("in")
    })
}

pub(crate) fn persist(a: &Analysis, want: &[WantRule], plan: &mut HostPlan) {
    let Some(old) = a.f.files.get(UFW_BEFORE) else {
        plan.notes.push(format!("ufw is enabled but {UFW_BEFORE} was not found: the rules are applied now but not persisted; restore ufw's before.rules, then run --fix again"));
        return;
    };
    let base = strip(old);
    let base_rs = crate::audit::parse::iptables::parse(&base);
    let admin_nat =
        a.t.vip
            .and_then(|v| crate::audit::nat_rule_for(&base_rs, v, a.t.port))
            .is_some();
    let nat: Vec<String> = want
        .iter()
        .filter(|w| w.table == "nat" && !admin_nat)
        .map(|w| w.spec.clone())
        .collect();
    let filter: Vec<String> = want
        .iter()
        .filter(|w| w.chain == "ufw-before-input" && !base_rs.has_rule("filter", w.chain, &w.spec))
        .map(|w| w.spec.clone())
        .collect();
    match with_blocks(&base, &nat, &filter) {
        None => plan.notes.push(format!("{UFW_BEFORE} has no *filter section ending in COMMIT: not editing it; add `-A ufw-before-input` rules for the VIP by hand")),
        Some(new) if new != *old => plan.changes.push(Change {
            kind: "ufw-persist".into(),
            description: format!("put the VIP's rules in {UFW_BEFORE} (between the lbdoctor markers), which ufw loads at boot"),
            commands: vec![
                format!("iptables-restore --noflush --test < new {UFW_BEFORE}"),
                format!("write {UFW_BEFORE}"),
            ],
            diff: Some(unified_diff(UFW_BEFORE, old, &new)),
            file: Some(UFW_BEFORE.into()),
            content: Some(new),
            old: Some(old.clone()),
        }),
        Some(_) => {}
    }
    if let Some(net) = a.t.deny_direct {
        let user = a.f.files.get(UFW_USER).map(String::as_str).unwrap_or("");
        if want.iter().any(|w| w.chain == "ufw-user-input")
            && !has_deny(user, &net.to_string(), a.t.port)
        {
            plan.changes.push(Change {
                kind: "ufw-rule".into(),
                description:
                    "add the drop as a ufw rule, first in ufw's list, so ufw restores it at boot"
                        .into(),
                commands: vec![format!(
                    "ufw prepend deny proto tcp from {net} to any port {}",
                    a.t.port
                )],
                file: None,
                diff: None,
                content: None,
                old: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_go_before_the_first_table_and_the_filter_commit_and_are_replaced() {
        let base = "# header\n*filter\n:ufw-before-input - [0:0]\n-A ufw-before-input -i lo -j ACCEPT\n# don't delete the 'COMMIT' line\nCOMMIT\n";
        let nat = vec!["-d 10.0.0.1/32 -j REDIRECT".to_string()];
        let filter = vec![
            "-p tcp -m conntrack --ctorigdst 10.0.0.1 -m tcp --dport 80 -j ACCEPT".to_string(),
        ];
        let new = super::with_blocks(base, &nat, &filter).unwrap();
        assert_eq!(new, format!("# header\n{}\n*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.0.0.1/32 -j REDIRECT\nCOMMIT\n{}\n*filter\n:ufw-before-input - [0:0]\n-A ufw-before-input -i lo -j ACCEPT\n# don't delete the 'COMMIT' line\n{}\n-A ufw-before-input -p tcp -m conntrack --ctorigdst 10.0.0.1 -m tcp --dport 80 -j ACCEPT\n{}\nCOMMIT\n", super::NAT_BEGIN, super::NAT_END, super::FILTER_BEGIN, super::FILTER_END));
        assert_eq!(super::strip(&new), base);
        assert!(super::has_deny(
            "### tuple ### deny tcp 80 0.0.0.0/0 any 192.168.21.0/26 in\n",
            "192.168.21.0/26",
            80
        ));
        assert!(!super::has_deny(
            "### tuple ### allow tcp 80 0.0.0.0/0 any 192.168.21.0/26 in\n",
            "192.168.21.0/26",
            80
        ));
    }
}
