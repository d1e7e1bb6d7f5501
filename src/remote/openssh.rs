//! Hosts behind a bastion (ssh_config ProxyJump): the OpenSSH client does the jump, with the
//! same host-key policy as the libssh2 path: StrictHostKeyChecking=yes (accept-new only with
//! --accept-new) against the same known_hosts file, BatchMode so it never prompts.

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

    fn command(&self) -> Command {
        let kh = super::ssh::known_hosts_path(&self.hc, &self.args);
        let mut c = Command::new("ssh");
        if let Some(cfg) = &self.args.ssh_config {
            c.arg("-F").arg(cfg);
        }
        let strict = if self.args.accept_new {
            "accept-new"
        } else {
            "yes"
        };
        c.args(["-o", "BatchMode=yes", "-o"])
            .arg(format!("StrictHostKeyChecking={strict}"))
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", kh.display()))
            .arg("-o")
            .arg(format!(
                "ConnectTimeout={}",
                self.hc.connect_timeout.unwrap_or(self.args.connect_timeout)
            ));
        if let Some(id) = &self.args.identity {
            c.arg("-i").arg(id);
        }
        if let Some(u) = &self.hc.user {
            c.arg("-l").arg(u);
        }
        c.arg("-p").arg(self.hc.port.to_string());
        if let Some(j) = &self.hc.proxy_jump {
            c.arg("-J").arg(j);
        }
        // The alias (not HostName) so ssh applies the rest of the user's config to it; for an
        // inventory host, its `ansible_host` (what Ansible hands to ssh).
        let (_, dest, _) = super::ssh_config::split_destination(&self.hc.alias);
        c.arg("--").arg(dest);
        c.arg(format!("exec /bin/sh -c '{ROOT_WRAPPER}'"));
        c
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
        format!("unknown host key (not in {kh}); check the fingerprint on the host, then run again with --accept-new to record it. ssh said: {s}")
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
