//! Everything the checks need from one host, gathered by ONE shell script (one round trip)
//! and parsed here into a typed snapshot that can be saved and audited offline.

use super::parse;
use crate::remote::Transport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FACTS_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Addr {
    pub ip: String,
    pub prefix: u8,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Interface {
    pub name: String,
    /// "loopback", "ether", "dummy" (from link_type / kind), as far as ip tells.
    pub kind: String,
    pub up: bool,
    pub addrs: Vec<Addr>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Listener {
    pub proto: String,
    pub addr: String,
    pub port: u16,
    pub process: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Packages {
    pub iptables_persistent: bool,
    pub netfilter_persistent: bool,
    pub iptables_services: bool,
    pub nftables: bool,
    pub nftables_enabled: bool,
    pub netfilter_persistent_enabled: bool,
    pub iptables_service_enabled: bool,
    /// lbdoctor's own lbdoctor-iptables.service (remedy::iptables_boot) is enabled.
    #[serde(default)]
    pub lbdoctor_iptables_enabled: bool,
    /// The ufw command is installed (whether ufw is enabled is in /etc/ufw/ufw.conf).
    #[serde(default)]
    pub ufw: bool,
    /// firewalld is installed (firewall-cmd), and running (`firewall-cmd --state`).
    #[serde(default)]
    pub firewalld: bool,
    #[serde(default)]
    pub firewalld_running: bool,
}

/// ufw's own files: `ENABLED=yes` in ufw.conf is what ufw.service's `ufw-init start` checks
/// at boot (and what `ufw enable` writes).
pub const UFW_CONF: &str = "/etc/ufw/ufw.conf";
pub const UFW_BEFORE: &str = "/etc/ufw/before.rules";
pub const UFW_USER: &str = "/etc/ufw/user.rules";
pub const UFW_AFTER: &str = "/etc/ufw/after.rules";
pub const UFW_DEFAULT: &str = "/etc/default/ufw";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HostFacts {
    pub facts_version: u32,
    pub host: String,
    pub hostname: String,
    pub kernel: String,
    pub arch: String,
    /// os-release ID and ID_LIKE, e.g. "debian" / "rhel fedora".
    pub os_id: String,
    pub os_like: String,
    pub mem_total_kb: u64,
    /// Runtime sysctls, dotted names: "net.ipv4.conf.all.arp_ignore" -> "1".
    pub sysctl: BTreeMap<String, String>,
    pub interfaces: Vec<Interface>,
    /// `ip -4 route show table all`, one route a line.
    pub routes: Vec<String>,
    /// `ip -4 rule show`.
    pub rules: Vec<String>,
    /// `iptables-save` output (all tables), None when iptables is absent.
    pub iptables_save: Option<String>,
    pub nft_ruleset: Option<String>,
    /// `nft -j list ruleset` (what the input-hook walk evaluates), cut at 8 MiB.
    #[serde(default)]
    pub nft_json: Option<String>,
    pub listeners: Vec<Listener>,
    /// Boot-time files that decide what a reboot restores: path -> content.
    pub files: BTreeMap<String, String>,
    /// path -> symlink target, for sysctl.d entries like 99-sysctl.conf -> ../sysctl.conf.
    pub links: BTreeMap<String, String>,
    pub packages: Packages,
    pub ip_vs_loaded: bool,
    /// /proc/net/ip_vs content when loaded.
    pub ip_vs: Option<String>,
    pub ip_vs_conn_count: Option<u64>,
    pub keepalived_installed: bool,
    pub keepalived_running: bool,
    /// Command lines of the keepalived processes in this network namespace (`-P`/`--vrrp`
    /// runs no checker: nothing programs IPVS).
    #[serde(default)]
    pub keepalived_cmdlines: Vec<String>,
    pub ipvsadm_installed: bool,
    /// `keepalived -t` exit status and output, when keepalived is installed.
    pub keepalived_test: Option<(i32, String)>,
    /// The config file keepalived runs from (its `-f`), or would at start (the default).
    #[serde(default)]
    pub keepalived_conf: Option<String>,
    /// That file does not exist: keepalived stops at start ("Config files missing"), and
    /// `keepalived -t` (2.2.7) exits 0 for it.
    #[serde(default)]
    pub keepalived_conf_missing: bool,
    /// The port our SSH session came in on (always kept open by firewall fixes).
    pub ssh_ports: Vec<u16>,
    /// Commands that failed while gathering, with their stderr, for the report.
    pub gather_errors: Vec<String>,
    /// Tunnel modules loaded now (/sys/module): ipip, ip_gre, fou (LVS-TUN real servers).
    #[serde(default)]
    pub tunnel_modules: Vec<String>,
    /// Interface MTUs from `ip -j addr`, by name.
    #[serde(default)]
    pub mtu: BTreeMap<String, u32>,
    /// `ipvsadm -S -n` on a director (the tunnel type of TUN destinations shows only there).
    #[serde(default)]
    pub ipvsadm_save: Option<String>,
    /// `ip6tables-save`, None when ip6tables is absent.
    #[serde(default)]
    pub ip6tables_save: Option<String>,
    /// `ip -6 neigh show proxy`: addresses this host answers neighbour solicitations for on
    /// behalf of others (with forwarding and proxy_ndp on).
    #[serde(default)]
    pub ndp_proxy: Vec<String>,
    /// IPv6 address flags from `ip -j addr` ("tentative", "dadfailed", "nodad"), by "iface ip".
    #[serde(default)]
    pub addr6_flags: BTreeMap<String, Vec<String>>,
}

/// Section marker: unlikely in any command output.
pub const MARK: &str = "@@LBD@@";

/// The gathering script. Every section starts with `@@LBD@@ <name> [arg]`. Bounded: files
/// are cut at 1 MiB, connection counts use wc. Secrets in network config files (Wi-Fi keys,
/// passwords) are redacted on the host before they are sent.
pub const GATHER_SCRIPT: &str = r#"
M=@@LBD@@
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
s() { echo "$M $1 $2"; }
r() { IFS= read -r l < "$1" && echo "$l"; }
s hostname; r /proc/sys/kernel/hostname
s uname; r /proc/sys/kernel/osrelease; uname -m
s os; cat /etc/os-release 2>/dev/null
s meminfo; r /proc/meminfo
s sysctl
grep -r . /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/forwarding /proc/sys/net/ipv4/conf/*/proxy_arp /proc/sys/net/ipv4/conf/*/arp_filter /proc/sys/net/ipv4/conf/*/accept_local /proc/sys/net/ipv4/conf/*/src_valid_mark /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_syncookies /proc/sys/net/ipv4/tcp_max_syn_backlog 2>/dev/null
[ -d /proc/sys/net/ipv4/vs ] && grep -r . /proc/sys/net/ipv4/vs 2>/dev/null
grep -r . /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/proxy_ndp /proc/sys/net/ipv6/conf/*/disable_ipv6 2>/dev/null
s addr; ip -d -j addr show 2>/dev/null || { s addr-text; ip -o addr show; s link; ip -d -o link show type dummy 2>/dev/null | sed 's/^/dummy /'; }
s route; ip -4 route show table all 2>/dev/null
s rule; ip -4 rule show 2>/dev/null
if command -v iptables-save >/dev/null 2>&1; then s iptables; iptables-save 2>&1 || echo "$M error iptables-save failed"; fi
if command -v ip6tables-save >/dev/null 2>&1; then s ip6tables; ip6tables-save 2>&1 || echo "$M error ip6tables-save failed"; fi
s ndp-proxy; ip -6 neigh show proxy 2>/dev/null
if command -v nft >/dev/null 2>&1; then s nft; nft list ruleset 2>&1 || echo "$M error nft failed"; s nft-json; nft -j list ruleset 2>/dev/null | head -c 8388608; echo; fi
s ss; ss -ltnpH 2>/dev/null || ss -ltnH
s sshport; echo "${LBD_SSH_PORT:-}"
# The file the running keepalived (in this network namespace: containers share the process
# list) was started with (-f/--use-file), else the default.
me=$(readlink /proc/self/ns/net 2>/dev/null)
kpids=
for p in $(pidof keepalived 2>/dev/null); do
  [ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$me" ] && kpids="$kpids $p"
done
kconf=/etc/keepalived/keepalived.conf
for p in $kpids; do
  # getopt's way: -f FILE, -fFILE, -nDf FILE; the other short options that take an argument
  # (keepalived's optstring: u S p i s r c b A; M g t only attached) consume the rest.
  c=$(tr '\0' '\n' < /proc/$p/cmdline 2>/dev/null | awk 'skip { skip = 0; next }
    want { print; exit }
    $0 == "--use-file" { want = 1; next }
    /^--use-file=/ { sub(/^--use-file=/, ""); print; exit }
    /^-[^-]/ {
      for (i = 2; i <= length($0); i++) {
        c = substr($0, i, 1); v = substr($0, i + 1)
        if (c == "f") { if (v != "") { print v; exit } want = 1; next }
        if (index("uSpisrcbA", c)) { if (v == "") skip = 1; next }
        if (index("Mgt", c)) next
      }
    }')
  [ -n "$c" ] && { kconf=$c; break; }
done
# Boot-time files: one awk for all of them (a fork per file was most of this script's cost).
set --
for f in /etc/sysctl.conf /etc/sysctl.d/* /run/sysctl.d/* /usr/local/lib/sysctl.d/* /usr/lib/sysctl.d/* /lib/sysctl.d/* \
         /etc/iptables/rules.v4 /etc/sysconfig/iptables /etc/iptables/rules.v6 /etc/sysconfig/ip6tables /etc/nftables.conf /etc/sysconfig/nftables.conf \
         /etc/lbdoctor/iptables.rules /etc/lbdoctor/restore-iptables /etc/systemd/system/lbdoctor-iptables.service \
         /etc/ufw/ufw.conf /etc/default/ufw /etc/ufw/before.rules /etc/ufw/user.rules /etc/ufw/after.rules \
         /etc/firewalld/direct.xml /etc/firewalld/firewalld.conf \
         /etc/network/interfaces /etc/network/interfaces.d/* /etc/netplan/*.yaml /etc/netplan/*.yml \
         /etc/NetworkManager/system-connections/* /etc/sysconfig/network-scripts/ifcfg-lo* \
         /etc/systemd/network/*.netdev /etc/systemd/network/*.network /etc/modules-load.d/* /etc/modules \
         "$kconf" /etc/systemd/system/lbdoctor-tunl0.service \
         /etc/systemd/system/multi-user.target.wants/lbdoctor-tunl0.service; do
  [ -f "$f" ] || continue
  if [ -L "$f" ]; then set -- "$@" "@link:$f" "$(readlink -f "$f")"; fi
  set -- "$@" "$f"
done
[ $# -gt 0 ] && awk -v M="$M" -v R="<redacted>" '
# Secrets are cut on the host, by each file syntax (the same rules as src/audit/redact.rs,
# which the tests hold this to). Files are cut at 1 MiB.
function has(s) { return s ~ /[^ \t]/ }
function ini_secret(k) {
  k = tolower(k); gsub(/^[ \t]+|[ \t]+$/, "", k)
  if (k ~ /(file|-flags|-type)$/) return 0
  if (k == "key" || k == "pin" || k ~ /-pin$/) return 1
  return k ~ /psk|pass|secret|private-key|privatekey|preshared|wep-key/
}
function unq(k,  c) {
  gsub(/^[ \t]+|[ \t]+$/, "", k); c = substr(k, 1, 1)
  if (length(k) >= 2 && (c == "\"" || c == Q) && substr(k, length(k), 1) == c) k = substr(k, 2, length(k) - 2)
  return tolower(k)
}
function yaml_secret(k) {
  k = unq(k)
  return k == "key" || k == "shared" || k == "private" || k == "pin" || k ~ /pass|psk|secret|private-key|preshared/
}
function word_secret(w) { w = tolower(w); return w ~ /psk|pass|secret/ || (w ~ /key/ && w !~ /mgmt/) }
function red_ini(line, nm,   t, i) {
  t = line; sub(/^[ \t]+/, "", t)
  if (t ~ /^[#;]/) return line
  if (substr(t, 1, 1) == "[") { sec = tolower(t); sub(/[ \t]+$/, "", sec); return line }
  i = index(line, "="); if (i == 0 || !has(substr(line, i + 1))) return line
  if (ini_secret(substr(line, 1, i - 1)) || (nm && sec == "[vpn-secrets]")) return substr(line, 1, i) R
  return line
}
function red_yaml(line,   t, ind, pre, r, i, n, parts, hit, c, v) {
  t = line; sub(/^ +/, "", t); ind = length(line) - length(t)
  if (blk >= 0) {
    if (t == "") return line
    if (ind > blk) return substr(line, 1, ind) R
    blk = -1
  }
  pre = ind
  while (substr(t, 1, 2) == "- ") { r = substr(t, 3); t = r; sub(/^ +/, "", t); pre += 2 + length(r) - length(t) }
  i = index(t, "{")
  if (i > 0) {
    n = split(substr(t, i), parts, /[{},]/); hit = 0
    for (c = 1; c <= n; c++) if (index(parts[c], ":") && yaml_secret(substr(parts[c], 1, index(parts[c], ":") - 1))) hit = 1
    if (hit) return substr(line, 1, pre) substr(t, 1, i) R "}"
    return line
  }
  if (!match(t, /:([ \t]|$)/)) return line
  c = RSTART; v = substr(t, c + 1); sub(/^[ \t]+/, "", v)
  if (!yaml_secret(substr(t, 1, c - 1)) || v == "" || v ~ /^#/) return line
  if (substr(v, 1, 1) == "|" || substr(v, 1, 1) == ">") { blk = pre; return line }
  return substr(line, 1, pre) substr(t, 1, c) " " R
}
function red_ka(line,   out, n, i, j, c, w, e) {
  if (line !~ /auth_pass|password|key/) return line
  out = ""; n = length(line); i = 1
  while (i <= n) {
    c = substr(line, i, 1)
    if (c == " " || c == "\t" || c == "{" || c == "}" || c == "=") { out = out c; i++; continue }
    j = i
    while (j <= n) { c = substr(line, j, 1); if (c == " " || c == "\t" || c == "{" || c == "}" || c == "=") break; j++ }
    w = substr(line, i, j - i); out = out w; i = j
    if (w == "auth_pass" || w == "password" || w == "key") {
      e = index(substr(line, i), "}"); e = e ? i + e - 1 : n + 1
      if (has(substr(line, i, e - i))) { out = out " " R; if (e <= n) out = out " " }
      else out = out substr(line, i, e - i)
      i = e
    }
  }
  return out
}
function red_ifupdown(line,   t, ind, r) {
  t = line; sub(/^[ \t]+/, "", t); ind = length(line) - length(t)
  if (!match(t, /[ \t]/)) return line
  r = substr(t, RSTART); sub(/^[ \t]+/, "", r)
  if (r == "" || !word_secret(substr(t, 1, RSTART - 1))) return line
  return substr(line, 1, ind + length(t) - length(r)) R
}
function red_shell(line,   t, i, k) {
  t = line; sub(/^[ \t]+/, "", t); i = index(t, "="); k = substr(t, 1, i - 1)
  if (i <= 1 || k !~ /^[A-Za-z0-9_]+$/ || length(t) == i || !word_secret(k)) return line
  return substr(line, 1, length(line) - length(t) + i) R
}
function red_generic(line,   l, t, ind, n, name, r, ws, rr, sep, after, c) {
  l = tolower(line); t = l; sub(/^[ \t]+/, "", t); ind = length(l) - length(t)
  if (!match(t, /^[a-z0-9_.-]+/)) return line
  n = RLENGTH; name = substr(t, 1, n)
  if (name !~ /psk|password|passwd|secret|auth_pass/) return line
  r = substr(t, n + 1); rr = r; sub(/^[ \t]+/, "", rr); ws = length(r) - length(rr)
  c = substr(r, ws + 1, 1)
  if (c == "=" || c == ":") sep = ws + 1
  else if (match(substr(r, 1, ws), /.* /)) sep = RLENGTH
  else return line
  after = substr(r, sep + 1); sub(/^[ \t]+/, "", after)
  return substr(line, 1, ind + n + length(r) - length(after)) R
}
function red(line) {
  if (mode == "ka") return red_ka(line)
  if (mode == "yaml") return red_yaml(line)
  if (mode == "nm") return red_ini(line, 1)
  if (mode == "ini") return red_ini(line, 0)
  if (mode == "ifupdown") return red_ifupdown(line)
  if (mode == "shell") return red_shell(line)
  return red_generic(line)
}
BEGIN {
  Q = sprintf("%c", 39)
  for (i = 1; i < ARGC; i++) {
    f = ARGV[i]
    if (substr(f, 1, 6) == "@link:") { print M " link-target " substr(f, 7); i++; print ARGV[i]; continue }
    print M " file " f; n = 0; sec = ""; blk = -1
    if (f ~ /keepalived/) mode = "ka"
    else if (f ~ /\.ya?ml$/) mode = "yaml"
    else if (f ~ /NetworkManager\/system-connections\//) mode = "nm"
    else if (f ~ /systemd\/network\//) mode = "ini"
    else if (f ~ /network\/interfaces/) mode = "ifupdown"
    else if (f ~ /ifcfg-/) mode = "shell"
    else mode = "generic"
    while ((getline line < f) > 0) {
      n += length(line) + 1; if (n > 1048576) break
      print red(line)
    }
    close(f)
  }
  exit }' "$@"
s packages
for p in iptables-persistent netfilter-persistent nftables; do [ -f "/var/lib/dpkg/info/$p.list" ] && echo "$p"; done
# Without rpm (a minimal image, a chroot), the files these RHEL packages alone ship tell.
if command -v rpm >/dev/null 2>&1; then rpm -q iptables-services nftables 2>/dev/null | grep -v 'not installed' | sed 's/-[0-9].*//'
else [ -f /etc/sysconfig/iptables-config ] && echo iptables-services; [ -f /etc/sysconfig/nftables.conf ] && echo nftables; fi
# "enabled" is a WantedBy symlink under /etc/systemd/system (what systemctl is-enabled reads).
command -v ufw >/dev/null 2>&1 && echo ufw
if command -v firewall-cmd >/dev/null 2>&1; then echo firewalld; [ "$(timeout 5 firewall-cmd --state 2>/dev/null)" = running ] && echo firewalld-running; fi
for u in netfilter-persistent nftables iptables lbdoctor-iptables; do
  for w in /etc/systemd/system/*.wants/$u.service; do [ -L "$w" ] && { echo "enabled:$u"; break; }; done
done
s tunnel-modules
for m in ipip ip_gre fou; do [ -d /sys/module/$m ] && echo $m; done
s ipvs
[ -d /sys/module/ip_vs ] && echo loaded
if [ -r /proc/net/ip_vs ]; then s ip_vs; head -c 1048576 /proc/net/ip_vs; s ip_vs_conn; tail -n +2 /proc/net/ip_vs_conn 2>/dev/null | wc -l; fi
s tools
command -v ipvsadm >/dev/null 2>&1 && echo ipvsadm
if command -v keepalived >/dev/null 2>&1; then
  echo keepalived
  # Only a keepalived in this network namespace counts ($kpids: see kconf above).
  [ -z "$kpids" ] || echo keepalived-running
  for p in $kpids; do echo "keepalived-cmdline $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | head -c 1024)"; done
  echo "keepalived-conf $kconf"
  # keepalived 2.2.7's -t exits 0 on a missing file (and keepalived itself stops at start).
  [ -f "$kconf" ] || echo keepalived-conf-missing
  if [ -f "$kconf" ]; then
    s keepalived-test; out=$(timeout 10 keepalived -t -f "$kconf" 2>&1); rc=$?
    printf '%s\n' "$out" | tail -n 50; echo "rc=$rc"
  fi
fi
# After the tools lines: a section opened between them swallowed the keepalived lines on a
# real director (ipvsadm present and /proc/net/ip_vs readable), so DR008 said "not installed".
if command -v ipvsadm >/dev/null 2>&1 && [ -r /proc/net/ip_vs ]; then s ipvsadm-save; ipvsadm -S -n 2>/dev/null | head -c 1048576; fi
s end
"#;

/// Largest facts file `HostFacts::load` reads: its JSON tree costs several times its size.
pub const MAX_FACTS_FILE: u64 = 256 << 20;

/// An nft JSON ruleset over the parser's limit is dropped before anything parses it, and
/// the report says why the nftables rules were not walked.
fn limit_nft_json(f: &mut HostFacts) {
    let max = super::parse::nft::MAX_JSON;
    if f.nft_json
        .as_ref()
        .is_some_and(|j| j.trim_end().len() >= max)
    {
        f.nft_json = None;
        let msg = format!(
            "nft -j list ruleset: {} MiB or more, over lbdoctor's limit; nftables rules not walked",
            max >> 20
        );
        if !f.gather_errors.contains(&msg) {
            f.gather_errors.push(msg);
        }
    }
}

impl HostFacts {
    /// The path of keepalived's config: the `-f` of the running keepalived, else the default.
    pub fn keepalived_conf_path(&self) -> &str {
        self.keepalived_conf
            .as_deref()
            .unwrap_or("/etc/keepalived/keepalived.conf")
    }

    /// That config's text, when it was gathered.
    pub fn keepalived_conf_text(&self) -> Option<&String> {
        self.files.get(self.keepalived_conf_path())
    }

    /// Bytes of host text this snapshot holds, for the per-run budget.
    pub fn text_bytes(&self) -> usize {
        let o = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        self.files.values().map(String::len).sum::<usize>()
            + o(&self.iptables_save)
            + o(&self.nft_ruleset)
            + o(&self.nft_json)
            + o(&self.ip_vs)
            + self
                .routes
                .iter()
                .chain(&self.rules)
                .map(String::len)
                .sum::<usize>()
    }
}

/// Run the gathering script on `t` and parse it. `ssh_port` is the port we connected to.
pub fn gather(t: &mut dyn Transport, ssh_port: Option<u16>) -> anyhow::Result<HostFacts> {
    let script = match ssh_port {
        Some(p) => format!("LBD_SSH_PORT={p}\n{GATHER_SCRIPT}"),
        None => GATHER_SCRIPT.to_string(),
    };
    let out = t.run(&script)?;
    let text = out.stdout_lossy();
    if !text.contains(&format!("{MARK} end")) {
        return Err(crate::error::Error::host(
            t.host(),
            format!(
                "the fact-gathering script stopped early (exit {}): {}",
                out.status,
                out.stderr_lossy().trim()
            ),
        )
        .into());
    }
    let mut f = parse_output(&text);
    f.host = t.host().to_string();
    Ok(f)
}

/// Split the script's output into (section, argument, body) triples.
pub fn sections(text: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(MARK) {
            let rest = rest.trim();
            let (name, arg) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push((name.to_string(), arg.trim().to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.2.push_str(line);
        }
    }
    out
}

pub fn parse_output(text: &str) -> HostFacts {
    let mut f = HostFacts {
        facts_version: FACTS_VERSION,
        ..Default::default()
    };
    for (name, arg, body) in sections(text) {
        match name.as_str() {
            "hostname" => f.hostname = body.trim().to_string(),
            "uname" => {
                let mut l = body.lines();
                f.kernel = l.next().unwrap_or("").trim().to_string();
                f.arch = l.next().unwrap_or("").trim().to_string();
            }
            "os" => {
                for l in body.lines() {
                    if let Some(v) = l.strip_prefix("ID=") {
                        f.os_id = v.trim_matches('"').to_string();
                    } else if let Some(v) = l.strip_prefix("ID_LIKE=") {
                        f.os_like = v.trim_matches('"').to_string();
                    }
                }
            }
            "meminfo" => {
                f.mem_total_kb = body
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            }
            "sysctl" => f.sysctl = parse::sysctl::parse_proc_grep(&body),
            "addr" => match parse::ip::parse_addr_json(&body) {
                Ok(v) => {
                    f.interfaces = v;
                    f.mtu = parse::ip::parse_mtus(&body);
                    f.addr6_flags = parse::ip::parse_addr6_flags(&body);
                }
                Err(e) => f.gather_errors.push(format!("ip -j addr: {e}")),
            },
            "addr-text" => f.interfaces = parse::ip::parse_addr_text(&body),
            "link" => parse::ip::apply_link_kinds(&mut f.interfaces, &body),
            "route" => f.routes = lines(&body),
            "rule" => f.rules = lines(&body),
            "iptables" => f.iptables_save = Some(body),
            "nft" => f.nft_ruleset = Some(body),
            "nft-json" if !body.trim().is_empty() => {
                // The script cuts it at 8 MiB: a cut ruleset is not walked, and the report
                // says why.
                f.nft_json = Some(body);
                limit_nft_json(&mut f);
            }
            "ss" => {
                f.listeners = parse::ss::parse_listeners(&body);
                // Every port sshd listens on stays open through firewall fixes.
                for l in &f.listeners {
                    if l.process.as_deref() == Some("sshd") && !f.ssh_ports.contains(&l.port) {
                        f.ssh_ports.push(l.port);
                    }
                }
            }
            "sshport" => {
                for l in body.lines() {
                    let p = l.trim().rsplit(':').next().and_then(|p| p.parse().ok());
                    if let Some(p) = p {
                        if !f.ssh_ports.contains(&p) {
                            f.ssh_ports.push(p);
                        }
                    }
                }
            }
            "link-target" => {
                f.links.insert(arg, body.trim().to_string());
            }
            "file" => {
                // Again here: a host with an old or altered script must not leak either.
                let body = super::redact::redact(&arg, &body);
                f.files.insert(arg, body);
            }
            "packages" => {
                for l in body.lines() {
                    match l.trim() {
                        "iptables-persistent" => f.packages.iptables_persistent = true,
                        "netfilter-persistent" => f.packages.netfilter_persistent = true,
                        "iptables-services" => f.packages.iptables_services = true,
                        "nftables" => f.packages.nftables = true,
                        "enabled:nftables" => f.packages.nftables_enabled = true,
                        "enabled:netfilter-persistent" => {
                            f.packages.netfilter_persistent_enabled = true
                        }
                        "enabled:iptables" => f.packages.iptables_service_enabled = true,
                        "enabled:lbdoctor-iptables" => f.packages.lbdoctor_iptables_enabled = true,
                        "ufw" => f.packages.ufw = true,
                        "firewalld" => f.packages.firewalld = true,
                        "firewalld-running" => f.packages.firewalld_running = true,
                        _ => {}
                    }
                }
            }
            "ipvs" => f.ip_vs_loaded = body.contains("loaded"),
            "ip_vs" => {
                f.ip_vs_loaded = true;
                f.ip_vs = Some(body)
            }
            "ip_vs_conn" => f.ip_vs_conn_count = body.trim().parse().ok(),
            "tunnel-modules" => {
                f.tunnel_modules = body.split_whitespace().map(String::from).collect()
            }
            "ipvsadm-save" => f.ipvsadm_save = Some(body),
            "ip6tables" => f.ip6tables_save = Some(body),
            "ndp-proxy" => {
                f.ndp_proxy = body
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            }
            "tools" => {
                for l in body.lines() {
                    match l.trim() {
                        "keepalived" => f.keepalived_installed = true,
                        "ipvsadm" => f.ipvsadm_installed = true,
                        "keepalived-running" => f.keepalived_running = true,
                        "keepalived-conf-missing" => f.keepalived_conf_missing = true,
                        l if l.starts_with("keepalived-conf ") => {
                            f.keepalived_conf = Some(l["keepalived-conf ".len()..].trim().into())
                        }
                        l if l.starts_with("keepalived-cmdline ")
                            && f.keepalived_cmdlines.len() < 16 =>
                        {
                            f.keepalived_cmdlines
                                .push(l["keepalived-cmdline ".len()..].trim().to_string());
                        }
                        _ => {}
                    }
                }
            }
            "keepalived-test" => {
                let mut rc = 0;
                let mut kept = Vec::new();
                for l in body.lines() {
                    match l.strip_prefix("rc=") {
                        Some(v) => rc = v.trim().parse().unwrap_or(0),
                        None => kept.push(l),
                    }
                }
                f.keepalived_test = Some((rc, kept.join("\n")));
            }
            "error" => f.gather_errors.push(format!("{arg} {}", body.trim())),
            _ => {}
        }
    }
    f
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `ip` link types of tunnel devices: the IPIP fallback tunl0 is "ipip", gre0 "gre".
pub fn is_tunnel_kind(kind: &str) -> bool {
    matches!(kind, "ipip" | "gre" | "sit" | "tunnel6" | "ip6gre")
}

impl HostFacts {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Vec<HostFacts>> {
        if let Ok(m) = std::fs::metadata(path) {
            if m.len() > MAX_FACTS_FILE {
                return Err(crate::error::Error::file(
                    path,
                    format!(
                        "is {} MiB, over lbdoctor's {} MiB limit for a facts file; save fewer hosts per file",
                        m.len() >> 20,
                        MAX_FACTS_FILE >> 20
                    ),
                )
                .into());
            }
        }
        let bytes = crate::error::read_file(path)?;
        // A file holds one snapshot or a list (what --save-facts writes for many hosts).
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| crate::error::Error::file(path, format!("not a facts JSON file: {e}")))?;
        drop(bytes);
        let list = match v {
            serde_json::Value::Array(a) => a,
            other => vec![other],
        };
        list.into_iter()
            .map(|v| {
                let mut f: HostFacts = serde_json::from_value(v).map_err(|e| {
                    crate::error::Error::file(path, format!("not a facts snapshot: {e}"))
                })?;
                limit_nft_json(&mut f);
                // Snapshots saved by older versions were redacted by one looser pattern.
                for (p, text) in f.files.iter_mut() {
                    *text = super::redact::redact(p, text);
                }
                Ok(f)
            })
            .collect()
    }

    pub fn sysctl_u32(&self, key: &str) -> Option<u32> {
        self.sysctl.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// The kernel's effective value for arp_ignore/arp_announce/rp_filter on `iface`:
    /// max(all, iface) (IN_DEV_MAXCONF).
    pub fn effective(&self, iface: &str, knob: &str) -> Option<u32> {
        let all = self.sysctl_u32(&format!("net.ipv4.conf.all.{knob}"));
        let one = self.sysctl_u32(&format!("net.ipv4.conf.{iface}.{knob}"));
        match (all, one) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Interfaces that carry IPv4 traffic to the segment: up, not loopback, with an address.
    pub fn segment_interfaces(&self) -> Vec<&Interface> {
        self.interfaces
            .iter()
            .filter(|i| i.kind != "loopback" && i.kind != "dummy" && i.name != "lo")
            // Tunnel devices (tunl0 of LVS-TUN) face no segment: they answer no ARP.
            .filter(|i| !is_tunnel_kind(&i.kind))
            .filter(|i| i.addrs.iter().any(|a| !a.ip.contains(':')))
            .collect()
    }

    pub fn has_address(&self, ip: &str) -> Option<(&Interface, &Addr)> {
        self.interfaces
            .iter()
            .find_map(|i| i.addrs.iter().find(|a| a.ip == ip).map(|a| (i, a)))
    }

    pub fn iptables(&self) -> parse::iptables::Ruleset {
        parse::iptables::parse(self.iptables_save.as_deref().unwrap_or(""))
    }

    pub fn is_debian_like(&self) -> bool {
        self.os_id == "debian"
            || self.os_id == "ubuntu"
            || self.os_like.split_whitespace().any(|x| x == "debian")
    }

    /// ufw is installed and enabled: ufw.service's `ufw-init start` loads its rules at boot.
    pub fn ufw_enabled(&self) -> bool {
        self.packages.ufw
            && self
                .files
                .get(UFW_CONF)
                .is_some_and(|t| t.lines().any(|l| l.trim() == "ENABLED=yes"))
    }

    /// The IPv4 ruleset ufw builds at boot, in iptables-save form, as ufw 0.36's
    /// ufw-init-functions does it: INPUT (policy from /etc/default/ufw) jumps to the
    /// before/after/reject/track chains, before.rules then after.rules then user.rules are
    /// loaded with `iptables-restore -n`, and ufw-before-input finally jumps to
    /// ufw-user-input. Logging chains are left empty (they only log).
    pub fn ufw_boot_rules(&self) -> String {
        let defaults = self
            .files
            .get(UFW_DEFAULT)
            .map(String::as_str)
            .unwrap_or("");
        let policy = |k: &str| {
            defaults
                .lines()
                .find_map(|l| l.trim().strip_prefix(k)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
                .unwrap_or_else(|| "DROP".into())
        };
        let input = policy("DEFAULT_INPUT_POLICY");
        let builtin = if input == "REJECT" {
            "DROP"
        } else {
            input.as_str()
        };
        let mut s =
            format!("*filter\n:INPUT {builtin} [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for c in [
            "before-logging-input",
            "before-input",
            "after-input",
            "after-logging-input",
            "reject-input",
            "track-input",
            "user-input",
            "skip-to-policy-input",
            "logging-deny",
            "logging-allow",
        ] {
            s.push_str(&format!(":ufw-{c} - [0:0]\n"));
        }
        for c in [
            "before-logging-input",
            "before-input",
            "after-input",
            "after-logging-input",
            "reject-input",
            "track-input",
        ] {
            s.push_str(&format!("-A INPUT -j ufw-{c}\n"));
        }
        match input.as_str() {
            "REJECT" => s.push_str("-A ufw-reject-input -j REJECT\n"),
            "ACCEPT" => s.push_str("-A ufw-track-input -p tcp -m conntrack --ctstate NEW -j ACCEPT\n-A ufw-track-input -p udp -m conntrack --ctstate NEW -j ACCEPT\n"),
            _ => {}
        }
        s.push_str(&format!("-A ufw-skip-to-policy-input -j {input}\nCOMMIT\n"));
        for f in [UFW_BEFORE, UFW_AFTER, UFW_USER] {
            if let Some(t) = self.files.get(f) {
                s.push_str(t);
                s.push('\n');
            }
        }
        s.push_str("*filter\n-A ufw-before-input -j ufw-user-input\nCOMMIT\n");
        s
    }

    pub fn is_rhel_like(&self) -> bool {
        ["rhel", "centos", "fedora", "rocky", "almalinux", "ol"].contains(&self.os_id.as_str())
            || self
                .os_like
                .split_whitespace()
                .any(|x| x == "rhel" || x == "fedora")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local::LocalTransport;

    /// On a real director (Linux 6.1 in the lab VM) the ipvsadm-save section, opened between
    /// the tools lines, swallowed `keepalived` and `keepalived-running`: DR008 then said
    /// keepalived was not installed. Every tools line must come before any other section.
    #[test]
    fn tools_lines_come_before_the_next_section() {
        let tools = GATHER_SCRIPT.find("s tools").unwrap();
        let next = ["s ipvsadm-save", "s keepalived-test", "s end"]
            .iter()
            .filter_map(|m| GATHER_SCRIPT[tools + 1..].find(m))
            .min()
            .map(|i| i + tools + 1)
            .unwrap();
        for line in [
            "echo keepalived\n",
            "echo keepalived-running",
            "keepalived-cmdline",
        ] {
            let at = GATHER_SCRIPT.find(line).unwrap();
            assert!(
                tools < at && at < next,
                "{line:?} is not in the tools section"
            );
        }
        let text = "@@LBD@@ tools \nipvsadm\nkeepalived\nkeepalived-running\n@@LBD@@ ipvsadm-save \n-A -t 192.168.21.20:80 -s lc\n@@LBD@@ end \n";
        let f = parse_output(text);
        assert!(f.keepalived_installed && f.keepalived_running && f.ipvsadm_installed);
    }

    #[test]
    fn sections_split_on_markers() {
        let s = sections("junk\n@@LBD@@ a\nx\ny\n@@LBD@@ file /etc/x\nz\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], ("a".into(), "".into(), "x\ny\n".into()));
        assert_eq!(s[1].1, "/etc/x");
    }

    #[test]
    fn gathers_this_machine() {
        // The real script against the real machine: it must finish and find lo.
        let mut t = LocalTransport::new("localhost");
        let f = gather(&mut t, None).unwrap();
        assert!(!f.kernel.is_empty());
        assert!(
            f.interfaces.iter().any(|i| i.name == "lo"),
            "{:?}",
            f.interfaces
        );
        assert!(
            f.sysctl.contains_key("net.ipv4.conf.all.rp_filter"),
            "{:?}",
            f.sysctl.keys().take(5).collect::<Vec<_>>()
        );
        assert!(f.sysctl.contains_key("net.ipv4.ip_forward"));
        // Where nft exists, its JSON ruleset is gathered and readable by the walker.
        if f.nft_ruleset.is_some() {
            let j = f.nft_json.as_deref().expect("nft -j list ruleset gathered");
            assert!(parse::nft::parse(j).is_ok(), "{j}");
        }
    }

    #[test]
    fn file_section_redacts_caps_and_keeps_empty_and_linked_files() {
        // The script's own file loop, run by the real sh and awk over files we control.
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n).display().to_string();
        std::fs::write(
            p("nm"),
            "psk=hunter2\n  Password: a b\nWPA-PSK = x\nmtu=1400\nauth_pass  s3cret\n",
        )
        .unwrap();
        std::fs::write(p("empty"), "").unwrap();
        std::os::unix::fs::symlink(p("nm"), p("link")).unwrap();
        std::fs::write(p("big"), "net.ipv4.ip_forward = 0\n".repeat(60_000)).unwrap();
        let start = GATHER_SCRIPT.find("set --\nfor f in").unwrap();
        let body = &GATHER_SCRIPT[start..GATHER_SCRIPT.find("s packages").unwrap()];
        let list_end = body.find("; do\n").unwrap();
        let script = format!(
            "M=@@LBD@@\ns() {{ echo \"$M $1 $2\"; }}\nset --\nfor f in {} {} {} {} {}{}",
            p("nm"),
            p("empty"),
            p("link"),
            p("missing"),
            p("big"),
            &body[list_end..]
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("s3cret") && !text.contains(" b\n"));
        assert!(text
            .contains("psk=<redacted>\n  Password: <redacted>\nWPA-PSK = <redacted>\nmtu=1400\n"));
        let s = sections(&text);
        let names: Vec<_> = s.iter().map(|(k, a, _)| format!("{k} {a}")).collect();
        assert_eq!(
            names,
            [
                format!("file {}", p("nm")),
                format!("file {}", p("empty")),
                format!("link-target {}", p("link")),
                format!("file {}", p("link")),
                format!("file {}", p("big")),
            ]
        );
        assert_eq!(s[2].2.trim(), p("nm"));
        let big = &s[4].2;
        assert!(
            big.len() <= 1_048_576 && big.len() > 1_000_000,
            "{}",
            big.len()
        );
        assert!(big.ends_with("= 0\n"), "cut at a line boundary");
    }

    #[test]
    fn effective_is_max_of_all_and_iface() {
        let mut f = HostFacts::default();
        f.sysctl
            .insert("net.ipv4.conf.all.rp_filter".into(), "1".into());
        f.sysctl
            .insert("net.ipv4.conf.eth0.rp_filter".into(), "0".into());
        assert_eq!(f.effective("eth0", "rp_filter"), Some(1));
        f.sysctl
            .insert("net.ipv4.conf.all.rp_filter".into(), "0".into());
        f.sysctl
            .insert("net.ipv4.conf.eth0.rp_filter".into(), "2".into());
        assert_eq!(f.effective("eth0", "rp_filter"), Some(2));
    }
}
