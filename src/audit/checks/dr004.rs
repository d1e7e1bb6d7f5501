//! DR004: fwmark policy routing is inconsistent: a MARK without an `ip rule fwmark`, a rule
//! without a `local 0/0 dev lo` route in its table, or a virtual_server fwmark nobody sets.
use crate::audit::Analysis;
use crate::Finding;

/// `-A PREROUTING ... -j MARK --set-mark N` rules in mangle, with N.
pub fn mark_rules(a: &Analysis) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(t) = a.ipt.tables.get("mangle") {
        for (chain, c) in t {
            for r in &c.rules {
                if r.args.iter().any(|x| x == "MARK") {
                    v.push(format!("-A {chain} {}", r.spec));
                }
            }
        }
    }
    v
}

fn mark_value(spec: &str) -> Option<u32> {
    let f: Vec<&str> = spec.split_whitespace().collect();
    let i = f
        .iter()
        .position(|x| *x == "--set-mark" || *x == "--set-xmark")?;
    let v = f.get(i + 1)?.split('/').next()?;
    match v.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// `ip rule` lines with `fwmark N ... lookup T`.
fn fwmark_rules(a: &Analysis) -> Vec<(u32, String, String)> {
    a.f.rules
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let m = f.iter().position(|x| *x == "fwmark")?;
            let mv = f.get(m + 1)?.split('/').next()?;
            let mv = match mv.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => mv.parse().ok()?,
            };
            let t = f.iter().position(|x| *x == "lookup" || *x == "table")?;
            Some((mv, f.get(t + 1)?.to_string(), l.clone()))
        })
        .collect()
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    let marks: Vec<(u32, String)> = mark_rules(a)
        .into_iter()
        .filter_map(|r| Some((mark_value(&r)?, r)))
        .collect();
    let rules = fwmark_rules(a);
    for (m, r) in &marks {
        match rules.iter().find(|x| x.0 == *m) {
            None => out.push(
                Finding::new("DR004", &a.f.host, format!("packets get fwmark {m} but no `ip rule` routes that mark: the mark has no effect"))
                    .evidence(format!("mangle: {r}"))
                    .fix_command(format!("ip rule add prio 100 fwmark {m} table 100"))
                    .fix_command("ip route add local 0/0 dev lo table 100"),
            ),
            Some((_, table, line)) => {
                let has_local = a.f.routes.iter().any(|rt| {
                    let f: Vec<&str> = rt.split_whitespace().collect();
                    f.first() == Some(&"local")
                        && matches!(f.get(1), Some(&"0.0.0.0/0") | Some(&"default") | Some(&"0/0"))
                        && f.windows(2).any(|w| w[0] == "table" && w[1] == table)
                });
                if !has_local {
                    out.push(
                        Finding::new("DR004", &a.f.host, format!("`ip rule` sends fwmark {m} to table {table}, but that table has no `local 0/0 dev lo` route: marked packets are not delivered locally to IPVS"))
                            .evidence(format!("ip rule: {line}"))
                            .fix_command(format!("ip route add local 0/0 dev lo table {table}")),
                    );
                }
            }
        }
    }
    for fm in &a.t.fwmarks {
        if !marks.iter().any(|(m, _)| m == fm) {
            out.push(
                Finding::new("DR004", &a.f.host, format!("keepalived.conf has virtual_server fwmark {fm}, but no mangle rule sets mark {fm}: the virtual service never sees a packet"))
                    .fix_command(format!("iptables -t mangle -A PREROUTING -d VIP -j MARK --set-mark {fm}")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mark_values() {
        assert_eq!(
            super::mark_value("-A PREROUTING -d 1.2.3.4/32 -j MARK --set-xmark 0x1/0xffffffff"),
            Some(1)
        );
        assert_eq!(super::mark_value("-j MARK --set-mark 7"), Some(7));
    }
}
