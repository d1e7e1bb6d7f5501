//! `lbdoctor audit`: gather facts from hosts (or read saved ones), check them, and with --fix
//! plan, apply, persist and re-audit.

use super::Ctx;
use crate::audit::{self, facts::HostFacts, Role, Target};
use crate::cli::{self, AuditArgs};
use crate::error::Error;
use crate::fix::{self, HostPlan};
use crate::remote::{self, Transport};
use crate::report::{Report, Section};
use crate::{Finding, Severity};
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

/// `VIP[:PORT]`, port 80 by default; an IPv6 VIP as `2001:db8::20` or `[2001:db8::20]:443`.
pub fn parse_vip(s: &str) -> anyhow::Result<(std::net::IpAddr, u16)> {
    if let Ok(v6) = s.parse::<std::net::Ipv6Addr>() {
        return Ok((v6.into(), 80));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, tail) = rest
            .split_once(']')
            .ok_or_else(|| Error::Usage(format!("--vip {s}: missing ] ([IPv6]:PORT)")))?;
        let ip = addr
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| Error::Usage(format!("--vip {s}: not an IPv6 address in [...]")))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| Error::Usage(format!("--vip {s}: bad port {p:?}")))?,
            None if tail.is_empty() => 80,
            None => return Err(Error::Usage(format!("--vip {s}: expected [IPv6]:PORT")).into()),
        };
        return Ok((ip.into(), port));
    }
    let (ip, port) = match s.rsplit_once(':') {
        Some((ip, p)) => (
            ip,
            p.parse::<u16>()
                .map_err(|_| Error::Usage(format!("--vip {s}: bad port {p:?}")))?,
        ),
        None => (s, 80),
    };
    let ip: Ipv4Addr = ip.parse().map_err(|_| {
        Error::Usage(format!(
            "--vip {s}: not an IP address (VIP[:PORT], [IPv6]:PORT)"
        ))
    })?;
    Ok((ip.into(), port))
}

struct HostRun {
    facts: HostFacts,
    transport: Option<Box<dyn Transport>>,
    /// How the host was reached (None for saved facts).
    dest: Option<remote::Dest>,
}

fn ssh_port(d: &remote::Dest, ssh: &cli::SshArgs) -> Option<u16> {
    if d.local || (remote::is_local(&d.name) && d.address.is_none()) {
        return None;
    }
    remote::resolve_dest(d, ssh).ok().map(|h| h.port)
}

/// Most bytes of host output one run holds, over every host and --jobs.
pub const RUN_BUDGET: usize = 1 << 30;

/// The run's budget for host output: each stream of a command is bounded so that `jobs`
/// hosts at once stay within it, and the facts kept so far are charged against it.
pub struct Budget {
    left: std::sync::atomic::AtomicUsize,
    total: usize,
    per_stream: usize,
}

impl Budget {
    pub fn new(total: usize, jobs: usize) -> Budget {
        let default = remote::Limits::default().max_output;
        Budget {
            left: std::sync::atomic::AtomicUsize::new(total),
            total,
            // stdout and stderr of `jobs` commands in flight.
            per_stream: (total / (2 * jobs.max(1))).min(default),
        }
    }

    pub fn limits(&self) -> remote::Limits {
        remote::Limits {
            max_output: self.per_stream,
            ..Default::default()
        }
    }

    /// Take `bytes` for `host`'s facts, or a clear error once the run's budget is spent.
    pub fn charge(&self, host: &str, bytes: usize) -> anyhow::Result<()> {
        use std::sync::atomic::Ordering;
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(bytes))
            .map(|_| ())
            .map_err(|_| {
                Error::host(
                    host,
                    format!(
                        "the facts gathered in this run passed lbdoctor's {} MiB budget for host output; audit fewer hosts per run (or save each one's facts with --save-facts and audit the files)",
                        self.total >> 20
                    ),
                )
                .into()
            })
    }
}

/// Gather facts from every host, `jobs` at a time, with one progress bar when interactive.
fn gather_all(hosts: &[remote::Dest], args: &AuditArgs, ctx: &Ctx) -> anyhow::Result<Vec<HostRun>> {
    let bar = (ctx.interactive && !ctx.quiet && hosts.len() > 1).then(|| {
        let b = indicatif::ProgressBar::new(hosts.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} auditing {pos}/{len} hosts {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let queue = Arc::new(Mutex::new(
        hosts.iter().cloned().enumerate().collect::<Vec<_>>(),
    ));
    type Results = Vec<(usize, anyhow::Result<HostRun>)>;
    let results: Arc<Mutex<Results>> = Arc::new(Mutex::new(Vec::new()));
    let jobs = args.jobs.max(1).min(hosts.len().max(1));
    let budget = Budget::new(RUN_BUDGET, jobs);
    let budget = &budget;
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let bar = bar.clone();
            let ssh = &args.ssh;
            s.spawn(move || loop {
                let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                let Some((i, host)) = next else { break };
                if let Some(b) = &bar {
                    b.set_message(host.name.clone());
                }
                let r = (|| {
                    let mut t = remote::connect_dest(&host, ssh)?;
                    if args.fix && !args.dry_run {
                        crate::fix::apply::settle_interrupted(t.as_mut())?;
                    }
                    t.set_limits(budget.limits());
                    let facts = audit::facts::gather(t.as_mut(), ssh_port(&host, ssh))?;
                    t.set_limits(remote::Limits::default());
                    budget.charge(&host.name, facts.text_bytes())?;
                    Ok(HostRun {
                        facts,
                        transport: Some(t),
                        dest: Some(host),
                    })
                })();
                if let Some(b) = &bar {
                    b.inc(1);
                }
                if let Ok(mut v) = results.lock() {
                    v.push((i, r));
                }
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut v = std::mem::take(
        &mut *results
            .lock()
            .map_err(|_| anyhow::anyhow!("worker panicked"))?,
    );
    v.sort_by_key(|(i, _)| *i);
    let mut ok = Vec::new();
    let mut errs = Vec::new();
    for (_, r) in v {
        match r {
            Ok(h) => ok.push(h),
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if !errs.is_empty() {
        // One clear error naming every host that failed; exit status 2.
        return Err(anyhow::anyhow!(errs.join("\nlbdoctor: error: ")));
    }
    Ok(ok)
}

/// Lint the director's own keepalived.conf (the running keepalived's `-f`) as gathered. The host's files
/// are laid out under a private directory that stands for the host's `/`, and includes are
/// resolved only there (`LoadOptions::confined`): an include of a file that was not gathered
/// is reported as not followed, and never read from this machine. Locations name host:path.
fn lint_remote_config(f: &HostFacts) -> Vec<Finding> {
    let path = f.keepalived_conf_path();
    let Some(top_rel) = plain_abs_path(path).filter(|_| f.files.contains_key(path)) else {
        return Vec::new();
    };
    let Ok(dir) = tempfile::tempdir() else {
        return Vec::new();
    };
    let root = dir.path().join("host");
    for (p, text) in &f.files {
        // Only plain absolute paths: a facts file's key must not write outside `root`.
        let Some(rel) = plain_abs_path(p) else {
            continue;
        };
        let dest = root.join(rel);
        if let Some(parent) = dest.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                continue;
            }
        }
        let _ = std::fs::write(&dest, text);
    }
    let top = root.join(top_rel);
    let opts = crate::keepalived::LoadOptions {
        include_root: Some(root.clone()),
        confined: true,
        ..Default::default()
    };
    let Ok(loaded) = crate::keepalived::load(&top, &opts) else {
        return Vec::new();
    };
    let mut out = loaded.findings.clone();
    out.extend(crate::keepalived::checks::run(
        &loaded,
        &crate::keepalived::checks::Options::default(),
    ));
    let root_s = root.display().to_string();
    // auth_pass was redacted on the host: its length (LB032) is the marker's, not the host's.
    out.retain(|x| {
        let Some(l) = &x.location else { return true };
        let line = l
            .file
            .strip_prefix(&root_s)
            .and_then(|p| f.files.get(p))
            .and_then(|t| t.lines().nth(l.line.saturating_sub(1) as usize));
        !(x.id == "LB032" && line.is_some_and(|s| s.contains(crate::audit::redact::MARK)))
    });
    let shown = |s: &str| {
        s.strip_prefix(&root_s)
            .map(|rest| format!("{}:{rest}", f.host))
    };
    for x in &mut out {
        if let Some(l) = &mut x.location {
            if let Some(s) = shown(&l.file) {
                l.file = s;
            }
        }
        if let Some(s) = shown(&x.subject) {
            x.subject = s;
        }
        for e in &mut x.evidence {
            if e.contains(&root_s) {
                *e = e.replace(&root_s, "");
            }
        }
        x.message = x.message.replace(&root_s, "");
        if let Some(fx) = &mut x.fix {
            fx.text = fx.text.replace(&root_s, "");
            for c in &mut fx.commands {
                *c = c.replace(&root_s, "");
            }
        }
    }
    out
}

/// Write saved facts (host configs, addresses, rules) readable by the owner only: a new file
/// in the same directory, created 0600, then renamed over `path`. The rename replaces a
/// symlink at `path` rather than writing through it.
fn save_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let err = |e: std::io::Error| Error::file(path, format!("cannot write facts: {e}"));
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(Error::file(path, "is a directory; give a file name for --save-facts").into());
    }
    // tempfile creates with O_EXCL and mode 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".lbdoctor-facts-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// `p` without its leading `/` when it is a plain absolute path (no `..`, `.` or empty
/// components), else None.
fn plain_abs_path(p: &str) -> Option<&str> {
    let rel = p.strip_prefix('/')?;
    let ok = !rel.is_empty()
        && !p.contains('\0')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    ok.then_some(rel)
}

/// Real servers named by keepalived.conf, each with its virtual server's VIP, port and
/// method; and the director's target (method, fwmarks, the config's own findings).
/// A real server is reached by the ssh_config alias whose HostName is its IP, else the IP.
type RealTargets = Vec<(std::net::IpAddr, String, Target)>;
fn config_targets(
    path: &std::path::Path,
    base: &Target,
    args: &AuditArgs,
) -> anyhow::Result<(RealTargets, Target)> {
    let loaded = crate::keepalived::load(path, &crate::keepalived::LoadOptions::default())?;
    let mut reals: RealTargets = Vec::new();
    let mut director = base.clone();
    director.config_findings = loaded.findings.clone();
    director
        .config_findings
        .extend(crate::keepalived::checks::run(
            &loaded,
            &crate::keepalived::checks::Options::default(),
        ));
    for vs in &loaded.config.virtual_servers {
        director.fwmarks.extend(vs.fwmarks.iter().copied());
        let method = vs.method.as_ref().map(|m| m.value.clone());
        if director.method.is_none() {
            director.method = method.clone();
        }
        let Some((addr, port)) = vs.addresses.first().copied() else {
            continue;
        };
        if let std::net::IpAddr::V4(vip) = addr {
            if director.vip.is_none() {
                director.vip = Some(vip);
                director.port = port;
            }
        }
        // LVS-TUN with an IPv6 VIP is not audited: keep its real servers out rather than
        // audit them as DR.
        let tun = method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("TUN"));
        if addr.is_ipv6() && tun {
            continue;
        }
        for rs in &vs.real_servers {
            let ip = rs.ip.to_string();
            let host =
                remote::ssh_config::alias_for(&ip, args.ssh.ssh_config.as_deref()).unwrap_or(ip);
            if reals.iter().any(|(_, h, _)| *h == host) {
                continue;
            }
            let mut t = base.clone();
            match addr {
                std::net::IpAddr::V4(v) => t.vip = Some(v),
                // An IPv6 virtual server: its real servers get the IPv6 checks.
                std::net::IpAddr::V6(v) => {
                    t.vip = None;
                    t.vip6 = Some(v);
                }
            }
            t.port = port;
            t.method = method.clone();
            reals.push((rs.ip, host, t));
        }
    }
    if reals.is_empty() && director.vip.is_none() {
        return Err(Error::file(
            path,
            "no virtual_server with real servers found in this config",
        )
        .into());
    }
    Ok((reals, director))
}

/// The hosts `--inventory` (with `--limit`) names, and each one's role and target: a host
/// whose address (`ansible_host`, else its name) is a real server in `--config` gets that
/// virtual server's VIP, port and method; a director by its groups (`InvHost::is_director`)
/// gets the config's director target; the others are real servers with `--vip`. `lbdoctor_role`
/// in the inventory, then an explicit `--role`, win over both.
fn inventory_targets(
    path: &std::path::Path,
    base: &Target,
    args: &AuditArgs,
    per_host: &mut std::collections::HashMap<String, (Target, Option<Role>)>,
) -> anyhow::Result<Vec<remote::Dest>> {
    let inv = remote::inventory::Inventory::load(path)?;
    let hosts = inv.select(args.limit.as_deref())?;
    let (reals, director) = match &args.config {
        Some(cfg) => config_targets(cfg, base, args)?,
        None => (Vec::new(), base.clone()),
    };
    let mut out = Vec::new();
    for h in hosts {
        let addr = h
            .dest
            .address
            .clone()
            .unwrap_or_else(|| h.dest.name.clone());
        let in_config = reals
            .iter()
            .find(|(ip, alias, _)| ip.to_string() == addr || *alias == h.dest.name);
        let role = match (args.role, h.role.as_deref()) {
            (cli::Role::Real, _) => Role::Real,
            (cli::Role::Director, _) => Role::Director,
            (cli::Role::Auto, Some("director")) => Role::Director,
            (cli::Role::Auto, Some(_)) => Role::Real,
            (cli::Role::Auto, None) if in_config.is_some() => Role::Real,
            (cli::Role::Auto, None) if h.is_director() => Role::Director,
            (cli::Role::Auto, None) => Role::Real,
        };
        let target = match (role, in_config) {
            (Role::Director, _) => director.clone(),
            (Role::Real, Some((_, _, t))) => t.clone(),
            (Role::Real, None) => base.clone(),
        };
        per_host.insert(h.dest.name.clone(), (target, Some(role)));
        out.push(h.dest);
    }
    Ok(out)
}

/// The IPv4 addresses, inside --deny-direct's CIDR, of the directors audited in this run:
/// their health checks connect to the real IPs, so the drop must spare them.
fn audited_directors_in_cidr(
    runs: &[HostRun],
    per_host: &std::collections::HashMap<String, (Target, Option<Role>)>,
    args: &AuditArgs,
    base: &Target,
) -> Vec<ipnet::Ipv4Net> {
    let Some(net) = base.deny_direct else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for r in runs {
        if role_of(
            &r.facts,
            per_host.get(&r.facts.host).and_then(|x| x.1),
            args,
        ) != Role::Director
        {
            continue;
        }
        for i in r.facts.segment_interfaces() {
            for a in &i.addrs {
                let Ok(ip) = a.ip.parse::<std::net::Ipv4Addr>() else {
                    continue;
                };
                // The VIP moves between directors; a check leaves from the director's own address.
                if net.contains(&ip) && Some(ip) != base.vip && (a.prefix < 32) {
                    let n = ipnet::Ipv4Net::from(ip);
                    if !v.contains(&n) {
                        v.push(n);
                    }
                }
            }
        }
    }
    v
}

/// A host's role: from --config or the inventory, else --role, else what its facts show.
fn role_of(f: &HostFacts, forced: Option<Role>, args: &AuditArgs) -> Role {
    match (forced, args.role) {
        (Some(r), _) => r,
        (None, cli::Role::Real) => Role::Real,
        (None, cli::Role::Director) => Role::Director,
        (None, cli::Role::Auto) => audit::detect_role(f),
    }
}

struct Audited {
    role: Role,
    target: Target,
    findings: Vec<Finding>,
}

fn audit_one(
    f: &HostFacts,
    args: &AuditArgs,
    base: &Target,
    forced: Option<Role>,
) -> anyhow::Result<Audited> {
    let role = role_of(f, forced, args);
    let mut target = base.clone();
    // An IPv6 --vip says which VIP: an IPv4 one inferred beside it would bring the IPv4
    // checks back (and their fix) for a service that is not being audited.
    if target.vip.is_none() && target.vip6.is_none() {
        target.vip = audit::infer_vip(f);
    }
    if role == Role::Real && target.vip.is_none() && target.vip6.is_none() {
        return Err(Error::Usage(format!(
            "host {}: cannot tell which VIP this real server serves (no REDIRECT or /32 on lo to infer it from); pass --vip VIP[:PORT]",
            f.host
        ))
        .into());
    }
    if role == Role::Director && target.config_findings.is_empty() {
        target.config_findings = lint_remote_config(f);
    }
    let findings = audit::audit(f, &target, role);
    Ok(Audited {
        role,
        target,
        findings,
    })
}

fn host_ok(findings: &[Finding], host: &str) -> bool {
    !findings
        .iter()
        .any(|f| f.subject == host && f.severity >= Severity::Warning)
}

/// Put apt's simulation of a plan's package step into the plan (as the change's diff), and
/// refuse the whole fix when apt would remove any package (ufw, for one, declares
/// `Breaks: iptables-persistent`) or cannot resolve the install (no repository reachable).
fn simulate_packages(
    t: Option<&mut (dyn remote::Transport + 'static)>,
    p: &mut HostPlan,
) -> anyhow::Result<()> {
    let Some(c) = p.changes.iter_mut().find(|c| c.kind == "package") else {
        return Ok(());
    };
    let Some(t) = t else {
        c.diff = Some("(apt's simulation runs on the host; these facts are offline)".into());
        return Ok(());
    };
    let o = t.run(&fix::package_simulation_script())?;
    let sim = o.stdout_lossy();
    let removals = fix::simulated_removals(&sim);
    if o.status != 0 || !removals.is_empty() {
        return Err(Error::host(
            &p.host,
            if removals.is_empty() {
                format!(
                    "--install-packages: apt cannot install {} here (exit {}): {}; run without --install-packages, and lbdoctor persists the rules with its own unit instead",
                    fix::PACKAGE,
                    o.status,
                    sim.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
                )
            } else {
                format!(
                    "--install-packages: installing {} would make apt remove {}; lbdoctor never removes packages. Run without --install-packages, and lbdoctor persists the rules with its own unit instead",
                    fix::PACKAGE,
                    removals.join(", ")
                )
            },
        )
        .into());
    }
    c.diff = Some(format!("apt-get -s install {}:\n{sim}", fix::PACKAGE));
    Ok(())
}

fn plan_text(plans: &[HostPlan]) -> String {
    let mut s = String::new();
    for p in plans {
        s.push_str(&format!(
            "== {} ({} change{})\n",
            p.host,
            p.changes.len(),
            if p.changes.len() == 1 { "" } else { "s" }
        ));
        for c in &p.changes {
            s.push_str(&format!("* [{}] {}\n", c.kind, c.description));
            for cmd in &c.commands {
                // Multi-line commands (an nft heredoc) stay indented under their change.
                s.push_str(&format!("    $ {}\n", cmd.replace('\n', "\n      ")));
            }
            if let Some(d) = &c.diff {
                for l in d.lines() {
                    s.push_str(&format!("    {l}\n"));
                }
            }
        }
        for n in &p.notes {
            s.push_str(&format!("note: {n}\n"));
        }
    }
    s
}

/// The --fix confirmation prompt. The plan holds host-derived text (paths, file contents):
/// no control character from it reaches the terminal.
fn prompt_text(plans: &[HostPlan]) -> String {
    format!(
        "{}\nApply these changes? [y/N] ",
        crate::report::sanitize::text(&plan_text(plans))
    )
}

fn confirm(args: &AuditArgs, plans: &[HostPlan]) -> anyhow::Result<bool> {
    if args.yes {
        return Ok(true);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Usage(
            "refusing to change hosts without confirmation: not a terminal. Review with --fix --dry-run, then pass --yes".into(),
        )
        .into());
    }
    let mut e = std::io::stderr().lock();
    let _ = write!(e, "{}", prompt_text(plans));
    let _ = e.flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

pub fn run(args: &AuditArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut base = Target {
        port: 80,
        ..Default::default()
    };
    if let Some(v) = &args.vip {
        let (ip, port) = parse_vip(v)?;
        match ip {
            std::net::IpAddr::V4(ip) => base.vip = Some(ip),
            std::net::IpAddr::V6(ip) => {
                if args.deny_direct.is_some()
                    || args
                        .lvs_method
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case("TUN"))
                {
                    return Err(Error::Usage(format!("--vip {v}: with an IPv6 VIP, --deny-direct and --lvs-method TUN are not supported yet (IPv4 only); the IPv6 audit covers DR: the VIP on lo as /128 or an ip6tables/nft REDIRECT, neighbour discovery, the listener and persistence")).into());
                }
                if args.role == cli::Role::Director {
                    return Err(Error::Usage(format!("--vip {v}: an IPv6 VIP with --role director is not supported yet; the director's IPv6 services are checked without --vip (DR013)")).into());
                }
                base.vip6 = Some(ip)
            }
        }
        base.port = port;
    }
    base.method = args.lvs_method.as_ref().map(|m| m.to_ascii_uppercase());
    if let Some(c) = &args.deny_direct {
        base.deny_direct = Some(
            c.parse::<ipnet::Ipv4Net>()
                .map_err(|_| {
                    Error::Usage(format!(
                        "--deny-direct {c}: not an IPv4 CIDR (e.g. 192.168.21.0/26)"
                    ))
                })?
                .trunc(),
        );
    }
    for a in &args.allow_direct {
        let net = a
            .parse::<ipnet::Ipv4Net>()
            .or_else(|_| a.parse::<std::net::Ipv4Addr>().map(ipnet::Ipv4Net::from))
            .map_err(|_| {
                Error::Usage(format!(
                    "--allow-direct {a}: not an IPv4 address or CIDR (e.g. 192.168.21.2 or 192.168.21.0/30)"
                ))
            })?
            .trunc();
        if !base.allow_direct.contains(&net) {
            base.allow_direct.push(net);
        }
    }
    let mut hosts = args.hosts.clone();
    if args.local && !hosts.iter().any(|h| remote::is_local(h)) {
        hosts.push("localhost".into());
    }
    // Per-host target and role, from keepalived.conf or the inventory's groups.
    let mut per_host: std::collections::HashMap<String, (Target, Option<Role>)> =
        Default::default();
    let mut dests: Vec<remote::Dest> = Vec::new();
    if let Some(inv) = &args.inventory {
        dests = inventory_targets(inv, &base, args, &mut per_host)?;
    } else if let Some(cfg) = &args.config {
        let (real, director_target) = config_targets(cfg, &base, args)?;
        // --host together with --config names the director(s); the real servers come from
        // the config. `--role director` alone audits this machine as the director.
        let directors: Vec<String> = if hosts.is_empty() && args.role == cli::Role::Director {
            vec!["localhost".into()]
        } else {
            std::mem::take(&mut hosts)
        };
        for d in directors {
            per_host.insert(d.clone(), (director_target.clone(), Some(Role::Director)));
            hosts.push(d);
        }
        if args.role != cli::Role::Director {
            for (_, h, t) in real {
                if !hosts.contains(&h) {
                    hosts.push(h.clone());
                }
                per_host.entry(h).or_insert((t, Some(Role::Real)));
            }
        }
    }
    let mut runs: Vec<HostRun> = if !args.facts.is_empty() {
        if args.fix && !args.dry_run {
            return Err(Error::Usage("--facts audits saved snapshots; --fix needs live hosts (use --fix --dry-run to see the plan)".into()).into());
        }
        let mut v = Vec::new();
        for p in &args.facts {
            for f in HostFacts::load(p)? {
                v.push(HostRun {
                    facts: f,
                    transport: None,
                    dest: None,
                });
            }
        }
        v
    } else {
        if dests.is_empty() {
            dests = hosts.iter().map(|h| remote::Dest::named(h)).collect();
        }
        if dests.is_empty() {
            return Err(Error::Usage(
                "nothing to audit: pass --host HOST (repeatable), --local, --inventory FILE, or --facts FILE".into(),
            )
            .into());
        }
        gather_all(&dests, args, ctx)?
    };
    if let Some(path) = &args.save_facts {
        let v: Vec<&HostFacts> = runs.iter().map(|r| &r.facts).collect();
        let json = if v.len() == 1 {
            serde_json::to_string_pretty(v[0])
        } else {
            serde_json::to_string_pretty(&v)
        }?;
        save_private(path, (json + "\n").as_bytes())?;
    }

    let mut report = Report::new("audit");
    let spared = audited_directors_in_cidr(&runs, &per_host, args, &base);
    let mut audited = Vec::new();
    for r in &runs {
        let (mut t, role) = per_host
            .get(&r.facts.host)
            .cloned()
            .unwrap_or((base.clone(), None));
        for n in &spared {
            if !t.allow_direct.contains(n) {
                t.allow_direct.push(*n);
            }
        }
        audited.push(audit_one(&r.facts, args, &t, role)?);
    }
    let mut hosts_json = Vec::new();
    let mut rows = Vec::new();
    for (r, a) in runs.iter().zip(&audited) {
        let ok = host_ok(&a.findings, &r.facts.host);
        hosts_json.push(json!({"host": r.facts.host, "role": a.role.as_str(), "ok": ok}));
        rows.push(vec![
            r.facts.host.clone(),
            a.role.as_str().into(),
            match (a.target.vip, a.target.vip6) {
                (Some(v), _) => format!("{v}:{}", a.target.port),
                (None, Some(v)) => format!("[{v}]:{}", a.target.port),
                _ => "-".into(),
            },
            format!("{} {}", r.facts.kernel, r.facts.arch),
            if ok {
                "ok".into()
            } else {
                format!("{} finding(s)", a.findings.len())
            },
        ]);
        report.findings.extend(a.findings.iter().cloned());
    }
    report.sections.push(Section::Table {
        title: "Hosts".into(),
        header: ["host", "role", "VIP", "kernel", "result"]
            .map(String::from)
            .to_vec(),
        rows,
    });

    if args.fix {
        let opts = fix::Options {
            install_packages: args.install_packages,
        };
        let mut plans: Vec<HostPlan> = runs
            .iter()
            .zip(&audited)
            .map(|(r, a)| fix::plan_with(&audit::Analysis::new(&r.facts, &a.target, a.role), &opts))
            .collect();
        for (r, p) in runs.iter_mut().zip(plans.iter_mut()) {
            simulate_packages(r.transport.as_deref_mut(), p)?;
        }
        report
            .data
            .insert("plan".into(), serde_json::to_value(&plans)?);
        report.sections.push(Section::Text {
            title: "Plan".into(),
            body: plan_text(&plans),
        });
        let nothing = plans.iter().all(|p| p.changes.is_empty());
        let go = !args.dry_run && !nothing && confirm(args, &plans)?;
        report.data.insert("applied".into(), Value::Bool(go));
        if go {
            let before = std::mem::take(&mut report.findings);
            let mut outcomes = Vec::new();
            let mut failures: Vec<String> = Vec::new();
            for (r, p) in runs.iter_mut().zip(&plans) {
                if p.changes.is_empty() {
                    continue;
                }
                let Some(t) = r.transport.as_mut() else {
                    continue;
                };
                // A brand-new connection, as a user would open after the change.
                let dest = r
                    .dest
                    .clone()
                    .unwrap_or_else(|| remote::Dest::named(&r.facts.host));
                let mut ssh = args.ssh.clone();
                ssh.accept_new = false;
                let mut fresh = move || remote::connect_dest(&dest, &ssh);
                // One host failing does not stop the others; the error names every host.
                match fix::apply::apply(t.as_mut(), p, args.rollback_timeout, &mut fresh) {
                    Ok(o) => outcomes.push(o),
                    Err(e) => failures.push(format!("{e:#}")),
                }
            }
            if !failures.is_empty() {
                let done: Vec<String> = outcomes.iter().map(|o| o.host.clone()).collect();
                return Err(anyhow::anyhow!(
                    "the fix failed on {} host(s){}:\n  {}",
                    failures.len(),
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(" (applied on {})", done.join(", "))
                    },
                    failures.join("\n  ")
                ));
            }
            // Re-audit from fresh facts.
            let mut after = Vec::new();
            let mut rows = Vec::new();
            let mut hosts_json2 = Vec::new();
            for (r, a_before) in runs.iter_mut().zip(&audited) {
                let port = r.dest.as_ref().and_then(|d| ssh_port(d, &args.ssh));
                if let Some(t) = r.transport.as_mut() {
                    r.facts = audit::facts::gather(t.as_mut(), port)?;
                }
                let f2 = audit::audit(&r.facts, &a_before.target, a_before.role);
                let ok = host_ok(&f2, &r.facts.host);
                rows.push(vec![
                    r.facts.host.clone(),
                    before
                        .iter()
                        .filter(|f| f.subject == r.facts.host)
                        .count()
                        .to_string(),
                    f2.len().to_string(),
                ]);
                hosts_json2
                    .push(json!({"host": r.facts.host, "role": a_before.role.as_str(), "ok": ok}));
                after.extend(f2);
            }
            hosts_json = hosts_json2;
            // The Hosts table shows the state after the fix.
            if let Some(Section::Table {
                rows: host_rows, ..
            }) = report.sections.first_mut()
            {
                for (row, h) in host_rows.iter_mut().zip(&hosts_json) {
                    let n = after.iter().filter(|f| f.subject == row[0]).count();
                    row[4] = if h["ok"] == Value::Bool(true) {
                        "ok (after fix)".into()
                    } else {
                        format!("{n} finding(s) after fix")
                    };
                }
            }
            report.sections.push(Section::Table {
                title: "Before / after the fix".into(),
                header: ["host", "findings before", "findings after"]
                    .map(String::from)
                    .to_vec(),
                rows,
            });
            let mut text = String::new();
            for o in &outcomes {
                for a in &o.applied {
                    text.push_str(&format!("{}: {a}\n", o.host));
                }
                for b in &o.backups {
                    text.push_str(&format!("{}: backup {b}\n", o.host));
                }
                if let Some(rb) = &o.rolled_back {
                    text.push_str(&format!("{}: ROLLED BACK: {rb}\n", o.host));
                }
            }
            report.sections.push(Section::Text {
                title: "Applied".into(),
                body: text,
            });
            report
                .data
                .insert("outcomes".into(), serde_json::to_value(&outcomes)?);
            report
                .data
                .insert("findings_before".into(), serde_json::to_value(&before)?);
            report.findings = after;
        }
    }
    report.data.insert("hosts".into(), Value::Array(hosts_json));
    crate::finding::sort_findings(&mut report.findings);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::parse_vip;

    #[test]
    fn config_ipv6_virtual_server_gives_its_real_servers_the_ipv6_vip() {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(
            &conf,
            "virtual_server 2001:db8:21::20 443 {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 2001:db8:21::11 443 {\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\nvirtual_server 2001:db8:21::30 80 {\n    lb_kind TUN\n    protocol TCP\n    real_server 2001:db8:21::12 80 {\n    }\n}\nvirtual_server 192.168.21.20 80 {\n    lb_kind DR\n    protocol TCP\n    real_server 192.168.21.11 80 {\n    }\n}\n",
        )
        .unwrap();
        let ssh_config = dir.path().join("ssh_config");
        std::fs::write(&ssh_config, "").unwrap();
        let cli = crate::cli::Cli::try_parse_from([
            "lbdoctor",
            "audit",
            "--config",
            conf.to_str().unwrap(),
            "--ssh-config",
            ssh_config.to_str().unwrap(),
        ])
        .unwrap();
        let crate::cli::Command::Audit(args) = cli.command else {
            panic!("not audit")
        };
        let base = crate::audit::Target {
            port: 80,
            ..Default::default()
        };
        let (reals, director) = super::config_targets(&conf, &base, &args).unwrap();
        let v6 = reals
            .iter()
            .find(|(_, h, _)| h == "2001:db8:21::11")
            .unwrap();
        assert_eq!(v6.2.vip6, Some("2001:db8:21::20".parse().unwrap()));
        assert_eq!((v6.2.vip, v6.2.port), (None, 443));
        // TUN with an IPv6 VIP is not audited (rather than audited as DR).
        assert!(!reals.iter().any(|(_, h, _)| h == "2001:db8:21::12"));
        let v4 = reals.iter().find(|(_, h, _)| h == "192.168.21.11").unwrap();
        assert_eq!(v4.2.vip, Some("192.168.21.20".parse().unwrap()));
        assert_eq!(director.vip, Some("192.168.21.20".parse().unwrap()));
    }

    #[test]
    fn the_runs_budget_bounds_streams_and_the_total_across_jobs() {
        let b = super::Budget::new(1 << 30, 16);
        // 16 hosts at once, stdout and stderr each: 32 MiB a stream, not 64.
        assert_eq!(b.limits().max_output, 32 << 20);
        assert_eq!(super::Budget::new(1 << 30, 1).limits().max_output, 64 << 20);
        let b = super::Budget::new(100, 2);
        b.charge("a", 60).unwrap();
        b.charge("b", 40).unwrap();
        let e = format!("{:#}", b.charge("c", 1).unwrap_err());
        assert!(e.contains("c") && e.contains("audit fewer hosts"), "{e}");
    }

    #[test]
    fn the_confirmation_prompt_shows_no_raw_control_characters() {
        let plans = vec![crate::fix::HostPlan {
            host: "app2\x1b]0;pwned\x07".into(),
            changes: vec![crate::fix::Change {
                kind: "file".into(),
                description: "write /etc/x\x1b[1A\x1b[2K".into(),
                commands: vec!["echo \u{9b}2K".into()],
                file: Some("/etc/x".into()),
                diff: Some("-old\r\n+new\x1b[8m".into()),
                content: None,
                old: None,
            }],
            notes: vec!["\u{202e}note".into()],
        }];
        let p = super::prompt_text(&plans);
        assert!(
            !p.chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{p:?}"
        );
        assert!(p.contains("\\x1b[1A") && p.ends_with("Apply these changes? [y/N] "));
    }

    #[test]
    fn vip_forms_and_errors() {
        assert_eq!(
            parse_vip("192.168.21.20").unwrap(),
            ("192.168.21.20".parse().unwrap(), 80)
        );
        assert_eq!(parse_vip("192.168.21.20:8443").unwrap().1, 8443);
        let e = |s: &str| format!("{:#}", parse_vip(s).unwrap_err());
        assert!(e("192.168.21.20:http").contains("bad port"));
        assert!(e("lb.example").contains("not an IP address"));
        let v6: std::net::IpAddr = "2001:db8::20".parse().unwrap();
        assert_eq!(parse_vip("2001:db8::20").unwrap(), (v6, 80));
        assert_eq!(parse_vip("[2001:db8::20]:443").unwrap(), (v6, 443));
        assert_eq!(parse_vip("[2001:db8::20]").unwrap(), (v6, 80));
        assert!(e("[2001:db8::20]:x").contains("bad port"));
        assert!(e("[2001:db8::zz]:80").contains("not an IPv6 address"));
    }
}
