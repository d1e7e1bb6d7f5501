//! This machine, without SSH: the same root wrapper, run by /bin/sh.

use super::{check_privilege, Limits, Output, Transport, ROOT_WRAPPER};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

pub struct LocalTransport {
    name: String,
    limits: Limits,
    prefix: Vec<String>,
}

impl LocalTransport {
    pub fn new(name: &str) -> Self {
        LocalTransport {
            name: name.to_string(),
            limits: Limits::default(),
            prefix: Vec::new(),
        }
    }

    /// Run through a wrapper command, e.g. `nsenter -t PID -n -m` to act inside a network
    /// and mount namespace (how the fix tests reach their namespaces).
    pub fn with_prefix(name: &str, prefix: Vec<String>) -> Self {
        LocalTransport {
            prefix,
            ..Self::new(name)
        }
    }
}

impl Transport for LocalTransport {
    fn host(&self) -> &str {
        &self.name
    }

    fn run(&mut self, script: &str) -> anyhow::Result<Output> {
        let mut cmd = match self.prefix.split_first() {
            Some((p, rest)) => {
                let mut c = Command::new(p);
                c.args(rest).arg("/bin/sh");
                c
            }
            None => Command::new("/bin/sh"),
        };
        cmd.arg("-c").arg(ROOT_WRAPPER);
        let out = run_command(&self.name, cmd, script.as_bytes(), self.limits)?;
        check_privilege(&self.name, &out)?;
        Ok(out)
    }

    fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    fn reconnect(&self) -> anyhow::Result<Box<dyn Transport>> {
        Ok(Box::new(LocalTransport {
            name: self.name.clone(),
            limits: self.limits,
            prefix: self.prefix.clone(),
        }))
    }
}

/// Read at most `max` bytes, then keep draining (so the writer is not blocked) and report
/// whether anything was dropped.
fn read_bounded(mut r: impl Read, max: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 16384];
    let mut over = false;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                over |= n > room;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    (kept, over)
}

/// Run `cmd` with `stdin` as its input, bounded by `limits`; on timeout the whole process
/// group is killed.
pub(crate) fn run_command(
    host: &str,
    mut cmd: Command,
    stdin: &[u8],
    limits: Limits,
) -> anyhow::Result<Output> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| crate::error::Error::host(host, format!("cannot start {program}: {e}")))?;
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let max = limits.max_output;
    for (idx, pipe) in [
        (0u8, out.map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (1, err.map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ] {
        let tx = tx.clone();
        if let Some(p) = pipe {
            std::thread::spawn(move || {
                let _ = tx.send((idx, read_bounded(p, max)));
            });
        }
    }
    drop(tx);
    if let Some(mut input) = child.stdin.take() {
        let data = stdin.to_vec();
        // A writer thread: a script that exits early must not block us on a full pipe.
        std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
    }
    let deadline = Instant::now() + limits.timeout;
    let pgid = child.id() as i32;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
            return Err(crate::error::Error::host(
                host,
                format!(
                    "command did not finish within {} s and was killed",
                    limits.timeout.as_secs()
                ),
            )
            .into());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let mut res = Output {
        status: status.code().unwrap_or(128 + 9),
        ..Default::default()
    };
    // A background child that kept our pipes open must not hang us past the deadline.
    for _ in 0..2 {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(std::time::Duration::from_secs(1));
        match rx.recv_timeout(left) {
            Ok((idx, (data, over))) => {
                if over {
                    return Err(crate::error::Error::host(
                        host,
                        format!("command printed more than {} bytes; output refused", max),
                    )
                    .into());
                }
                if idx == 0 {
                    res.stdout = data;
                } else {
                    res.stderr = data;
                }
            }
            Err(_) => break,
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn runs_script_from_stdin_with_status_and_streams() {
        let mut t = LocalTransport::new("localhost");
        let o = t.run("echo out; echo err >&2; exit 3").unwrap();
        assert_eq!(o.stdout, b"out\n");
        assert_eq!(o.stderr, b"err\n");
        assert_eq!(o.status, 3);
    }

    #[test]
    fn timeout_kills_and_errors() {
        let mut t = LocalTransport::new("localhost");
        t.set_limits(Limits {
            timeout: Duration::from_millis(300),
            max_output: 1024,
        });
        let e = t.run("sleep 5").unwrap_err().to_string();
        assert!(e.contains("did not finish"), "{e}");
    }

    #[test]
    fn output_over_limit_is_refused() {
        let mut t = LocalTransport::new("localhost");
        t.set_limits(Limits {
            timeout: Duration::from_secs(10),
            max_output: 1000,
        });
        let e = t.run("head -c 5000 /dev/zero").unwrap_err().to_string();
        assert!(e.contains("more than 1000 bytes"), "{e}");
    }
}
