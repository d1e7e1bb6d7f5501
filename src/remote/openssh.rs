//! Hosts behind a bastion (ssh_config ProxyJump): the OpenSSH client does the jump, with the
//! same host-key policy as the libssh2 path: StrictHostKeyChecking=yes (accept-new only with
//! --accept-new) against the same known_hosts file, BatchMode so it never prompts. Every hop
//! gets these options through a ProxyCommand we build (see `proxy_command`).

use super::local::run_command;
use super::ssh_config::HostConfig;
use super::{check_privilege, Limits, Output, Transport, ROOT_WRAPPER};
use crate::cli::SshArgs;
use crate::error::Error;
use std::process::Command;
use std::time::Duration;

pub struct OpenSshTransport {
    name: String,
    hc: HostConfig,
    args: SshArgs,
    limits: Limits,
}

impl OpenSshTransport {
    pub fn connect(name: &str, hc: HostConfig, args: &SshArgs) -> anyhow::Result<Self> {
        let mut t = OpenSshTransport {
            name: name.to_string(),
            hc,
            args: args.clone(),
            limits: Limits::default(),
        };
        // Prove the connection (and the host keys along the jump) now, so errors surface at
        // connect time as they do for the libssh2 path.
        let saved = t.limits;
        t.limits.timeout = Duration::from_secs(t.args.connect_timeout.max(1) * 3);
        t.run("true")?;
        t.limits = saved;
        Ok(t)
    }

    /// The `-o` options every hop gets: our host-key policy against our known_hosts file,
    /// never a prompt.
    fn verify_opts(&self) -> Vec<String> {
        let kh = super::ssh::known_hosts_path(&self.hc, &self.args);
        let strict = if self.args.accept_new {
            "accept-new"
        } else {
            "yes"
        };
        vec![
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("StrictHostKeyChecking={strict}"),
            "-o".into(),
            format!("UserKnownHostsFile={}", kh.display()),
            "-o".into(),
            format!(
                "ConnectTimeout={}",
                self.hc.connect_timeout.unwrap_or(self.args.connect_timeout)
            ),
        ]
    }

    /// The ProxyCommand for the last of `hops`: an ssh to it with the same verification
    /// options, through the earlier hops the same way. OpenSSH's own `-J` would start the
    /// jump ssh with none of our `-o` options (only -F, -l, -p, -v), so the bastion's key
    /// would be checked against whatever the user's config says, or prompted for.
    fn proxy_command(&self, hops: &[&str]) -> Option<String> {
        let (last, before) = hops.split_last()?;
        let mut w: Vec<String> = vec!["ssh".into()];
        if let Some(cfg) = &self.args.ssh_config {
            w.extend(["-F".into(), cfg.display().to_string()]);
        }
        w.extend(self.verify_opts());
        if let Some(id) = &self.args.identity {
            w.extend(["-i".into(), id.display().to_string()]);
        }
        // The chain is the target's ProxyJump list; a hop's own ProxyJump in ssh_config would
        // start an ssh without our options again.
        match self.proxy_command(before) {
            // Its %h/%p belong to the hop that runs it; escaped below for this one.
            Some(inner) => w.extend(["-o".into(), format!("ProxyCommand={inner}")]),
            None => w.extend(["-o".into(), "ProxyJump=none".into()]),
        }
        // ssh expands %-tokens in a ProxyCommand: only -W's are meant as tokens.
        let mut words: Vec<String> = w.iter().map(|x| sh_quote(&x.replace('%', "%%"))).collect();
        words.extend(["-W", "'[%h]:%p'", "--"].map(String::from));
        words.push(sh_quote(&hop_destination(last).replace('%', "%%")));
        Some(words.join(" "))
    }

    fn command(&self) -> Command {
        let mut c = Command::new("ssh");
        if let Some(cfg) = &self.args.ssh_config {
            c.arg("-F").arg(cfg);
        }
        c.args(self.verify_opts());
        if let Some(id) = &self.args.identity {
            c.arg("-i").arg(id);
        }
        if let Some(u) = &self.hc.user {
            c.arg("-l").arg(u);
        }
        c.arg("-p").arg(self.hc.port.to_string());
        if let Some(j) = &self.hc.proxy_jump {
            let hops: Vec<&str> = j
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .collect();
            if let Some(pc) = self.proxy_command(&hops) {
                c.arg("-o").arg(format!("ProxyCommand={pc}"));
            }
        }
        // The alias (not HostName) so ssh applies the rest of the user's config to it; for an
        // inventory host, its `ansible_host` (what Ansible hands to ssh).
        let (_, dest, _) = super::ssh_config::split_destination(&self.hc.alias);
        c.arg("--").arg(dest);
        c.arg(format!("exec /bin/sh -c '{ROOT_WRAPPER}'"));
        c
    }
}

/// One shell word (ssh runs a ProxyCommand with the user's shell).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A ProxyJump hop (`[user@]host[:port]`) as an ssh destination: `ssh://` when it names a
/// port, since ssh takes a port only that way or with -p.
fn hop_destination(hop: &str) -> String {
    if hop.starts_with("ssh://") {
        return hop.to_string();
    }
    let host_part = hop.rsplit_once('@').map(|(_, h)| h).unwrap_or(hop);
    let has_port = if let Some(rest) = host_part.strip_prefix('[') {
        rest.contains("]:")
    } else {
        host_part.matches(':').count() == 1
    };
    if has_port {
        format!("ssh://{hop}")
    } else {
        hop.to_string()
    }
}

/// Map OpenSSH's exit-255 messages to the same errors the libssh2 path gives.
fn classify(host: &str, stderr: &str, kh: &str) -> anyhow::Error {
    let s = stderr.trim();
    let msg = if s.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        format!("@@@ WARNING: THE HOST KEY HAS CHANGED @@@ (ssh refused it against {kh}). Someone could be intercepting this connection, or the host was reinstalled. If you have verified the new key, remove the old one with ssh-keygen -R and run again with --accept-new. ssh said: {s}")
    } else if s.contains("host key is known")
        || s.contains("you have requested strict checking")
        || s.contains("Host key verification failed")
    {
        format!("unknown host key for this host or its ProxyJump bastion (not in {kh}, which is checked for every hop); check the fingerprint on the host, then run again with --accept-new to record it. ssh said: {s}")
    } else if s.contains("Permission denied") {
        format!("authentication failed: {s}. Install your public key (ssh-copy-id) or pass --identity / --user")
    } else {
        format!("cannot connect: {s}. Check that the host (and the ProxyJump bastion) is up and reachable")
    };
    Error::host(host, msg).into()
}

impl Transport for OpenSshTransport {
    fn host(&self) -> &str {
        &self.name
    }

    fn run(&mut self, script: &str) -> anyhow::Result<Output> {
        let out = run_command(&self.name, self.command(), script.as_bytes(), self.limits)?;
        if out.status == 255 {
            let kh = super::ssh::known_hosts_path(&self.hc, &self.args);
            return Err(classify(
                &self.name,
                &out.stderr_lossy(),
                &kh.display().to_string(),
            ));
        }
        check_privilege(&self.name, &out)?;
        Ok(out)
    }

    fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    fn reconnect(&self) -> anyhow::Result<Box<dyn Transport>> {
        let mut args = self.args.clone();
        args.accept_new = false;
        Ok(Box::new(OpenSshTransport::connect(
            &self.name,
            self.hc.clone(),
            &args,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_openssh_messages() {
        let e = classify("h", "@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.", "/k").to_string();
        assert!(e.contains("HAS CHANGED"), "{e}");
        let e = classify("h", "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.", "/k").to_string();
        assert!(e.contains("--accept-new"), "{e}");
        let e = classify("h", "root@x: Permission denied (publickey).", "/k").to_string();
        assert!(e.contains("authentication failed"), "{e}");
        let e = classify(
            "h",
            "ssh: connect to host 10.9.9.9 port 22: Connection refused",
            "/k",
        )
        .to_string();
        assert!(e.contains("cannot connect"), "{e}");
    }
}
