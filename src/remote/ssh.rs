//! SSH through libssh2 (the ssh2 crate): host key verified against known_hosts before any
//! authentication, then ssh-agent and key files.

use super::known_hosts::{self, Verdict};
use super::ssh_config::HostConfig;
use super::{check_privilege, Limits, Output, Transport, ROOT_WRAPPER};
use crate::cli::SshArgs;
use crate::error::Error;
use ssh2::Session;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct SshTransport {
    name: String,
    session: Session,
    fd: i32,
    _tcp: TcpStream,
    limits: Limits,
    hc: HostConfig,
    args: SshArgs,
}

/// libssh2's "would block" code.
const EAGAIN: i32 = -37;

fn host_err(host: &str, msg: impl Into<String>) -> anyhow::Error {
    Error::host(host, msg).into()
}

/// The key type named inside an SSH public key blob (string, then key data).
fn blob_type(blob: &[u8]) -> String {
    if blob.len() >= 4 {
        let n = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
        if let Some(t) = blob.get(4..4 + n) {
            return String::from_utf8_lossy(t).into_owned();
        }
    }
    "unknown".into()
}

pub fn known_hosts_path(hc: &HostConfig, args: &SshArgs) -> PathBuf {
    args.known_hosts
        .clone()
        .or_else(|| hc.known_hosts.clone())
        .unwrap_or_else(known_hosts::default_path)
}

impl SshTransport {
    pub fn connect(name: &str, hc: HostConfig, args: &SshArgs) -> anyhow::Result<SshTransport> {
        let timeout =
            Duration::from_secs(hc.connect_timeout.unwrap_or(args.connect_timeout).max(1));
        let target = format!("{}:{}", hc.hostname, hc.port);
        let addrs: Vec<_> = (hc.hostname.as_str(), hc.port)
            .to_socket_addrs()
            .map_err(|e| {
                host_err(
                    name,
                    format!(
                        "cannot resolve {}: {e} (check the name, or add a HostName in ssh_config)",
                        hc.hostname
                    ),
                )
            })?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            let why = match &last {
                Some(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => {
                    format!("no answer within {} s", timeout.as_secs())
                }
                Some(e) => e.to_string(),
                None => "no address".into(),
            };
            host_err(
                name,
                format!("cannot connect to {target}: {why}. Check that the host is up, the address and port are right (ssh_config HostName/Port), and sshd is running"),
            )
        })?;
        let fd = tcp.as_raw_fd();
        let mut session = Session::new().map_err(|e| host_err(name, format!("ssh: {e}")))?;
        session.set_tcp_stream(tcp.try_clone()?);
        session.set_timeout(timeout.as_millis() as u32);

        let kh_path = known_hosts_path(&hc, args);
        let entries = known_hosts::load_with_global(&kh_path, Path::new(known_hosts::GLOBAL))?;
        let lookup = hc
            .host_key_alias
            .clone()
            .unwrap_or_else(|| known_hosts::lookup_name(&hc.hostname, hc.port));
        // Ask for a key type we already trust first, as OpenSSH does.
        let known = known_hosts::known_types(&entries, &lookup);
        if !known.is_empty() {
            if let Ok(all) = session.supported_algs(ssh2::MethodType::HostKey) {
                let mut pref: Vec<&str> = known
                    .iter()
                    .filter(|t| all.contains(&t.as_str()))
                    .map(|s| s.as_str())
                    .collect();
                pref.extend(all.iter().filter(|a| !known.iter().any(|k| k == *a)));
                let _ = session.method_pref(ssh2::MethodType::HostKey, &pref.join(","));
            }
        }
        session.handshake().map_err(|e| {
            host_err(
                name,
                format!("SSH handshake with {target} failed: {e} (is it an SSH server?)"),
            )
        })?;

        let (blob, _) = session
            .host_key()
            .ok_or_else(|| host_err(name, "the server presented no host key"))?;
        let blob = blob.to_vec();
        let ktype = blob_type(&blob);
        let fp = known_hosts::fingerprint_sha256(&blob);
        match known_hosts::check(&entries, &lookup, &ktype, &blob) {
            Verdict::Known { .. } => {}
            Verdict::Revoked { line } => {
                return Err(host_err(name, format!(
                    "the host key {ktype} {fp} is marked @revoked in {}:{line}; refusing to connect",
                    kh_path.display()
                )))
            }
            Verdict::Changed { line } => {
                return Err(host_err(name, format!(
                    "@@@ WARNING: THE HOST KEY HAS CHANGED @@@ {lookup} now presents {ktype} {fp}, \
                     but {}:{line} records a different {ktype} key. Someone could be intercepting this \
                     connection (man-in-the-middle), or the host was reinstalled. lbdoctor refused to \
                     connect. If you have verified the new key, remove the old one with \
                     `ssh-keygen -R '{lookup}' -f {}` and run again with --accept-new",
                    kh_path.display(),
                    kh_path.display()
                )))
            }
            Verdict::Unknown { other_types } if !other_types.is_empty() => {
                // The host is on file, but not with the type it offers now: treat it as a
                // changed key, even with --accept-new (which is only for hosts never seen).
                return Err(host_err(name, format!(
                    "@@@ WARNING: THE HOST KEY HAS CHANGED @@@ {lookup} now presents only {ktype} {fp}, \
                     but {} records it with {} key(s) and no {ktype} key. Someone could be \
                     intercepting this connection (man-in-the-middle), or the host's keys were \
                     replaced. lbdoctor refused to connect. Check the fingerprint on the host \
                     (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub); if it is right, remove the old \
                     entry with `ssh-keygen -R '{lookup}' -f {}` and record the new key by hand",
                    kh_path.display(),
                    other_types.join(", "),
                    kh_path.display()
                )));
            }
            Verdict::Unknown { .. } => {
                if args.accept_new {
                    known_hosts::append(&kh_path, &lookup, &ktype, &blob)?;
                    eprintln!(
                        "lbdoctor: {name}: recorded new host key {ktype} {fp} for {lookup} in {}",
                        kh_path.display()
                    );
                } else {
                    return Err(host_err(name, format!(
                        "unknown host key for {lookup}: {ktype} {fp} is not in {}. Check this \
                         fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then run \
                         again with --accept-new to record it",
                        kh_path.display()
                    )));
                }
            }
        }

        let user = hc
            .user
            .clone()
            .unwrap_or_else(super::ssh_config::current_user);
        authenticate(name, &session, &user, &hc, args.identity.as_deref())?;
        Ok(SshTransport {
            name: name.to_string(),
            session,
            fd,
            _tcp: tcp,
            limits: Limits::default(),
            hc,
            args: args.clone(),
        })
    }

    fn wait_socket(&self, ms: i32) {
        let dirs = self.session.block_directions();
        let mut events = 0;
        if matches!(
            dirs,
            ssh2::BlockDirections::Inbound | ssh2::BlockDirections::Both
        ) {
            events |= libc::POLLIN;
        }
        if matches!(
            dirs,
            ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
        ) {
            events |= libc::POLLOUT;
        }
        if events == 0 {
            events = libc::POLLIN;
        }
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd on a socket we own for the call's duration.
        unsafe {
            libc::poll(&mut pfd, 1, ms);
        }
    }

    /// Call `step` until it stops returning EAGAIN, waiting on the socket between calls;
    /// false when `deadline` passes first.
    fn until_not_again(
        &self,
        deadline: Instant,
        mut step: impl FnMut() -> Result<(), ssh2::Error>,
    ) -> bool {
        loop {
            match step() {
                Err(e) if e.code() == ssh2::ErrorCode::Session(EAGAIN) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    self.wait_socket(50)
                }
                _ => return true,
            }
        }
    }

    fn run_inner(&mut self, script: &str) -> anyhow::Result<Output> {
        let host = self.name.clone();
        let deadline = Instant::now() + self.limits.timeout;
        let mut ch = self
            .session
            .channel_session()
            .map_err(|e| host_err(&host, format!("cannot open an SSH channel: {e}")))?;
        ch.exec(&format!("exec /bin/sh -c '{ROOT_WRAPPER}'"))
            .map_err(|e| host_err(&host, format!("cannot start a command: {e}")))?;
        self.session.set_blocking(false);
        let timed_out = || {
            host_err(
                &host,
                format!(
                    "command did not finish within {} s",
                    self.limits.timeout.as_secs()
                ),
            )
        };
        let input = script.as_bytes();
        let mut sent = 0;
        let mut eof_sent = false;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut buf = [0u8; 32768];
        let max = self.limits.max_output;
        loop {
            let mut progress = false;
            if sent < input.len() {
                match ch.write(&input[sent..]) {
                    Ok(n) => {
                        sent += n;
                        progress = n > 0;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => {
                        return Err(host_err(&host, format!("sending the script failed: {e}")))
                    }
                }
            } else if !eof_sent {
                match ch.send_eof() {
                    Ok(()) => eof_sent = true,
                    Err(e) if e.code() == ssh2::ErrorCode::Session(EAGAIN) => {}
                    Err(e) => return Err(host_err(&host, format!("ssh: {e}"))),
                }
            }
            for (stream, sink) in [(0, &mut out), (1, &mut err)] {
                let r = if stream == 0 {
                    ch.read(&mut buf)
                } else {
                    ch.stderr().read(&mut buf)
                };
                match r {
                    Ok(0) => {}
                    Ok(n) => {
                        if sink.len() + n > max {
                            return Err(host_err(
                                &host,
                                format!("command printed more than {max} bytes; output refused"),
                            ));
                        }
                        sink.extend_from_slice(&buf[..n]);
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(host_err(&host, format!("reading output failed: {e}"))),
                }
            }
            if ch.eof() && eof_sent {
                break;
            }
            if Instant::now() >= deadline {
                let _ = ch.close();
                return Err(timed_out());
            }
            if !progress {
                self.wait_socket(50);
            }
        }
        // Non-blocking: retry while libssh2 says EAGAIN; any other error ends the step.
        if !self.until_not_again(deadline, || ch.close())
            || !self.until_not_again(deadline, || ch.wait_close())
        {
            return Err(timed_out());
        }
        let status = ch.exit_status().unwrap_or(-1);
        Ok(Output {
            stdout: out,
            stderr: err,
            status,
        })
    }
}

fn authenticate(
    name: &str,
    session: &Session,
    user: &str,
    hc: &HostConfig,
    explicit: Option<&Path>,
) -> anyhow::Result<()> {
    let methods = session.auth_methods(user).unwrap_or("");
    if session.authenticated() {
        return Ok(());
    }
    if !methods.split(',').any(|m| m == "publickey") {
        return Err(host_err(name, format!(
            "the server does not accept public keys for {user} (it offers: {methods}); lbdoctor authenticates with keys only (ssh-agent or --identity)"
        )));
    }
    let mut tried: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    // An explicit --identity comes first; then the agent; then ssh_config/default key files.
    let try_file = |p: &Path, tried: &mut Vec<String>, notes: &mut Vec<String>| -> bool {
        if !p.exists() {
            return false;
        }
        tried.push(p.display().to_string());
        let pubp = PathBuf::from(format!("{}.pub", p.display()));
        let pubk = pubp.exists().then_some(pubp.as_path());
        match session.userauth_pubkey_file(user, pubk, p, None) {
            Ok(()) => session.authenticated(),
            Err(e) => {
                if let Ok(t) = std::fs::read_to_string(p) {
                    if t.contains("ENCRYPTED") || e.message().contains("passphrase") {
                        notes.push(format!(
                            "{} is passphrase-protected: load it into ssh-agent (ssh-add)",
                            p.display()
                        ));
                    }
                }
                false
            }
        }
    };
    if let Some(p) = explicit {
        if !p.exists() {
            return Err(host_err(
                name,
                format!("identity file {} not found (check --identity)", p.display()),
            ));
        }
        if try_file(p, &mut tried, &mut notes) {
            return Ok(());
        }
    }
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        if let Ok(mut agent) = session.agent() {
            if agent.connect().is_ok() && agent.list_identities().is_ok() {
                let ids = agent.identities().unwrap_or_default();
                tried.push(format!("ssh-agent ({} keys)", ids.len()));
                for id in ids {
                    if agent.userauth(user, &id).is_ok() && session.authenticated() {
                        let _ = agent.disconnect();
                        return Ok(());
                    }
                }
                let _ = agent.disconnect();
            }
        }
    }
    let home = super::ssh_config::home_dir();
    let mut files: Vec<PathBuf> = hc
        .identity_files
        .iter()
        .filter(|p| Some(p.as_path()) != explicit)
        .cloned()
        .collect();
    if files.is_empty() && explicit.is_none() {
        for n in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            files.push(home.join(".ssh").join(n));
        }
    }
    for p in &files {
        if try_file(p, &mut tried, &mut notes) {
            return Ok(());
        }
    }
    let tried = if tried.is_empty() {
        "no ssh-agent and no key file found".to_string()
    } else {
        format!("tried {}", tried.join(", "))
    };
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    Err(host_err(name, format!(
        "authentication failed for user {user} ({tried}{notes}). Install your public key in the user's authorized_keys (ssh-copy-id), or pass --identity / --user"
    )))
}

impl Transport for SshTransport {
    fn host(&self) -> &str {
        &self.name
    }

    fn run(&mut self, script: &str) -> anyhow::Result<Output> {
        let r = self.run_inner(script);
        self.session.set_blocking(true);
        let out = r?;
        check_privilege(&self.name, &out)?;
        Ok(out)
    }

    fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    fn reconnect(&self) -> anyhow::Result<Box<dyn Transport>> {
        let mut args = self.args.clone();
        // The key was verified (or recorded) by the first connection.
        args.accept_new = false;
        let mut t = SshTransport::connect(&self.name, self.hc.clone(), &args)?;
        t.limits = self.limits;
        Ok(Box::new(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_type_reads_the_leading_string() {
        let mut b = vec![0, 0, 0, 11];
        b.extend_from_slice(b"ssh-ed25519");
        b.extend_from_slice(&[0, 0, 0, 32]);
        assert_eq!(blob_type(&b), "ssh-ed25519");
        assert_eq!(blob_type(&[0, 0, 9]), "unknown");
        assert_eq!(blob_type(&[0, 0, 0, 200, 1]), "unknown");
    }
}
