//! The command-line surface. completions/ and man/ are generated from these definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "lbdoctor",
    version,
    about = "Diagnose and repair LVS/IPVS + keepalived load balancers (DSR first)",
    long_about = "lbdoctor diagnoses and repairs Linux load-balancer clusters built from LVS/IPVS and \
keepalived, above all in Direct Server Return (lvs_method DR) mode: `detect` tells DSR from NAT from \
a proxy on the wire, `lint` reads keepalived.conf as keepalived does, `state` explains the IPVS \
table, `audit` checks and repairs real servers and directors, `explain` documents every check.",
    after_help = "EXIT STATUS:\n  0  no finding at or above --fail-on (default: warning)\n  1  findings at or above --fail-on\n  2  usage or runtime error (unreadable file, unreachable host, missing permission)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Output format (sarif: lint only)
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Lowest severity that makes the exit status 1
    #[arg(long, global = true, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    /// Print findings only: no summaries, no progress
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)
    Detect(DetectArgs),
    /// Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses
    Lint(LintArgs),
    /// Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf
    State(StateArgs),
    /// Audit real servers and directors over SSH; --fix applies and persists the repair
    Audit(AuditArgs),
    /// Test each real server's VIP path the way an IPVS director in DR mode reaches it
    Check(CheckArgs),
    /// Explain a check: what it finds, why it matters, how to fix it
    Explain(ExplainArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DetectArgs {
    /// The virtual IP to examine, with an optional port (default 80): 192.168.21.20, 192.168.21.20:443, [2001:db8::20]:80
    #[arg(value_name = "VIP[:PORT]")]
    pub target: String,
    /// Interface to capture on (default: the interface that routes to the VIP)
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Read packets from a pcap or pcapng file instead of capturing live
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "interface"
    )]
    pub read: Option<PathBuf>,
    /// Save the live capture to a pcap file as evidence
    #[arg(
        short = 'w',
        long = "write",
        value_name = "FILE",
        conflicts_with = "read"
    )]
    pub write: Option<PathBuf>,
    /// How long to capture live, in seconds
    #[arg(
        short = 'd',
        long = "duration",
        value_name = "SECONDS",
        default_value_t = 10.0
    )]
    pub duration: f64,
    /// Stop after this many packets
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,
    /// Number of TCP connection probes to send to VIP:PORT during a live capture
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        conflicts_with = "no_probe"
    )]
    pub probes: u32,
    /// Only listen; send no probes
    #[arg(long)]
    pub no_probe: bool,
    /// Most flows tracked at once; older ones are evicted and counted (bounds memory under floods)
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub max_flows: usize,
}

#[derive(Args, Debug, Clone)]
pub struct LintArgs {
    /// keepalived.conf files; give both peers' files together for cross-file VRRP checks
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Only report these checks (comma-separated ids or prefixes, e.g. LB001,LB1)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub select: Vec<String>,
    /// Do not report these checks (comma-separated ids or prefixes)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub ignore: Vec<String>,
    /// Addresses of the director itself, to find real servers that are the director (ping-pong)
    #[arg(long = "director-addr", value_delimiter = ',', value_name = "IP")]
    pub director_addrs: Vec<String>,
    /// keepalived's config id (its -i), selecting `@id` conditional lines
    #[arg(long, value_name = "ID")]
    pub config_id: Option<String>,
    /// The effective configuration in --format json: auto = full up to 2000 virtual servers,
    /// else a summary (counts and VRRP instances); full; summary; none
    #[arg(long, value_enum, default_value_t = ModelMode::Auto, value_name = "MODE")]
    pub model: ModelMode,
}

/// How much of the effective configuration `lint --format json` carries.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelMode {
    Auto,
    Full,
    Summary,
    None,
}

/// How to reach hosts. Shared by state and audit.
#[derive(Args, Debug, Clone, Default)]
pub struct SshArgs {
    /// Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)
    #[arg(long)]
    pub accept_new: bool,
    /// known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// ssh_config file for host aliases (default: ~/.ssh/config)
    #[arg(long = "ssh-config", value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// SSH user (default: from ssh_config, else the current user)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Seconds to wait for a host to connect and answer
    #[arg(long = "connect-timeout", value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct StateArgs {
    /// Read the IPVS state of this director over SSH
    #[arg(long, value_name = "HOST", conflicts_with = "from")]
    pub host: Option<String>,
    /// Read saved output instead: ipvsadm -Ln [--stats|--rate], ipvsadm -Lnc, ipvsadm-save -n, or /proc/net/ip_vs* files
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// keepalived.conf to compare the kernel's table with
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The director's kernel release (`uname -r`) for --from files: since Linux 4.8 SYN_RECV counts as active (--host reads it itself)
    #[arg(long, value_name = "VERSION")]
    pub kernel: Option<String>,
    #[command(flatten)]
    pub ssh: SshArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Real,
    Director,
    Auto,
}

#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// Host to audit over SSH (repeatable); `localhost` audits this machine without SSH
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Audit this machine without SSH
    #[arg(long)]
    pub local: bool,
    /// Audit the hosts of this Ansible inventory (INI or YAML); directors are the hosts in groups named like director/lb/keepalived/lvs (see docs/audit.md)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hosts", "local"])]
    pub inventory: Option<PathBuf>,
    /// With --inventory: only these groups or hosts (comma-separated), as ansible --limit
    #[arg(long, value_name = "GROUP", requires = "inventory")]
    pub limit: Option<String>,
    /// Audit every real server (and, with --role director, the director) named in this keepalived.conf
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The VIP (and port, default 80) the hosts serve
    #[arg(long, value_name = "VIP[:PORT]")]
    pub vip: Option<String>,
    /// The forwarding method when there is no --config: DR (default) or TUN (IPIP real servers)
    #[arg(long = "lvs-method", value_name = "METHOD", value_parser = ["DR", "TUN", "dr", "tun"])]
    pub lvs_method: Option<String>,
    /// What the hosts are
    #[arg(long, value_enum, default_value_t = Role::Auto)]
    pub role: Role,
    /// Close the service port on the real IPs to this CIDR (SSH stays open)
    #[arg(long = "deny-direct", value_name = "CIDR")]
    pub deny_direct: Option<String>,
    /// With --deny-direct: sources that keep direct access, the directors whose health checks connect to the real IPs (repeatable, comma-separated IPs or CIDRs); directors audited in the same run are spared without being named
    #[arg(
        long = "allow-direct",
        value_name = "ADDR",
        value_delimiter = ',',
        requires = "deny_direct"
    )]
    pub allow_direct: Vec<String>,
    /// Apply and persist the repair after showing the plan
    #[arg(long)]
    pub fix: bool,
    /// With --fix: print the plan (commands and diffs) and change nothing
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
    /// With --fix: do not ask for confirmation
    #[arg(long, requires = "fix")]
    pub yes: bool,
    /// With --fix: where no service restores firewall rules at boot, install the
    /// distribution's (iptables-persistent) instead of lbdoctor's own unit; the plan shows
    /// apt's simulation, and nothing is done if apt would remove a package
    #[arg(long = "install-packages", requires = "fix")]
    pub install_packages: bool,
    /// Seconds a firewall or sysctl change waits for a fresh SSH session before it rolls back
    #[arg(
        long = "rollback-timeout",
        value_name = "SECONDS",
        default_value_t = 15
    )]
    pub rollback_timeout: u64,
    /// Save each host's gathered facts to this file (JSON) for offline audits
    #[arg(long = "save-facts", value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    /// Audit saved facts instead of live hosts (repeatable)
    #[arg(long = "facts", value_name = "FILE", conflicts_with_all = ["hosts", "local", "inventory"])]
    pub facts: Vec<PathBuf>,
    /// Hosts audited at once
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub jobs: usize,
    #[command(flatten)]
    pub ssh: SshArgs,
}

#[derive(Args, Debug, Clone)]
#[command(
    long_about = "Sends each real server a TCP SYN addressed to VIP:PORT inside an Ethernet frame for \
the real server's MAC, exactly what an IPVS director in DR mode forwards, captures the answer \
(SYN-ACK, RST or nothing), resets the half-open connection, and compares with the real IP's own \
answer. Needs CAP_NET_RAW. With -q it prints nothing, for keepalived's MISC_CHECK.",
    after_help = "EXIT STATUS:\n  0  every real server answers through the VIP path\n  1  at least one does not (or answers RST)\n  2  the test could not run: no CAP_NET_RAW, unknown interface, no MAC for a real server, bad arguments"
)]
pub struct CheckArgs {
    /// The VIP and port the real servers serve (default port 80): 192.168.21.20:80
    #[arg(value_name = "VIP[:PORT]")]
    pub target: String,
    /// A real server's own IP address (repeatable)
    #[arg(
        long = "rs",
        value_name = "IP",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub rs: Vec<String>,
    /// Test every real server of the VIP's virtual_server(s) in this keepalived.conf
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Send on this interface (default: the one the kernel routes each real server through)
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Seconds to wait for the answers (and as long again for ARP when a MAC is not known)
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub timeout: f64,
}

#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    /// Check id (LB001) or name; omit to list every check
    #[arg(value_name = "ID")]
    pub id: Option<String>,
}
