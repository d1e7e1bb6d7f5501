//! Running shell scripts on hosts: this machine (no SSH) or over SSH with verified host keys.
//!
//! Every script is sent on stdin, never in argv (nothing secret or long shows in `ps`), and
//! runs as root: directly when the login user is root, else through `sudo -n`, which fails
//! at once with a clear error instead of waiting for a password. Output size and run time are
//! bounded per command.

pub mod inventory;
pub mod known_hosts;
pub mod local;
pub mod openssh;
pub mod ssh;
pub mod ssh_config;

use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: i32,
}

impl Output {
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Bounds applied to each `run`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// Most bytes kept per stream; more is an error (the output is not trusted half-read).
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(120),
            max_output: 64 << 20,
        }
    }
}

pub trait Transport: Send {
    /// The name the user gave (an ssh_config alias, an address, or "localhost").
    fn host(&self) -> &str;
    /// Run a POSIX shell script as root; its stdout, stderr and exit status.
    fn run(&mut self, script: &str) -> anyhow::Result<Output>;
    fn set_limits(&mut self, _limits: Limits) {}
    /// Open a new, independent connection to the same host (the rollback guard's proof that
    /// a fresh login still works after a firewall change).
    fn reconnect(&self) -> anyhow::Result<Box<dyn Transport>> {
        anyhow::bail!(
            "host {}: this transport cannot open a second session",
            self.host()
        )
    }
}

/// `localhost` (or `local`) runs locally; anything else is an SSH destination or alias.
pub fn connect(host: &str, ssh: &crate::cli::SshArgs) -> anyhow::Result<Box<dyn Transport>> {
    connect_dest(&Dest::named(host), ssh)
}

/// A host as an inventory names it: the name shown in findings, and what to reach instead of
/// resolving that name (Ansible's `ansible_host`, `ansible_port`, `ansible_user`,
/// `ansible_ssh_private_key_file`, `ansible_connection=local`). Unset fields fall back to
/// ssh_config and the command line, as for `--host`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dest {
    pub name: String,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity: Option<std::path::PathBuf>,
    pub local: bool,
}

impl Dest {
    pub fn named(name: &str) -> Dest {
        Dest {
            name: name.to_string(),
            ..Default::default()
        }
    }
}

pub fn connect_dest(d: &Dest, ssh: &crate::cli::SshArgs) -> anyhow::Result<Box<dyn Transport>> {
    if d.local || (is_local(&d.name) && d.address.is_none()) {
        return Ok(Box::new(local::LocalTransport::new(&d.name)));
    }
    let hc = resolve_dest(d, ssh)?;
    let mut ssh = ssh.clone();
    if d.identity.is_some() {
        ssh.identity = d.identity.clone();
    }
    if hc.proxy_jump.is_some() {
        return Ok(Box::new(openssh::OpenSshTransport::connect(
            &d.name, hc, &ssh,
        )?));
    }
    Ok(Box::new(ssh::SshTransport::connect(&d.name, hc, &ssh)?))
}

pub fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "local")
}

/// ssh_config resolution plus `user@host:port` in the destination itself.
pub fn resolve(host: &str, ssh: &crate::cli::SshArgs) -> anyhow::Result<ssh_config::HostConfig> {
    resolve_dest(&Dest::named(host), ssh)
}

/// As `resolve`, for the address the inventory gives (else the name). The inventory's port,
/// user and key win over ssh_config and the command line, as Ansible's connection variables
/// win over `ssh_config` and `-u`/`--private-key`. `alias` is what OpenSSH is given as the
/// destination, so ssh_config applies to it as it does when Ansible runs ssh.
pub fn resolve_dest(d: &Dest, ssh: &crate::cli::SshArgs) -> anyhow::Result<ssh_config::HostConfig> {
    let lookup = d.address.as_deref().unwrap_or(&d.name);
    let (user, name, port) = ssh_config::split_destination(lookup);
    let mut hc = ssh_config::resolve(&name, ssh.ssh_config.as_deref())?;
    hc.alias = lookup.to_string();
    if let Some(p) = d.port.or(port) {
        hc.port = p;
    }
    if let Some(u) = d.user.clone().or(user).or_else(|| ssh.user.clone()) {
        hc.user = Some(u);
    }
    if let Some(id) = d.identity.as_ref().or(ssh.identity.as_ref()) {
        hc.identity_files.insert(0, id.clone());
    }
    Ok(hc)
}

/// Runs the script from stdin as root. Kept free of single quotes so it can be wrapped in
/// `/bin/sh -c '...'` whatever the login shell is.
pub(crate) const ROOT_WRAPPER: &str = "if [ \"$(id -u)\" = 0 ]; then exec /bin/sh -s; fi; \
if command -v sudo >/dev/null 2>&1; then exec sudo -n /bin/sh -s; fi; \
echo \"lbdoctor: not root and sudo is not installed\" >&2; exit 126";

/// Turn the wrapper's own failures (sudo wants a password, no sudo) into one clear error.
pub(crate) fn check_privilege(host: &str, out: &Output) -> anyhow::Result<()> {
    let err = out.stderr_lossy();
    if out.status != 0 && out.stdout.is_empty() {
        let first = err.lines().next().unwrap_or("").to_string();
        if first.starts_with("sudo:") && (err.contains("password") || err.contains("terminal")) {
            return Err(crate::error::Error::host(
                host,
                format!(
                    "the login user is not root and sudo wants a password ({first}). \
                     Allow passwordless sudo for this user (NOPASSWD in sudoers) or connect as root (--user root)"
                ),
            )
            .into());
        }
        if first.starts_with("lbdoctor: not root") {
            return Err(crate::error::Error::host(
                host,
                "the login user is not root and sudo is not installed; connect as root (--user root)",
            )
            .into());
        }
    }
    Ok(())
}
