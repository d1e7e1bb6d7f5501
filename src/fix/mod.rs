//! Repair plans for real servers: each change with its exact commands and a unified diff of
//! every file it writes; applied at runtime and persisted where the distribution restores it
//! at boot; firewall changes under a rollback guard like iptables-apply's.

pub mod apply;
pub mod director;
pub mod firewalld;
pub mod iptables_boot;
pub mod ipv6;
pub mod nft;
pub mod tun;
pub mod ufw;
pub mod vip_boot;

use crate::audit::checks::{knob_ok, sysctl_requirements};
use crate::audit::{Acceptance, Analysis};
use serde::Serialize;

pub use crate::remedy::{redirect_commands, redirect_spec, SYSCTL_FILE};
use crate::remedy::{sysctl_key as key, SYSCTL_FILE_LATE};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub kind: String,
    pub description: String,
    pub commands: Vec<String>,
    pub file: Option<String>,
    pub diff: Option<String>,
    /// New full content of `file` (not shown; the diff is).
    #[serde(skip)]
    pub content: Option<String>,
    /// Current content of `file` when planned (None: absent), to refuse to clobber edits
    /// made since the facts were gathered.
    #[serde(skip)]
    pub old: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct HostPlan {
    pub host: String,
    pub changes: Vec<Change>,
    /// Notes on what the plan cannot do (shown, not applied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl HostPlan {
    pub fn has_firewall_runtime(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.kind == "firewall-runtime" || c.kind == "nft-runtime")
    }
}

pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
}

/// (key, value) pairs to set, runtime commands, for the unmet requirements.
type KeyValues = Vec<(String, u32)>;

fn sysctl_targets(a: &Analysis) -> (KeyValues, Vec<String>, KeyValues) {
    let mut runtime_keys: Vec<(String, u32)> = Vec::new();
    let mut boot_keys: Vec<(String, u32)> = Vec::new();
    let mut cmds = Vec::new();
    for r in sysctl_requirements(a) {
        let now = crate::audit::checks::runtime_effective(a, &r);
        let boot = crate::audit::checks::boot_effective(a, &r);
        let mut keys = vec![key("all", r.knob)];
        if r.knob == "rp_filter" {
            keys.push(key(&r.iface, r.knob));
        }
        if !knob_ok(r.knob, now) {
            for k in &keys {
                if !runtime_keys.iter().any(|(x, _)| x == k) {
                    runtime_keys.push((k.clone(), r.want));
                    cmds.push(format!("sysctl -w {k}={}", r.want));
                }
            }
        }
        if !knob_ok(r.knob, boot) {
            for k in keys {
                if !boot_keys.iter().any(|(x, _)| *x == k) {
                    boot_keys.push((k, r.want));
                }
            }
        }
    }
    (runtime_keys, cmds, boot_keys)
}

fn sysctl_file_change(a: &Analysis, boot_keys: &[(String, u32)]) -> Option<Change> {
    sysctl_file_change_at(
        a,
        boot_keys,
        [SYSCTL_FILE, SYSCTL_FILE_LATE],
        &[
            "# Written by lbdoctor audit --fix: LVS-DR real-server settings.",
            "# The kernel uses max(all, <iface>) for arp_ignore, arp_announce and rp_filter.",
        ],
    )
}

/// Our sysctl.d file with `boot_keys` set: `paths` is the usual name and the one that sorts
/// after every other file, `header` the comment a new file starts with.
fn sysctl_file_change_at(
    a: &Analysis,
    boot_keys: &[(String, u32)],
    paths: [&str; 2],
    header: &[&str],
) -> Option<Change> {
    let [early, late] = paths;
    if boot_keys.is_empty() {
        return None;
    }
    // A later file that sets one of our keys would win at boot: sort after it.
    let order = crate::audit::parse::sysctl::boot_order(&a.f.files, &a.f.links);
    let name_of = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let ours = name_of(early);
    let conflict_later = order.iter().any(|p| {
        p.starts_with("/etc/sysctl.d/")
            || p.starts_with("/run/")
            || p.starts_with("/usr/")
            || p.starts_with("/lib/")
    } && name_of(p) > ours
        && !p.ends_with(&ours)
        && a.f.files.get(p).map(|t| {
            crate::audit::parse::sysctl::parse_file(t)
                .iter()
                .any(|s| boot_keys.iter().any(|(k, _)| crate::audit::parse::sysctl::normalize_key(k) == s.key || s.key.contains('*')))
        }).unwrap_or(false));
    let existing_late = a.f.files.contains_key(late);
    let path = if conflict_later || existing_late {
        late
    } else {
        early
    };
    let old = a.f.files.get(path).cloned();
    let mut lines: Vec<String> = match &old {
        Some(t) => t.lines().map(String::from).collect(),
        None => header.iter().map(|h| h.to_string()).collect(),
    };
    for (k, v) in boot_keys {
        let norm = crate::audit::parse::sysctl::normalize_key(k);
        let line = format!("{k} = {v}");
        match lines.iter().position(|l| {
            l.split_once('=')
                .map(|(lk, _)| {
                    crate::audit::parse::sysctl::normalize_key(lk.trim_start_matches('-')) == norm
                })
                .unwrap_or(false)
        }) {
            Some(i) => lines[i] = line,
            None => lines.push(line),
        }
    }
    let mut new = lines.join("\n");
    new.push('\n');
    let mut commands = vec![format!("write {path}")];
    // /etc/sysctl.conf is applied after sysctl.d when nothing links to it: a conflicting
    // line there would still win; report it rather than edit the admin's file silently.
    let mut desc = format!(
        "persist {} in {path} so a reboot restores them",
        boot_keys
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(last) = order.last().filter(|p| p.as_str() == "/etc/sysctl.conf") {
        let conflicts: Vec<String> =
            a.f.files
                .get(last)
                .map(|t| crate::audit::parse::sysctl::parse_file(t))
                .unwrap_or_default()
                .into_iter()
                .filter(|s| {
                    boot_keys
                        .iter()
                        .any(|(k, _)| crate::audit::parse::sysctl::normalize_key(k) == s.key)
                })
                .map(|s| format!("/etc/sysctl.conf:{} sets {} = {}", s.line, s.key, s.value))
                .collect();
        if !conflicts.is_empty() {
            desc.push_str(&format!(
                " (warning: {} and is read last)",
                conflicts.join("; ")
            ));
        }
    }
    commands.push(format!("sysctl -p {path}"));
    Some(Change {
        kind: "sysctl-persist".into(),
        description: desc,
        commands,
        file: Some(path.into()),
        diff: Some(unified_diff(path, old.as_deref().unwrap_or(""), &new)),
        content: Some(new),
        old,
    })
}

/// One iptables rule we want: table, chain, spec (as iptables-save prints it), and whether it
/// goes at the top of the chain (firewall accepts must precede any DROP).
#[derive(Debug, Clone)]
pub(crate) struct WantRule {
    pub(crate) table: &'static str,
    pub(crate) chain: &'static str,
    pub(crate) spec: String,
    pub(crate) top: bool,
}

fn wanted_rules(a: &Analysis) -> (Vec<WantRule>, Vec<String>) {
    let mut v = Vec::new();
    let mut notes = Vec::new();
    let Some(vip) = a.t.vip else {
        return (v, notes);
    };
    // An LVS-TUN real server gets the VIP on tunl0 instead (fix::tun; a REDIRECT drops
    // decapsulated packets).
    if a.acceptance.is_empty() && a.tun_vip().is_none() {
        v.push(WantRule {
            table: "nat",
            chain: "PREROUTING",
            spec: redirect_spec(vip),
            top: false,
        });
    } else if let Some(r) = a.acceptance.iter().find_map(|x| match x {
        Acceptance::Nat(r) => Some(r.clone()),
        _ => None,
    }) {
        // Keep the existing rule: persist the same one (spec without "-A CHAIN").
        let spec = r
            .split_once(' ')
            .map(|x| x.1)
            .unwrap_or("")
            .split_once(' ')
            .map(|x| x.1)
            .unwrap_or("")
            .to_string();
        v.push(WantRule {
            table: "nat",
            chain: "PREROUTING",
            spec,
            top: false,
        });
    }
    // After REDIRECT, INPUT sees dst = the real IP: tell VIP traffic apart by the
    // connection's original destination. With the VIP on lo, dst is the VIP itself.
    let port = a.t.port;
    let vip_accept = |from: Option<String>| {
        let s = from.map(|n| format!("-s {n} ")).unwrap_or_default();
        if a.vip_is_local() && !a.vip_is_nat() {
            format!("{s}-d {vip}/32 -p tcp -m tcp --dport {port} -j ACCEPT")
        } else {
            format!("{s}-p tcp -m conntrack --ctorigdst {vip} -m tcp --dport {port} -j ACCEPT")
        }
    };
    // The live rules, or the ones a reboot restores (RHEL's default rejects all but SSH),
    // drop VIP traffic: accept it for every client, first in INPUT.
    // Our accept for every client, once in place, keeps being wanted: it is what unblocks.
    let ours = vip_accept(None);
    let blocked = a.vip_input_blocked(&a.ipt).is_some()
        || a.boot_ipt
            .as_ref()
            .is_some_and(|(_, rs)| a.vip_input_blocked(rs).is_some())
        || ["INPUT", "ufw-before-input"]
            .iter()
            .any(|c| a.ipt.has_rule("filter", c, &ours));
    if blocked {
        v.push(WantRule {
            table: "filter",
            chain: "INPUT",
            spec: vip_accept(None),
            top: true,
        });
    }
    if let Some(net) = a.t.deny_direct {
        v.push(WantRule {
            table: "filter",
            chain: "INPUT",
            spec: "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into(),
            top: true,
        });
        for p in a.ssh_ports() {
            v.push(WantRule {
                table: "filter",
                chain: "INPUT",
                spec: format!("-p tcp -m tcp --dport {p} -j ACCEPT"),
                top: true,
            });
        }
        // The directors' health checks connect to the real IPs: spared before the drop.
        for s in &a.t.allow_direct {
            v.push(WantRule {
                table: "filter",
                chain: "INPUT",
                spec: allow_direct_spec(s, port),
                top: true,
            });
        }
        if !blocked {
            v.push(WantRule {
                table: "filter",
                chain: "INPUT",
                spec: vip_accept(Some(net.to_string())),
                top: true,
            });
        }
        v.push(WantRule {
            table: "filter",
            chain: "INPUT",
            spec: format!("-s {net} -p tcp -m tcp --dport {port} -j DROP"),
            top: true,
        });
        if a.f.iptables_save.is_none() && a.f.nft_ruleset.is_none() {
            notes.push("neither iptables nor nft is installed; --deny-direct needs one".into());
        }
    }
    if let Some((table, chain, spec)) = tun::mss_rule(a) {
        v.push(WantRule {
            table,
            chain,
            spec,
            top: false,
        });
    }
    (v, notes)
}

/// The accept --allow-direct adds for `net` (iptables-save's spelling, /32 included).
pub(crate) fn allow_direct_spec(net: &ipnet::Ipv4Net, port: u16) -> String {
    format!("-s {net} -p tcp -m tcp --dport {port} -j ACCEPT")
}

/// Is this one of the accepts `allow_direct_spec` makes?
pub(crate) fn is_allow_direct(spec: &str) -> bool {
    spec.starts_with("-s ") && spec.ends_with("-j ACCEPT") && !spec.contains("--ctorigdst")
}

fn rule_present(rs: &crate::audit::parse::iptables::Ruleset, w: &WantRule) -> bool {
    rs.has_rule(w.table, w.chain, &w.spec)
}

/// Insert the rules into iptables-save text: top rules before the chain's first rule (in
/// order), others after its last rule; a missing table section is appended.
pub fn merge_rules_text(text: &str, rules: &[(String, String, String, bool)]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for (table, chain, spec, top) in rules {
        let start = lines.iter().position(|l| l.trim() == format!("*{table}"));
        let Some(start) = start else {
            let builtin: &[&str] = match table.as_str() {
                "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
                "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
                _ => &["INPUT", "FORWARD", "OUTPUT"],
            };
            lines.push(format!("*{table}"));
            for c in builtin {
                lines.push(format!(":{c} ACCEPT [0:0]"));
            }
            lines.push(format!("-A {chain} {spec}"));
            lines.push("COMMIT".into());
            continue;
        };
        let end = lines[start..]
            .iter()
            .position(|l| l.trim() == "COMMIT")
            .map(|i| start + i)
            .unwrap_or(lines.len());
        let prefix = format!("-A {chain} ");
        let chain_lines: Vec<usize> = (start..end)
            .filter(|&i| lines[i].starts_with(&prefix))
            .collect();
        let decl = (start..end).rfind(|&i| lines[i].starts_with(':'));
        if decl.is_none() || !(start..end).any(|i| lines[i].starts_with(&format!(":{chain} "))) {
            lines.insert(start + 1, format!(":{chain} ACCEPT [0:0]"));
            return merge_rules_text(&(lines.join("\n") + "\n"), rules);
        }
        let at = if *top {
            // Keep our top rules in the order given: after any of ours already placed.
            let first = chain_lines.first().copied().unwrap_or(end);
            let mut at = first;
            while at < end
                && rules.iter().any(|(t, c, s, tp)| {
                    *tp && t == table && c == chain && lines[at] == format!("-A {c} {s}")
                })
            {
                at += 1;
            }
            at
        } else {
            chain_lines
                .last()
                .map(|i| i + 1)
                .unwrap_or(decl.unwrap() + 1)
        };
        lines.insert(at, format!("-A {chain} {spec}"));
    }
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// What the operator allows beyond the default repair.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Install the distribution's firewall persistence package (iptables-persistent) when it
    /// is missing, instead of lbdoctor's own unit. The plan shows apt's simulation of it, and
    /// nothing is applied if apt would remove any package.
    pub install_packages: bool,
}

/// The package step of --install-packages. Debconf is answered first so that the package's
/// postinst does not save the whole live ruleset (fail2ban's, docker's) into rules.v4;
/// `--no-remove` makes apt abort rather than remove anything (ufw declares
/// `Breaks: iptables-persistent`, so apt would otherwise remove it).
pub fn package_change() -> Change {
    Change {
        kind: "package".into(),
        description: "install iptables-persistent so /etc/iptables/rules.v4 is restored at boot (--install-packages)".into(),
        commands: vec![
            "printf '%s\\n' 'iptables-persistent iptables-persistent/autosave_v4 boolean false' 'iptables-persistent iptables-persistent/autosave_v6 boolean false' | debconf-set-selections".into(),
            format!("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-remove {PACKAGE}"),
        ],
        file: None,
        diff: None,
        content: None,
        old: None,
    }
}

pub const PACKAGE: &str = "iptables-persistent";

/// apt's dry run of the package step, run on the host before anything is applied; its
/// output goes into the plan.
pub fn package_simulation_script() -> String {
    format!("LC_ALL=C apt-get -s -q install --no-remove {PACKAGE} 2>&1\n")
}

/// What apt's simulation says it would remove (`Remv NAME ...` lines).
pub fn simulated_removals(sim: &str) -> Vec<String> {
    sim.lines()
        .filter_map(|l| l.strip_prefix("Remv "))
        .map(|r| r.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

fn firewall_changes(a: &Analysis, opts: &Options, plan: &mut HostPlan) {
    if let (Some(net), true) = (a.t.deny_direct, a.t.allow_direct.is_empty()) {
        plan.notes.push(format!("--deny-direct {net} spares no director: keepalived's TCP_CHECK/HTTP_GET connect from the directors' own addresses to the real IPs, so if {net} holds a director, name it with --allow-direct ADDR (or audit the directors in the same run), or keepalived takes this server out of the pool"));
    }
    // nftables-only hosts: our own nft table instead of iptables rules.
    if a.f.iptables_save.is_none() && a.f.nft_ruleset.is_some() {
        nft::changes(a, plan);
        return;
    }
    let (want, notes) = wanted_rules(a);
    plan.notes.extend(notes);
    if !want.is_empty() && a.f.iptables_save.is_none() {
        plan.notes.push("neither iptables nor nft is installed: lbdoctor cannot add the VIP's REDIRECT or firewall rules (install nftables or iptables, or put the VIP on lo as /32)".into());
    }
    if want.is_empty() || a.f.iptables_save.is_none() {
        return;
    }
    // An enabled ufw owns INPUT: the rules go to its chains now, and to its files for boot.
    let ufw = a.f.ufw_enabled();
    // A running firewalld owns the firewall: the change goes in as its direct rules.
    let firewalld = !ufw && a.f.packages.firewalld_running;
    if firewalld {
        firewalld::changes(a, &firewalld::wanted(want), plan);
        return;
    }
    let want = if ufw { ufw::wanted(want) } else { want };
    if a.f.packages.firewalld && !ufw {
        plan.notes.push("firewalld is installed but not running: the rules are persisted without it; if it is started later, add them as its direct rules (lbdoctor audit --fix does when firewalld runs). lbdoctor never removes firewalld".into());
    }
    if a.f.packages.nftables_enabled {
        plan.notes.push(format!("nftables.service is enabled: if {} starts with `flush ruleset`, it can remove the rules netfilter-persistent or iptables-services restores at boot; check the order of the two services", nft::boot_conf(a.f)));
    }
    // Runtime: the missing ones. Top rules are inserted in reverse at position 1 so they end
    // up in the listed order.
    let missing: Vec<&WantRule> = want.iter().filter(|w| !rule_present(&a.ipt, w)).collect();
    // A VIP REDIRECT that already exists in another form counts as present.
    let missing: Vec<&WantRule> = missing
        .into_iter()
        .filter(|w| !(w.table == "nat" && a.vip_is_nat()))
        .collect();
    if !missing.is_empty() {
        let mut cmds = Vec::new();
        for w in missing.iter().filter(|w| !w.top) {
            cmds.push(format!("iptables -t {} -A {} {}", w.table, w.chain, w.spec));
        }
        let tops: Vec<&&WantRule> = missing.iter().filter(|w| w.top).collect();
        for (i, w) in tops.iter().enumerate() {
            // Position among this chain's top rules (ufw's rules go to two chains).
            let n = tops[..i].iter().filter(|x| x.chain == w.chain).count();
            cmds.push(format!(
                "iptables -t {} -I {} {} {}",
                w.table,
                w.chain,
                n + 1,
                w.spec
            ));
        }
        plan.changes.push(Change {
            kind: "firewall-runtime".into(),
            description: format!(
                "add {} iptables rule(s) now, under a rollback guard (restored unless a fresh SSH session confirms)",
                missing.len()
            ),
            commands: cmds,
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
    if ufw {
        ufw::persist(a, &want, plan);
        return;
    }
    // Boot: the rules file the distribution restores; without its service, our own unit
    // (nothing installed), or with --install-packages on Debian, iptables-persistent.
    let mut own_unit = false;
    let path = match crate::audit::boot_rules_file(a.f) {
        Some(p) if p != crate::remedy::iptables_boot::RULES => p.to_string(),
        None if opts.install_packages && !a.f.is_rhel_like() => {
            // First, as apply() runs it first.
            plan.changes.insert(0, package_change());
            "/etc/iptables/rules.v4".into()
        }
        _ => {
            if opts.install_packages {
                plan.notes.push("--install-packages: lbdoctor installs iptables-persistent on the Debian family only; here the rules are persisted by lbdoctor-iptables.service (or install iptables-services and enable iptables.service yourself)".into());
            }
            own_unit = true;
            crate::remedy::iptables_boot::RULES.into()
        }
    };
    if own_unit {
        // Before the early return below: the rules may be in our file already while the
        // unit is missing or not enabled.
        iptables_boot::unit_changes(a, plan);
    }
    let boot_rs = a
        .boot_ipt
        .as_ref()
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| {
            crate::audit::parse::iptables::parse(
                a.f.files.get(&path).map(|s| s.as_str()).unwrap_or(""),
            )
        });
    let old = a.f.files.get(&path).cloned();
    let boot_has_nat =
        a.t.vip
            .and_then(|v| crate::audit::nat_rule_for(&boot_rs, v, a.t.port))
            .is_some();
    let to_persist: Vec<(String, String, String, bool)> = want
        .iter()
        .filter(|w| !(rule_present(&boot_rs, w) || (w.table == "nat" && boot_has_nat)))
        .map(|w| {
            (
                w.table.to_string(),
                w.chain.to_string(),
                w.spec.clone(),
                w.top,
            )
        })
        .collect();
    if to_persist.is_empty() {
        return;
    }
    // No boot file yet: our rules only. Saving the whole live ruleset, as `netfilter-persistent
    // save` does, would also freeze fail2ban's bans and docker's chains, which those services
    // rebuild themselves and which would then come back stale, before them, at every boot.
    let base = old.clone().unwrap_or_default();
    let base_rs = crate::audit::parse::iptables::parse(&base);
    let to_persist: Vec<_> = to_persist
        .into_iter()
        .filter(|(t, c, s, _)| {
            let base_nat =
                a.t.vip
                    .and_then(|v| crate::audit::nat_rule_for(&base_rs, v, a.t.port))
                    .is_some();
            !(base_rs.has_rule(t, c, s) || (t == "nat" && base_nat))
        })
        .collect();
    let new = if to_persist.is_empty() {
        base.clone()
    } else {
        merge_rules_text(&base, &to_persist)
    };
    let by = if own_unit {
        format!("{} restores", crate::remedy::iptables_boot::UNIT_NAME)
    } else {
        "the distribution restores".to_string()
    };
    let at = plan
        .changes
        .iter()
        .position(|c| c.kind == "firewall-boot-unit" || c.kind == "service-enable")
        .unwrap_or(plan.changes.len());
    plan.changes.insert(
        at,
        Change {
            kind: "firewall-persist".into(),
            description: format!("save the rules in {path}, which {by} at boot"),
            commands: vec![
                format!("iptables-restore --test < {path}"),
                format!("write {path}"),
            ],
            diff: Some(unified_diff(&path, old.as_deref().unwrap_or(""), &new)),
            file: Some(path),
            content: Some(new),
            old,
        },
    );
}

/// iptables-save output without the `# Generated` comments and packet counters, so saved
/// files are stable from run to run.
pub fn strip_counters(text: &str) -> String {
    let mut out = String::new();
    for l in text.lines() {
        if l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix(':') {
            let mut f = rest.split_whitespace();
            let (c, p) = (f.next().unwrap_or(""), f.next().unwrap_or("-"));
            out.push_str(&format!(":{c} {p} [0:0]\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// The repair for one real server. Empty when nothing is needed (idempotence).
pub fn plan(a: &Analysis) -> HostPlan {
    plan_with(a, &Options::default())
}

/// `plan` with the operator's options.
pub fn plan_with(a: &Analysis, opts: &Options) -> HostPlan {
    let mut p = plan_unchecked(a, opts);
    // A change whose file fails the check is dropped; RS023 reports the file name.
    p.changes.retain(|c| match c.file.as_deref() {
        Some(f) => match crate::audit::write_target::problem(f) {
            Some(why) => {
                p.notes.push(format!(
                    "not writing {}: {why}; see RS023",
                    crate::report::sanitize::line(&format!("{f:?}"))
                ));
                false
            }
            None => true,
        },
        None => true,
    });
    p
}

fn plan_unchecked(a: &Analysis, opts: &Options) -> HostPlan {
    let mut p = HostPlan {
        host: a.f.host.clone(),
        ..Default::default()
    };
    if a.role == crate::audit::Role::Director {
        director::plan(a, &mut p);
        return p;
    }
    ipv6::plan(a, &mut p);
    if a.t.vip.is_none() {
        return p;
    }
    tun::plan(a, &mut p);
    let (_, cmds, boot_keys) = sysctl_targets(a);
    if !cmds.is_empty() {
        p.changes.push(Change {
            kind: "sysctl-runtime".into(),
            description: "set the LVS-DR sysctls now, under a rollback guard (the old values come back unless a fresh SSH session confirms)".into(),
            commands: cmds,
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
    if let Some(c) = sysctl_file_change(a, &boot_keys) {
        p.changes.push(c);
    }
    vip_boot::plan(a, &mut p);
    firewall_changes(a, opts, &mut p);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_places_top_rules_first_in_order_and_appends_others() {
        let base = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
        let r = merge_rules_text(
            base,
            &[
                (
                    "nat".into(),
                    "PREROUTING".into(),
                    "-d 10.0.0.1/32 -j REDIRECT".into(),
                    false,
                ),
                (
                    "filter".into(),
                    "INPUT".into(),
                    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into(),
                    true,
                ),
                (
                    "filter".into(),
                    "INPUT".into(),
                    "-p tcp -m tcp --dport 22 -j ACCEPT".into(),
                    true,
                ),
            ],
        );
        let want = "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.0.0.1/32 -j REDIRECT\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
        assert_eq!(r, want);
        let r2 = merge_rules_text(
            "",
            &[(
                "nat".into(),
                "PREROUTING".into(),
                "-d 10.0.0.1/32 -j REDIRECT".into(),
                false,
            )],
        );
        assert!(r2.starts_with("*nat\n:PREROUTING ACCEPT [0:0]\n"));
        assert!(r2.contains("-A PREROUTING -d 10.0.0.1/32 -j REDIRECT\nCOMMIT\n"));
    }

    #[test]
    fn strip_counters_is_stable() {
        let s = strip_counters("# Generated by x\n*filter\n:INPUT ACCEPT [12:345]\n-A INPUT -j ACCEPT\nCOMMIT\n# Completed\n");
        assert_eq!(
            s,
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
        );
    }
}
