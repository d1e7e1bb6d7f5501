//! `audit --fix` under failure: a real sshd inside the app2 namespace (real iptables and
//! sysctl, private /etc overlay), lbdoctor connecting from a client namespace, and the SSH
//! connection killed in the middle of applying (the sshd session processes get SIGKILL, so
//! the remote shell loses its connection exactly as on a dropped link). After every kill,
//! each file the fix writes is either entirely old or entirely new (never half-written, never
//! a temp file under the real name); after the rerun, backups of the old files exist, the
//! host is repaired, runtime and persisted firewall agree, and a further --fix plans nothing.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VIP: &str = "192.168.21.20";
const TAG: &str = "hk";

struct ClientNs {
    name: String,
}

impl ClientNs {
    /// The client end of app2's ens3 veth, in its own namespace (as audit_fix_netns.rs does).
    fn attach() -> ClientNs {
        let name = format!("lbdaud-{TAG}c");
        let _ = sh(&format!("ip netns del {name} 2>/dev/null"));
        sh(&format!(
            "set -e; ip netns add {name}; ip link set {TAG}e3 netns {name}; ip -n {name} link set lo up; ip -n {name} link set {TAG}e3 up; ip -n {name} addr add 192.168.21.50/24 dev {TAG}e3"
        ));
        ClientNs { name }
    }
}

impl Drop for ClientNs {
    fn drop(&mut self) {
        let _ = sh(&format!("ip netns del {}", self.name));
    }
}

/// lbdoctor run from the client namespace against the sshd in app2.
fn lbdoctor(c: &ClientNs, s: &Sshd, extra: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &c.name])
        .arg(env!("CARGO_BIN_EXE_lbdoctor"))
        .args([
            "--format", "json", "audit", "--host", "target", "--vip", VIP,
        ])
        .arg("--ssh-config")
        .arg(s.path("ssh_config"))
        .arg("--known-hosts")
        .arg(s.path("known_hosts"))
        .arg("--identity")
        .arg(s.path("id_ed25519"))
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Child processes of `pid` (sshd's per-connection processes).
fn children(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // ppid is the 2nd field after the parenthesised command name.
        if let Some(rest) = stat.rsplit_once(')').map(|x| x.1) {
            if rest.split_whitespace().nth(1) == Some(&pid.to_string()) {
                out.push(p);
            }
        }
    }
    out
}

/// The contents of the files the fix writes, and every other file in their directories.
fn snapshot(ns: &NetNs, files: &[String]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for f in files {
        let dir = f.rsplit_once('/').unwrap().0;
        for name in ns.exec(&format!("ls -A {dir} 2>/dev/null")).lines() {
            let p = format!("{dir}/{name}");
            m.insert(p.clone(), ns.exec(&format!("cat {p} 2>/dev/null")));
        }
        m.entry(f.clone())
            .or_insert_with(|| ns.exec(&format!("cat {f} 2>/dev/null")));
    }
    m
}

#[test]
fn fix_killed_mid_apply_leaves_whole_files_backups_and_a_rerun_completes() {
    if !can_use_netns() || !can_run_sshd() {
        return;
    }
    let ns = NetNs::app(TAG, 12);
    // Existing files the fix must back up before replacing.
    ns.exec("printf 'net.ipv4.conf.all.rp_filter = 1\\n' > /etc/sysctl.d/10-distro-strict.conf");
    ns.exec("mkdir -p /etc/iptables && printf '*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n' > /etc/iptables/rules.v4");
    // Make every `sync` on the host slow (the write script syncs the complete temp file
    // before renaming it over the real one), so the kill reliably lands while a temp file
    // exists next to the real file. Only this namespace's mounts see the wrapper.
    ns.exec("mount -t tmpfs tmpfs /usr/local/sbin && printf '#!/bin/sh\\necho \"$*\" >> /etc/lbd-sync-calls\\nsleep 2\\nexec /bin/sync \"$@\"\\n' > /usr/local/sbin/sync && chmod 755 /usr/local/sbin/sync");
    assert!(ns.exec("command -v sync").contains("/usr/local/sbin/sync"));
    // The rollback guard's state dir must be this host's own (NetNs overlays only /etc).
    ns.exec("mkdir -p /var/lib/lbdoctor && mount -t tmpfs tmpfs /var/lib/lbdoctor");
    let client = ClientNs::attach();
    let mut wrapper = vec!["nsenter".to_string()];
    wrapper.extend(ns.prefix());
    let s = Sshd::start_with(Some(wrapper), "192.168.21.12", 2222);
    std::fs::write(s.path("known_hosts"), s.known_hosts_line()).unwrap();

    // The plan: which files the fix writes. (sshd's readiness check runs from the root
    // namespace; wait until the client namespace reaches it too.)
    let start = Instant::now();
    let out = loop {
        let out = lbdoctor(&client, &s, &["--fix", "--dry-run"])
            .output()
            .unwrap();
        if !String::from_utf8_lossy(&out.stderr).contains("refused")
            || start.elapsed() > Duration::from_secs(10)
        {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let plan = json(&out);
    let files: Vec<String> = plan["plan"][0]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no plan: {plan}"))
        .iter()
        .filter_map(|c| c["file"].as_str().map(String::from))
        .collect();
    assert!(
        files.iter().any(|f| f.starts_with("/etc/sysctl.d/"))
            && files.contains(&"/etc/iptables/rules.v4".to_string()),
        "{files:?}"
    );
    let old = snapshot(&ns, &files);

    // Kill the connection at successive points of the apply: a marker on the host (the
    // sysctl file replaced, the firewall guard armed, the rules file being written) or, as
    // a fallback, a delay.
    let markers = [
        // the sysctl file's temp copy is complete and being synced, not yet renamed
        "ls -A /etc/sysctl.d | grep '^.lbdoctor.*tmp$'",
        // the firewall guard is armed, the fresh session has not confirmed yet
        "ls /var/lib/lbdoctor/ 2>/dev/null | grep 'pending$'",
        // the rules file's temp copy is complete and being synced
        "ls -A /etc/iptables | grep '^.lbdoctor.*tmp$'",
    ];
    let mut states: Vec<BTreeMap<String, String>> = Vec::new();
    let mut killed = 0;
    let mut guard_killed_at = Instant::now();
    for (round, marker) in markers.iter().enumerate() {
        // A long guard: its timer is still pending while the later runs (and the rerun) work.
        let mut child = lbdoctor(&client, &s, &["--fix", "--yes", "--rollback-timeout", "20"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut hit = false;
        while start.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if !ns.exec(marker).trim().is_empty() {
                hit = true;
                break;
            }
        }
        for p in children(s.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let st = child.wait().unwrap();
        if round == 1 {
            guard_killed_at = Instant::now();
        }
        assert!(hit, "round {round}: the apply never reached {marker:?}");
        assert!(
            !st.success(),
            "round {round}: lbdoctor must report the lost connection"
        );
        killed += 1;
        eprintln!("round {round}: marker {marker:?} seen={hit}, lbdoctor exit {st:?}");
        // Let the remote shell finish its current step (a slow sync) and notice the lost
        // connection; the next run starts long before the guard timer (20 s) could fire.
        std::thread::sleep(Duration::from_secs(3));
        let now = snapshot(&ns, &files);
        for name in now.keys() {
            let base = name.rsplit('/').next().unwrap();
            assert!(
                files.contains(name)
                    || old.contains_key(name)
                    || base.contains(".lbdoctor-") && base.ends_with(".bak")
                    || base == "lbd-sync-calls",
                "round {round}: unexpected file {name} left on the host: {now:#?}"
            );
        }
        states.push(now);
    }
    assert_eq!(killed, 3);

    // The rerun completes the job.
    let out = lbdoctor(&client, &s, &["--fix", "--yes", "--rollback-timeout", "3"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "rerun must repair the host: {v:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Either it applied what was left, or the last interrupted run's shell had already
    // finished its step; both ways the host is now healthy.
    assert!(
        v["applied"] == true || v["plan"][0]["changes"].as_array().is_none_or(Vec::is_empty),
        "{v:#}"
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error"),
        "{v:#}"
    );
    let new = snapshot(&ns, &files);
    for f in &files {
        for (round, st) in states.iter().enumerate() {
            let got = &st[f];
            assert!(
                Some(got) == old.get(f) || Some(got) == new.get(f),
                "round {round}: {f} is neither the old nor the new file:\n{got}"
            );
        }
        // The old file, if there was one, is kept as a backup.
        if let Some(o) = old.get(f).filter(|o| !o.is_empty()) {
            if new.get(f) != Some(o) {
                assert!(
                    new.iter()
                        .any(|(k, v)| k.starts_with(&format!("{f}.lbdoctor-")) && v == o),
                    "no backup of the old {f}: {new:#?}"
                );
            }
        }
    }
    // Runtime and boot agree: the REDIRECT rule is live and persisted, also after every
    // guard timer of the interrupted runs has expired (none may undo the rerun's work: the
    // timer armed in round 1 would, unless the next run settled it first).
    let wait = Duration::from_secs(23).saturating_sub(guard_killed_at.elapsed());
    std::thread::sleep(wait);
    assert!(ns
        .exec("iptables -t nat -S PREROUTING")
        .contains("-d 192.168.21.20/32 -j REDIRECT"));
    assert!(new["/etc/iptables/rules.v4"].contains("-d 192.168.21.20/32 -j REDIRECT"));
    assert!(ns
        .exec("ls /var/lib/lbdoctor/ 2>/dev/null | grep 'pending$'")
        .trim()
        .is_empty());
    // A further --fix plans nothing.
    let out = lbdoctor(&client, &s, &["--fix", "--dry-run"])
        .output()
        .unwrap();
    let v = json(&out);
    let n = v["plan"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|h| h["changes"].as_array().map_or(0, Vec::len))
                .sum::<usize>()
        })
        .unwrap_or(0);
    assert_eq!(n, 0, "{v:#}");
}
