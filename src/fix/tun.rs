//! LVS-TUN real servers: load ipip and bring tunl0 up now, and persist both (a modules-load.d
//! file and a oneshot unit of ours). The sysctls (rp_filter on tunl0) go through the common
//! sysctl changes and the MSS clamp through the common iptables rules (see `mss_rule`).

use super::{Change, HostPlan};
use crate::audit::checks::{rs017, rs018};
use crate::audit::Analysis;
use crate::remedy::tun;

pub const RUNTIME: &str = "tun-runtime";
pub const PERSIST: &str = "tun-persist";

fn file(path: &str, content: &str, old: Option<&String>, description: String) -> Change {
    Change {
        kind: PERSIST.into(),
        description,
        commands: vec![format!("write {path}")],
        file: Some(path.into()),
        diff: Some(super::unified_diff(
            path,
            old.map(|s| s.as_str()).unwrap_or(""),
            content,
        )),
        content: Some(content.into()),
        old: old.cloned(),
    }
}

pub fn plan(a: &Analysis, p: &mut HostPlan) {
    if !a.is_tun() {
        return;
    }
    let loaded = a.f.tunnel_modules.iter().any(|m| m == "ipip");
    let mut now = Vec::new();
    if !loaded || !a.tunl0().is_some_and(|t| t.up) {
        now.extend(tun::runtime_commands());
    }
    // The VIP on tunl0: a REDIRECT cannot accept a decapsulated packet (RS015).
    let vip = a.tun_vip();
    if let Some(v) = vip.filter(|_| !a.vip_on_tunl0()) {
        now.push(tun::vip_command(v));
    }
    if !now.is_empty() {
        p.changes.push(Change {
            kind: RUNTIME.into(),
            description: format!(
                "load ipip and bring tunl0 up now{}, so IPIP packets from the director are decapsulated and accepted",
                vip.map(|v| format!(" with {v}/32 on it")).unwrap_or_default()
            ),
            commands: now,
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
    if rs017::module_at_boot(a).is_none() {
        p.changes.push(file(
            tun::MODULES_FILE,
            tun::MODULES_CONTENT,
            a.f.files.get(tun::MODULES_FILE),
            format!("load ipip at boot: {}", tun::MODULES_FILE),
        ));
    }
    if rs017::up_at_boot(a).is_none() {
        let want = tun::unit_content(&vip.into_iter().collect::<Vec<_>>());
        let old = a.f.files.get(tun::UNIT_FILE);
        match old {
            Some(t) if *t == want => {}
            Some(t) if !t.starts_with("# Written by lbdoctor") => p.notes.push(format!(
                "{} exists and was not written by lbdoctor: not touching it; make it bring tunl0 up{} at boot",
                tun::UNIT_FILE,
                vip.map(|v| format!(" with {v}/32")).unwrap_or_default()
            )),
            _ => p.changes.push(file(
                tun::UNIT_FILE,
                &want,
                old,
                format!(
                    "bring tunl0 up at boot{}: {}",
                    vip.map(|v| format!(" with {v}/32 on it")).unwrap_or_default(),
                    tun::UNIT_FILE
                ),
            )),
        }
        if !a.f.files.contains_key(tun::UNIT_LINK) {
            p.changes.push(Change {
                kind: PERSIST.into(),
                description: "enable lbdoctor-tunl0.service (the symlink systemctl enable makes)"
                    .into(),
                commands: vec![enable_command()],
                file: None,
                diff: None,
                content: None,
                old: None,
            });
        }
    }
    if a.f.iptables_save.is_none() && a.f.nft_ruleset.is_some() && mss_wanted(a).is_some() {
        if let Some(vip) = a.t.vip {
            p.notes.push(format!(
                "RS018: add the MSS clamp in an nftables output chain yourself (lbdoctor's nft table holds only the redirect and --deny-direct rules): `tcp flags syn ct original ip daddr {vip} tcp option maxseg size set {}`",
                tun::clamp_mss(rs018::segment_mtu(a).unwrap_or(1500))
            ));
        }
    }
}

fn enable_command() -> String {
    let dir = tun::UNIT_LINK.rsplit_once('/').map(|x| x.0).unwrap_or("");
    format!(
        "mkdir -p {dir} && ln -sfn {} {}",
        tun::UNIT_FILE,
        tun::UNIT_LINK
    )
}

/// The mangle OUTPUT TCPMSS rule spec RS018 asks for, when it is missing.
fn mss_wanted(a: &Analysis) -> Option<String> {
    let vip = a.t.vip?;
    if !a.is_tun() || rs018::clamp_present(a).is_some() {
        return None;
    }
    let mtu = rs018::segment_mtu(a)?;
    (mtu + tun::IPIP_OVERHEAD > 1500).then(|| tun::mss_spec(vip, tun::clamp_mss(mtu)))
}

/// (table, chain, spec) of the MSS clamp for the common iptables changes.
pub fn mss_rule(a: &Analysis) -> Option<(&'static str, &'static str, String)> {
    mss_wanted(a).map(|s| ("mangle", "OUTPUT", s))
}

/// Runtime changes first (the tunl0 sysctls need the device), then the files.
pub fn apply_change(
    t: &mut dyn crate::remote::Transport,
    c: &Change,
    out: &mut super::apply::Outcome,
) -> anyhow::Result<()> {
    if c.file.is_some() {
        let path = c.file.as_deref().unwrap_or("");
        let s = super::apply::write_file_script(
            path,
            c.content.as_deref().unwrap_or(""),
            c.old.as_deref(),
            None,
        );
        super::apply::run_write_script(t, path, &s, out)?;
    } else {
        let o = t.run(&format!("set -e\n{}\n", c.commands.join("\n")))?;
        if o.status != 0 {
            anyhow::bail!(
                "host {}: {} failed (exit {}): {}{}",
                t.host(),
                c.commands.join("; "),
                o.status,
                o.stderr_lossy().trim(),
                if c.kind == RUNTIME {
                    " (a kernel without CONFIG_NET_IPIP cannot decapsulate LVS-TUN traffic: use DR, or a kernel with the ipip module)"
                } else {
                    ""
                }
            );
        }
    }
    out.applied.push(c.description.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::facts::{Addr, HostFacts, Interface};
    use crate::audit::{Role, Target};

    const VIP: &str = "192.168.21.20";

    fn iface(name: &str, kind: &str, up: bool, addrs: &[(&str, u8)]) -> Interface {
        Interface {
            name: name.into(),
            kind: kind.into(),
            up,
            addrs: addrs
                .iter()
                .map(|(ip, prefix)| Addr {
                    ip: ip.to_string(),
                    prefix: *prefix,
                })
                .collect(),
        }
    }

    /// A TUN real server as it comes: no ipip, strict rp_filter by default, VIP on lo.
    fn broken() -> HostFacts {
        let mut f = HostFacts {
            host: "app3".into(),
            os_id: "debian".into(),
            iptables_save: Some("*mangle\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n".into()),
            ..Default::default()
        };
        f.packages.netfilter_persistent = true;
        f.interfaces = vec![
            iface("lo", "loopback", true, &[("127.0.0.1", 8), (VIP, 32)]),
            iface("ens3", "ether", true, &[("192.168.21.13", 24)]),
        ];
        f.mtu.insert("ens3".into(), 1500);
        for (k, v) in [
            ("all.arp_ignore", "1"),
            ("all.arp_announce", "2"),
            ("all.rp_filter", "0"),
            ("default.rp_filter", "1"),
            ("ens3.rp_filter", "1"),
        ] {
            f.sysctl.insert(format!("net.ipv4.conf.{k}"), v.into());
        }
        f.files.insert(
            "/etc/network/interfaces".into(),
            format!("auto lo:0\niface lo:0 inet static\n    address {VIP}/32\n"),
        );
        f.files.insert(
            "/etc/sysctl.d/90-lvs.conf".into(),
            "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.default.rp_filter = 1\n".into(),
        );
        f.files.insert(
            "/etc/iptables/rules.v4".into(),
            "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n".into(),
        );
        f
    }

    fn target(method: Option<&str>) -> Target {
        Target {
            vip: Some(VIP.parse().unwrap()),
            port: 80,
            method: method.map(String::from),
            ..Default::default()
        }
    }

    fn ids(f: &HostFacts, t: &Target) -> Vec<String> {
        crate::audit::audit(f, t, Role::Real)
            .into_iter()
            .map(|x| x.id)
            .collect()
    }

    #[test]
    fn tun_real_server_is_planned_then_clean_once_applied() {
        let f = broken();
        let t = target(Some("TUN"));
        let found = ids(&f, &t);
        for id in ["RS015", "RS016", "RS017", "RS018"] {
            assert!(found.contains(&id.to_string()), "{id} in {found:?}");
        }
        // The same host audited as DR has none of them.
        let dr = ids(&f, &target(None));
        assert!(
            !dr.iter()
                .any(|i| ["RS015", "RS016", "RS017", "RS018"].contains(&i.as_str())),
            "{dr:?}"
        );

        let p = crate::fix::plan(&Analysis::new(&f, &t, Role::Real));
        let kinds: Vec<&str> = p.changes.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(
            &kinds[..4],
            [RUNTIME, PERSIST, PERSIST, PERSIST],
            "{kinds:?}"
        );
        assert_eq!(
            p.changes[0].commands,
            ["modprobe ipip", "ip link set tunl0 up"]
        );
        assert_eq!(p.changes[1].file.as_deref(), Some(tun::MODULES_FILE));
        assert_eq!(p.changes[2].file.as_deref(), Some(tun::UNIT_FILE));
        assert!(p.changes[3].commands[0].ends_with(tun::UNIT_LINK));
        // tunl0 does not exist yet: it will take default's 1, so rp_filter 0 goes on it too.
        let sysctl = p
            .changes
            .iter()
            .find(|c| c.kind == "sysctl-runtime")
            .unwrap();
        assert!(
            sysctl
                .commands
                .contains(&"sysctl -w net.ipv4.conf.tunl0.rp_filter=0".to_string()),
            "{:?}",
            sysctl.commands
        );
        let persist = p
            .changes
            .iter()
            .find(|c| c.kind == "sysctl-persist")
            .unwrap();
        assert!(persist
            .content
            .as_deref()
            .unwrap()
            .contains("net.ipv4.conf.tunl0.rp_filter = 0"));
        let mss = format!("iptables -t mangle -A OUTPUT -p tcp -m conntrack --ctorigdst {VIP} -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440");
        let fw = p
            .changes
            .iter()
            .find(|c| c.kind == "firewall-runtime")
            .unwrap();
        assert!(fw.commands.contains(&mss), "{:?}", fw.commands);
        let rules = p
            .changes
            .iter()
            .find(|c| c.kind == "firewall-persist")
            .unwrap();
        assert!(rules.content.as_deref().unwrap().contains("-A OUTPUT -p tcp -m conntrack --ctorigdst 192.168.21.20 -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440"));

        // The host as the plan leaves it: clean, and a second plan is empty.
        let mut g = f.clone();
        g.tunnel_modules = vec!["ipip".into()];
        g.interfaces.push(iface("tunl0", "ipip", true, &[]));
        for k in ["all.rp_filter", "tunl0.rp_filter"] {
            g.sysctl.insert(format!("net.ipv4.conf.{k}"), "0".into());
        }
        for c in &p.changes {
            if let (Some(path), Some(content)) = (&c.file, &c.content) {
                g.files.insert(path.clone(), content.clone());
            }
        }
        g.files
            .insert(tun::UNIT_LINK.into(), tun::unit_content(&[]));
        let rules_now = format!(
            "*mangle\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT {}\nCOMMIT\n",
            tun::mss_spec(VIP.parse().unwrap(), 1440)
        );
        g.iptables_save = Some(rules_now);
        let after = ids(&g, &t);
        assert!(
            !after
                .iter()
                .any(|i| i.starts_with("RS01") && i.as_str() >= "RS015"),
            "{after:?}"
        );
        let p2 = crate::fix::plan(&Analysis::new(&g, &t, Role::Real));
        assert!(p2.changes.is_empty(), "{:?}", p2.changes);
    }

    #[test]
    fn vip_on_tunl0_means_tun_and_is_not_a_segment_nic() {
        let mut f = broken();
        f.interfaces[0] = iface("lo", "loopback", true, &[("127.0.0.1", 8)]);
        f.interfaces
            .push(iface("tunl0", "ipip", false, &[(VIP, 32)]));
        f.tunnel_modules = vec!["ipip".into()];
        let found = ids(&f, &target(None));
        // The VIP is inferred from tunl0 as from lo.
        assert_eq!(crate::audit::infer_vip(&f), Some(VIP.parse().unwrap()));
        // Detected as TUN without --lvs-method; tunl0 down is RS015; no RS002 (not a NIC).
        assert!(found.contains(&"RS015".to_string()), "{found:?}");
        assert!(!found.contains(&"RS002".to_string()), "{found:?}");
    }

    /// What the real-IPVS lab showed: a TUN real server that accepts the VIP by REDIRECT only
    /// drops every tunnelled request (tunl0 has no address to redirect to). The audit says so
    /// and the fix puts the VIP on tunl0, now and in the unit, adding no REDIRECT.
    #[test]
    fn redirect_only_tun_server_gets_the_vip_on_tunl0() {
        let mut f = broken();
        f.interfaces[0] = iface("lo", "loopback", true, &[("127.0.0.1", 8)]);
        f.interfaces.push(iface("tunl0", "ipip", true, &[]));
        f.tunnel_modules = vec!["ipip".into()];
        f.files.remove("/etc/network/interfaces");
        f.iptables_save = Some(format!(
            "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d {VIP}/32 -j REDIRECT\nCOMMIT\n*mangle\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
        ));
        let t = target(Some("TUN"));
        let a = Analysis::new(&f, &t, Role::Real);
        assert_eq!(a.tun_vip(), Some(VIP.parse().unwrap()));
        let rs015: Vec<_> = crate::audit::audit(&f, &t, Role::Real)
            .into_iter()
            .filter(|x| x.id == "RS015")
            .collect();
        assert_eq!(rs015.len(), 1, "{rs015:?}");
        assert!(
            rs015[0].message.contains("REDIRECT"),
            "{}",
            rs015[0].message
        );
        let p = crate::fix::plan(&a);
        let rt = p.changes.iter().find(|c| c.kind == RUNTIME).unwrap();
        assert_eq!(rt.commands, [format!("ip addr replace {VIP}/32 dev tunl0")]);
        let unit = p
            .changes
            .iter()
            .find(|c| c.file.as_deref() == Some(tun::UNIT_FILE))
            .unwrap();
        assert!(unit.content.as_deref().unwrap().contains(&format!(
            "ip link set tunl0 up && ip addr replace {VIP}/32 dev tunl0"
        )));
        assert!(!p
            .changes
            .iter()
            .flat_map(|c| &c.commands)
            .any(|c| c.contains("REDIRECT") && c.contains("-A PREROUTING")));

        // Applied: the VIP on tunl0, the unit written and enabled: no RS014/RS015/RS017.
        let mut g = f.clone();
        g.interfaces
            .last_mut()
            .unwrap()
            .addrs
            .push(crate::audit::facts::Addr {
                ip: VIP.into(),
                prefix: 32,
            });
        for c in &p.changes {
            if let (Some(path), Some(content)) = (&c.file, &c.content) {
                g.files.insert(path.clone(), content.clone());
            }
        }
        g.files.insert(tun::UNIT_LINK.into(), "".into());
        let after: Vec<String> = crate::audit::audit(&g, &t, Role::Real)
            .into_iter()
            .map(|x| x.id)
            .collect();
        for id in ["RS014", "RS015", "RS017"] {
            assert!(!after.contains(&id.to_string()), "{id} in {after:?}");
        }
        let p2 = crate::fix::plan(&Analysis::new(&g, &t, Role::Real));
        assert!(
            !p2.changes
                .iter()
                .any(|c| c.kind == RUNTIME || c.kind == PERSIST),
            "{:?}",
            p2.changes
        );
    }
}
