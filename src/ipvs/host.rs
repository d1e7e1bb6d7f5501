//! Reading a director's IPVS state in one round trip: /proc/net/ip_vs, ip_vs_stats,
//! ip_vs_conn (capped), `ipvsadm -Ln` when installed, and the kernel's HZ (to turn /proc's
//! jiffies into seconds). The same script runs locally (`sh -s`) or over the remote transport.

use super::model::*;
use crate::error::Error;

/// Connection entries transferred at most; the rest are counted on the host (`wc -l`).
pub const MAX_CONN_LINES: usize = 50_000;

const MARK: &str = "@@lbdoctor ";

/// The net.ipv4.vs settings the checks explain findings with (ipvs-sysctl.rst).
pub const SYSCTLS: [&str; 8] = [
    "expire_nodest_conn",
    "expire_quiescent_template",
    "drop_entry",
    "drop_packet",
    "secure_tcp",
    "amemthresh",
    "conn_reuse_mode",
    "conntrack",
];

pub fn script() -> String {
    format!(
        r#"LC_ALL=C; export LC_ALL
if [ ! -e /proc/net/ip_vs ]; then echo "{MARK}no-ipvs"; exit 0; fi
echo "{MARK}section /proc/net/ip_vs"; cat /proc/net/ip_vs
if [ -r /proc/net/ip_vs_stats ]; then echo "{MARK}section /proc/net/ip_vs_stats"; cat /proc/net/ip_vs_stats; fi
if [ -r /proc/net/ip_vs_conn ]; then
  echo "{MARK}section /proc/net/ip_vs_conn"; head -n {cap} /proc/net/ip_vs_conn
  echo "{MARK}conn-lines $(wc -l < /proc/net/ip_vs_conn)"
fi
if command -v ipvsadm >/dev/null 2>&1; then
  out=$(ipvsadm -Ln 2>&1) && {{ echo "{MARK}section ipvsadm -Ln"; printf '%s\n' "$out"; }} || echo "{MARK}ipvsadm-failed $(printf '%s' "$out" | head -n 1)"
  # Per-server packet counters: in DR a connection to a silent server carries only SYNs.
  out=$(ipvsadm -Ln --stats 2>/dev/null) && {{ echo "{MARK}section ipvsadm -Ln --stats"; printf '%s\n' "$out"; }}
fi
for s in {sysctls}; do
  if [ -r /proc/sys/net/ipv4/vs/$s ]; then echo "{MARK}sysctl $s $(cat /proc/sys/net/ipv4/vs/$s)"; fi
done
echo "{MARK}kernel $(uname -r)"
hz=$(grep -m1 '^CONFIG_HZ=' "/boot/config-$(uname -r)" 2>/dev/null | cut -d= -f2)
echo "{MARK}hz ${{hz}}"
"#,
        cap = MAX_CONN_LINES + 1,
        sysctls = SYSCTLS.join(" ")
    )
}

/// What the script printed, parsed. `notes` are things the user should know (ipvsadm failed).
#[derive(Debug)]
pub struct HostRead {
    pub state: IpvsState,
    pub hz: Option<u64>,
    pub notes: Vec<String>,
}

/// Parse the script's output. `who` names the host in errors ("app1" or "localhost").
pub fn parse_output(who: &str, out: &str) -> anyhow::Result<HostRead> {
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut hz = None;
    let mut kernel = None;
    let mut conn_lines: Option<u64> = None;
    let mut notes = Vec::new();
    let mut saw_end = false;
    let mut sysctls = std::collections::BTreeMap::new();
    for line in out.split_inclusive('\n') {
        if let Some(m) = line.strip_prefix(MARK) {
            let m = m.trim_end();
            if m == "no-ipvs" {
                return Err(no_ipvs(who));
            } else if let Some(name) = m.strip_prefix("section ") {
                sections.push((name.to_string(), String::new()));
            } else if let Some(n) = m.strip_prefix("conn-lines ") {
                conn_lines = n.trim().parse().ok();
            } else if let Some(msg) = m.strip_prefix("ipvsadm-failed") {
                notes.push(format!(
                    "`ipvsadm -Ln` failed on {who} ({}); used /proc only",
                    msg.trim()
                ));
            } else if let Some(kv) = m.strip_prefix("sysctl ") {
                if let Some((k, v)) = kv.split_once(' ') {
                    if SYSCTLS.contains(&k) {
                        sysctls.insert(k.to_string(), v.trim().to_string());
                    }
                }
            } else if let Some(k) = m.strip_prefix("kernel ") {
                // The release decides what ActiveConn counts (Linux 4.8, see syn_recv_active).
                let k = k.trim();
                if !k.is_empty() && k.len() <= 128 {
                    kernel = Some(k.to_string());
                }
            } else if let Some(h) = m.strip_prefix("hz") {
                hz = h.trim().parse().ok().filter(|h: &u64| *h > 0);
                saw_end = true;
            }
            continue;
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
        }
    }
    if sections.is_empty() || !saw_end {
        return Err(Error::host(
            who,
            "the IPVS read did not complete (output cut short); try again, or save the outputs and use --from",
        )
        .into());
    }
    let mut state = IpvsState::default();
    for (name, body) in &sections {
        let label = if who == "localhost" {
            name.clone()
        } else {
            format!("{who}:{name}")
        };
        // The kernel's files are the reference; ipvsadm adds persistence in seconds and the
        // fwmark family, and is optional.
        match super::parse_text(&label, body) {
            Ok(part) => super::merge(&mut state, part),
            Err(e) if name.starts_with("ipvsadm") => {
                notes.push(format!("could not read `ipvsadm -Ln` output: {e}"))
            }
            Err(e) => return Err(e),
        }
    }
    state.sysctls = sysctls;
    state.kernel = kernel;
    if let (Some(t), Some(lines)) = (state.connections.as_mut(), conn_lines) {
        let entries = lines.saturating_sub(1);
        if entries > t.total {
            t.not_read = entries - t.total;
            t.total = entries;
        }
    }
    if let Some(hz) = hz {
        for s in &mut state.services {
            if let Some(p) = &mut s.persistence {
                if let Timeout::Jiffies(j) = p.timeout {
                    p.timeout = Timeout::Seconds(j / hz);
                }
            }
        }
    }
    Ok(HostRead { state, hz, notes })
}

pub fn no_ipvs(who: &str) -> anyhow::Error {
    let msg = "no IPVS on this host: /proc/net/ip_vs is absent; load ip_vs or use --from";
    if who == "localhost" {
        Error::Usage(msg.to_string()).into()
    } else {
        Error::host(who, msg).into()
    }
}

/// Run the script on this machine, without SSH or sudo (/proc/net/ip_vs* are world-readable).
pub fn read_local() -> anyhow::Result<HostRead> {
    if !std::path::Path::new("/proc/net/ip_vs").exists() {
        return Err(no_ipvs("localhost"));
    }
    let out = run_sh(&script())?;
    parse_output("localhost", &out)
}

fn run_sh(script: &str) -> anyhow::Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-s")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot run /bin/sh to read /proc/net/ip_vs*: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Read over the remote transport (one round trip).
pub fn read_remote(t: &mut dyn crate::remote::Transport) -> anyhow::Result<HostRead> {
    let host = t.host().to_string();
    let out = t.run(&script())?;
    if out.status != 0 {
        return Err(Error::host(
            &host,
            format!(
                "reading the IPVS state failed (exit {}): {}",
                out.status,
                out.stderr_lossy().lines().next().unwrap_or("")
            ),
        )
        .into());
    }
    parse_output(&host, &out.stdout_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_output_with_all_sections() {
        let out = "@@lbdoctor section /proc/net/ip_vs\nIP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C0A81514:0050 lc persistent 90000 FFFFFFFF\n  -> C0A81547:0050      Route   1      1          3         \n@@lbdoctor section /proc/net/ip_vs_conn\nPro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\nTCP C0A81532 C350 C0A81514 0050 C0A81547 0050 ESTABLISHED     897\n@@lbdoctor conn-lines 80001\n@@lbdoctor ipvsadm-failed Can't initialize ipvs: Protocol not available\n@@lbdoctor sysctl drop_entry 0\n@@lbdoctor sysctl bogus 1\n@@lbdoctor kernel 6.1.0-57-amd64\n@@lbdoctor hz 250\n";
        let r = parse_output("lb1", out).unwrap();
        assert_eq!(r.hz, Some(250));
        assert_eq!(r.state.kernel.as_deref(), Some("6.1.0-57-amd64"));
        assert_eq!(r.state.syn_recv_active(), Some(true));
        let s = &r.state.services[0];
        assert_eq!(
            s.persistence.as_ref().unwrap().timeout,
            Timeout::Seconds(360)
        );
        let c = r.state.connections.as_ref().unwrap();
        assert_eq!(c.total, 80000);
        assert_eq!(c.not_read, 79999);
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.state.sysctl("drop_entry"), Some(0));
        assert_eq!(r.state.sysctls.len(), 1);
        assert_eq!(s.origin.as_ref().unwrap().file, "lb1:/proc/net/ip_vs");
    }

    #[test]
    fn the_real_incident_read_by_the_script_names_the_silent_server() {
        // What the script prints on the lab's real 6.1 director, from the recorded files.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/state/real/incident/");
        let f = |n: &str| std::fs::read_to_string(format!("{dir}{n}")).unwrap();
        let out = format!(
            "@@lbdoctor section /proc/net/ip_vs\n{}@@lbdoctor section /proc/net/ip_vs_conn\n{}@@lbdoctor conn-lines 23\n@@lbdoctor section ipvsadm -Ln\n{}@@lbdoctor section ipvsadm -Ln --stats\n{}@@lbdoctor kernel {}@@lbdoctor hz 250\n",
            f("proc-ip_vs.txt"),
            f("proc-ip_vs_conn.txt"),
            f("ipvsadm-Ln.txt"),
            f("ipvsadm-Ln-stats.txt"),
            f("uname-r.txt")
        );
        let r = parse_output("lb1", &out).unwrap();
        assert_eq!(r.state.syn_recv_active(), Some(true));
        let rs = &r.state.services[0].real_servers;
        // The kernel's order (newest first), with ipvsadm's counters merged in.
        assert_eq!(rs[0].addr.to_string(), "192.168.21.72:80");
        assert_eq!(rs[0].stats.as_ref().unwrap().inpkts, 6);
        let f = crate::ipvs::checks::run(&crate::ipvs::checks::Input {
            state: &r.state,
            config: None,
        });
        assert!(
            f.iter().any(|x| x.id == "ST005"
                && x.severity == crate::finding::Severity::Error
                && x.subject == "192.168.21.72:80"),
            "{f:?}"
        );
    }

    #[test]
    fn no_ipvs_and_cut_short() {
        let e = parse_output("lb1", "@@lbdoctor no-ipvs\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "host lb1: no IPVS on this host: /proc/net/ip_vs is absent; load ip_vs or use --from"
        );
        let e = parse_output("lb1", "@@lbdoctor section /proc/net/ip_vs\nIP Virtual")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did not complete"), "{e}");
    }

    #[test]
    fn the_script_runs_under_sh_here() {
        // This kernel has no IPVS: the script must say so, not fail.
        let out = run_sh(&script()).unwrap();
        if std::path::Path::new("/proc/net/ip_vs").exists() {
            assert!(out.contains("@@lbdoctor section /proc/net/ip_vs"));
        } else {
            assert_eq!(out.trim(), "@@lbdoctor no-ipvs");
        }
    }
}
