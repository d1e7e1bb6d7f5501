//! Applying a plan on the host: runtime first, then persistence; atomic file writes with
//! backups, done by a script on the host; firewall changes under a rollback guard.

use super::{Change, HostPlan};
use crate::remote::Transport;
use base64::Engine;
use sha2::Digest;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    pub host: String,
    pub applied: Vec<String>,
    pub backups: Vec<String>,
    /// Set when the firewall change was not confirmed and will be (or was) rolled back.
    pub rolled_back: Option<String>,
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Replace `path` atomically: backup, temp file in the same directory, optional test,
/// fsync, rename, fsync the directory. Refuses when the file changed since it was read, or
/// when it was planned as new and has appeared since. The new file keeps the old one's mode,
/// owner and group, and its SELinux label where `ls -Z` shows one (a rename would otherwise
/// leave root's and the temp file's); a new file gets `restorecon` where that exists.
pub fn write_file_script(
    path: &str,
    content: &str,
    old: Option<&str>,
    test: Option<&str>,
) -> String {
    write_file_script_mode(path, content, old, test, "644")
}

/// `write_file_script` with the mode a NEW file gets (an existing file keeps its own).
pub fn write_file_script_mode(
    path: &str,
    content: &str,
    old: Option<&str>,
    test: Option<&str>,
    new_mode: &str,
) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(content.as_bytes());
    let check = match old {
        Some(o) => format!(
            "if [ -e \"$P\" ]; then cur=$(sha256sum < \"$P\" | cut -d' ' -f1); [ \"$cur\" = {h} ] || {{ echo \"lbdoctor: $P changed since the facts were gathered; not overwriting it (run again)\" >&2; exit 3; }}; fi\n",
            h = q(&hex(&sha2::Sha256::digest(o.as_bytes())))
        ),
        // Planned as a new file: one that appeared since is someone else's, not ours to
        // replace (a backup would not make that right).
        None => "if [ -e \"$P\" ] || [ -L \"$P\" ]; then echo \"lbdoctor: $P appeared since the facts were gathered; not overwriting it (run again)\" >&2; exit 3; fi\n".to_string(),
    };
    let test = match test {
        Some(t) => format!("{t} < \"$T\" || {{ rm -f \"$T\"; echo \"lbdoctor: the new $P does not pass {t}; nothing written\" >&2; exit 4; }}\n"),
        None => String::new(),
    };
    format!(
        "set -e\nP={p}\nD=$(dirname \"$P\")\nmkdir -p \"$D\"\n{check}T=\"$D/.lbdoctor.$$.tmp\"\n\
trap 'rm -f \"$T\"' EXIT; trap 'exit 1' HUP INT TERM PIPE\n\
printf '%s' {b} | base64 -d > \"$T\"\n\
if [ -e \"$P\" ]; then chmod --reference=\"$P\" \"$T\"; chown --reference=\"$P\" \"$T\"; \
if command -v chcon >/dev/null 2>&1 && ls -Zd \"$P\" 2>/dev/null | cut -d' ' -f1 | grep -q ':'; then chcon --reference=\"$P\" \"$T\" 2>/dev/null || true; fi; \
B=\"$P.lbdoctor-$(date +%Y%m%dT%H%M%S).bak\"; cp -p \"$P\" \"$B\"; echo \"backup $B\"; N=; else chmod {new_mode} \"$T\"; N=1; fi\n\
{test}sync \"$T\" 2>/dev/null || sync\nmv -f \"$T\" \"$P\"\nsync \"$D\" 2>/dev/null || sync\n\
if [ -n \"$N\" ] && command -v restorecon >/dev/null 2>&1; then restorecon \"$P\" 2>/dev/null || true; fi\necho \"wrote $P\"\n",
        p = q(path),
        b = q(&b64),
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where the guard keeps its saved rules and its "pending" cookie on the host.
pub const GUARD_DIR: &str = "/var/lib/lbdoctor";

/// Save the rules, arm a detached timer that restores them after `secs` unless the cookie is
/// removed first, then run the commands (restoring at once if one fails).
pub fn guarded_firewall_script(id: &str, secs: u64, commands: &[String]) -> String {
    // iptables-save omits tables that do not exist yet, and iptables-restore leaves tables
    // absent from its input alone: the saved rules get an empty section for each table we
    // touch that had none, so one iptables-restore puts every table back. That restore
    // replaces each table as a whole or not at all; it is tested first, and if it would fail
    // the current rules stay (never flushed first, which left a host with no rules at all).
    let mut tables: Vec<&str> = vec!["filter"];
    for c in commands {
        let f: Vec<&str> = c.split_whitespace().collect();
        // `iptables -t T ...`, or firewalld's `--direct --add-rule ipv4 T ...`.
        let at = f
            .iter()
            .position(|x| *x == "-t")
            .map(|i| i + 1)
            .or_else(|| {
                f.windows(2)
                    .position(|w| w == ["--add-rule", "ipv4"])
                    .map(|i| i + 2)
            });
        if let Some(t) = at.and_then(|i| f.get(i)) {
            if !tables.contains(t) {
                tables.push(t);
            }
        }
    }
    let save = format!(
        "iptables-save > \"$R\"\n\
for t in {tables}; do grep -qx \"\\*$t\" \"$R\" && continue; echo \"*$t\"; case $t in nat) c='PREROUTING INPUT OUTPUT POSTROUTING';; mangle) c='PREROUTING INPUT FORWARD OUTPUT POSTROUTING';; raw) c='PREROUTING OUTPUT';; *) c='INPUT FORWARD OUTPUT';; esac; for x in $c; do echo \":$x ACCEPT [0:0]\"; done; echo COMMIT; done >> \"$R\"\n",
        tables = tables.join(" ")
    );
    // iptables-restore commits a table (iptables-nft: the whole input) at once or not at
    // all, so a failed load leaves the rules in place; --test catches most failures first.
    let restore = "if ! iptables-restore --test < \"$1\" || ! iptables-restore < \"$1\"; then echo \"lbdoctor: the saved rules $1 do not load; the rules now in place are kept\" >&2; exit 1; fi\n";
    guard_script(id, secs, &save, restore, commands)
}

/// The same guard for `sysctl -w` commands: a changed arp_ignore or arp_announce on `all`
/// applies to every interface, and can cut a path that depends on ARP elsewhere (the SSH
/// session's own, or a management network's). The current value of every key set is saved,
/// and written back unless a fresh session confirms.
pub fn guarded_sysctl_script(id: &str, secs: u64, commands: &[String]) -> String {
    let keys: Vec<&str> = commands
        .iter()
        .filter_map(|c| c.strip_prefix("sysctl -w "))
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let save = format!(
        ": > \"$R\"\nfor k in {}; do v=$(sysctl -n \"$k\"); printf '%s=%s\\n' \"$k\" \"$v\" >> \"$R\"; done\n",
        keys.iter().map(|k| q(k)).collect::<Vec<_>>().join(" ")
    );
    let restore =
        "rc=0; while IFS= read -r kv; do sysctl -qw \"$kv\" || rc=1; done < \"$1\"; exit $rc\n";
    guard_script(id, secs, &save, restore, commands)
}

/// Arm a rollback guard: `save` writes the state to "$R", `restore` (a script run with that
/// file as $1) puts it back. A detached timer runs `restore` after `secs` unless the cookie
/// is removed first (confirm_script, from a fresh session); a failing command restores at
/// once. The restore step lives in a file on the host, so the timer needs no nested quoting.
fn guard_script(id: &str, secs: u64, save: &str, restore: &str, commands: &[String]) -> String {
    let d = GUARD_DIR;
    let mut s = format!(
        "set -e\nD={d}\nmkdir -p \"$D\"; chmod 700 \"$D\"\nR=\"$D/rollback-{id}.rules\"; C=\"$D/rollback-{id}.pending\"; X=\"$D/rollback-{id}.sh\"\n\
{save}: > \"$C\"\nreadlink /proc/self/ns/net > \"$D/rollback-{id}.ns\" 2>/dev/null || true\n\
cat > \"$X\" <<'LBDOCTOR_EOF'\n{restore}LBDOCTOR_EOF\n\
TIMER=\"sleep {secs}; if mv '$C' '$C.fired' 2>/dev/null; then sh '$X' '$R' && echo rolled-back > '$D/rollback-{id}.done'; fi\"\n\
if command -v setsid >/dev/null 2>&1; then setsid sh -c \"$TIMER\" </dev/null >/dev/null 2>&1 & else nohup sh -c \"$TIMER\" </dev/null >/dev/null 2>&1 & fi\n\
set +e\nfail=\n"
    );
    for c in commands {
        s.push_str(&format!("[ -n \"$fail\" ] || {c} || fail={}\n", q(c)));
    }
    s.push_str("if [ -n \"$fail\" ]; then mv \"$C\" \"$C.failed\" 2>/dev/null; if sh \"$X\" \"$R\"; then echo \"lbdoctor: '$fail' failed; the previous state is restored\" >&2; else echo \"lbdoctor: '$fail' failed, and restoring the previous state failed too: check the host\" >&2; fi; exit 5; fi\necho armed\n");
    s
}

/// Run in a FRESH session: take the cookie away before the timer does.
pub fn confirm_script(id: &str) -> String {
    format!(
        "C={GUARD_DIR}/rollback-{id}.pending\nif rm \"$C\" 2>/dev/null; then rm -f {GUARD_DIR}/rollback-{id}.rules {GUARD_DIR}/rollback-{id}.sh {GUARD_DIR}/rollback-{id}.ns; echo confirmed; else echo expired; fi\n"
    )
}

/// Before a new fix: a firewall change left unconfirmed by an interrupted run (connection
/// lost between arming the guard and the fresh session's confirmation) is rolled back now,
/// instead of by its timer later, which would undo whatever this run applies meanwhile
/// (the live rules would silently go back to the old ones while the persisted file has the
/// new ones). The timer then finds no cookie and does nothing. Only guards armed in this
/// network namespace are settled (containers or test namespaces may share the directory).
pub fn settle_interrupted_script() -> String {
    format!(
        "D={GUARD_DIR}\nfor C in \"$D\"/rollback-*.pending; do\n[ -e \"$C\" ] || continue\nid=${{C#\"$D/rollback-\"}}; id=${{id%.pending}}\n[ \"$(cat \"$D/rollback-$id.ns\" 2>/dev/null)\" = \"$(readlink /proc/self/ns/net 2>/dev/null)\" ] || continue\nif mv \"$C\" \"$C.fired\" 2>/dev/null; then sh \"$D/rollback-$id.sh\" \"$D/rollback-$id.rules\" && echo rolled-back > \"$D/rollback-$id.done\"; echo \"settled $id\"; fi\ndone\nexit 0\n"
    )
}

/// Run `settle_interrupted_script` on the host; the guard ids it rolled back.
pub fn settle_interrupted(t: &mut dyn Transport) -> anyhow::Result<Vec<String>> {
    let out = run_ok(
        t,
        &settle_interrupted_script(),
        "settling an interrupted fix",
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("settled ").map(String::from))
        .collect())
}

fn run_ok(t: &mut dyn Transport, script: &str, what: &str) -> anyhow::Result<String> {
    let o = t.run(script)?;
    if o.status != 0 {
        anyhow::bail!(
            "host {}: {what} failed (exit {}): {}",
            t.host(),
            o.status,
            o.stderr_lossy().trim()
        );
    }
    Ok(o.stdout_lossy())
}

fn file_change(
    t: &mut dyn Transport,
    c: &Change,
    out: &mut Outcome,
    test: Option<&str>,
) -> anyhow::Result<()> {
    let (Some(path), Some(content)) = (&c.file, &c.content) else {
        return Ok(());
    };
    let s = write_file_script(path, content, c.old.as_deref(), test);
    run_write_script(t, path, &s, out)
}

/// Run a script from `write_file_script*` that writes `path`; record the backups it made.
pub(crate) fn run_write_script(
    t: &mut dyn Transport,
    path: &str,
    script: &str,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    let stdout = run_ok(t, script, &format!("writing {path}"))?;
    for l in stdout.lines() {
        if let Some(b) = l.strip_prefix("backup ") {
            out.backups.push(b.to_string());
        }
    }
    Ok(())
}

/// Confirm guard `id` from a fresh session (the proof that a new login still gets through).
fn confirm(
    fresh: &mut dyn FnMut() -> anyhow::Result<Box<dyn Transport>>,
    id: &str,
) -> Result<(), String> {
    match fresh() {
        Ok(mut t2) => match t2.run(&confirm_script(id)) {
            Ok(o) if o.stdout_lossy().trim() == "confirmed" => Ok(()),
            Ok(o) => Err(format!(
                "the guard had already expired ({})",
                o.stdout_lossy().trim()
            )),
            Err(e) => Err(format!("{e:#}")),
        },
        Err(e) => Err(format!("{e:#}")),
    }
}

/// Apply `plan` through `t`. `fresh` opens a new session for the rollback guard's
/// confirmation; if it fails, the firewall rules come back by themselves after
/// `rollback_secs` and nothing about the firewall is persisted.
pub fn apply(
    t: &mut dyn Transport,
    plan: &HostPlan,
    rollback_secs: u64,
    fresh: &mut dyn FnMut() -> anyhow::Result<Box<dyn Transport>>,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome {
        host: plan.host.clone(),
        ..Default::default()
    };
    // LVS-TUN first: without ipip nothing else helps, and the tunl0 sysctls need the device.
    for c in plan
        .changes
        .iter()
        .filter(|c| c.kind == super::tun::RUNTIME || c.kind == super::tun::PERSIST)
    {
        super::tun::apply_change(t, c, &mut out)?;
    }
    for c in plan.changes.iter().filter(|c| c.kind == super::ipv6::KIND) {
        super::ipv6::apply_change(t, c, &mut out)?;
    }
    for c in plan.changes.iter().filter(|c| c.kind == "package") {
        run_ok(
            t,
            &format!("set -e\n{}\n", c.commands.join("\n")),
            &c.description,
        )?;
        out.applied.push(c.description.clone());
    }
    for c in plan.changes.iter().filter(|c| c.kind == "sysctl-runtime") {
        let id = format!("{}-{}", std::process::id(), rand::random::<u32>());
        run_ok(
            t,
            &guarded_sysctl_script(&id, rollback_secs, &c.commands),
            "setting sysctls",
        )?;
        match confirm(fresh, &id) {
            Ok(()) => out
                .applied
                .push(format!("{} (confirmed by a fresh session)", c.description)),
            Err(why) => {
                // This session may be the only path left: change nothing more.
                out.rolled_back = Some(format!(
                    "could not open a fresh session to confirm the sysctl change ({why}); the previous values are restored on the host within {rollback_secs} s and nothing else was applied"
                ));
                return Ok(out);
            }
        }
    }
    for c in plan.changes.iter().filter(|c| c.kind == "sysctl-persist") {
        file_change(t, c, &mut out, None)?;
        if let Some(p) = &c.file {
            run_ok(
                t,
                &format!("sysctl -p {} >/dev/null\n", q(p)),
                "loading the sysctl file",
            )?;
        }
        out.applied.push(c.description.clone());
    }
    for c in plan
        .changes
        .iter()
        .filter(|c| c.kind == super::vip_boot::KIND)
    {
        super::vip_boot::apply_change(t, c, &mut out)?;
    }
    let mut firewall_ok = true;
    for c in plan
        .changes
        .iter()
        .filter(|c| c.kind == "firewall-runtime" || c.kind == "nft-runtime")
    {
        let id = format!("{}-{}", std::process::id(), rand::random::<u32>());
        let script = if c.kind == "nft-runtime" {
            super::nft::guarded_script(&id, rollback_secs, c.content.as_deref().unwrap_or(""))
        } else {
            guarded_firewall_script(&id, rollback_secs, &c.commands)
        };
        run_ok(t, &script, "applying firewall rules")?;
        match confirm(fresh, &id) {
            Ok(()) => out
                .applied
                .push(format!("{} (confirmed by a fresh session)", c.description)),
            Err(why) => {
                firewall_ok = false;
                out.rolled_back = Some(format!(
                    "could not open a fresh session to confirm the firewall change ({why}); the previous rules are restored on the host within {rollback_secs} s and nothing was persisted"
                ));
            }
        }
    }
    if firewall_ok {
        for c in plan.changes.iter().filter(|c| c.kind == "firewall-persist") {
            file_change(t, c, &mut out, Some("iptables-restore --test"))?;
            out.applied.push(c.description.clone());
        }
        for c in plan
            .changes
            .iter()
            .filter(|c| c.kind == "firewall-boot-unit")
        {
            let test = c.file.as_deref().is_some_and(|f| !f.ends_with(".service"));
            file_change(t, c, &mut out, test.then_some("sh -n"))?;
            out.applied.push(c.description.clone());
        }
        for c in plan.changes.iter().filter(|c| c.kind == "ufw-persist") {
            file_change(t, c, &mut out, Some("iptables-restore --noflush --test"))?;
            out.applied.push(c.description.clone());
        }
        for c in plan
            .changes
            .iter()
            .filter(|c| c.kind == "ufw-rule" || c.kind == "firewalld-permanent")
        {
            run_ok(
                t,
                &format!("set -e\n{}\n", c.commands.join("\n")),
                &c.description,
            )?;
            out.applied.push(c.description.clone());
        }
        for c in plan.changes.iter().filter(|c| c.kind == "nft-persist") {
            file_change(t, c, &mut out, Some("nft -c -f -"))?;
            out.applied.push(c.description.clone());
        }
        for c in plan.changes.iter().filter(|c| c.kind == "service-enable") {
            run_ok(
                t,
                &format!("set -e\n{}\n", c.commands.join("\n")),
                &c.description,
            )?;
            out.applied.push(c.description.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local::LocalTransport;

    #[test]
    fn atomic_write_backs_up_checks_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.conf");
        let ps = p.to_str().unwrap();
        std::fs::write(&p, "old\n").unwrap();
        let mut t = LocalTransport::new("localhost");
        // Refuses when the file differs from what was planned against.
        let o = t
            .run(&write_file_script(
                ps,
                "new\n",
                Some("something else\n"),
                None,
            ))
            .unwrap();
        assert_eq!(o.status, 3, "{}", o.stderr_lossy());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old\n");
        let o = t
            .run(&write_file_script(
                ps,
                "new 'quoted' $HOME\n",
                Some("old\n"),
                None,
            ))
            .unwrap();
        assert_eq!(o.status, 0, "{}", o.stderr_lossy());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new 'quoted' $HOME\n");
        let backup = o
            .stdout_lossy()
            .lines()
            .find_map(|l| l.strip_prefix("backup ").map(String::from))
            .unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "old\n");
        // A failing test command leaves the file alone and no temp file behind.
        let o = t
            .run(&write_file_script(
                ps,
                "bad\n",
                Some("new 'quoted' $HOME\n"),
                Some("false"),
            ))
            .unwrap();
        assert_eq!(o.status, 4);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new 'quoted' $HOME\n");
        assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp")));
    }

    #[test]
    fn a_file_planned_as_absent_that_appeared_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.conf");
        std::fs::write(&p, "someone else's\n").unwrap();
        let mut t = LocalTransport::new("localhost");
        let o = t
            .run(&write_file_script(
                p.to_str().unwrap(),
                "ours\n",
                None,
                None,
            ))
            .unwrap();
        assert_eq!(o.status, 3, "{}", o.stderr_lossy());
        assert!(o
            .stderr_lossy()
            .contains("appeared since the facts were gathered"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "someone else's\n");
    }

    #[test]
    fn a_replaced_file_keeps_its_owner_group_and_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: chown needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("owned.conf");
        std::fs::write(&p, "old\n").unwrap();
        std::os::unix::fs::chown(&p, Some(1234), Some(2345)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut t = LocalTransport::new("localhost");
        let o = t
            .run(&write_file_script(
                p.to_str().unwrap(),
                "new\n",
                Some("old\n"),
                None,
            ))
            .unwrap();
        assert_eq!(o.status, 0, "{}", o.stderr_lossy());
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (1234, 2345, 0o640));
    }
}
