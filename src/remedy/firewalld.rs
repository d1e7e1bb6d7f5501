//! firewalld's permanent direct rules: where they live and what firewalld builds from them.

pub const DIRECT_XML: &str = "/etc/firewalld/direct.xml";
pub const CONF: &str = "/etc/firewalld/firewalld.conf";

/// firewalld's backend from firewalld.conf: nftables unless `FirewallBackend=iptables` (the
/// default since firewalld 0.6). With nftables, direct rules for a built-in chain go into
/// that chain itself; with iptables, into `CHAIN_direct`, which firewalld hooks into it
/// (firewalld 1.3's fw_direct.py).
pub fn nftables_backend(conf: Option<&str>) -> bool {
    !conf
        .unwrap_or("")
        .lines()
        .any(|l| l.trim() == "FirewallBackend=iptables")
}

/// The `<rule>` elements of direct.xml as (table, chain, rule args).
pub fn permanent_rules(xml: &str) -> Vec<(String, String, String)> {
    let attr = |tag: &str, name: &str| {
        let k = format!("{name}=\"");
        tag.find(&k).map(|i| {
            let v = &tag[i + k.len()..];
            v[..v.find('"').unwrap_or(v.len())].to_string()
        })
    };
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<rule ") {
        rest = &rest[i..];
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[..close];
        let Some(end) = rest.find("</rule>") else {
            break;
        };
        let body = rest[close + 1..end].trim();
        if attr(tag, "ipv").as_deref() == Some("ipv4") {
            if let (Some(t), Some(c)) = (attr(tag, "table"), attr(tag, "chain")) {
                let unescape = body
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&");
                out.push((t, c, unescape));
            }
        }
        rest = &rest[end + 7..];
    }
    out
}

/// The permanent direct rules as the iptables-save text firewalld builds from them at start,
/// for the audit's boot view (see nftables_backend for the chains).
pub fn boot_rules(xml: &str, nftables: bool) -> String {
    let mut s = String::new();
    for table in ["nat", "filter"] {
        let rules: Vec<_> = permanent_rules(xml)
            .into_iter()
            .filter(|(t, _, _)| t == table)
            .collect();
        s.push_str(&format!("*{table}\n"));
        let sfx = if nftables { "" } else { "_direct" };
        if !nftables {
            let mut chains: Vec<&str> = rules.iter().map(|(_, c, _)| c.as_str()).collect();
            chains.dedup();
            for c in &chains {
                s.push_str(&format!(":{c}_direct - [0:0]\n-A {c} -j {c}_direct\n"));
            }
        }
        for (_, c, r) in &rules {
            s.push_str(&format!("-A {c}{sfx} {r}\n"));
        }
        s.push_str("COMMIT\n");
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn direct_xml_is_read_and_rendered_as_the_boot_ruleset() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"PREROUTING\" priority=\"0\">-d 192.168.21.20/32 -j REDIRECT</rule>\n  <rule ipv=\"ipv6\" table=\"filter\" chain=\"INPUT\" priority=\"0\">-j ACCEPT</rule>\n  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"1\">-s 192.168.21.0/26 -p tcp -m tcp --dport 80 -j DROP</rule>\n</direct>\n";
        let r = super::permanent_rules(xml);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            (
                "nat".into(),
                "PREROUTING".into(),
                "-d 192.168.21.20/32 -j REDIRECT".into()
            )
        );
        let boot = super::boot_rules(xml, false);
        assert!(boot.contains("*nat\n:PREROUTING_direct - [0:0]\n-A PREROUTING -j PREROUTING_direct\n-A PREROUTING_direct -d 192.168.21.20/32 -j REDIRECT\nCOMMIT\n"), "{boot}");
        assert!(
            boot.contains("-A INPUT_direct -s 192.168.21.0/26 -p tcp -m tcp --dport 80 -j DROP"),
            "{boot}"
        );
        let boot = super::boot_rules(xml, true);
        assert!(
            boot.contains("*nat\n-A PREROUTING -d 192.168.21.20/32 -j REDIRECT\nCOMMIT\n"),
            "{boot}"
        );
        assert!(super::nftables_backend(None));
        assert!(!super::nftables_backend(Some("FirewallBackend=iptables\n")));
    }
}
