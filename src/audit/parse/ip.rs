//! `ip -j addr show`, `ip -o addr show` and `ip -o link` output.

use crate::audit::facts::{Addr, Interface};
use serde_json::Value;

pub fn parse_addr_json(text: &str) -> Result<Vec<Interface>, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| e.to_string())?;
    let arr = v.as_array().ok_or("not a JSON array")?;
    let mut out = Vec::new();
    for i in arr {
        let name = i["ifname"].as_str().unwrap_or("").to_string();
        if name.is_empty() {
            continue;
        }
        let flags: Vec<&str> = i["flags"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        // `ip -d -j` adds linkinfo; only "dummy" matters to the checks (VIP on a dummy NIC).
        let kind = if flags.contains(&"LOOPBACK") {
            "loopback".to_string()
        } else if i["linkinfo"]["info_kind"].as_str() == Some("dummy") {
            "dummy".to_string()
        } else {
            i["link_type"].as_str().unwrap_or("").to_string()
        };
        let addrs = i["addr_info"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        Some(Addr {
                            ip: x["local"].as_str()?.to_string(),
                            prefix: x["prefixlen"].as_u64()? as u8,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Interface {
            name,
            kind,
            up: flags.contains(&"UP"),
            addrs,
        });
    }
    Ok(out)
}

/// Interface MTUs from the same `ip -j addr` JSON.
pub fn parse_mtus(text: &str) -> std::collections::BTreeMap<String, u32> {
    let v: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| {
                    Some((i["ifname"].as_str()?.to_string(), i["mtu"].as_u64()? as u32))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// IPv6 address flags that matter to a VIP (`tentative`, `dadfailed`, `nodad`), keyed
/// "IFACE IP", from the same JSON (iproute2 prints each set flag as `"flag": true`).
pub fn parse_addr6_flags(text: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let v: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    let mut out = std::collections::BTreeMap::new();
    for i in v.as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
        let name = i["ifname"].as_str().unwrap_or("");
        for a in i["addr_info"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or(&[])
        {
            if a["family"].as_str() != Some("inet6") {
                continue;
            }
            let flags: Vec<String> = ["tentative", "dadfailed", "nodad"]
                .iter()
                .filter(|f| a[**f].as_bool() == Some(true))
                .map(|f| f.to_string())
                .collect();
            if let (Some(ip), false) = (a["local"].as_str(), flags.is_empty()) {
                out.insert(format!("{name} {ip}"), flags);
            }
        }
    }
    out
}

/// `ip -o addr show`: `2: ens3    inet 192.168.21.12/24 brd ... scope global ens3\ ...`
pub fn parse_addr_text(text: &str) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 4 || !(f[2] == "inet" || f[2] == "inet6") {
            continue;
        }
        let name = f[1]
            .trim_end_matches(':')
            .split('@')
            .next()
            .unwrap_or("")
            .to_string();
        let Some((ip, prefix)) = f[3].split_once('/') else {
            continue;
        };
        let addr = Addr {
            ip: ip.to_string(),
            prefix: prefix.parse().unwrap_or(32),
        };
        match out.iter_mut().find(|i| i.name == name) {
            Some(i) => i.addrs.push(addr),
            None => out.push(Interface {
                kind: if name == "lo" {
                    "loopback".into()
                } else {
                    String::new()
                },
                up: true,
                name,
                addrs: vec![addr],
            }),
        }
    }
    out
}

/// Mark dummy interfaces from the `dummy `-prefixed `ip -d -o link show type dummy` lines.
pub fn apply_link_kinds(ifaces: &mut [Interface], text: &str) {
    for l in text.lines() {
        let Some(rest) = l.strip_prefix("dummy ") else {
            continue;
        };
        let name = rest
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .trim_end_matches(':')
            .split('@')
            .next()
            .unwrap_or("");
        if let Some(i) = ifaces.iter_mut().find(|i| i.name == name) {
            i.kind = "dummy".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_text_forms_agree() {
        let j = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"link_type":"loopback","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet","local":"192.168.21.20","prefixlen":32}]},
        {"ifindex":2,"ifname":"ens3","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"link_type":"ether","addr_info":[{"family":"inet","local":"192.168.21.12","prefixlen":24}]}]"#;
        let a = parse_addr_json(j).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kind, "loopback");
        assert_eq!(a[0].addrs[1].ip, "192.168.21.20");
        assert!(a[1].up);
        let t = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n1: lo    inet 192.168.21.20/32 scope global lo\n2: ens3    inet 192.168.21.12/24 brd 192.168.21.255 scope global ens3\n";
        let b = parse_addr_text(t);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].addrs, a[0].addrs);
        assert_eq!(b[1].addrs, a[1].addrs);
        assert!(parse_addr_json("not json").is_err());
    }

    #[test]
    fn dummy_kind_from_json_details() {
        let v = parse_addr_json(
            r#"[{"ifname":"d0","flags":["BROADCAST","NOARP","UP"],"link_type":"ether","linkinfo":{"info_kind":"dummy"},"addr_info":[{"family":"inet","local":"192.168.21.20","prefixlen":32}]},
                {"ifname":"v0","flags":["UP"],"link_type":"ether","linkinfo":{"info_kind":"veth"},"addr_info":[]}]"#,
        )
        .unwrap();
        assert_eq!((v[0].kind.as_str(), v[1].kind.as_str()), ("dummy", "ether"));
        assert_eq!(v[0].addrs[0].prefix, 32);
    }

    #[test]
    fn dummy_kind() {
        let mut v = vec![Interface {
            name: "dummy0".into(),
            ..Default::default()
        }];
        apply_link_kinds(
            &mut v,
            "dummy 5: dummy0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 ... dummy\n",
        );
        assert_eq!(v[0].kind, "dummy");
    }
}
