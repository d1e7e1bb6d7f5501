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

/// A "real server" in a network namespace with a private /etc (an overlay, so writes stay in
/// the test's temp dir): ens3 192.168.21.x/24 and ens4 192.168.21.(x+60)/24 (veths), an HTTP
/// listener on :80, and the sysctls of the incident's broken app2. A holder process keeps the
/// mount namespace alive; commands enter it with `nsenter -t PID -n -m`.
pub struct NetNs {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub holder: Child,
    pub http: Option<Child>,
}

pub fn can_use_netns() -> bool {
    if !nix::unistd::geteuid().is_root()
        || Command::new("ip")
            .arg("netns")
            .arg("list")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
    {
        eprintln!("SKIP: needs root and `ip netns`");
        return false;
    }
    true
}

pub fn sh(cmd: &str) -> std::process::Output {
    let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    if !o.status.success() {
        eprintln!("`{cmd}` failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    o
}

impl NetNs {
    pub fn app(tag: &str, last_octet: u8) -> NetNs {
        NetNs::app_with_prefix("lbdaud", tag, last_octet)
    }

    /// `app` with a namespace name prefix of the test file's own (`PREFIX-TAG`); `tag` also
    /// names the host-side veths, so it must be unique across test files.
    pub fn app_with_prefix(prefix: &str, tag: &str, last_octet: u8) -> NetNs {
        let name = format!("{prefix}-{tag}");
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = sh(&format!(
            "ip link del {tag}e3 2>/dev/null; ip link del {tag}e4 2>/dev/null"
        ));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        sh(&format!(
            "set -e; ip netns add {name}
             ip link add {tag}e3 type veth peer name ens3 netns {name}
             ip link add {tag}e4 type veth peer name ens4 netns {name}
             ip -n {name} link set lo up; ip -n {name} link set ens3 up; ip -n {name} link set ens4 up
             ip -n {name} addr add 192.168.21.{a}/24 dev ens3; ip -n {name} addr add 192.168.21.{b}/24 dev ens4
             ip netns exec {name} sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.ens3.rp_filter=1 net.ipv4.conf.ens4.rp_filter=1 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0
             mkdir -p {d}/upper {d}/work",
            a = last_octet,
            b = last_octet + 60
        ));
        let holder = Command::new("ip")
            .args(["netns", "exec", &name, "unshare", "--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!("mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/upper,workdir={d}/work /etc && exec sleep 100000"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the overlay is mounted in the holder's mount namespace.
        let start = Instant::now();
        loop {
            let m = std::fs::read_to_string(format!("/proc/{}/mounts", holder.id()))
                .unwrap_or_default();
            if m.contains("overlay /etc") || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut ns = NetNs {
            name,
            dir,
            holder,
            http: None,
        };
        let http = Command::new("nsenter")
            .args(ns.prefix())
            .args(["python3", "-m", "http.server", "80", "--bind", "0.0.0.0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        ns.http = Some(http);
        // Wait until the server listens: python's start-up alone can take over a second on
        // a loaded machine, and a fixed sleep made the first request of a test flaky.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15)
            && !ns.exec("ss -ltnH 'sport = :80'").contains(":80")
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        ns
    }

    /// `nsenter` arguments (without the program name) that enter this namespace pair.
    pub fn prefix(&self) -> Vec<String> {
        vec![
            "-t".into(),
            self.holder.id().to_string(),
            "-n".into(),
            "-m".into(),
        ]
    }

    pub fn transport(&self) -> lbdoctor::remote::local::LocalTransport {
        let mut p = vec!["nsenter".to_string()];
        p.extend(self.prefix());
        lbdoctor::remote::local::LocalTransport::with_prefix(&self.name, p)
    }

    pub fn exec(&self, cmd: &str) -> String {
        let o = Command::new("nsenter")
            .args(self.prefix())
            .args(["sh", "-c", cmd])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    }

    /// `lbdoctor --format json audit --local --vip VIP EXTRA...` run inside the namespace: its
    /// exit code and JSON report.
    pub fn audit_local(&self, vip: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
        let out = self
            .lbdoctor()
            .args(["--format", "json", "audit", "--local", "--vip", vip])
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), json(&out))
    }

    /// The lbdoctor binary run inside the namespace.
    pub fn lbdoctor(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new("nsenter");
        c.args(self.prefix())
            .arg(assert_cmd::cargo::cargo_bin("lbdoctor"));
        c
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Some(h) = &mut self.http {
            let _ = h.kill();
            let _ = h.wait();
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// lbdoctor's JSON report from a finished run; panics with both streams when it is not JSON.
pub fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The check ids in a report's `findings` (or `findings_before`) list.
pub fn ids(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A client at 192.168.21.50 on the far end of an app namespace's ens3 veth, in its own
/// namespace, with a static ARP entry that sends VIP traffic to the app's MAC: what an LVS-DR
/// director does, without IPVS (this kernel has none).
pub struct Client {
    pub name: String,
}

impl Client {
    pub fn attach(ns: &NetNs, tag: &str) -> Client {
        const VIP: &str = "192.168.21.20";
        let name = format!("lbdaud-{tag}c");
        let _ = sh(&format!("ip netns del {name} 2>/dev/null"));
        let mac = ns
            .exec("cat /sys/class/net/ens3/address")
            .trim()
            .to_string();
        sh(&format!(
            "set -e; ip netns add {name}; ip link set {tag}e3 netns {name}; ip -n {name} link set lo up; ip -n {name} link set {tag}e3 up; ip -n {name} addr add 192.168.21.50/24 dev {tag}e3; ip -n {name} neigh replace {VIP} lladdr {mac} dev {tag}e3 nud permanent"
        ));
        Client { name }
    }

    pub fn exec(&self, cmd: &str) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", cmd])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    }

    /// The HTTP status of GET http://ip/ ("000" when nothing answers within 2 s).
    pub fn curl(&self, ip: &str) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.name, "curl", "-s", "-o", "/dev/null"])
            .args(["-w", "%{http_code}", "--max-time", "2"])
            .arg(format!("http://{ip}/"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = sh(&format!("ip netns del {}", self.name));
    }
}
