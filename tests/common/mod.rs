//! A real OpenSSH server on 127.0.0.1 (or inside a network namespace) with generated keys,
//! for the transport, audit and fix integration tests. Needs root (sshd) and /usr/sbin/sshd;
//! tests skip with a message otherwise.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub addr: String,
    pub child: Child,
}

pub fn can_run_sshd() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let present = Path::new("/usr/sbin/sshd").exists();
    if !root || !present {
        eprintln!("SKIP: needs root and /usr/sbin/sshd (root={root}, sshd={present})");
        return false;
    }
    true
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn keygen(path: &Path, kind: &str) {
    let _ = std::fs::remove_file(path);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", kind, "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

impl Sshd {
    /// Start sshd on 127.0.0.1:<free port>.
    pub fn start() -> Sshd {
        Self::start_with(None, "127.0.0.1", free_port())
    }

    /// Start sshd, optionally via a wrapper (e.g. `ip netns exec NS unshare --mount ...`).
    pub fn start_with(wrapper: Option<Vec<String>>, addr: &str, port: u16) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "ed25519");
        keygen(&d.join("id_ed25519"), "ed25519");
        std::fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let cfg = format!(
            "ListenAddress {addr}:{port}\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\nPidFile {pid}\nLogLevel ERROR\nMaxStartups 100\n",
            hk = d.join("host_ed25519").display(),
            ak = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), cfg).unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host target\n  HostName {addr}\n  Port {port}\n  User root\n  IdentityFile {}\n",
                d.join("id_ed25519").display()
            ),
        )
        .unwrap();
        let mut argv: Vec<String> = wrapper.unwrap_or_default();
        argv.extend(
            [
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
                &d.join("sshd_config").to_string_lossy(),
            ]
            .map(String::from),
        );
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("sshd.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let s = Sshd {
            dir,
            port,
            addr: addr.to_string(),
            child,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        let a: std::net::SocketAddr = format!("{}:{}", self.addr, self.port).parse().unwrap();
        while start.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "sshd did not start: {}",
            std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
        );
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// known_hosts line for this server, as ssh-keyscan would record it.
    pub fn known_hosts_line(&self) -> String {
        let pubk = std::fs::read_to_string(self.path("host_ed25519.pub")).unwrap();
        let mut f = pubk.split_whitespace();
        format!(
            "[{}]:{} {} {}\n",
            self.addr,
            self.port,
            f.next().unwrap(),
            f.next().unwrap()
        )
    }

    pub fn host_fingerprint(&self) -> String {
        let o = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.path("host_ed25519.pub"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    }

    pub fn ssh_args(&self, known_hosts: &Path) -> lbdoctor::cli::SshArgs {
        lbdoctor::cli::SshArgs {
            accept_new: false,
            known_hosts: Some(known_hosts.to_path_buf()),
            ssh_config: Some(self.path("ssh_config")),
            identity: Some(self.path("id_ed25519")),
            user: None,
            connect_timeout: 5,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
