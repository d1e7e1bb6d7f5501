//! `iptables-save` format (also /etc/iptables/rules.v4 and /etc/sysconfig/iptables), and a
//! small evaluator that walks a chain for one IPv4 packet the way the kernel would, for the
//! matches LB setups use. A rule with a match it does not know is treated as not matching,
//! and the walk reports it, so an answer is never invented.

use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    /// The rule as saved, without `-A CHAIN`.
    pub spec: String,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chain {
    pub policy: Option<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ruleset {
    pub tables: BTreeMap<String, BTreeMap<String, Chain>>,
}

/// Split like a shell would for iptables-save output: whitespace, double quotes.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut q = false;
    let mut any = false;
    let mut esc = false;
    for c in s.chars() {
        if esc {
            cur.push(c);
            esc = false;
            continue;
        }
        match c {
            '\\' if q => esc = true,
            '"' => {
                q = !q;
                any = true
            }
            c if c.is_whitespace() && !q => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Most rules one `walk` visits (a real INPUT path visits tens).
const WALK_BUDGET: u32 = 100_000;

pub fn parse(text: &str) -> Ruleset {
    let mut rs = Ruleset::default();
    let mut table = String::new();
    for l in text.lines() {
        let l = l.trim();
        if let Some(t) = l.strip_prefix('*') {
            table = t.to_string();
            rs.tables.entry(table.clone()).or_default();
        } else if let Some(c) = l.strip_prefix(':') {
            let mut f = c.split_whitespace();
            let name = f.next().unwrap_or("").to_string();
            let pol = f.next().filter(|p| *p != "-").map(String::from);
            let ch = rs
                .tables
                .entry(table.clone())
                .or_default()
                .entry(name)
                .or_default();
            ch.policy = pol;
        } else if let Some(r) = l.strip_prefix("-A ") {
            let mut args = split_args(r);
            if args.is_empty() {
                continue;
            }
            let chain = args.remove(0);
            // The rest after the chain word; `chain` is unquoted, so its length may differ
            // from the raw text's (fuzz: a quote in the first word sliced inside a char).
            let spec = r
                .trim_start()
                .split_once(char::is_whitespace)
                .map_or("", |x| x.1)
                .trim()
                .to_string();
            rs.tables
                .entry(table.clone())
                .or_default()
                .entry(chain)
                .or_default()
                .rules
                .push(Rule { spec, args });
        }
    }
    rs
}

impl Ruleset {
    pub fn chain(&self, table: &str, chain: &str) -> Option<&Chain> {
        self.tables.get(table).and_then(|t| t.get(chain))
    }

    /// Is a rule with exactly this spec already in table/chain? (normalised whitespace)
    pub fn has_rule(&self, table: &str, chain: &str, spec: &str) -> bool {
        let want = split_args(spec);
        self.chain(table, chain)
            .map(|c| c.rules.iter().any(|r| same_rule(&r.args, &want)))
            .unwrap_or(false)
    }
}

/// iptables-save prints `-d 1.2.3.4/32` for `-d 1.2.3.4`, and long option forms; compare
/// after normalising those.
pub fn same_rule(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|x| match x.as_str() {
                "--source" => "-s".into(),
                "--destination" => "-d".into(),
                "--protocol" => "-p".into(),
                "--jump" => "-j".into(),
                "--in-interface" => "-i".into(),
                "--destination-port" => "--dport".into(),
                s if s.parse::<Ipv4Addr>().is_ok() => format!("{s}/32"),
                s => s.to_string(),
            })
            .collect()
    };
    norm(a) == norm(b)
}

#[derive(Debug, Clone)]
pub struct Packet {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: String,
    pub sport: u16,
    pub dport: u16,
    pub in_iface: Option<String>,
    /// Conntrack state: "NEW" or "ESTABLISHED".
    pub state: String,
    /// Destination before NAT (conntrack --ctorigdst); the same as dst when not NATed.
    pub orig_dst: Ipv4Addr,
    /// The destination is an address of this host (`-m addrtype --dst-type LOCAL`): true on
    /// the INPUT hook, which sees only locally delivered packets; unknown elsewhere.
    pub local_dst: Option<bool>,
}

impl Packet {
    /// A client's first TCP packet (conntrack NEW, from an ephemeral port), as the firewall
    /// walks see it on `in_iface` after NAT rewrote `orig_dst` to `dst`.
    pub fn new_tcp(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        orig_dst: Ipv4Addr,
        dport: u16,
        in_iface: Option<&str>,
    ) -> Packet {
        Packet {
            src,
            dst,
            proto: "tcp".into(),
            sport: 40000,
            dport,
            in_iface: in_iface.map(String::from),
            state: "NEW".into(),
            orig_dst,
            local_dst: None,
        }
    }

    /// The packet as the INPUT hook sees it: its destination is local.
    pub fn on_input(mut self) -> Packet {
        self.local_dst = Some(true);
        self
    }
}

/// `-m addrtype --dst-type/--src-type TYPES` for one address: None when it cannot be told
/// (LOCAL without knowing which hook, or a type this evaluator does not model).
fn addrtype(types: &str, ip: Ipv4Addr, local: Option<bool>) -> Option<bool> {
    let mut any = false;
    for t in types.split(',') {
        let m = match t {
            "LOCAL" => local?,
            "MULTICAST" => ip.is_multicast(),
            "BROADCAST" => ip.is_broadcast(),
            "UNICAST" => !ip.is_multicast() && !ip.is_broadcast(),
            _ => return None,
        };
        any |= m;
    }
    Some(any)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Reject,
    /// nat: REDIRECT or DNAT.
    Nat(String),
    /// Fell off a user chain (RETURN) or a builtin chain with no policy (nat/mangle ACCEPT).
    Continue,
}

#[derive(Debug, Clone)]
pub struct Walk {
    pub verdict: Verdict,
    /// The deciding rule, as `-A CHAIN spec`, or "policy X of CHAIN".
    pub decided_by: String,
    /// Rules skipped because they use a match this evaluator does not know.
    pub unknown: Vec<String>,
}

fn net_contains(spec: &str, ip: Ipv4Addr) -> Option<bool> {
    if let Ok(n) = spec.parse::<Ipv4Net>() {
        return Some(n.contains(&ip));
    }
    spec.parse::<Ipv4Addr>().ok().map(|a| a == ip)
}

fn port_in(spec: &str, p: u16) -> bool {
    spec.split(',').any(|part| match part.split_once(':') {
        Some((a, b)) => {
            let a = a.parse().unwrap_or(0);
            let b = b.parse().unwrap_or(u16::MAX);
            (a..=b).contains(&p)
        }
        None => part.parse::<u16>().map(|x| x == p).unwrap_or(false),
    })
}

fn iface_match(spec: &str, name: Option<&str>) -> bool {
    let Some(n) = name else { return false };
    match spec.strip_suffix('+') {
        Some(prefix) => n.starts_with(prefix),
        None => n == spec,
    }
}

/// Does the rule match? Err(()) when it uses a match we cannot evaluate.
fn rule_matches(args: &[String], p: &Packet) -> Result<bool, ()> {
    let mut i = 0;
    let mut neg = false;
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1).map(|s| s.as_str()).unwrap_or("");
        let mut step = 2;
        let res: Option<bool> = match a {
            "!" => {
                neg = true;
                i += 1;
                continue;
            }
            "-s" | "--source" => net_contains(val, p.src),
            "-d" | "--destination" => net_contains(val, p.dst),
            "-p" | "--protocol" => {
                Some(val == "all" || val == p.proto || (val == "6" && p.proto == "tcp"))
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                Some(port_in(val, p.dport))
            }
            "--sport" | "--source-port" | "--sports" => Some(port_in(val, p.sport)),
            "-i" | "--in-interface" => Some(iface_match(val, p.in_iface.as_deref())),
            "-o" | "--out-interface" => Some(false),
            "--ctstate" | "--state" => Some(val.split(',').any(|s| s == p.state)),
            "--ctorigdst" => net_contains(val, p.orig_dst),
            "--dst-type" => Some(addrtype(val, p.dst, p.local_dst).ok_or(())?),
            // The source is a client here: never one of this host's addresses.
            "--src-type" => Some(addrtype(val, p.src, Some(false)).ok_or(())?),
            // One packet is within any rate limit's burst.
            "--limit" | "--limit-burst" => Some(true),
            "--syn" => {
                step = 1;
                Some(p.state == "NEW")
            }
            "--tcp-flags" => {
                step = 3;
                Some(p.state == "NEW")
            }
            "-m" | "--match" => {
                if !matches!(
                    val,
                    "tcp"
                        | "udp"
                        | "conntrack"
                        | "state"
                        | "multiport"
                        | "comment"
                        | "addrtype"
                        | "limit"
                ) {
                    return Err(());
                }
                None
            }
            "--comment" => None,
            "-j" | "--jump" | "-g" | "--goto" => {
                // Target options follow; they are not matches.
                return Ok(true);
            }
            _ => return Err(()),
        };
        if let Some(r) = res {
            if r == neg {
                // A known match fails: the rule cannot match, whatever follows (ufw's
                // `-p icmp --icmp-type ...` rules for a TCP packet).
                return Ok(false);
            }
        } else if neg {
            return Err(());
        }
        neg = false;
        i += step;
    }
    Ok(true)
}

fn target(args: &[String]) -> Option<(&str, bool)> {
    args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
        "-j" | "--jump" => args.get(i + 1).map(|t| (t.as_str(), false)),
        "-g" | "--goto" => args.get(i + 1).map(|t| (t.as_str(), true)),
        _ => None,
    })
}

impl Ruleset {
    /// Walk `table`/`chain` for `p`.
    pub fn walk(&self, table: &str, chain: &str, p: &Packet) -> Walk {
        let mut unknown = Vec::new();
        // Jumps may fan out (many rules jumping to the same chain, nested): bound the total
        // rules visited, not only the depth (fuzz: exponential walk on a hostile ruleset).
        let mut budget = WALK_BUDGET;
        let v = self.walk_inner(table, chain, p, 0, &mut unknown, &mut budget);
        let (verdict, decided_by) = match v {
            Some(x) => x,
            None => {
                let pol = self
                    .chain(table, chain)
                    .and_then(|c| c.policy.clone())
                    .unwrap_or_else(|| "ACCEPT".into());
                let v = match pol.as_str() {
                    "DROP" => Verdict::Drop,
                    "ACCEPT" if table == "filter" => Verdict::Accept,
                    _ => Verdict::Continue,
                };
                (v, format!("policy {pol} of {chain}"))
            }
        };
        Walk {
            verdict,
            decided_by,
            unknown,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_inner(
        &self,
        table: &str,
        chain: &str,
        p: &Packet,
        depth: u32,
        unknown: &mut Vec<String>,
        budget: &mut u32,
    ) -> Option<(Verdict, String)> {
        if depth > 32 {
            return None;
        }
        let c = self.chain(table, chain)?;
        for r in &c.rules {
            if *budget == 0 {
                return None;
            }
            *budget -= 1;
            match rule_matches(&r.args, p) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(()) => {
                    unknown.push(format!("-A {chain} {}", r.spec));
                    continue;
                }
            }
            let Some((t, goto)) = target(&r.args) else {
                continue;
            };
            let by = format!("-A {chain} {}", r.spec);
            match t {
                "ACCEPT" => return Some((Verdict::Accept, by)),
                "DROP" => return Some((Verdict::Drop, by)),
                "REJECT" => return Some((Verdict::Reject, by)),
                "REDIRECT" | "DNAT" => return Some((Verdict::Nat(t.to_string()), by)),
                "RETURN" => return None,
                "LOG" | "MARK" | "CONNMARK" | "TOS" | "DSCP" | "NOTRACK" | "CT" | "TRACE" => {
                    continue
                }
                user => {
                    if let Some(v) = self.walk_inner(table, user, p, depth + 1, unknown, budget) {
                        return Some(v);
                    }
                    if goto {
                        return None;
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCIDENT_FIX: &str = "# Generated by iptables-save v1.8.9 (nf_tables)\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.21.20/32 -j REDIRECT\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -s 192.168.21.0/26 -p tcp -m conntrack --ctorigdst 192.168.21.20 -m tcp --dport 80 -j ACCEPT\n-A INPUT -s 192.168.21.0/26 -p tcp -m tcp --dport 80 -m comment --comment \"lbdoctor deny-direct\" -j DROP\nCOMMIT\n";

    fn pkt(src: &str, dst: &str, dport: u16, orig: &str) -> Packet {
        Packet::new_tcp(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            orig.parse().unwrap(),
            dport,
            Some("ens3"),
        )
    }

    #[test]
    fn parses_tables_policies_and_quotes() {
        let r = parse(INCIDENT_FIX);
        assert_eq!(r.chain("filter", "INPUT").unwrap().rules.len(), 4);
        assert_eq!(
            r.chain("filter", "INPUT").unwrap().policy.as_deref(),
            Some("ACCEPT")
        );
        assert!(r.chain("filter", "INPUT").unwrap().rules[3]
            .args
            .contains(&"lbdoctor deny-direct".to_string()));
        assert!(r.has_rule("nat", "PREROUTING", "-d 192.168.21.20 -j REDIRECT"));
        assert!(!r.has_rule("nat", "PREROUTING", "-d 192.168.21.21 -j REDIRECT"));
    }

    #[test]
    fn walk_distinguishes_vip_from_direct_traffic_after_redirect() {
        let r = parse(INCIDENT_FIX);
        let nat = r.walk(
            "nat",
            "PREROUTING",
            &pkt("192.168.21.50", "192.168.21.20", 80, "192.168.21.20"),
        );
        assert_eq!(nat.verdict, Verdict::Nat("REDIRECT".into()));
        // After REDIRECT, INPUT sees dst = real IP but ctorigdst = VIP: accepted.
        let via_vip = r.walk(
            "filter",
            "INPUT",
            &pkt("192.168.21.50", "192.168.21.12", 80, "192.168.21.20"),
        );
        assert_eq!(via_vip.verdict, Verdict::Accept);
        let direct = r.walk(
            "filter",
            "INPUT",
            &pkt("192.168.21.50", "192.168.21.12", 80, "192.168.21.12"),
        );
        assert_eq!(direct.verdict, Verdict::Drop, "{}", direct.decided_by);
        let ssh = r.walk(
            "filter",
            "INPUT",
            &pkt("192.168.21.50", "192.168.21.12", 22, "192.168.21.12"),
        );
        assert_eq!(ssh.verdict, Verdict::Accept);
        let outside = r.walk(
            "filter",
            "INPUT",
            &pkt("192.168.21.100", "192.168.21.12", 80, "192.168.21.12"),
        );
        assert_eq!(outside.verdict, Verdict::Accept);
        assert_eq!(outside.decided_by, "policy ACCEPT of INPUT");
    }

    /// ufw 0.36's before.rules: local destinations RETURN from ufw-not-local (the INPUT hook
    /// sees only those), ICMP rules do not match TCP, and the SSH user rule accepts.
    #[test]
    fn ufw_not_local_addrtype_and_limit_on_input() {
        let rs = parse("*filter\n:INPUT DROP [0:0]\n:ufw-before-input - [0:0]\n:ufw-not-local - [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-before-input\n-A ufw-before-input -p icmp --icmp-type echo-request -j ACCEPT\n-A ufw-before-input -j ufw-not-local\n-A ufw-not-local -m addrtype --dst-type LOCAL -j RETURN\n-A ufw-not-local -m addrtype --dst-type MULTICAST -j RETURN\n-A ufw-not-local -m limit --limit 3/min --limit-burst 10 -j ufw-logging-deny\n-A ufw-not-local -j DROP\n-A ufw-before-input -j ufw-user-input\n-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n");
        let w = rs.walk(
            "filter",
            "INPUT",
            &pkt("192.168.21.1", "192.168.21.12", 22, "192.168.21.12").on_input(),
        );
        assert_eq!(w.verdict, Verdict::Accept, "{w:?}");
        assert!(w.unknown.is_empty(), "{:?}", w.unknown);
        // Off the INPUT hook, LOCAL cannot be told: the rule is reported, not guessed.
        let w = rs.walk(
            "filter",
            "INPUT",
            &pkt("192.168.21.1", "192.168.21.12", 22, "192.168.21.12"),
        );
        assert!(
            w.unknown.iter().any(|u| u.contains("--dst-type LOCAL")),
            "{w:?}"
        );
    }

    #[test]
    fn user_chains_negation_and_unknown_matches() {
        let t = "*filter\n:INPUT DROP [0:0]\n:WEB - [0:0]\n-A INPUT -m recent --rcheck -j ACCEPT\n-A INPUT ! -s 10.0.0.0/8 -j WEB\n-A WEB -p tcp --dport 80 -j REJECT\n-A WEB -j RETURN\nCOMMIT\n";
        let r = parse(t);
        let w = r.walk(
            "filter",
            "INPUT",
            &pkt("192.168.1.1", "10.1.1.1", 80, "10.1.1.1"),
        );
        assert_eq!(w.verdict, Verdict::Reject);
        assert_eq!(w.unknown.len(), 1);
        let w = r.walk(
            "filter",
            "INPUT",
            &pkt("10.0.0.5", "10.1.1.1", 80, "10.1.1.1"),
        );
        assert_eq!(w.verdict, Verdict::Drop);
        assert_eq!(w.decided_by, "policy DROP of INPUT");
    }
}
