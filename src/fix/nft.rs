//! Repairs on nftables-only real servers (nft present, iptables absent): our own table
//! `table ip lbdoctor` holds the VIP's redirect and the --deny-direct filter. It is loaded as
//! one `nft -f` transaction that redefines only that table (nothing else in the ruleset is
//! touched), under a rollback guard like the iptables one, and persisted between marker
//! comments in the file nftables.service loads at boot: /etc/nftables.conf on Debian,
//! /etc/sysconfig/nftables.conf on the RHEL family (see boot_conf).

use super::{unified_diff, Change, HostPlan};
use crate::audit::Analysis;
pub use crate::remedy::nft::{redirect_commands, FAMILY, NAME, NFT_CONF, RHEL_NFT_CONF};
use crate::remedy::nft::{INPUT_HEAD, PREROUTING_HEAD};
pub const BEGIN: &str =
    "# BEGIN lbdoctor (written by lbdoctor audit --fix; replaced as a whole on each run)";
pub const END: &str = "# END lbdoctor";

/// Our table's rules, in nft's own print form (so a listing compares equal).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub prerouting: Vec<String>,
    pub input: Vec<String>,
}

impl Table {
    pub fn is_empty(&self) -> bool {
        self.prerouting.is_empty() && self.input.is_empty()
    }
}

/// The file this host's nftables.service loads at boot.
pub fn boot_conf(f: &crate::audit::facts::HostFacts) -> &'static str {
    crate::remedy::nft::boot_conf(f.is_rhel_like())
}

fn head() -> String {
    format!("table {FAMILY} {NAME} {{")
}

/// The table as `nft list table` prints it.
pub fn render(t: &Table) -> String {
    let mut s = head();
    s.push('\n');
    let mut chains = Vec::new();
    if !t.prerouting.is_empty() {
        chains.push(("prerouting", PREROUTING_HEAD, &t.prerouting));
    }
    if !t.input.is_empty() {
        chains.push(("input", INPUT_HEAD, &t.input));
    }
    for (i, (name, h, rules)) in chains.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&format!("\tchain {name} {{\n\t\t{h}\n"));
        for r in rules.iter() {
            s.push_str(&format!("\t\t{r}\n"));
        }
        s.push_str("\t}\n");
    }
    s.push_str("}\n");
    s
}

/// The line range [start, end] of our table in `nft list ruleset` output or in our block:
/// from `table ip lbdoctor {` to the first `}` at column 0.
fn table_span(lines: &[&str]) -> Option<(usize, usize)> {
    let h = head();
    let start = lines.iter().position(|l| l.trim_end() == h)?;
    let end = (start + 1..lines.len()).find(|&i| lines[i].trim_end() == "}")?;
    Some((start, end))
}

/// Our table, parsed from a ruleset listing or from our block in nftables.conf.
pub fn parse_table(text: &str) -> Option<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, end) = table_span(&lines)?;
    let mut t = Table::default();
    let mut chain: Option<&str> = None;
    for l in &lines[start + 1..end] {
        let l = l.trim();
        if let Some(name) = l.strip_prefix("chain ").and_then(|x| x.strip_suffix(" {")) {
            chain = Some(if name == "prerouting" {
                "prerouting"
            } else if name == "input" {
                "input"
            } else {
                "other"
            });
            continue;
        }
        if l.is_empty() || l == "}" || l.starts_with("type ") || l.starts_with('#') {
            continue;
        }
        match chain {
            Some("prerouting") => t.prerouting.push(l.to_string()),
            Some("input") => t.input.push(l.to_string()),
            _ => {}
        }
    }
    Some(t)
}

/// `text` without our table (to see what the admin's own rules do).
pub fn strip_table(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match table_span(&lines) {
        Some((s, e)) => lines[..s]
            .iter()
            .chain(&lines[e + 1..])
            .map(|l| format!("{l}\n"))
            .collect(),
        None => text.to_string(),
    }
}

/// The [BEGIN, END] line range of our block in nftables.conf.
fn block_span(lines: &[&str]) -> Option<(usize, usize)> {
    let s = lines
        .iter()
        .position(|l| l.starts_with("# BEGIN lbdoctor"))?;
    let e = (s + 1..lines.len()).find(|&i| lines[i].trim_end() == END)?;
    Some((s, e))
}

/// Why the markers in `conf` cannot be trusted to delimit our block (None: zero or one pair,
/// BEGIN before END). An orphan BEGIN (an edit by hand, a cut file) would otherwise pair with
/// the END of the block a later run appends, and a rerun would replace the admin's text between.
pub fn marker_problem(conf: &str) -> Option<String> {
    let begins: Vec<usize> = conf
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("# BEGIN lbdoctor"))
        .map(|(i, _)| i + 1)
        .collect();
    let ends: Vec<usize> = conf
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end() == END)
        .map(|(i, _)| i + 1)
        .collect();
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => None,
        ([b], [e]) if b < e => None,
        _ => Some(format!(
            "lbdoctor markers do not pair up (BEGIN on line(s) {begins:?}, END on line(s) {ends:?})"
        )),
    }
}

/// Our block's content (between the markers).
pub fn block_of(conf: &str) -> Option<String> {
    let lines: Vec<&str> = conf.lines().collect();
    let (s, e) = block_span(&lines)?;
    Some(lines[s + 1..e].iter().map(|l| format!("{l}\n")).collect())
}

/// nftables.conf without our block.
pub fn strip_block(conf: &str) -> String {
    let lines: Vec<&str> = conf.lines().collect();
    match block_span(&lines) {
        Some((s, e)) => lines[..s]
            .iter()
            .chain(&lines[e + 1..])
            .map(|l| format!("{l}\n"))
            .collect(),
        None => conf.to_string(),
    }
}

/// nftables.conf with our block set to `table_text`: replaced in place when present,
/// appended otherwise (after any `flush ruleset`, which must not run after it); a new file
/// gets nft's shebang and no flush (it would drop every other table when loaded).
pub fn replace_block(old: Option<&str>, table_text: &str) -> String {
    // Loading the table again (e.g. `nft -f /etc/nftables.conf` by hand) must not fail or
    // duplicate rules: declare, delete, define, as one transaction.
    let body = format!(
        "{BEGIN}\ntable {FAMILY} {NAME} {{}}\ndelete table {FAMILY} {NAME}\n{table_text}{END}\n"
    );
    let Some(old) = old else {
        return format!("#!/usr/sbin/nft -f\n\n{body}");
    };
    let lines: Vec<&str> = old.lines().collect();
    match block_span(&lines) {
        Some((s, e)) => {
            let mut out: String = lines[..s].iter().map(|l| format!("{l}\n")).collect();
            out.push_str(&body);
            for l in &lines[e + 1..] {
                out.push_str(l);
                out.push('\n');
            }
            out
        }
        None => {
            let mut out = old.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str(&body);
            out
        }
    }
}

/// The nft input that makes our table exactly `t`, touching nothing else.
pub fn load_text(t: &Table) -> String {
    format!(
        "table {FAMILY} {NAME} {{}}\ndelete table {FAMILY} {NAME}\n{}",
        render(t)
    )
}

/// The --deny-direct filter, rule for rule what wanted_rules() adds to iptables' INPUT:
/// established, SSH, the VIP's own traffic from CIDR, then DROP of the service port from CIDR.
fn deny_rules(a: &Analysis) -> Vec<String> {
    let (Some(vip), Some(net)) = (a.t.vip, a.t.deny_direct) else {
        return Vec::new();
    };
    let port = a.t.port;
    let mut v = vec!["ct state established,related accept".to_string()];
    for p in a.ssh_ports() {
        v.push(format!("tcp dport {p} accept"));
    }
    // The directors' health checks connect to the real IPs: spared before the drop.
    // (nft lists a /32 as the bare address: written so, a rerun finds it unchanged.)
    for s in &a.t.allow_direct {
        let s = if s.prefix_len() == 32 {
            s.addr().to_string()
        } else {
            s.to_string()
        };
        v.push(format!("ip saddr {s} tcp dport {port} accept"));
    }
    // After redirect, input sees dst = the real IP: tell VIP traffic apart by the
    // connection's original destination. With the VIP on lo, dst is the VIP itself.
    if a.vip_is_local() && !a.vip_is_nat() {
        v.push(format!(
            "ip saddr {net} ip daddr {vip} tcp dport {port} accept"
        ));
    } else {
        v.push(format!(
            "ip saddr {net} ct original ip daddr {vip} tcp dport {port} accept"
        ));
    }
    v.push(format!("ip saddr {net} tcp dport {port} drop"));
    v
}

/// What our table should hold, given what it holds now (`existing`) and whether the admin's
/// own rules (outside our table) already redirect the VIP. Earlier lines are kept; a new
/// --deny-direct replaces the input chain (its CIDR is the user's latest word).
/// `outside` is the ruleset or file without our table: when the admin's own rules already
/// redirect the VIP or drop direct traffic from the CIDR, ours do not repeat them.
fn wanted(a: &Analysis, existing: Option<&Table>, outside: &str) -> Table {
    let admin_nat =
        a.t.vip
            .and_then(|v| crate::audit::nft_nat_for(outside, v))
            .is_some();
    let admin_drop =
        a.t.deny_direct
            .and_then(|n| crate::audit::nft_drop_for(outside, &n, a.t.port))
            .is_some();
    let mut t = existing.cloned().unwrap_or_default();
    let Some(vip) = a.t.vip else { return t };
    let redirect = format!("ip daddr {vip} redirect");
    if !a.vip_is_local() && !admin_nat && a.tun_vip().is_none() && !t.prerouting.contains(&redirect)
    {
        t.prerouting.push(redirect);
    }
    if a.t.deny_direct.is_some() && !admin_drop {
        t.input = deny_rules(a);
    }
    t
}

/// Plan the nft changes for a host with nft and without iptables.
pub fn changes(a: &Analysis, plan: &mut HostPlan) {
    let Some(ruleset) = a.f.nft_ruleset.as_deref() else {
        return;
    };
    if a.t.vip.is_none() {
        return;
    }
    // Runtime.
    let now = parse_table(ruleset);
    let want_now = wanted(a, now.as_ref(), &strip_table(ruleset));
    if !want_now.is_empty() && Some(&want_now) != now.as_ref() {
        let text = load_text(&want_now);
        plan.changes.push(Change {
            kind: "nft-runtime".into(),
            description: format!(
                "load table {FAMILY} {NAME} ({} rule(s)) now, as one nft transaction that replaces only that table, under a rollback guard (our table goes back to its previous state unless a fresh SSH session confirms)",
                want_now.prerouting.len() + want_now.input.len()
            ),
            commands: vec![format!("nft -f - <<'EOF'\n{text}EOF")],
            file: None,
            diff: None,
            content: Some(text),
            old: None,
        });
    }
    if a.t.deny_direct.is_some() {
        plan.notes.push(format!("nftables: an accept in table {FAMILY} {NAME} does not override a drop in another table's input chain; check your own tables if SSH or the VIP is filtered there"));
    }
    // Boot.
    let path = boot_conf(a.f);
    let old = a.f.files.get(path).cloned();
    let conf = a.f.files.get(path).map(String::as_str).unwrap_or("");
    if let Some(why) = marker_problem(conf) {
        plan.notes.push(format!("{path}: {why}; not editing it (the block could swallow your own rules). Remove the stray marker lines, then run --fix again"));
        return;
    }
    let boot = block_of(conf).and_then(|b| parse_table(&b));
    let want_boot = wanted(a, boot.as_ref(), &strip_block(conf));
    if want_boot.is_empty() {
        return;
    }
    if Some(&want_boot) != boot.as_ref() {
        let new = replace_block(old.as_deref(), &render(&want_boot));
        plan.changes.push(Change {
            kind: "nft-persist".into(),
            description: format!(
                "put table {FAMILY} {NAME} in {path} (between the lbdoctor markers), which nftables.service loads at boot"
            ),
            commands: vec![
                format!("nft -c -f - < new {path}"),
                format!("write {path}"),
            ],
            diff: Some(unified_diff(path, conf, &new)),
            file: Some(path.into()),
            content: Some(new),
            old,
        });
    }
    if !a.f.packages.nftables_enabled {
        if !a.f.packages.nftables {
            plan.notes.push(format!("the nftables package (nftables.service) is not installed: nothing loads {path} at boot; install it and enable nftables.service"));
            return;
        }
        plan.changes.push(Change {
            kind: "service-enable".into(),
            description: format!(
                "enable nftables.service so {path} is loaded at boot (it is not enabled now)"
            ),
            commands: vec!["systemctl enable nftables.service".into()],
            file: None,
            diff: None,
            content: None,
            old: None,
        });
        if conf.lines().any(|l| l.trim() == "flush ruleset") {
            plan.notes.push(format!("{path} starts with `flush ruleset`: once nftables.service is enabled, that flush runs at every boot and removes rules other tools loaded before it (our table comes after it and is kept)"));
        }
    }
}

/// Like apply::guarded_firewall_script, for our nft table: save our table (or its absence),
/// arm the detached timer, load `text`. The restore script puts back only our table; the
/// file layout under GUARD_DIR is the iptables guard's, so confirm_script and
/// settle_interrupted_script handle both kinds.
pub fn guarded_script(id: &str, secs: u64, text: &str) -> String {
    use base64::Engine;
    let d = super::apply::GUARD_DIR;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!(
        "set -e\nD={d}\nmkdir -p \"$D\"; chmod 700 \"$D\"\nR=\"$D/rollback-{id}.rules\"; C=\"$D/rollback-{id}.pending\"; X=\"$D/rollback-{id}.sh\"\n\
nft list table {FAMILY} {NAME} > \"$R\" 2>/dev/null || : > \"$R\"\n: > \"$C\"\nreadlink /proc/self/ns/net > \"$D/rollback-{id}.ns\" 2>/dev/null || true\n\
cat > \"$X\" <<'LBDOCTOR_EOF'\n\
{{ echo 'table {FAMILY} {NAME} {{}}'; echo 'delete table {FAMILY} {NAME}'; cat \"$1\"; }} | nft -f -\n\
LBDOCTOR_EOF\n\
TIMER=\"sleep {secs}; if mv '$C' '$C.fired' 2>/dev/null; then sh '$X' '$R' && echo rolled-back > '$D/rollback-{id}.done'; fi\"\n\
if command -v setsid >/dev/null 2>&1; then setsid sh -c \"$TIMER\" </dev/null >/dev/null 2>&1 & else nohup sh -c \"$TIMER\" </dev/null >/dev/null 2>&1 & fi\n\
set +e\n\
if ! printf '%s' '{b64}' | base64 -d | nft -f -; then mv \"$C\" \"$C.failed\" 2>/dev/null; sh \"$X\" \"$R\"; echo \"lbdoctor: nft -f failed; table {FAMILY} {NAME} is back to its previous state\" >&2; exit 5; fi\necho armed\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> Table {
        Table {
            prerouting: vec!["ip daddr 192.168.21.20 redirect".into()],
            input: vec![
                "ct state established,related accept".into(),
                "tcp dport 22 accept".into(),
                "ip saddr 192.168.21.0/26 ct original ip daddr 192.168.21.20 tcp dport 80 accept"
                    .into(),
                "ip saddr 192.168.21.0/26 tcp dport 80 drop".into(),
            ],
        }
    }

    #[test]
    fn render_is_nft_list_form_and_parses_back() {
        let t = incident();
        let s = render(&t);
        assert_eq!(
            s,
            "table ip lbdoctor {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 192.168.21.20 redirect\n\t}\n\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct state established,related accept\n\t\ttcp dport 22 accept\n\t\tip saddr 192.168.21.0/26 ct original ip daddr 192.168.21.20 tcp dport 80 accept\n\t\tip saddr 192.168.21.0/26 tcp dport 80 drop\n\t}\n}\n"
        );
        assert_eq!(parse_table(&s), Some(t.clone()));
        // Inside a ruleset listing with other tables around it.
        let rs = format!("table inet filter {{\n\tchain input {{\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip daddr 10.0.0.1 drop\n\t}}\n}}\n{s}table ip other {{\n}}\n");
        assert_eq!(parse_table(&rs), Some(t));
        let stripped = strip_table(&rs);
        assert!(!stripped.contains("lbdoctor") && stripped.contains("table ip other"));
        assert!(stripped.contains("ip daddr 10.0.0.1 drop"));
        // Redirect only: no input chain.
        let r = render(&Table {
            prerouting: vec!["ip daddr 10.0.0.1 redirect".into()],
            input: vec![],
        });
        assert!(!r.contains("chain input"));
        assert_eq!(parse_table("table inet filter {\n}\n"), None);
    }

    #[test]
    fn unpaired_markers_are_refused_not_edited() {
        let t = render(&incident());
        let good = replace_block(Some("flush ruleset\n"), &t);
        assert_eq!(marker_problem(&good), None);
        assert_eq!(marker_problem("flush ruleset\n"), None);
        // An orphan BEGIN, a stray END, END before BEGIN, two blocks.
        let orphan = format!("{BEGIN}\ntable inet admin {{\n}}\n");
        let stray = format!("table inet admin {{\n}}\n{END}\n");
        let reversed = format!("{END}\n{BEGIN}\n");
        let twice = format!("{good}{good}");
        for conf in [orphan.clone(), stray, reversed, twice] {
            assert!(marker_problem(&conf).is_some(), "{conf}");
        }
        // The plan leaves such a file alone and says why.
        let mut f = nft_host();
        f.files.insert(NFT_CONF.into(), orphan.clone());
        let tg = target(false);
        let a = Analysis::new(&f, &tg, crate::audit::Role::Real);
        let p = crate::fix::plan(&a);
        assert!(
            !p.changes.iter().any(|c| c.kind == "nft-persist"),
            "{:?}",
            p.changes
        );
        assert!(
            p.notes.iter().any(|n| n.contains("markers do not pair up")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn marker_block_no_file_no_block_and_existing_block() {
        let t1 = render(&incident());
        // No file: shebang, no flush ruleset.
        let f0 = replace_block(None, &t1);
        assert!(f0.starts_with("#!/usr/sbin/nft -f\n\n# BEGIN lbdoctor"));
        assert!(!f0.contains("flush ruleset"));
        assert!(f0.ends_with("# END lbdoctor\n"));
        assert_eq!(
            block_of(&f0).and_then(|b| parse_table(&b)),
            Some(incident())
        );
        // Debian's default file: block appended after the flush and the admin's table.
        let debian = "#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n}\n";
        let f1 = replace_block(Some(debian), &t1);
        assert!(f1.starts_with(debian));
        assert!(f1.find("flush ruleset").unwrap() < f1.find("# BEGIN lbdoctor").unwrap());
        assert_eq!(strip_block(&f1), debian.to_string() + "\n");
        // Existing block: replaced in place, what follows it kept, no duplicate.
        let with_after = format!("{f1}table ip after {{\n}}\n");
        let t2 = render(&Table {
            prerouting: vec!["ip daddr 10.9.9.9 redirect".into()],
            input: vec![],
        });
        let f2 = replace_block(Some(&with_after), &t2);
        assert_eq!(f2.matches("# BEGIN lbdoctor").count(), 1);
        assert!(f2.contains("10.9.9.9") && !f2.contains("192.168.21.20"));
        assert!(f2.starts_with(debian) && f2.ends_with("# END lbdoctor\ntable ip after {\n}\n"));
        // Same content: same file (idempotent).
        assert_eq!(replace_block(Some(&f2), &t2), f2);
        // A file without a trailing newline.
        let f3 = replace_block(Some("flush ruleset"), &t2);
        assert!(f3.starts_with("flush ruleset\n\n# BEGIN lbdoctor"));
    }

    const DEBIAN_CONF: &str = "#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n}\n";

    /// app2 as the fact script sees it on a host with nft and without iptables.
    fn nft_host() -> crate::audit::facts::HostFacts {
        use crate::audit::facts::{Addr, HostFacts, Interface};
        let mut f = HostFacts {
            host: "app2".into(),
            os_id: "debian".into(),
            nft_ruleset: Some(String::new()),
            ..Default::default()
        };
        f.interfaces.push(Interface {
            name: "ens3".into(),
            kind: "ether".into(),
            up: true,
            addrs: vec![Addr {
                ip: "192.168.21.12".into(),
                prefix: 24,
            }],
        });
        for (k, v) in [
            ("net.ipv4.conf.all.arp_ignore", "1"),
            ("net.ipv4.conf.all.arp_announce", "2"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.ens3.rp_filter", "0"),
        ] {
            f.sysctl.insert(k.into(), v.into());
        }
        f.listeners.push(crate::audit::facts::Listener {
            proto: "tcp".into(),
            addr: "0.0.0.0".into(),
            port: 80,
            process: None,
        });
        f.files.insert(NFT_CONF.into(), DEBIAN_CONF.into());
        f.packages.nftables = true;
        f
    }

    fn target(deny: bool) -> crate::audit::Target {
        crate::audit::Target {
            vip: Some("192.168.21.20".parse().unwrap()),
            port: 80,
            deny_direct: deny.then(|| "192.168.21.0/26".parse().unwrap()),
            ..Default::default()
        }
    }

    fn nft_changes(f: &crate::audit::facts::HostFacts, t: &crate::audit::Target) -> Vec<Change> {
        let a = Analysis::new(f, t, crate::audit::Role::Real);
        super::super::plan(&a)
            .changes
            .into_iter()
            .filter(|c| ["nft-runtime", "nft-persist", "service-enable"].contains(&c.kind.as_str()))
            .collect()
    }

    fn ids(f: &crate::audit::facts::HostFacts, t: &crate::audit::Target) -> Vec<String> {
        crate::audit::audit(f, t, crate::audit::Role::Real)
            .into_iter()
            .map(|x| x.id)
            .collect()
    }

    #[test]
    fn plan_then_fixed_state_plans_nothing_and_audits_clean() {
        let mut f = nft_host();
        let t = target(true);
        let before = ids(&f, &t);
        assert!(
            before.contains(&"RS001".into()) && before.contains(&"RS011".into()),
            "{before:?}"
        );
        // RS001 suggests nft commands here, which build exactly the table --fix manages.
        let rs001 = crate::audit::audit(&f, &t, crate::audit::Role::Real)
            .into_iter()
            .find(|x| x.id == "RS001")
            .unwrap();
        let cmds = rs001.fix.unwrap().commands;
        assert!(cmds.iter().all(|c| c.starts_with("nft ")), "{cmds:?}");
        assert!(cmds[2].ends_with("prerouting ip daddr 192.168.21.20 redirect"));
        let c = nft_changes(&f, &t);
        let kinds: Vec<&str> = c.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["nft-runtime", "nft-persist", "service-enable"]);
        // What the host looks like once the plan is applied: nft lists our table as we
        // render it, the file holds our block, the service is enabled.
        let load = c[0].content.clone().unwrap();
        let table = parse_table(&load).unwrap();
        assert_eq!(table, incident());
        f.nft_ruleset = Some(render(&table));
        f.files
            .insert(NFT_CONF.into(), c[1].content.clone().unwrap());
        f.packages.nftables_enabled = true;
        assert!(nft_changes(&f, &t).is_empty());
        assert_eq!(ids(&f, &t), Vec::<String>::new());
        // Enabled service missing: RS008 (lost at reboot) and the enable change.
        f.packages.nftables_enabled = false;
        let rs008 = crate::audit::audit(&f, &t, crate::audit::Role::Real)
            .into_iter()
            .find(|x| x.id == "RS008")
            .expect("RS008 without nftables.service");
        assert!(
            rs008.message.contains("nftables.service is not enabled"),
            "{}",
            rs008.message
        );
        let c = nft_changes(&f, &t);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].kind, "service-enable");
        // A rerun without --deny-direct keeps the earlier filter (no change at all).
        f.packages.nftables_enabled = true;
        assert!(nft_changes(&f, &target(false)).is_empty());
    }

    #[test]
    fn admin_redirect_or_vip_on_lo_means_no_redirect_of_ours() {
        let mut f = nft_host();
        f.packages.nftables_enabled = true;
        // The admin's own redirect, live and in the boot file: nothing to do.
        let admin = "table ip nat {\n\tchain PREROUTING {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr 192.168.21.20 tcp dport 80 redirect\n\t}\n}\n";
        f.nft_ruleset = Some(admin.into());
        f.files
            .insert(NFT_CONF.into(), format!("{DEBIAN_CONF}{admin}"));
        assert!(nft_changes(&f, &target(false)).is_empty());
        assert!(!ids(&f, &target(false)).contains(&"RS008".into()));
        // Live only: persisted in our block, runtime left alone.
        f.files.insert(NFT_CONF.into(), DEBIAN_CONF.into());
        let c = nft_changes(&f, &target(false));
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].kind, "nft-persist");
        assert!(c[0]
            .content
            .as_deref()
            .unwrap()
            .contains("ip daddr 192.168.21.20 redirect"));
        // The admin's own drop for the CIDR, live and at boot: no filter of ours either.
        let deny = "table inet admin {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr 192.168.21.0/26 tcp dport 80 drop\n\t}\n}\n";
        f.nft_ruleset = Some(format!("{admin}{deny}"));
        f.files
            .insert(NFT_CONF.into(), format!("{DEBIAN_CONF}{admin}{deny}"));
        assert!(nft_changes(&f, &target(true)).is_empty());
        // VIP on lo: no redirect; --deny-direct matches the VIP itself.
        let mut f = nft_host();
        f.interfaces.push(crate::audit::facts::Interface {
            name: "lo".into(),
            kind: "loopback".into(),
            up: true,
            addrs: vec![crate::audit::facts::Addr {
                ip: "192.168.21.20".into(),
                prefix: 32,
            }],
        });
        let c = nft_changes(&f, &target(true));
        let t = parse_table(c[0].content.as_deref().unwrap()).unwrap();
        assert!(t.prerouting.is_empty());
        assert!(t.input.contains(
            &"ip saddr 192.168.21.0/26 ip daddr 192.168.21.20 tcp dport 80 accept".to_string()
        ));
        // No file at all: created with the shebang.
        let mut f = nft_host();
        f.files.remove(NFT_CONF);
        let c = nft_changes(&f, &target(false));
        let p = c.iter().find(|c| c.kind == "nft-persist").unwrap();
        assert!(p.old.is_none());
        assert!(p
            .content
            .as_deref()
            .unwrap()
            .starts_with("#!/usr/sbin/nft -f\n"));
    }

    /// RHEL 8's stock /etc/sysconfig/nftables.conf (nftables package): includes commented out.
    const RHEL_CONF: &str = "# Uncomment the include statement here to load the default config sample\n# in /etc/nftables for nftables service.\n\n#include \"/etc/nftables/ipv4-filter.nft\"\n#include \"/etc/nftables/ipv4-nat.nft\"\n#include \"/etc/nftables/inet-filter.nft\"\n\n# To customize, either edit the samples in /etc/nftables, append further\n# commands to the end of this file or overwrite it after first service\n# start by calling: 'nft list ruleset >/etc/sysconfig/nftables.conf'.\n";

    fn rhel_host() -> crate::audit::facts::HostFacts {
        let mut f = nft_host();
        f.os_id = "rocky".into();
        f.os_like = "rhel centos fedora".into();
        f.files.remove(NFT_CONF);
        f.files.insert(RHEL_NFT_CONF.into(), RHEL_CONF.into());
        f
    }

    #[test]
    fn rhel_family_persists_in_sysconfig_after_stock_includes() {
        assert_eq!(boot_conf(&nft_host()), NFT_CONF);
        let mut f = rhel_host();
        assert_eq!(boot_conf(&f), RHEL_NFT_CONF);
        let t = target(true);
        let a = Analysis::new(&f, &t, crate::audit::Role::Real);
        let p = super::super::plan(&a);
        let c: Vec<&Change> = p
            .changes
            .iter()
            .filter(|c| c.kind.starts_with("nft-") || c.kind == "service-enable")
            .collect();
        let kinds: Vec<&str> = c.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["nft-runtime", "nft-persist", "service-enable"]);
        let persist = c[1];
        assert_eq!(persist.file.as_deref(), Some(RHEL_NFT_CONF));
        assert_eq!(persist.old.as_deref(), Some(RHEL_CONF));
        assert!(persist.commands.iter().all(|x| x.ends_with(RHEL_NFT_CONF)));
        let new = persist.content.clone().unwrap();
        // Appended after the stock comments and includes, which stay as they were.
        assert!(new.starts_with(RHEL_CONF), "{new}");
        assert!(new.find("#include").unwrap() < new.find("# BEGIN lbdoctor").unwrap());
        assert!(!new.contains("#!/usr/sbin/nft") && !new.contains("flush ruleset"));
        assert_eq!(
            block_of(&new).and_then(|b| parse_table(&b)),
            Some(incident())
        );
        assert!(persist
            .diff
            .as_deref()
            .unwrap()
            .starts_with(&format!("--- {RHEL_NFT_CONF}")));
        assert!(
            c[2].description.contains(RHEL_NFT_CONF),
            "{}",
            c[2].description
        );
        // No more "add an include" advice, and nothing about /etc/nftables.conf.
        assert!(
            !p.notes
                .iter()
                .any(|n| n.contains("include") || n.contains(NFT_CONF)),
            "{:?}",
            p.notes
        );
        // Applied: same file again plans nothing, and the audit reads that file for boot.
        f.nft_ruleset = Some(render(&incident()));
        f.files.insert(RHEL_NFT_CONF.into(), new.clone());
        f.packages.nftables_enabled = true;
        assert!(nft_changes(&f, &t).is_empty());
        assert_eq!(ids(&f, &t), Vec::<String>::new());
        assert_eq!(replace_block(Some(&new), &render(&incident())), new);
        // Our block only in /etc/nftables.conf (which RHEL never loads): lost at reboot.
        let mut g = f.clone();
        g.files.insert(NFT_CONF.into(), new.clone());
        g.files.insert(RHEL_NFT_CONF.into(), RHEL_CONF.into());
        let rs008 = crate::audit::audit(&g, &t, crate::audit::Role::Real)
            .into_iter()
            .find(|x| x.id == "RS008")
            .expect("RS008: the RHEL boot file lacks the redirect");
        assert!(rs008.message.contains(RHEL_NFT_CONF), "{}", rs008.message);
        let c = nft_changes(&g, &t);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].file.as_deref(), Some(RHEL_NFT_CONF));
        // Service not enabled on a RHEL file that flushes: the note names that file.
        let mut h = rhel_host();
        h.files
            .insert(RHEL_NFT_CONF.into(), format!("flush ruleset\n{RHEL_CONF}"));
        let a = Analysis::new(&h, &t, crate::audit::Role::Real);
        let p = super::super::plan(&a);
        assert!(
            p.notes
                .iter()
                .any(|n| n.starts_with(&format!("{RHEL_NFT_CONF} starts with `flush ruleset`"))),
            "{:?}",
            p.notes
        );
        // No stock file at all (package absent): a new file with nft's shebang, and a note.
        let mut h = rhel_host();
        h.files.remove(RHEL_NFT_CONF);
        h.packages.nftables = false;
        let a = Analysis::new(&h, &t, crate::audit::Role::Real);
        let p = super::super::plan(&a);
        let persist = p.changes.iter().find(|c| c.kind == "nft-persist").unwrap();
        assert_eq!(persist.file.as_deref(), Some(RHEL_NFT_CONF));
        assert!(persist.old.is_none());
        assert!(p
            .notes
            .iter()
            .any(|n| n.contains("not installed") && n.contains(RHEL_NFT_CONF)));
    }

    #[test]
    fn drop_detection_matches_our_rule_only() {
        let net: ipnet::Ipv4Net = "192.168.21.0/26".parse().unwrap();
        let s = render(&incident());
        assert!(crate::audit::nft_drop_for(&s, &net, 80).is_some());
        assert!(crate::audit::nft_drop_for(&s, &net, 443).is_none());
        assert!(crate::audit::nft_drop_for(&s, &"10.0.0.0/8".parse().unwrap(), 80).is_none());
    }

    #[test]
    fn allowed_directors_are_accepted_before_the_drop() {
        let f = nft_host();
        let mut t = target(true);
        t.allow_direct = vec!["192.168.21.2/32".parse().unwrap()];
        let a = Analysis::new(&f, &t, crate::audit::Role::Real);
        let rules = deny_rules(&a);
        let accept = rules
            .iter()
            .position(|r| r == "ip saddr 192.168.21.2 tcp dport 80 accept")
            .unwrap_or_else(|| panic!("{rules:?}"));
        let drop = rules
            .iter()
            .position(|r| r == "ip saddr 192.168.21.0/26 tcp dport 80 drop")
            .unwrap();
        assert!(accept < drop, "{rules:?}");
        // What nft parses back is what we render (the table is replaced as a whole).
        let table = Table {
            input: rules,
            ..Default::default()
        };
        assert_eq!(parse_table(&render(&table)), Some(table));
    }
}
