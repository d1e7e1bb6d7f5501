//! Auditing real servers and directors from a typed facts snapshot.
//!
//! facts (one script per host) -> Analysis (what the kernel does now, what a reboot would do)
//! -> checks (one file each, RSxxx / DRxxx) -> findings.

pub mod checks;
pub mod facts;
pub mod netstack;
pub mod parse;
pub mod redact;
pub mod write_target;

use facts::HostFacts;
use ipnet::Ipv4Net;
use parse::iptables::{Packet, Ruleset, Verdict};
use parse::sysctl::BootValue;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Real,
    Director,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Real => "real",
            Role::Director => "director",
        }
    }
}

/// What the user told us about the service (from flags or keepalived.conf).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub vip: Option<Ipv4Addr>,
    /// An IPv6 VIP (then `vip` is None and only the IPv6 checks run).
    pub vip6: Option<std::net::Ipv6Addr>,
    pub port: u16,
    pub deny_direct: Option<Ipv4Net>,
    /// Sources --deny-direct spares: the directors, whose health checks (TCP_CHECK, HTTP_GET)
    /// connect to the real IPs directly (--allow-direct, plus the directors audited alongside).
    pub allow_direct: Vec<Ipv4Net>,
    /// lvs_method from the config: "DR", "NAT", "TUN".
    pub method: Option<String>,
    /// fwmarks the config's virtual servers use.
    pub fwmarks: Vec<u32>,
    /// keepalived.conf findings from lint (director role), already computed.
    pub config_findings: Vec<crate::Finding>,
}

/// How a real server accepts packets addressed to the VIP.
#[derive(Debug, Clone, PartialEq)]
pub enum Acceptance {
    /// iptables REDIRECT/DNAT in nat PREROUTING: the deciding rule.
    Nat(String),
    /// nftables redirect/dnat: the ruleset line.
    Nft(String),
    /// The VIP is a local address on this interface with this prefix.
    Address { iface: String, prefix: u8 },
}

pub struct Analysis<'a> {
    pub f: &'a HostFacts,
    pub t: &'a Target,
    pub role: Role,
    pub ipt: Ruleset,
    /// The rules a reboot restores, and from which file (None: nothing restores rules).
    pub boot_ipt: Option<(String, Ruleset)>,
    pub boot_nft: Option<String>,
    pub boot_sysctl: BTreeMap<String, BootValue>,
    pub acceptance: Vec<Acceptance>,
    /// The runtime nftables ruleset from `nft -j list ruleset`, when gathered and readable.
    pub nft: Option<parse::nft::Ruleset>,
}

/// Which file the distribution restores iptables rules from at boot, if any.
pub fn boot_rules_file(f: &HostFacts) -> Option<&'static str> {
    let p = &f.packages;
    if p.netfilter_persistent || p.iptables_persistent {
        return Some("/etc/iptables/rules.v4");
    }
    if p.iptables_services {
        return Some("/etc/sysconfig/iptables");
    }
    if p.lbdoctor_iptables_enabled {
        return Some(crate::remedy::iptables_boot::RULES);
    }
    None
}

pub fn first_host(n: &Ipv4Net) -> Ipv4Addr {
    n.hosts().next().unwrap_or(n.network())
}

/// The first host of `n` outside every `spared` net (the client a --deny-direct walk sends
/// from: an exempted director would prove nothing), else the first host.
pub fn first_host_outside(n: &Ipv4Net, spared: &[Ipv4Net]) -> Ipv4Addr {
    n.hosts()
        .take(4096)
        .find(|h| !spared.iter().any(|s| s.contains(h)))
        .unwrap_or_else(|| first_host(n))
}

impl<'a> Analysis<'a> {
    pub fn new(f: &'a HostFacts, t: &'a Target, role: Role) -> Analysis<'a> {
        let ipt = f.iptables();
        // An enabled ufw loads its own files at boot (ufw.service, before network-pre.target).
        let boot_ipt =
            if f.packages.firewalld_running && !f.ufw_enabled() && f.iptables_save.is_some() {
                // firewalld applies its permanent direct rules at start.
                let xml = f
                    .files
                    .get(crate::remedy::firewalld::DIRECT_XML)
                    .map(String::as_str)
                    .unwrap_or("");
                Some((
                    crate::remedy::firewalld::DIRECT_XML.to_string(),
                    parse::iptables::parse(&crate::remedy::firewalld::boot_rules(
                        xml,
                        crate::remedy::firewalld::nftables_backend(
                            f.files
                                .get(crate::remedy::firewalld::CONF)
                                .map(String::as_str),
                        ),
                    )),
                ))
            } else if f.ufw_enabled() && f.iptables_save.is_some() {
                Some((
                    facts::UFW_BEFORE.to_string(),
                    parse::iptables::parse(&f.ufw_boot_rules()),
                ))
            } else {
                boot_rules_file(f).map(|path| {
                    let text = f.files.get(path).cloned().unwrap_or_default();
                    (path.to_string(), parse::iptables::parse(&text))
                })
            };
        // What nftables.service loads at boot: /etc/nftables.conf, or on the RHEL family
        // /etc/sysconfig/nftables.conf (its includes are not followed).
        let boot_nft = (f.packages.nftables_enabled)
            .then(|| {
                f.files
                    .get(crate::remedy::nft::boot_conf(f.is_rhel_like()))
                    .cloned()
            })
            .flatten();
        let mut names: Vec<String> = f.interfaces.iter().map(|i| i.name.clone()).collect();
        names.extend(["all".to_string(), "default".to_string()]);
        let boot_sysctl = parse::sysctl::boot_values(&f.files, &f.links, &names);
        let nft = f
            .nft_json
            .as_deref()
            .and_then(|j| parse::nft::parse(j).ok());
        let mut a = Analysis {
            f,
            t,
            role,
            ipt,
            boot_ipt,
            boot_nft,
            boot_sysctl,
            acceptance: Vec::new(),
            nft,
        };
        if let Some(vip) = t.vip {
            a.acceptance = a.acceptance_now(vip);
        }
        a
    }

    fn acceptance_now(&self, vip: Ipv4Addr) -> Vec<Acceptance> {
        let mut v = Vec::new();
        if let Some(rule) = nat_rule_for(&self.ipt, vip, self.t.port) {
            v.push(Acceptance::Nat(rule));
        }
        if let Some(line) = self
            .f
            .nft_ruleset
            .as_deref()
            .and_then(|r| nft_nat_for(r, vip))
        {
            // iptables-nft rules also show in `nft list ruleset`: count them once.
            if v.is_empty() {
                v.push(Acceptance::Nft(line));
            }
        }
        if let Some((i, a)) = self.f.has_address(&vip.to_string()) {
            v.push(Acceptance::Address {
                iface: i.name.clone(),
                prefix: a.prefix,
            });
        }
        v
    }

    /// Would the boot-time firewall files bring the VIP's REDIRECT/DNAT back?
    pub fn boot_nat_rule(&self) -> Option<String> {
        let vip = self.t.vip?;
        if let Some((_, rs)) = &self.boot_ipt {
            if let Some(r) = nat_rule_for(rs, vip, self.t.port) {
                return Some(r);
            }
        }
        self.boot_nft.as_deref().and_then(|r| nft_nat_for(r, vip))
    }

    /// Segment-facing interfaces (up, IPv4, not lo/dummy).
    pub fn segment_ifaces(&self) -> Vec<&'a facts::Interface> {
        self.f.segment_interfaces()
    }

    /// Interfaces that share an IPv4 subnet with another interface (ARP flux territory).
    pub fn shared_subnet_ifaces(&self) -> Vec<String> {
        let nets: Vec<(String, Ipv4Net)> = self
            .segment_ifaces()
            .iter()
            .flat_map(|i| {
                i.addrs.iter().filter_map(|a| {
                    let ip: Ipv4Addr = a.ip.parse().ok()?;
                    Some((i.name.clone(), Ipv4Net::new(ip, a.prefix).ok()?.trunc()))
                })
            })
            .collect();
        let mut out = Vec::new();
        for (n, net) in &nets {
            if nets
                .iter()
                .any(|(m, other)| m != n && (other.contains(net) || net.contains(other)))
                && !out.contains(n)
            {
                out.push(n.clone());
            }
        }
        out
    }

    /// An LVS-TUN real server: keepalived.conf or `--lvs-method` says TUN, or the VIP sits
    /// on an IPIP device.
    pub fn is_tun(&self) -> bool {
        self.role == Role::Real
            && (self
                .t
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("TUN"))
                || self.acceptance.iter().any(|x| {
                    matches!(x, Acceptance::Address { iface, .. }
                        if self.f.interfaces.iter().any(|i| &i.name == iface && i.kind == "ipip"))
                }))
    }

    /// How this host accepts packets for the IPv6 VIP: an ip6tables nat PREROUTING
    /// REDIRECT/DNAT rule for it, an nft `ip6 daddr VIP` redirect/dnat, or the address itself.
    pub fn acceptance6(&self) -> Vec<Acceptance> {
        let Some(vip) = self.t.vip6 else {
            return Vec::new();
        };
        let v = vip.to_string();
        let mut out = Vec::new();
        let rs = parse::iptables::parse(self.f.ip6tables_save.as_deref().unwrap_or(""));
        if let Some(ch) = rs.chain("nat", "PREROUTING") {
            for r in &ch.rules {
                let a = &r.args;
                let dst = a
                    .windows(2)
                    .any(|w| w[0] == "-d" && w[1].trim_end_matches("/128") == v);
                let nat = a
                    .windows(2)
                    .any(|w| w[0] == "-j" && (w[1] == "REDIRECT" || w[1] == "DNAT"));
                if dst && nat {
                    out.push(Acceptance::Nat(format!("-A PREROUTING {}", a.join(" "))));
                }
            }
        }
        if let Some(l) = self.f.nft_ruleset.as_deref().and_then(|r| {
            r.lines().map(str::trim).find(|l| {
                l.split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(3)
                    .any(|w| w[0] == "ip6" && w[1] == "daddr" && w[2].trim_end_matches("/128") == v)
                    && (l.contains("redirect") || l.contains("dnat"))
            })
        }) {
            out.push(Acceptance::Nft(l.to_string()));
        }
        if let Some((i, a)) = self.f.has_address(&v) {
            out.push(Acceptance::Address {
                iface: i.name.clone(),
                prefix: a.prefix,
            });
        }
        out
    }

    /// The IPIP fallback device, when it exists.
    /// The VIP an LVS-TUN real server must hold on tunl0: the tunnelled packet's input device
    /// is tunl0, so the VIP must be a local address (on tunl0, or on lo), and a REDIRECT alone
    /// does not do (see remedy::tun::unit_content). None when the VIP is local elsewhere.
    pub fn tun_vip(&self) -> Option<Ipv4Addr> {
        let vip = self.t.vip?;
        let elsewhere = self
            .acceptance
            .iter()
            .any(|x| matches!(x, Acceptance::Address { iface, .. } if iface != "tunl0"));
        (self.is_tun() && !elsewhere).then_some(vip)
    }

    /// Is the VIP on tunl0 now?
    pub fn vip_on_tunl0(&self) -> bool {
        self.acceptance
            .iter()
            .any(|x| matches!(x, Acceptance::Address { iface, .. } if iface == "tunl0"))
    }

    pub fn tunl0(&self) -> Option<&'a facts::Interface> {
        self.f.interfaces.iter().find(|i| i.name == "tunl0")
    }

    pub fn vip_is_local(&self) -> bool {
        self.acceptance
            .iter()
            .any(|a| matches!(a, Acceptance::Address { .. }))
    }

    pub fn vip_is_nat(&self) -> bool {
        self.acceptance
            .iter()
            .any(|a| matches!(a, Acceptance::Nat(_) | Acceptance::Nft(_)))
    }

    /// The real IPv4 addresses of this host on the segment, with their interface.
    pub fn real_ips(&self) -> Vec<(String, Ipv4Addr)> {
        let vip = self.t.vip;
        self.segment_ifaces()
            .iter()
            .flat_map(|i| {
                i.addrs
                    .iter()
                    .filter_map(|a| a.ip.parse::<Ipv4Addr>().ok())
                    .filter(|ip| Some(*ip) != vip)
                    .map(|ip| (i.name.clone(), ip))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn ssh_ports(&self) -> Vec<u16> {
        let mut v = self.f.ssh_ports.clone();
        if v.is_empty() {
            v.push(22);
        }
        v
    }

    /// Where `rs`'s filter INPUT drops or rejects a new client connection to the VIP, as it
    /// arrives after the host accepts it: after REDIRECT/DNAT at a real IP (also when nothing
    /// accepts the VIP yet, since the fix then adds a REDIRECT), with the VIP local at the VIP.
    /// The client is the first host of --deny-direct's CIDR, else a documentation address.
    pub fn vip_input_blocked(
        &self,
        rs: &Ruleset,
    ) -> Option<(String, Ipv4Addr, parse::iptables::Walk)> {
        self.vip_blocked_by(|src, dst, vip, iface| {
            Some(self.input_verdict(rs, src, dst, vip, self.t.port, iface))
        })
    }

    /// The same question for the runtime nftables input hook.
    pub fn vip_input_blocked_nft(&self) -> Option<(String, Ipv4Addr, parse::iptables::Walk)> {
        self.vip_blocked_by(|src, dst, vip, iface| {
            self.nft_input_verdict(src, dst, vip, self.t.port, iface)
        })
    }

    /// The client the firewall walks send from: the first host of --deny-direct's CIDR (the
    /// clients that matter there), else a documentation address (any client).
    pub fn probe_client(&self) -> Ipv4Addr {
        self.t
            .deny_direct
            .map(|n| first_host_outside(&n, &self.t.allow_direct))
            .unwrap_or(DOC_CLIENT)
    }

    fn vip_blocked_by(
        &self,
        walk: impl Fn(Ipv4Addr, Ipv4Addr, Ipv4Addr, &str) -> Option<parse::iptables::Walk>,
    ) -> Option<(String, Ipv4Addr, parse::iptables::Walk)> {
        let vip = self.t.vip?;
        let src = self.probe_client();
        let mut cases: Vec<(String, Ipv4Addr)> = Vec::new();
        if self.acceptance.is_empty() || self.vip_is_nat() {
            cases.extend(self.real_ips());
        }
        if self.vip_is_local() {
            cases.extend(self.segment_ifaces().iter().map(|i| (i.name.clone(), vip)));
        }
        cases.into_iter().find_map(|(iface, dst)| {
            let w = walk(src, dst, vip, &iface)?;
            blocks(&w).then_some((iface, dst, w))
        })
    }

    /// Tables iptables-nft created: family ip, named like a table iptables-save prints, when
    /// iptables-save itself runs on the nf_tables backend. nft 1.0.6's JSON does not mark
    /// them, and the iptables walk (from iptables-save) already speaks for them, so the nft
    /// walk skips them: one drop, one finding. (iptables-legacy rules never show in nft, so
    /// with that backend an `ip filter` table in nft is the admin's own and is walked.)
    pub fn iptables_nft_owns(&self, family: &str, table: &str) -> bool {
        let nf_backend = self.f.iptables_save.as_deref().is_some_and(|t| {
            t.lines()
                .any(|l| l.starts_with('#') && l.contains("(nf_tables)"))
        });
        nf_backend && family == "ip" && self.ipt.tables.contains_key(table)
    }

    /// Walk the runtime nftables input hook for a NEW TCP connection. None: no nft JSON, or
    /// no input-hook filter chain outside the tables iptables-nft owns.
    pub fn nft_input_verdict(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        orig_dst: Ipv4Addr,
        dport: u16,
        iface: &str,
    ) -> Option<parse::iptables::Walk> {
        let rs = self.nft.as_ref()?;
        let w = rs.walk_input(
            &Packet::new_tcp(src, dst, orig_dst, dport, Some(iface)),
            &|fam, table| self.iptables_nft_owns(fam, table),
        );
        (w.verdict != Verdict::Continue).then_some(w)
    }

    /// Walk filter INPUT for a NEW TCP connection.
    pub fn input_verdict(
        &self,
        rs: &Ruleset,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        orig_dst: Ipv4Addr,
        dport: u16,
        iface: &str,
    ) -> parse::iptables::Walk {
        rs.walk(
            "filter",
            "INPUT",
            &Packet::new_tcp(src, dst, orig_dst, dport, Some(iface)).on_input(),
        )
    }
}

/// Does the walk's verdict stop the packet?
/// A client address from TEST-NET-2 (RFC 5737): no rule of a real host is written for it.
const DOC_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

impl Analysis<'_> {
    /// A new connection from `src` straight to real IP `ip` on the service port (not via the
    /// VIP), walked through iptables' filter INPUT (when gathered) and the nftables input hook.
    pub fn direct_walks(
        &self,
        src: Ipv4Addr,
        ip: Ipv4Addr,
        iface: &str,
    ) -> (Option<parse::iptables::Walk>, Option<parse::iptables::Walk>) {
        let ipt = self
            .f
            .iptables_save
            .is_some()
            .then(|| self.input_verdict(&self.ipt, src, ip, ip, self.t.port, iface));
        (ipt, self.nft_input_verdict(src, ip, ip, self.t.port, iface))
    }
}

pub fn blocks(w: &parse::iptables::Walk) -> bool {
    matches!(w.verdict, Verdict::Drop | Verdict::Reject)
}

/// The nat PREROUTING rule that REDIRECTs/DNATs a client's packet to vip:port, if any.
pub fn nat_rule_for(rs: &Ruleset, vip: Ipv4Addr, port: u16) -> Option<String> {
    let w = rs.walk(
        "nat",
        "PREROUTING",
        &Packet::new_tcp(DOC_CLIENT, vip, vip, port, None),
    );
    matches!(w.verdict, Verdict::Nat(_)).then_some(w.decided_by)
}

/// Is a DROP for `ip saddr NET ... tcp dport PORT` in the ruleset? (RS011 on hosts without
/// iptables: a text match, as nft_nat_for is.)
pub fn nft_drop_for(ruleset: &str, net: &ipnet::Ipv4Net, port: u16) -> Option<String> {
    let saddr = format!("ip saddr {net}");
    let dport = format!("tcp dport {port}");
    ruleset
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&saddr) && l.contains(&dport) && l.ends_with(" drop"))
        .map(String::from)
}

/// An nft `redirect`/`dnat` statement for the VIP (text match on `ip daddr VIP`).
pub fn nft_nat_for(ruleset: &str, vip: Ipv4Addr) -> Option<String> {
    let v = vip.to_string();
    ruleset
        .lines()
        .map(str::trim)
        .find(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .windows(3)
                .any(|w| w[0] == "ip" && w[1] == "daddr" && w[2].trim_end_matches("/32") == v)
                && (l.contains("redirect") || l.contains("dnat"))
        })
        .map(String::from)
}

/// Director or real server, when the user said auto: a host holding IPVS virtual services,
/// or running keepalived with a virtual_server in its config, is a director. (A keepalived
/// process alone is not enough: containers and namespaces share the process list.)
pub fn detect_role(f: &HostFacts) -> Role {
    let has_services = f
        .ip_vs
        .as_deref()
        .map(|t| !parse::ipvs::parse(t).services.is_empty())
        .unwrap_or(false);
    let lvs_config = f
        .keepalived_conf_text()
        .map(|c| c.contains("virtual_server"))
        .unwrap_or(false);
    if has_services || (f.keepalived_running && lvs_config) {
        Role::Director
    } else {
        Role::Real
    }
}

/// A VIP the host itself suggests: a REDIRECT/DNAT `-d X/32` in nat PREROUTING, or a /32
/// on lo/dummy. Used only when exactly one candidate exists.
pub fn infer_vip(f: &HostFacts) -> Option<Ipv4Addr> {
    let mut c: Vec<Ipv4Addr> = Vec::new();
    if let Some(ch) = f.iptables().chain("nat", "PREROUTING") {
        for r in &ch.rules {
            let a = &r.args;
            let is_nat = a
                .windows(2)
                .any(|w| w[0] == "-j" && (w[1] == "REDIRECT" || w[1] == "DNAT"));
            if let Some(i) = a.iter().position(|x| x == "-d") {
                if let Some(ip) = a
                    .get(i + 1)
                    .and_then(|d| d.trim_end_matches("/32").parse().ok())
                {
                    if is_nat && !c.contains(&ip) {
                        c.push(ip);
                    }
                }
            }
        }
    }
    for i in &f.interfaces {
        // lo and dummy (DR), or the IPIP device (TUN).
        if i.kind == "loopback" || i.kind == "dummy" || i.kind == "ipip" {
            for a in &i.addrs {
                if a.prefix == 32 {
                    if let Ok(ip) = a.ip.parse::<Ipv4Addr>() {
                        if !ip.is_loopback() && !c.contains(&ip) {
                            c.push(ip);
                        }
                    }
                }
            }
        }
    }
    (c.len() == 1).then(|| c[0])
}

/// Audit one snapshot.
pub fn audit(f: &HostFacts, t: &Target, role: Role) -> Vec<crate::Finding> {
    let a = Analysis::new(f, t, role);
    let mut out = Vec::new();
    match role {
        Role::Real => checks::run_real(&a, &mut out),
        Role::Director => checks::run_director(&a, &mut out),
    }
    out
}
