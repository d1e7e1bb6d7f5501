//! `nft -j list ruleset` (JSON schema 1, nft 1.0.x), and an evaluator that sends one IPv4
//! packet through the base chains on the `input` hook the way the kernel does: the chains of
//! every ip/inet table in priority order; within a chain the first verdict wins; `accept`
//! ends only that base chain (the next one, at a later priority, still sees the packet),
//! `drop`/`reject` are final; jump/goto/return; the chain's policy when it falls off.
//! Like the iptables walker, a rule using an expression it does not know is treated as not
//! matching and reported, so an answer is never invented.

use super::iptables::{Packet, Verdict, Walk};
use ipnet::Ipv4Net;
use serde_json::Value;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Most bytes of `nft -j list ruleset` parsed (the gather script cuts there too). Checked
/// before parsing: a JSON tree costs tens of times its text, so 12.8 MB took 640 MB.
pub const MAX_JSON: usize = 8 << 20;

/// Most rules one walk visits, over all base chains (a real input path visits tens).
const WALK_BUDGET: u32 = 100_000;
/// Deepest jump nesting (the kernel allows 16 levels).
const MAX_DEPTH: u32 = 32;
/// Deepest nesting of set references while matching a value (`@a` holding `@b`...).
const MAX_VALUE_DEPTH: u32 = 8;
/// Unknown rules reported per walk (a hostile ruleset revisits the same ones).
const MAX_UNKNOWN: usize = 64;

fn note(unknown: &mut Vec<String>, s: String) {
    if unknown.len() < MAX_UNKNOWN && !unknown.contains(&s) {
        unknown.push(s);
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    pub handle: u64,
    pub expr: Vec<Value>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chain {
    pub family: String,
    pub table: String,
    pub name: String,
    /// Base chains only: hook, type, priority, policy.
    pub hook: Option<String>,
    pub kind: Option<String>,
    pub prio: i64,
    pub policy: Option<String>,
    pub rules: Vec<Rule>,
}

/// (family, table, name)
type Key = (String, String, String);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ruleset {
    /// In listing order (the order tables were created: the tie-break between base chains
    /// at the same priority).
    pub chains: Vec<Chain>,
    index: BTreeMap<Key, usize>,
    /// Named sets' elements.
    pub sets: BTreeMap<Key, Vec<Value>>,
}

/// Parse `nft -j list ruleset`. Err: not that JSON (serde_json bounds nesting at 128).
pub fn parse(json: &str) -> Result<Ruleset, String> {
    if json.trim_end().len() >= MAX_JSON {
        return Err(format!(
            "the JSON ruleset is {} MiB or more (lbdoctor's limit); not parsed, nftables rules not walked",
            MAX_JSON >> 20
        ));
    }
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let items = v
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or("no \"nftables\" array")?;
    let mut rs = Ruleset::default();
    let s = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    for it in items {
        if let Some(c) = it.get("chain") {
            let key = (s(c, "family"), s(c, "table"), s(c, "name"));
            if rs.index.contains_key(&key) {
                continue;
            }
            rs.index.insert(key.clone(), rs.chains.len());
            rs.chains.push(Chain {
                family: key.0,
                table: key.1,
                name: key.2,
                hook: c.get("hook").and_then(Value::as_str).map(String::from),
                kind: c.get("type").and_then(Value::as_str).map(String::from),
                prio: c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                policy: c.get("policy").and_then(Value::as_str).map(String::from),
                rules: Vec::new(),
            });
        } else if let Some(r) = it.get("rule") {
            let key = (s(r, "family"), s(r, "table"), s(r, "chain"));
            let Some(&i) = rs.index.get(&key) else {
                continue;
            };
            rs.chains[i].rules.push(Rule {
                handle: r.get("handle").and_then(Value::as_u64).unwrap_or(0),
                expr: r
                    .get("expr")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                comment: r.get("comment").and_then(Value::as_str).map(String::from),
            });
        } else if let Some(st) = it.get("set") {
            let key = (s(st, "family"), s(st, "table"), s(st, "name"));
            let elems = match st.get("elem") {
                Some(Value::Array(a)) => a.clone(),
                Some(other) => vec![other.clone()],
                None => Vec::new(),
            };
            rs.sets.insert(key, elems);
        }
    }
    Ok(rs)
}

/// Where a rule lives (named sets resolve in its table), and the walk's budget of value
/// comparisons: rules visited are bounded by WALK_BUDGET, but each may scan a large set.
struct Scope<'a> {
    family: &'a str,
    table: &'a str,
    work: &'a Cell<u32>,
}

/// Most set elements and values compared in one walk.
const WORK_BUDGET: u32 = 1_000_000;

/// A packet field's value, as far as the evaluator knows it.
enum Field {
    Ip(Ipv4Addr),
    Num(u64),
    /// Interface names, protocol names (compared as text; `*` suffix is a wildcard).
    Text(String),
    /// Bit sets: ct state, ct status, tcp flags (matched by intersection).
    Flags(Vec<&'static str>),
    /// The packet has no such header (ip6, udp, icmp on an IPv4 TCP packet): never matches,
    /// whatever the operator (nft adds the protocol dependency implicitly).
    Absent,
}

fn l4_num(name: &str) -> Option<u64> {
    match name {
        "icmp" => Some(1),
        "tcp" => Some(6),
        "udp" => Some(17),
        _ => None,
    }
}

/// The value of the expression `left` for `p`; Err: an expression we do not evaluate.
fn field(left: &Value, p: &Packet) -> Result<Field, ()> {
    let tcp = p.proto == "tcp";
    if let Some(pl) = left.get("payload") {
        let proto = pl.get("protocol").and_then(Value::as_str).ok_or(())?;
        let f = pl.get("field").and_then(Value::as_str).ok_or(())?;
        return match (proto, f) {
            ("ip", "saddr") => Ok(Field::Ip(p.src)),
            ("ip", "daddr") => Ok(Field::Ip(p.dst)),
            ("ip", "protocol") => Ok(Field::Text(p.proto.clone())),
            ("tcp" | "th", "dport") if tcp => Ok(Field::Num(p.dport.into())),
            ("tcp" | "th", "sport") if tcp => Ok(Field::Num(p.sport.into())),
            ("tcp", "flags") if tcp => Ok(Field::Flags(if p.state == "NEW" {
                vec!["syn"]
            } else {
                vec!["ack"]
            })),
            ("tcp", _) if !tcp => Ok(Field::Absent),
            (
                "ip6" | "udp" | "udplite" | "sctp" | "dccp" | "icmp" | "icmpv6" | "igmp" | "esp"
                | "ah" | "comp",
                _,
            ) => Ok(Field::Absent),
            _ => Err(()),
        };
    }
    if let Some(m) = left.get("meta") {
        return match m.get("key").and_then(Value::as_str).ok_or(())? {
            "l4proto" => Ok(Field::Text(p.proto.clone())),
            "nfproto" => Ok(Field::Text("ipv4".into())),
            "protocol" => Ok(Field::Text("ip".into())),
            // JSON names the interface for `iif` (an index in the kernel): same thing here.
            "iifname" | "iif" => p.in_iface.clone().map(Field::Text).ok_or(()),
            _ => Err(()),
        };
    }
    if let Some(ct) = left.get("ct") {
        let key = ct.get("key").and_then(Value::as_str).ok_or(())?;
        let dir = ct.get("dir").and_then(Value::as_str);
        let fam = ct.get("family").and_then(Value::as_str);
        return match (key, dir, fam) {
            ("state", None, _) => Ok(Field::Flags(vec![if p.state == "NEW" {
                "new"
            } else {
                "established"
            }])),
            // A NAT'ed connection (REDIRECT/DNAT in prerouting) has the dnat bit set.
            ("status", None, _) => Ok(Field::Flags(if p.orig_dst != p.dst {
                vec!["dnat", "dnat-done"]
            } else {
                vec![]
            })),
            // nft 1.0.6 prints `ct original ip daddr` as key "ip daddr"; other versions as
            // key "daddr" with family "ip".
            ("ip daddr", Some("original"), _) | ("daddr", Some("original"), Some("ip")) => {
                Ok(Field::Ip(p.orig_dst))
            }
            ("ip saddr", Some("original"), _) | ("saddr", Some("original"), Some("ip")) => {
                Ok(Field::Ip(p.src))
            }
            _ => Err(()),
        };
    }
    if let Some(fib) = left.get("fib") {
        let res = fib.get("result").and_then(Value::as_str);
        let flags = fib.get("flags").and_then(Value::as_array).ok_or(())?;
        // On the input hook the destination is local by definition.
        if res == Some("type") && flags.len() == 1 && flags[0] == "daddr" {
            return Ok(Field::Text("local".into()));
        }
        return Err(());
    }
    Err(())
}

/// Does one value or element `v` (from the right-hand side) contain `f`?
fn value_has(f: &Field, v: &Value, rs: &Ruleset, t: &Scope, depth: u32) -> Result<bool, ()> {
    if depth > MAX_VALUE_DEPTH || t.work.get() == 0 {
        return Err(());
    }
    t.work.set(t.work.get() - 1);
    match v {
        Value::String(s) if s.starts_with('@') => {
            let key = (
                t.family.to_string(),
                t.table.to_string(),
                s[1..].to_string(),
            );
            let elems = rs.sets.get(&key).ok_or(())?;
            any_of(f, elems, rs, t, depth + 1)
        }
        Value::Array(a) => any_of(f, a, rs, t, depth + 1),
        Value::Object(o) => {
            if let Some(s) = o.get("set") {
                return match s {
                    Value::Array(a) => any_of(f, a, rs, t, depth + 1),
                    one => value_has(f, one, rs, t, depth + 1),
                };
            }
            if let Some(e) = o.get("elem") {
                return value_has(f, e.get("val").ok_or(())?, rs, t, depth + 1);
            }
            if let Some(pf) = o.get("prefix") {
                let Field::Ip(ip) = f else { return Err(()) };
                let addr: Ipv4Addr = pf
                    .get("addr")
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse().ok())
                    .ok_or(())?;
                let len = pf.get("len").and_then(Value::as_u64).ok_or(())?;
                let net = Ipv4Net::new(addr, u8::try_from(len).map_err(|_| ())?).map_err(|_| ())?;
                return Ok(net.contains(ip));
            }
            if let Some(Value::Array(r)) = o.get("range") {
                if r.len() != 2 {
                    return Err(());
                }
                return match f {
                    Field::Ip(ip) => {
                        let a = as_ip(&r[0])?;
                        let b = as_ip(&r[1])?;
                        Ok(a <= *ip && *ip <= b)
                    }
                    Field::Num(n) => Ok(as_num(&r[0])? <= *n && *n <= as_num(&r[1])?),
                    _ => Err(()),
                };
            }
            Err(())
        }
        scalar => match f {
            Field::Ip(ip) => Ok(as_ip(scalar)? == *ip),
            Field::Num(n) => Ok(as_num(scalar)? == *n),
            Field::Text(t) => {
                let s = match scalar {
                    Value::String(s) => s.clone(),
                    // A protocol number; an interface index (`iif 5` for a link that is gone
                    // when listed) cannot be compared with a name.
                    Value::Number(n) if l4_num(t).is_some() => n.to_string(),
                    _ => return Err(()),
                };
                if let Some(prefix) = s.strip_suffix('*') {
                    return Ok(t.starts_with(prefix));
                }
                // Protocols may be written by number.
                if let (Some(a), Ok(b)) = (l4_num(t), s.parse::<u64>()) {
                    return Ok(a == b);
                }
                Ok(*t == s)
            }
            Field::Flags(bits) => Ok(bits.iter().any(|b| scalar.as_str() == Some(b))),
            Field::Absent => Ok(false),
        },
    }
}

fn any_of(f: &Field, items: &[Value], rs: &Ruleset, t: &Scope, depth: u32) -> Result<bool, ()> {
    let mut unknown = false;
    for e in items {
        match value_has(f, e, rs, t, depth) {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(()) => unknown = true,
        }
    }
    if unknown {
        Err(())
    } else {
        Ok(false)
    }
}

fn as_ip(v: &Value) -> Result<Ipv4Addr, ()> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or(())
}

fn as_num(v: &Value) -> Result<u64, ()> {
    match v {
        Value::Number(n) => n.as_u64().ok_or(()),
        Value::String(s) => s.parse().map_err(|_| ()),
        _ => Err(()),
    }
}

/// One `match` expression.
fn match_expr(m: &Value, p: &Packet, rs: &Ruleset, t: &Scope) -> Result<bool, ()> {
    let op = m.get("op").and_then(Value::as_str).unwrap_or("==");
    let f = field(m.get("left").ok_or(())?, p)?;
    if matches!(f, Field::Absent) {
        return Ok(false);
    }
    let right = m.get("right").ok_or(())?;
    match op {
        "==" | "in" => value_has(&f, right, rs, t, 0),
        "!=" => value_has(&f, right, rs, t, 0).map(|b| !b),
        "<" | ">" | "<=" | ">=" => {
            let Field::Num(n) = f else { return Err(()) };
            let r = as_num(right)?;
            Ok(match op {
                "<" => n < r,
                ">" => n > r,
                "<=" => n <= r,
                _ => n >= r,
            })
        }
        _ => Err(()),
    }
}

/// A rule's outcome for the packet.
enum Outcome<'a> {
    NoMatch,
    Unknown,
    Verdict(&'a Value),
}

/// The verdict statements the walker knows.
fn is_verdict(k: &str) -> bool {
    matches!(
        k,
        "accept" | "drop" | "reject" | "jump" | "goto" | "return" | "continue"
    )
}

fn eval_rule<'a>(r: &'a Rule, p: &Packet, rs: &Ruleset, t: &Scope) -> Outcome<'a> {
    let mut unknown = false;
    for e in &r.expr {
        let Some((k, body)) = e.as_object().and_then(|o| o.iter().next()) else {
            unknown = true;
            continue;
        };
        match k.as_str() {
            "match" => match match_expr(body, p, rs, t) {
                Ok(true) => {}
                Ok(false) => return Outcome::NoMatch,
                Err(()) => unknown = true,
            },
            // Statements that do not decide anything for a NEW packet's verdict.
            "counter" | "log" | "mangle" | "notrack" => {}
            k if is_verdict(k) => {
                return if unknown {
                    Outcome::Unknown
                } else {
                    Outcome::Verdict(e)
                };
            }
            "vmap" => {
                let hit = (|| {
                    let f = field(body.get("key").ok_or(())?, p)?;
                    let data = body.get("data").ok_or(())?;
                    let pairs = data
                        .get("set")
                        .and_then(Value::as_array)
                        .ok_or(())?
                        .as_slice();
                    for pair in pairs {
                        let kv = pair.as_array().filter(|a| a.len() == 2).ok_or(())?;
                        if value_has(&f, &kv[0], rs, t, 0)? {
                            return Ok(Some(&kv[1]));
                        }
                    }
                    Ok(None)
                })();
                return match hit {
                    _ if unknown => Outcome::Unknown,
                    Ok(Some(v)) => Outcome::Verdict(v),
                    Ok(None) => Outcome::NoMatch,
                    Err(()) => Outcome::Unknown,
                };
            }
            _ => unknown = true,
        }
    }
    if unknown {
        Outcome::Unknown
    } else {
        Outcome::NoMatch
    }
}

impl Ruleset {
    fn chain(&self, key: &Key) -> Option<&Chain> {
        self.index.get(key).map(|&i| &self.chains[i])
    }

    /// Base chains on the input hook of family ip/inet that filter (type filter), in the
    /// order the kernel runs them. nat-type input chains (snat) are not walked.
    pub fn input_chains(&self) -> Vec<&Chain> {
        let mut v: Vec<&Chain> = self
            .chains
            .iter()
            .filter(|c| c.hook.as_deref() == Some("input"))
            .filter(|c| c.kind.as_deref().unwrap_or("filter") == "filter")
            .filter(|c| c.family == "ip" || c.family == "inet")
            .collect();
        v.sort_by_key(|c| c.prio);
        v
    }

    /// Send `p` through the input hook, skipping the tables `skip(family, table)` names.
    /// Accept: every base chain let it through (decided_by: the last one's reason);
    /// Continue: there is no base chain to walk.
    pub fn walk_input(&self, p: &Packet, skip: &dyn Fn(&str, &str) -> bool) -> Walk {
        let mut unknown = Vec::new();
        let mut budget = WALK_BUDGET;
        let work = Cell::new(WORK_BUDGET);
        let mut last: Option<String> = None;
        for c in self.input_chains() {
            if skip(&c.family, &c.table) {
                continue;
            }
            let key: Key = (c.family.clone(), c.table.clone(), c.name.clone());
            let (v, by) = match self.walk_chain(&key, p, 0, &mut unknown, &mut budget, &work) {
                Some(x) => x,
                None => {
                    let pol = c.policy.clone().unwrap_or_else(|| "accept".into());
                    let v = if pol == "drop" {
                        Verdict::Drop
                    } else {
                        Verdict::Accept
                    };
                    (
                        v,
                        format!("policy {pol} of {} {} chain {}", c.family, c.table, c.name),
                    )
                }
            };
            match v {
                Verdict::Accept => last = Some(by),
                other => {
                    return Walk {
                        verdict: other,
                        decided_by: by,
                        unknown,
                    }
                }
            }
        }
        match last {
            Some(by) => Walk {
                verdict: Verdict::Accept,
                decided_by: by,
                unknown,
            },
            None => Walk {
                verdict: Verdict::Continue,
                decided_by: "no nftables input chain".into(),
                unknown,
            },
        }
    }

    /// A verdict from chain `key` (accept/drop/reject), or None: it returned or fell off.
    fn walk_chain(
        &self,
        key: &Key,
        p: &Packet,
        depth: u32,
        unknown: &mut Vec<String>,
        budget: &mut u32,
        work: &Cell<u32>,
    ) -> Option<(Verdict, String)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let c = self.chain(key)?;
        let t = Scope {
            family: &key.0,
            table: &key.1,
            work,
        };
        for r in &c.rules {
            if *budget == 0 {
                return None;
            }
            *budget -= 1;
            let v = match eval_rule(r, p, self, &t) {
                Outcome::NoMatch => continue,
                Outcome::Unknown => {
                    note(unknown, describe(c, r));
                    continue;
                }
                Outcome::Verdict(v) => v,
            };
            let Some((k, body)) = v.as_object().and_then(|o| o.iter().next()) else {
                note(unknown, describe(c, r));
                continue;
            };
            let by = || describe(c, r);
            match k.as_str() {
                "accept" => return Some((Verdict::Accept, by())),
                "drop" => return Some((Verdict::Drop, by())),
                "reject" => return Some((Verdict::Reject, by())),
                "return" => return None,
                "continue" => continue,
                "jump" | "goto" => {
                    let Some(target) = body.get("target").and_then(Value::as_str) else {
                        note(unknown, describe(c, r));
                        continue;
                    };
                    let sub = (key.0.clone(), key.1.clone(), target.to_string());
                    if let Some(x) = self.walk_chain(&sub, p, depth + 1, unknown, budget, work) {
                        return Some(x);
                    }
                    if k == "goto" {
                        return None;
                    }
                }
                _ => note(unknown, describe(c, r)),
            }
        }
        None
    }
}

/// `table inet filter chain input handle 5: tcp dport 22 drop`, for evidence.
pub fn describe(c: &Chain, r: &Rule) -> String {
    let mut s = format!(
        "table {} {} chain {} handle {}: {}",
        c.family,
        c.table,
        c.name,
        r.handle,
        render_rule(r)
    );
    if let Some(cm) = &r.comment {
        s.push_str(&format!(" comment \"{cm}\""));
    }
    s
}

/// The chain (family, table, name) a walk's `decided_by` names, so a fix can insert an
/// accept at its top: "table F T chain C handle N: ..." or "policy P of F T chain C".
pub fn decided_chain(decided_by: &str) -> Option<(String, String, String)> {
    let head = match decided_by.strip_prefix("table ") {
        Some(rest) => rest.split(" handle ").next()?,
        None => decided_by.strip_prefix("policy ")?.split_once(" of ")?.1,
    };
    let (ft, chain) = head.split_once(" chain ")?;
    let (fam, table) = ft.split_once(' ')?;
    Some((fam.to_string(), table.to_string(), chain.to_string()))
}

/// A rule back in nft's text syntax, for the constructs the walker knows ("?" otherwise).
pub fn render_rule(r: &Rule) -> String {
    r.expr.iter().map(render_stmt).collect::<Vec<_>>().join(" ")
}

fn render_stmt(e: &Value) -> String {
    let Some((k, b)) = e.as_object().and_then(|o| o.iter().next()) else {
        return "?".into();
    };
    match k.as_str() {
        "match" => {
            let op = b.get("op").and_then(Value::as_str).unwrap_or("==");
            let l = b.get("left").map(render_value).unwrap_or_default();
            let r = b.get("right").map(render_value).unwrap_or_default();
            match op {
                "==" | "in" => format!("{l} {r}"),
                op => format!("{l} {op} {r}"),
            }
        }
        "accept" | "drop" | "return" | "continue" | "counter" | "notrack" => k.clone(),
        "reject" => "reject".into(),
        "log" => "log".into(),
        "jump" | "goto" => format!(
            "{k} {}",
            b.get("target").and_then(Value::as_str).unwrap_or("?")
        ),
        "vmap" => format!(
            "{} vmap {}",
            b.get("key").map(render_value).unwrap_or_default(),
            b.get("data").map(render_value).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Array(a) => {
            // A map pair [key, verdict] or a flag list.
            if a.len() == 2 && a[1].is_object() && !a[0].is_object() {
                return format!("{} : {}", render_value(&a[0]), render_stmt(&a[1]));
            }
            a.iter().map(render_value).collect::<Vec<_>>().join(",")
        }
        Value::Object(o) => {
            let Some((k, b)) = o.iter().next() else {
                return "?".into();
            };
            let g = |x: &str| b.get(x).and_then(Value::as_str).unwrap_or("?").to_string();
            match k.as_str() {
                "payload" => format!("{} {}", g("protocol"), g("field")),
                "meta" => match g("key").as_str() {
                    k @ ("iifname" | "iif" | "oifname" | "oif") => k.to_string(),
                    k => format!("meta {k}"),
                },
                "ct" => match b.get("dir").and_then(Value::as_str) {
                    Some(d) => {
                        let fam = b
                            .get("family")
                            .and_then(Value::as_str)
                            .map(|f| format!("{f} "))
                            .unwrap_or_default();
                        format!("ct {d} {fam}{}", g("key"))
                    }
                    None => format!("ct {}", g("key")),
                },
                "fib" => format!(
                    "fib {} {}",
                    b.get("flags")
                        .map(render_value)
                        .unwrap_or_default()
                        .replace(',', " . "),
                    g("result")
                ),
                "prefix" => format!(
                    "{}/{}",
                    g("addr"),
                    b.get("len").map(render_value).unwrap_or_default()
                ),
                "range" => match b.as_array() {
                    Some(r) if r.len() == 2 => {
                        format!("{}-{}", render_value(&r[0]), render_value(&r[1]))
                    }
                    _ => "?".into(),
                },
                "set" => match b.as_array() {
                    Some(a) => format!(
                        "{{ {} }}",
                        a.iter().map(render_value).collect::<Vec<_>>().join(", ")
                    ),
                    None => render_value(b),
                },
                "elem" => b.get("val").map(render_value).unwrap_or_default(),
                other => other.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Ruleset {
        let p = format!("{}/fixtures/audit/nft/{name}", env!("CARGO_MANIFEST_DIR"));
        parse(&std::fs::read_to_string(&p).unwrap()).unwrap()
    }

    fn pkt(src: &str, dst: &str, dport: u16, orig: &str, iface: &str) -> Packet {
        Packet::new_tcp(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            orig.parse().unwrap(),
            dport,
            Some(iface),
        )
    }

    fn direct(src: &str, dport: u16) -> Packet {
        pkt(src, "192.168.21.12", dport, "192.168.21.12", "eth0")
    }

    fn none(_: &str, _: &str) -> bool {
        false
    }

    /// Only the table named `t` (the constructs fixture also holds table ip lbdoctor).
    fn only(t: &'static str) -> impl Fn(&str, &str) -> bool {
        move |_, table| table != t
    }

    #[test]
    fn decided_chain_reads_both_forms() {
        let want = Some(("inet".into(), "filter".into(), "input".into()));
        assert_eq!(
            decided_chain("table inet filter chain input handle 3: tcp dport 22 drop"),
            want
        );
        assert_eq!(
            decided_chain("policy drop of inet filter chain input"),
            want
        );
        assert_eq!(decided_chain("-A INPUT -j DROP"), None);
    }

    #[test]
    fn parses_tables_chains_sets_and_rules() {
        let rs = fixture("constructs.json");
        let input = rs.input_chains();
        assert_eq!(input.len(), 2);
        assert_eq!(input[0].table, "admin");
        assert_eq!(input[0].policy.as_deref(), Some("drop"));
        assert_eq!(input[0].rules.len(), 16);
        let k = (
            "inet".to_string(),
            "admin".to_string(),
            "trusted".to_string(),
        );
        assert_eq!(rs.sets[&k].len(), 3);
        assert!(parse("{\"nftables\": 3}").is_err());
        assert!(parse("not json").is_err());
    }

    #[test]
    fn constructs_each_decide_as_the_kernel_would() {
        let rs = fixture("constructs.json");
        let admin = only("admin");
        let w = |p: &Packet| rs.walk_input(p, &admin);
        // Named set of ports via `ip protocol tcp tcp dport @sshports`.
        let r = w(&direct("203.0.113.9", 2222));
        assert_eq!(r.verdict, Verdict::Accept);
        assert!(r.decided_by.contains("handle 10"), "{}", r.decided_by);
        // Named interval set: prefix, range and single address elements.
        for src in ["10.9.3.3", "192.168.21.110", "172.16.0.1"] {
            let r = w(&direct(src, 5000));
            assert!(r.decided_by.contains("@trusted"), "{src}: {}", r.decided_by);
        }
        // Anonymous set of a prefix and an address, port range, log as a no-op.
        let r = w(&direct("10.2.3.4", 85));
        assert!(r.decided_by.contains("handle 13"), "{}", r.decided_by);
        assert!(w(&direct("10.1.200.1", 90))
            .decided_by
            .contains("handle 13"));
        // daddr + port set.
        let r = w(&pkt(
            "203.0.113.9",
            "192.168.21.20",
            443,
            "192.168.21.20",
            "eth0",
        ));
        assert!(r.decided_by.contains("handle 15"), "{}", r.decided_by);
        assert!(r.decided_by.ends_with("comment \"vip\""));
        // ct original ip daddr: redirected VIP traffic, seen at the real IP.
        let r = w(&pkt(
            "203.0.113.9",
            "192.168.21.12",
            80,
            "192.168.21.20",
            "eth0",
        ));
        assert_eq!(r.verdict, Verdict::Accept);
        assert!(
            r.decided_by
                .contains("ct original ip daddr 192.168.21.20 accept"),
            "{}",
            r.decided_by
        );
        // iif / iifname wildcard.
        assert!(w(&pkt(
            "203.0.113.9",
            "192.168.21.12",
            5000,
            "192.168.21.12",
            "lo"
        ))
        .decided_by
        .contains("handle 7"));
        assert!(w(&pkt(
            "203.0.113.9",
            "192.168.21.12",
            5000,
            "192.168.21.12",
            "wg0"
        ))
        .decided_by
        .contains("handle 8"));
        // fib daddr type local + jump; svc accepts new 8080.
        let r = w(&direct("203.0.113.9", 8080));
        assert_eq!(r.verdict, Verdict::Accept);
        assert!(r.decided_by.contains("chain svc"), "{}", r.decided_by);
        // ...but `ip saddr 10.5.0.0/16 return` comes back, and the input chain goes on to the
        // final reject (10.5/16 is not in @trusted).
        let r = w(&direct("10.5.1.1", 8080));
        assert_eq!(r.verdict, Verdict::Reject, "{}", r.decided_by);
        // vmap: 25 drop, 26 jump svc (reject with tcp reset there), 27 accept.
        assert_eq!(w(&direct("203.0.113.9", 25)).verdict, Verdict::Drop);
        let r = w(&direct("203.0.113.9", 26));
        assert_eq!(r.verdict, Verdict::Reject);
        assert!(r.decided_by.contains("chain svc"), "{}", r.decided_by);
        assert_eq!(w(&direct("203.0.113.9", 27)).verdict, Verdict::Accept);
        // `ip saddr != 10.0.0.0/8 tcp sport 1024-65535 ... goto svc`: svc has nothing for
        // 9000, goto does not come back: the base chain's policy (drop) decides.
        let r = w(&direct("203.0.113.9", 9000));
        assert_eq!(r.verdict, Verdict::Drop, "{}", r.decided_by);
        assert!(r
            .decided_by
            .starts_with("policy drop of inet admin chain input"));
        // A `meta mark set` rule has no verdict; anything else falls to the final reject.
        let r = w(&direct("203.0.113.9", 9100));
        assert_eq!(r.verdict, Verdict::Reject);
        assert!(r.unknown.is_empty(), "{:?}", r.unknown);
        // ct status dnat: on a NAT'ed connection to another port.
        let r = w(&pkt(
            "203.0.113.9",
            "192.168.21.12",
            5000,
            "192.168.21.30",
            "eth0",
        ));
        assert!(
            r.decided_by.contains("ct status dnat accept"),
            "{}",
            r.decided_by
        );
    }

    #[test]
    fn accept_ends_only_its_base_chain() {
        let rs = fixture("priority.json");
        // inet early (prio -10) accepts 22 and 80; ip late (prio 10) drops the CIDR anyway.
        let r = rs.walk_input(&direct("192.168.21.5", 22), &none);
        assert_eq!(r.verdict, Verdict::Drop);
        assert!(r.decided_by.starts_with("table ip late chain input"));
        let r = rs.walk_input(&direct("192.168.21.100", 22), &none);
        assert_eq!(r.verdict, Verdict::Accept);
        assert_eq!(r.decided_by, "policy accept of ip late chain input");
        // The nat-type input chain (snat) is not a filter: never walked, never unknown.
        assert!(r.unknown.is_empty());
        // Skipping a table removes its verdicts.
        let r = rs.walk_input(&direct("192.168.21.5", 22), &|_, t| t == "late");
        assert_eq!(r.verdict, Verdict::Accept);
    }

    #[test]
    fn our_own_table_keeps_ssh_and_vip_and_drops_direct() {
        let rs = fixture("constructs.json");
        let ours = only("lbdoctor");
        let w = |p: &Packet| rs.walk_input(p, &ours);
        assert_eq!(w(&direct("192.168.21.5", 22)).verdict, Verdict::Accept);
        let r = w(&direct("192.168.21.5", 80));
        assert_eq!(r.verdict, Verdict::Drop);
        assert_eq!(
            r.decided_by,
            "table ip lbdoctor chain input handle 7: ip saddr 192.168.21.0/26 tcp dport 80 drop"
        );
        let r = w(&pkt(
            "192.168.21.5",
            "192.168.21.12",
            80,
            "192.168.21.20",
            "eth0",
        ));
        assert_eq!(r.verdict, Verdict::Accept);
    }

    #[test]
    fn firewalld_zones_rich_rule_drop_and_allowed_services() {
        let rs = fixture("firewalld.json");
        // The deny rich rule sits before the allow of ssh.
        let r = rs.walk_input(&direct("192.168.21.5", 22), &none);
        assert_eq!(r.verdict, Verdict::Drop, "{}", r.decided_by);
        assert!(r.decided_by.contains("filter_IN_public_deny"));
        assert_eq!(
            rs.walk_input(&direct("192.168.21.100", 22), &none).verdict,
            Verdict::Accept
        );
        // Not an allowed service: the zone's final reject.
        let r = rs.walk_input(&direct("192.168.21.100", 80), &none);
        assert_eq!(r.verdict, Verdict::Reject);
        assert!(
            r.decided_by.contains("chain filter_IN_public "),
            "{}",
            r.decided_by
        );
        // Redirected traffic: `ct status dnat accept` in filter_INPUT.
        let r = rs.walk_input(
            &pkt(
                "192.168.21.100",
                "192.168.21.12",
                80,
                "192.168.21.20",
                "eth0",
            ),
            &none,
        );
        assert_eq!(r.verdict, Verdict::Accept);
        assert!(r.decided_by.contains("ct status dnat"));
        assert!(r.unknown.is_empty(), "{:?}", r.unknown);
    }

    #[test]
    fn iptables_nft_tables_are_plain_nft_tables() {
        // nft 1.0.6 marks nothing: the table is `ip filter` with chain INPUT, like an admin's.
        let rs = fixture("iptables-nft.json");
        let r = rs.walk_input(&direct("192.168.21.5", 22), &none);
        assert_eq!(r.verdict, Verdict::Drop);
        assert_eq!(
            r.decided_by,
            "table ip filter chain INPUT handle 2: tcp dport 22 counter drop"
        );
    }

    #[test]
    fn unknown_expressions_are_skipped_and_reported() {
        let json = r#"{"nftables":[{"chain":{"family":"inet","table":"t","name":"in","type":"filter","hook":"input","prio":0,"policy":"accept"}},
          {"rule":{"family":"inet","table":"t","chain":"in","handle":3,"expr":[{"limit":{"rate":5,"per":"second"}},{"drop":null}]}},
          {"rule":{"family":"inet","table":"t","chain":"in","handle":4,"expr":[{"match":{"op":"==","left":{"meta":{"key":"skuid"}},"right":0}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":99}},{"drop":null}]}},
          {"rule":{"family":"inet","table":"t","chain":"in","handle":5,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":53}},{"drop":null}]}},
          {"rule":{"family":"inet","table":"t","chain":"in","handle":7,"expr":[{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":6}},{"match":{"op":"==","left":{"meta":{"key":"iif"}},"right":5}},{"drop":null}]}},
          {"rule":{"family":"inet","table":"t","chain":"in","handle":6,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@missing"}},{"drop":null}]}}]}"#;
        let rs = parse(json).unwrap();
        let r = rs.walk_input(&direct("192.168.21.5", 22), &none);
        assert_eq!(r.verdict, Verdict::Accept);
        // limit: unknown; skuid then dport 99: dport is known false, so no match at all;
        // udp on a TCP packet: never; a set that is not in the ruleset: unknown.
        // `l4proto 6` is tcp, but an interface index is not comparable with a name.
        assert_eq!(r.unknown.len(), 3, "{:?}", r.unknown);
        assert!(r.unknown[0].contains("handle 3: limit drop"));
        assert!(r.unknown[1].contains("handle 7: meta l4proto 6 iif 5 drop"));
        assert!(r.unknown[2].contains("handle 6"));
    }

    #[test]
    fn hostile_rulesets_are_bounded() {
        // A chain jumping to itself, and a set holding itself.
        let json = r#"{"nftables":[{"chain":{"family":"ip","table":"t","name":"in","type":"filter","hook":"input","prio":0,"policy":"accept"}},
          {"set":{"family":"ip","table":"t","name":"s","elem":["@s"]}},
          {"rule":{"family":"ip","table":"t","chain":"in","handle":1,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@s"}},{"drop":null}]}},
          {"rule":{"family":"ip","table":"t","chain":"in","handle":2,"expr":[{"jump":{"target":"in"}}]}},
          {"rule":{"family":"ip","table":"t","chain":"in","handle":3,"expr":[{"jump":{"target":"in"}}]}}]}"#;
        let rs = parse(json).unwrap();
        let r = rs.walk_input(&direct("192.168.21.5", 22), &none);
        assert_eq!(r.verdict, Verdict::Accept);
        assert!(!r.unknown.is_empty() && r.unknown.len() <= MAX_UNKNOWN);
        // Large sets scanned by many rules: the comparison budget ends it, and the rules it
        // could not finish are reported, not guessed.
        let elems: Vec<String> = (0..20_000)
            .map(|i| format!("\"10.{}.{}.1\"", i / 256, i % 256))
            .collect();
        let rule = r#"{"rule":{"family":"ip","table":"t","chain":"in","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@big"}},{"drop":null}]}}"#;
        let json = format!(
            r#"{{"nftables":[{{"chain":{{"family":"ip","table":"t","name":"in","type":"filter","hook":"input","prio":0,"policy":"accept"}}}},{{"set":{{"family":"ip","table":"t","name":"big","elem":[{}]}}}},{}]}}"#,
            elems.join(","),
            vec![rule; 200].join(",")
        );
        let rs = parse(&json).unwrap();
        let r = rs.walk_input(&direct("192.168.21.5", 22), &none);
        assert_eq!(r.verdict, Verdict::Accept);
        assert!(!r.unknown.is_empty());
        // Deep nesting is refused by serde_json, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
        // Wrong shapes everywhere: no panic.
        for j in [
            r#"{"nftables":[{"chain":7},{"rule":{"expr":[1,null,{"match":3}]}}]}"#,
            r#"{"nftables":[{"chain":{"family":"ip","table":"t","name":"c","hook":"input","prio":1e300}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"match":{"left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"1.2.3.4","len":99}}}},{"match":{"left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"range":[1]}}},{"vmap":{"key":{"ct":{"key":"state"}},"data":{"set":[[1]]}}},{"accept":null}]}}]}"#,
        ] {
            let rs = parse(j).unwrap();
            let _ = rs.walk_input(&direct("192.168.21.5", 22), &none);
        }
    }
}
