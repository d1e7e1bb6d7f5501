//! Persisting a VIP that is on lo only at runtime (RS014): the address is written where the
//! host's own network stack restores addresses at boot (ifupdown, netplan, systemd-networkd).
//! The address is already on lo, so nothing is applied now: no `ifup`, no `netplan apply`
//! (which bounces interfaces), no `networkctl reload`. NetworkManager and ifcfg hosts get a
//! note with the exact step instead of a guessed file.

use super::{unified_diff, Change, HostPlan};
use crate::audit::checks::rs014;
use crate::audit::netstack::{any_under, detect, Stack};
use crate::audit::{Acceptance, Analysis};
use crate::remote::Transport;
use std::net::IpAddr;

/// The change kind; applied by `apply_change`.
pub const KIND: &str = "address-persist";
pub use crate::remedy::vip_boot::{
    host_cidr, ifupdown_file, IFUPDOWN_DIR, INTERFACES, NETPLAN_FILE, NETWORKD_FILE,
};
/// First line of every file we write: a file of that name without it is the admin's.
const HEADER: &str = "# Written by lbdoctor audit --fix: the LVS-DR VIP on lo, restored at boot.";

/// Plan the boot-time address for a VIP that is on lo now but in no network configuration.
pub fn plan(a: &Analysis, p: &mut HostPlan) {
    let Some(vip) = a.t.vip else { return };
    let Some(iface) = a.acceptance.iter().find_map(|x| match x {
        Acceptance::Address { iface, .. } => Some(iface.clone()),
        _ => None,
    }) else {
        return;
    };
    if rs014::persisted(a, &vip.to_string()) {
        return;
    }
    if iface != "lo" {
        p.notes.push(format!(
            "VIP {vip} is on {iface} only at runtime: lbdoctor persists VIPs on lo only; add it to {iface}'s boot-time configuration, or move it to lo as /32"
        ));
        return;
    }
    plan_on_lo(a, p, vip.into());
}

/// The same for an IPv6 VIP: on lo now, or put there now by the fix (fix::ipv6).
pub fn plan6(a: &Analysis, p: &mut HostPlan) {
    let Some(vip) = a.t.vip6 else { return };
    let acc = a.acceptance6();
    let on_lo = acc
        .iter()
        .any(|x| matches!(x, Acceptance::Address { iface, .. } if iface == "lo"));
    if !(acc.is_empty() || on_lo) || rs014::persisted(a, &vip.to_string()) {
        return;
    }
    plan_on_lo(a, p, vip.into());
}

/// The file change (or the note) for the host's network stack.
fn plan_on_lo(a: &Analysis, p: &mut HostPlan, vip: IpAddr) {
    let cidr = host_cidr(vip);
    let stack = detect(a);
    if stack == Stack::Ifupdown && any_under(a, "/etc/systemd/network/", &[".network"]) {
        p.notes.push(format!(
            "both {INTERFACES} and systemd-networkd .network files are present: the VIP is persisted for ifupdown; if systemd-networkd manages lo here, add Address={cidr} to its lo file instead"
        ));
    }
    let fam = if vip.is_ipv6() { "ipv6" } else { "ipv4" };
    let (change, note) = match stack {
        Stack::Netplan => netplan(a, vip),
        Stack::Ifupdown => ifupdown(a, vip),
        Stack::Networkd => networkd(a, vip),
        Stack::NetworkManager => (None, Some(format!(
            "VIP {vip} is on lo only at runtime and this host uses NetworkManager: lbdoctor does not write NetworkManager files; run `nmcli connection modify lo +{fam}.addresses {cidr}` (NetworkManager >= 1.42 keeps lo as the connection `lo`; older versions do not manage lo: use a dispatcher script or a dummy interface)"
        ))),
        Stack::Ifcfg if vip.is_ipv6() => (None, Some(format!(
            "VIP {vip} is on lo only at runtime: lbdoctor does not write ifcfg files; add IPV6ADDR_SECONDARIES=\"{cidr}\" (with IPV6INIT=yes) to /etc/sysconfig/network-scripts/ifcfg-lo (or, with NetworkManager >= 1.42, `nmcli connection modify lo +ipv6.addresses {cidr}`)"
        ))),
        Stack::Ifcfg => (None, Some(format!(
            "VIP {vip} is on lo only at runtime: lbdoctor does not write ifcfg files; create /etc/sysconfig/network-scripts/ifcfg-lo:0 with DEVICE=lo:0, IPADDR={vip}, NETMASK=255.255.255.255, ONBOOT=yes (or, with NetworkManager >= 1.42, `nmcli connection modify lo +ipv4.addresses {cidr}`)"
        ))),
        Stack::Unknown => (None, Some(format!(
            "VIP {vip} is on lo only at runtime and no ifupdown, netplan, systemd-networkd, NetworkManager or ifcfg configuration was found: persist `ip addr add {cidr} dev lo` in whatever configures this host's network at boot"
        ))),
    };
    if let Some(c) = change {
        p.changes.push(c);
    }
    p.notes.extend(note);
}

fn change(path: &str, old: Option<&String>, new: String, how: &str) -> Change {
    Change {
        kind: KIND.into(),
        description: format!("{how}; the address is already on lo, so nothing is brought up now"),
        commands: vec![format!("write {path}")],
        file: Some(path.into()),
        diff: Some(unified_diff(
            path,
            old.map(|s| s.as_str()).unwrap_or(""),
            &new,
        )),
        content: Some(new),
        old: old.cloned(),
    }
}

fn ours(text: &str) -> bool {
    text.starts_with(HEADER)
}

fn not_ours_note(path: &str, vip: IpAddr) -> Option<String> {
    Some(format!(
        "{path} exists and was not written by lbdoctor: not touching it; add {} on lo to the host's network configuration by hand",
        host_cidr(vip)
    ))
}

/// Does /etc/network/interfaces read `file` from /etc/network/interfaces.d? (`source` with a
/// glob matching it, or `source-directory`.) Relative paths are relative to /etc/network, as
/// ifupdown resolves them.
fn sources_interfaces_d(interfaces: &str, file: &str) -> bool {
    let dir = |d: &str| {
        let d = d.trim_end_matches('/');
        d == IFUPDOWN_DIR || d == "interfaces.d"
    };
    interfaces.lines().any(|l| {
        let mut w = l.split_whitespace();
        match (w.next(), w.next(), w.next()) {
            (Some("source"), Some(p), None) => {
                let p = if p.starts_with('/') {
                    p.to_string()
                } else {
                    format!("/etc/network/{p}")
                };
                glob::Pattern::new(&p).is_ok_and(|g| g.matches(file))
            }
            (Some("source-directory"), Some(p), None) => dir(p),
            _ => false,
        }
    })
}

/// The classic LVS-DR alias stanza `auto lo:N` / `iface lo:N inet static`, not an `up ip addr
/// add` line on `iface lo inet loopback`: the alias is its own interface to ifupdown, so it does
/// not depend on (or edit) the admin's lo stanza, and `ifdown lo:N` removes just the VIP.
/// Debian 12's ifupdown 0.8.41 brings it up with `ip addr add VIP/255.255.255.255 broadcast
/// VIP dev lo:N label lo:N` (checked with `ifup -n -v` and a real `ifup -a` in a namespace).
fn ifupdown(a: &Analysis, vip: IpAddr) -> (Option<Change>, Option<String>) {
    let interfaces = a.f.files.get(INTERFACES).cloned().unwrap_or_default();
    // The first alias number no ifupdown file uses yet.
    let used: Vec<String> =
        a.f.files
            .iter()
            .filter(|(p, _)| p.starts_with(INTERFACES))
            .flat_map(|(_, t)| t.split_whitespace().map(String::from).collect::<Vec<_>>())
            .collect();
    let n = (0..)
        .find(|n| !used.iter().any(|w| *w == format!("lo:{n}")))
        .unwrap_or(0);
    // IPv6 has no alias labels: a second `iface lo inet6 static` stanza of lo's own, which
    // ifupdown 0.8.41 brings up with `ip -6 addr add VIP/128 dev lo` after lo's inet stanza
    // (checked with `ifup -a` in a namespace; `auto lo` twice is accepted).
    let (stanza, what) = match vip {
        IpAddr::V4(_) => (
            format!("auto lo:{n}\niface lo:{n} inet static\n    address {vip}/32\n"),
            format!("ifupdown stanza lo:{n}"),
        ),
        IpAddr::V6(_) => (
            format!("auto lo\niface lo inet6 static\n    address {vip}/128\n"),
            "ifupdown stanza `iface lo inet6 static`".to_string(),
        ),
    };
    let cidr = host_cidr(vip);
    let file = ifupdown_file(vip);
    if sources_interfaces_d(&interfaces, &file) {
        if a.f.files.contains_key(&file) {
            // Ours would mention the VIP (and the plan would be empty): someone changed it.
            return (
                None,
                Some(format!(
                    "{file} exists but does not carry {vip}: not touching it; add {cidr} on lo to the host's network configuration by hand"
                )),
            );
        }
        let new = format!("{HEADER}\n{stanza}");
        let how =
            format!("persist VIP {cidr} on lo at boot: {what} in {file} (sourced by {INTERFACES})");
        (Some(change(&file, None, new, &how)), None)
    } else {
        let old = a.f.files.get(INTERFACES);
        let base = old.map(|t| t.trim_end().to_string()).unwrap_or_default();
        let sep = if base.is_empty() { "" } else { "\n\n" };
        let new = format!("{base}{sep}{HEADER}\n{stanza}");
        let how = format!(
            "persist VIP {cidr} on lo at boot: {what} appended to {INTERFACES} (it does not source {IFUPDOWN_DIR})"
        );
        (Some(change(INTERFACES, old, new, &how)), None)
    }
}

/// Does a netplan file other than ours define lo? Then ours would merge into (or override)
/// that definition: the admin's file is the place to add the address.
fn netplan_lo_elsewhere(a: &Analysis) -> Option<String> {
    a.f.files
        .iter()
        .filter(|(p, _)| p.starts_with("/etc/netplan/") && p.as_str() != NETPLAN_FILE)
        .find(|(_, t)| {
            t.lines().any(|l| {
                let l = l.split('#').next().unwrap_or("").trim();
                l == "lo:" || l.starts_with("lo: ") || l.starts_with("lo:{")
            })
        })
        .map(|(p, _)| p.clone())
}

/// netplan's loopback example: `ethernets: lo: addresses: [...]`. Mode 0600 (netplan warns
/// about readable files); never `netplan apply`.
fn netplan(a: &Analysis, vip: IpAddr) -> (Option<Change>, Option<String>) {
    if let Some(other) = netplan_lo_elsewhere(a) {
        return (None, Some(format!(
            "VIP {vip} is on lo only at runtime and {other} already defines lo: add `- {}` to its `addresses:` (lbdoctor does not edit the admin's netplan YAML)", host_cidr(vip)
        )));
    }
    let old = a.f.files.get(NETPLAN_FILE);
    // An IPv6 address is quoted, as netplan's own examples do.
    let item = match vip {
        IpAddr::V4(_) => format!("        - {vip}/32"),
        IpAddr::V6(_) => format!("        - \"{vip}/128\""),
    };
    let new = match old {
        Some(t) if !ours(t) => return (None, not_ours_note(NETPLAN_FILE, vip)),
        Some(t) => {
            // Our own layout: the addresses list is the file's last block.
            format!("{}\n{item}\n", t.trim_end())
        }
        None => format!(
            "{HEADER}\n# Not applied with `netplan apply`, which would bounce interfaces: the address is already on lo.\nnetwork:\n  version: 2\n  ethernets:\n    lo:\n      addresses:\n{item}\n"
        ),
    };
    let how = format!(
        "persist VIP {} on lo at boot: netplan {NETPLAN_FILE} (mode 0600)",
        host_cidr(vip)
    );
    (Some(change(NETPLAN_FILE, old, new, &how)), None)
}

/// Does this .network file's [Match] section select lo? (Name= globs, Type=loopback, or no
/// match keys at all, which matches every link.)
fn network_matches_lo(text: &str) -> bool {
    let mut in_match = false;
    let mut keys = 0;
    let mut hit = false;
    for l in text.lines() {
        let l = l.trim();
        if l.starts_with('[') {
            in_match = l == "[Match]";
            continue;
        }
        if !in_match || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        keys += 1;
        match k.trim() {
            "Name" => {
                hit |= v.split_whitespace().any(|g| {
                    glob::Pattern::new(g.trim_start_matches('!')).is_ok_and(|p| p.matches("lo"))
                        && !g.starts_with('!')
                })
            }
            "Type" => hit |= v.split_whitespace().any(|t| t == "loopback"),
            _ => {}
        }
    }
    hit || keys == 0
}

/// networkd applies the FIRST .network file (in name order) that matches a link: if one
/// already matches lo, the address goes into that file (ours would be ignored, or would
/// shadow it); otherwise into our own file.
fn networkd(a: &Analysis, vip: IpAddr) -> (Option<Change>, Option<String>) {
    let first =
        a.f.files
            .iter()
            .filter(|(p, _)| p.starts_with("/etc/systemd/network/") && p.ends_with(".network"))
            .filter(|(_, t)| network_matches_lo(t))
            .min_by_key(|(p, _)| p.rsplit('/').next().unwrap_or("").to_string())
            .map(|(p, _)| p.clone());
    let cidr = host_cidr(vip);
    let line = format!("Address={cidr}");
    let (path, new, how) = match first {
        Some(p) => {
            let t = &a.f.files[&p];
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            match lines.iter().position(|l| l.trim() == "[Network]") {
                Some(i) => {
                    // After the section's last non-blank line.
                    let end = lines[i + 1..]
                        .iter()
                        .position(|l| l.trim().starts_with('['))
                        .map(|j| i + 1 + j)
                        .unwrap_or(lines.len());
                    let mut at = end;
                    while at > i + 1 && lines[at - 1].trim().is_empty() {
                        at -= 1;
                    }
                    lines.insert(at, line);
                }
                None => {
                    lines.push(String::new());
                    lines.push("[Network]".into());
                    lines.push(line);
                }
            }
            let how = format!(
                "persist VIP {cidr} on lo at boot: add {cidr} to {p}, the systemd-networkd file that matches lo (networkd uses only the first matching file)"
            );
            (p, lines.join("\n") + "\n", how)
        }
        None => (
            NETWORKD_FILE.to_string(),
            // 127.0.0.1/8 too: this file becomes lo's configuration.
            format!("{HEADER}\n[Match]\nName=lo\n\n[Network]\nAddress=127.0.0.1/8\n{line}\n"),
            format!("persist VIP {cidr} on lo at boot: systemd-networkd {NETWORKD_FILE}"),
        ),
    };
    let old = a.f.files.get(&path);
    (Some(change(&path, old, new, &how)), None)
}

/// Mode for a new file: netplan refuses to stay quiet about group/world-readable YAML.
pub fn new_file_mode(path: &str) -> &'static str {
    if path.starts_with("/etc/netplan/") {
        "600"
    } else {
        "644"
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Write the file atomically with a backup (the same script as every other file change).
pub fn apply_change(
    t: &mut dyn Transport,
    c: &Change,
    out: &mut super::apply::Outcome,
) -> anyhow::Result<()> {
    let (Some(path), Some(content)) = (&c.file, &c.content) else {
        return Ok(());
    };
    let mut s = super::apply::write_file_script_mode(
        path,
        content,
        c.old.as_deref(),
        None,
        new_file_mode(path),
    );
    if c.old.is_none() {
        // Planned as a new file: one that appeared since is someone else's (and a backup of
        // it in interfaces.d would be sourced at boot).
        s = format!(
            "if [ -e {p} ]; then echo \"lbdoctor: \"{p}\" appeared since the facts were gathered; not overwriting it (run again)\" >&2; exit 3; fi\n{s}",
            p = shell_quote(path)
        );
    }
    super::apply::run_write_script(t, path, &s, out)?;
    out.applied.push(c.description.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::facts::{Addr, HostFacts, Interface};
    use crate::audit::{Role, Target};

    const VIP: &str = "192.168.21.20";

    /// A real server with the ARP sysctls right and the VIP on lo /32 at runtime only.
    fn facts(files: &[(&str, &str)]) -> HostFacts {
        let mut f = HostFacts {
            host: "app2".into(),
            os_id: "debian".into(),
            iptables_save: Some("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n".into()),
            ..Default::default()
        };
        f.interfaces = vec![
            Interface {
                name: "lo".into(),
                kind: "loopback".into(),
                up: true,
                addrs: vec![
                    Addr {
                        ip: "127.0.0.1".into(),
                        prefix: 8,
                    },
                    Addr {
                        ip: VIP.into(),
                        prefix: 32,
                    },
                ],
            },
            Interface {
                name: "ens3".into(),
                kind: "ether".into(),
                up: true,
                addrs: vec![Addr {
                    ip: "192.168.21.12".into(),
                    prefix: 24,
                }],
            },
        ];
        for (k, v) in [
            ("all.arp_ignore", "1"),
            ("all.arp_announce", "2"),
            ("all.rp_filter", "0"),
            ("ens3.rp_filter", "0"),
            ("lo.rp_filter", "0"),
        ] {
            f.sysctl.insert(format!("net.ipv4.conf.{k}"), v.into());
        }
        f.files.insert(
            "/etc/sysctl.d/90-lvs.conf".into(),
            "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.ens3.rp_filter = 0\n".into(),
        );
        for (p, t) in files {
            f.files.insert(p.to_string(), t.to_string());
        }
        f
    }

    fn target() -> Target {
        Target {
            vip: Some(VIP.parse().unwrap()),
            port: 80,
            ..Default::default()
        }
    }

    fn plan_of(f: &HostFacts) -> HostPlan {
        let t = target();
        crate::fix::plan(&Analysis::new(f, &t, Role::Real))
    }

    fn rs014(f: &HostFacts) -> bool {
        crate::audit::audit(f, &target(), Role::Real)
            .iter()
            .any(|x| x.id == "RS014")
    }

    /// Write the planned files into the facts (what the host holds after --fix), then the
    /// re-audit and a second plan must find nothing to do.
    fn applied(mut f: HostFacts, p: &HostPlan) -> HostFacts {
        for c in &p.changes {
            if let (Some(path), Some(content)) = (&c.file, &c.content) {
                f.files.insert(path.clone(), content.clone());
            }
        }
        f
    }

    fn only_change(p: &HostPlan) -> &Change {
        let v: Vec<&Change> = p.changes.iter().filter(|c| c.kind == KIND).collect();
        assert_eq!(v.len(), 1, "{p:#?}");
        assert_eq!(p.changes.len(), 1, "only the address is missing: {p:#?}");
        v[0]
    }

    const DEBIAN_INTERFACES: &str = "# interfaces(5) file used by ifup(8) and ifdown(8)\nsource /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet static\n    address 192.168.21.12/24\n";

    #[test]
    fn ifupdown_sourcing_interfaces_d_gets_our_own_file_then_nothing() {
        let f = facts(&[(INTERFACES, DEBIAN_INTERFACES)]);
        assert!(rs014(&f));
        // The finding's advice names the file the plan writes.
        let advice = crate::audit::audit(&f, &target(), Role::Real)
            .into_iter()
            .find(|x| x.id == "RS014")
            .and_then(|x| x.fix)
            .map(|x| x.text)
            .unwrap_or_default();
        assert!(
            advice.contains("`lbdoctor audit --fix` writes")
                && advice.contains("/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20"),
            "{advice}"
        );
        let p = plan_of(&f);
        let c = only_change(&p);
        assert_eq!(
            c.file.as_deref(),
            Some("/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20")
        );
        assert_eq!(c.old, None);
        let content = c.content.as_deref().unwrap();
        assert!(content.starts_with(HEADER));
        assert!(
            content.ends_with("auto lo:0\niface lo:0 inet static\n    address 192.168.21.20/32\n")
        );
        assert!(c
            .diff
            .as_deref()
            .unwrap()
            .contains("+    address 192.168.21.20/32"));
        let after = applied(f, &p);
        assert!(!rs014(&after), "RS014 sees the VIP in our file");
        assert!(plan_of(&after).changes.is_empty());
    }

    #[test]
    fn ifupdown_source_directory_and_relative_forms_count_as_sourcing() {
        let ours = ifupdown_file(VIP.parse::<std::net::Ipv4Addr>().unwrap());
        let yes = [
            "source-directory /etc/network/interfaces.d\n",
            "source-directory interfaces.d/\n",
            "  source interfaces.d/*\n",
            "source /etc/network/interfaces.d/*\n",
            "source /etc/network/interfaces.d/lbdoctor-*\n",
        ];
        for t in yes {
            assert!(sources_interfaces_d(t, &ours), "{t}");
        }
        let no = [
            "source /etc/network/interfaces.d/*.cfg\n",
            "# source /etc/network/interfaces.d/*\n",
            "source /etc/network/other.d/*\n",
            "auto lo\niface lo inet loopback\n",
        ];
        for t in no {
            assert!(!sources_interfaces_d(t, &ours), "{t}");
        }
    }

    #[test]
    fn ifupdown_without_source_line_appends_to_interfaces_with_next_free_alias() {
        let own = "auto lo\niface lo inet loopback\n\nauto lo:0\niface lo:0 inet static\n    address 10.9.9.9/32\n";
        let f = facts(&[(INTERFACES, own)]);
        let p = plan_of(&f);
        let c = only_change(&p);
        assert_eq!(c.file.as_deref(), Some(INTERFACES));
        assert_eq!(
            c.old.as_deref(),
            Some(own),
            "planned against the admin's file"
        );
        let new = c.content.as_deref().unwrap();
        assert!(new.starts_with(own.trim_end()), "admin's lines kept: {new}");
        assert!(new.ends_with(&format!(
            "\n\n{HEADER}\nauto lo:1\niface lo:1 inet static\n    address 192.168.21.20/32\n"
        )));
        let d = c.diff.as_deref().unwrap();
        assert!(d.contains("+auto lo:1") && !d.contains("-auto lo"), "{d}");
        assert!(plan_of(&applied(f, &p)).changes.is_empty());
    }

    #[test]
    fn ifupdown_another_vips_file_is_left_alone_and_this_vip_gets_its_own_next_alias() {
        let other = "/etc/network/interfaces.d/lbdoctor-vip-10-0-0-5";
        let other_text =
            format!("{HEADER}\nauto lo:0\niface lo:0 inet static\n    address 10.0.0.5/32\n");
        let f = facts(&[(INTERFACES, DEBIAN_INTERFACES), (other, &other_text)]);
        let p = plan_of(&f);
        let c = only_change(&p);
        assert_eq!(
            c.file.as_deref(),
            Some("/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20")
        );
        assert_eq!(c.old, None);
        assert!(c
            .content
            .as_deref()
            .unwrap()
            .ends_with("auto lo:1\niface lo:1 inet static\n    address 192.168.21.20/32\n"));
    }

    #[test]
    fn a_changed_file_with_our_name_is_not_overwritten() {
        let f = facts(&[
            (INTERFACES, DEBIAN_INTERFACES),
            (
                "/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20",
                "auto lo:7\niface lo:7 inet static\n    address 10.0.0.7/32\n",
            ),
        ]);
        let p = plan_of(&f);
        assert!(p.changes.is_empty(), "{p:#?}");
        assert!(
            p.notes.iter().any(|n| n.contains("not touching it")),
            "{p:#?}"
        );
        let f = facts(&[(NETPLAN_FILE, "network: {version: 2}\n")]);
        let p = plan_of(&f);
        assert!(p.changes.is_empty(), "{p:#?}");
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("not written by lbdoctor")),
            "{p:#?}"
        );
    }

    #[test]
    fn netplan_gets_its_own_0600_file_and_no_netplan_apply() {
        let f = facts(&[
            (
                "/etc/netplan/50-cloud-init.yaml",
                "network:\n  version: 2\n  ethernets:\n    ens3:\n      addresses: [192.168.21.12/24]\n",
            ),
            // A stray interfaces file (Ubuntu ships a comment-only one): netplan still wins.
            (INTERFACES, "# ifupdown has been replaced by netplan(5) on this system.\n"),
        ]);
        assert_eq!(
            detect(&Analysis::new(&f, &target(), Role::Real)),
            Stack::Netplan
        );
        let p = plan_of(&f);
        let c = only_change(&p);
        assert_eq!(c.file.as_deref(), Some(NETPLAN_FILE));
        assert_eq!(new_file_mode(NETPLAN_FILE), "600");
        let y = c.content.as_deref().unwrap();
        assert!(y.contains(
            "network:\n  version: 2\n  ethernets:\n    lo:\n      addresses:\n        - 192.168.21.20/32\n"
        ), "{y}");
        assert!(!c.commands.iter().any(|x| x.contains("netplan apply")));
        assert!(plan_of(&applied(f, &p)).changes.is_empty());
    }

    #[test]
    fn a_second_vip_is_added_to_our_netplan_and_networkd_files() {
        let yaml = format!("{HEADER}\nnetwork:\n  version: 2\n  ethernets:\n    lo:\n      addresses:\n        - 10.0.0.5/32\n");
        let p = plan_of(&facts(&[(NETPLAN_FILE, &yaml)]));
        let c = only_change(&p);
        assert_eq!(c.old.as_deref(), Some(yaml.as_str()));
        assert_eq!(
            c.content.as_deref().unwrap(),
            format!("{yaml}        - 192.168.21.20/32\n")
        );
        let network = format!(
            "{HEADER}\n[Match]\nName=lo\n\n[Network]\nAddress=127.0.0.1/8\nAddress=10.0.0.5/32\n"
        );
        let p = plan_of(&facts(&[(NETWORKD_FILE, &network)]));
        let c = only_change(&p);
        assert_eq!(c.file.as_deref(), Some(NETWORKD_FILE));
        assert_eq!(
            c.content.as_deref().unwrap(),
            format!("{network}Address=192.168.21.20/32\n")
        );
    }

    #[test]
    fn netplan_with_lo_defined_by_the_admin_is_a_note() {
        let f = facts(&[(
            "/etc/netplan/01-netcfg.yaml",
            "network:\n  version: 2\n  ethernets:\n    lo:\n      addresses: [10.1.1.1/32]\n",
        )]);
        let p = plan_of(&f);
        assert!(p.changes.is_empty(), "{p:#?}");
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("/etc/netplan/01-netcfg.yaml already defines lo")),
            "{p:#?}"
        );
    }

    #[test]
    fn networkd_gets_its_own_file_matching_lo() {
        let f = facts(&[(
            "/etc/systemd/network/10-ens3.network",
            "[Match]\nName=ens3\n\n[Network]\nAddress=192.168.21.12/24\n",
        )]);
        let p = plan_of(&f);
        let c = only_change(&p);
        assert_eq!(c.file.as_deref(), Some(NETWORKD_FILE));
        let t = c.content.as_deref().unwrap();
        assert!(
            t.contains(
                "[Match]\nName=lo\n\n[Network]\nAddress=127.0.0.1/8\nAddress=192.168.21.20/32\n"
            ),
            "{t}"
        );
        assert!(plan_of(&applied(f, &p)).changes.is_empty());
    }

    #[test]
    fn networkd_file_already_matching_lo_is_edited_with_a_diff() {
        let lo =
            "[Match]\nName=lo\n\n[Network]\nAddress=127.0.0.1/8\n\n[Link]\nRequiredForOnline=no\n";
        let f = facts(&[("/etc/systemd/network/05-lo.network", lo)]);
        let p = plan_of(&f);
        let c = only_change(&p);
        assert_eq!(
            c.file.as_deref(),
            Some("/etc/systemd/network/05-lo.network")
        );
        assert_eq!(c.old.as_deref(), Some(lo));
        assert_eq!(
            c.content.as_deref().unwrap(),
            "[Match]\nName=lo\n\n[Network]\nAddress=127.0.0.1/8\nAddress=192.168.21.20/32\n\n[Link]\nRequiredForOnline=no\n"
        );
        assert!(network_matches_lo("[Match]\nType=loopback\n"));
        assert!(network_matches_lo("[Match]\nName=e* l*\n"));
        assert!(
            network_matches_lo("[Network]\nDHCP=yes\n"),
            "no [Match]: every link"
        );
        assert!(!network_matches_lo("[Match]\nName=en*\n"));
    }

    #[test]
    fn network_manager_ifcfg_and_unknown_hosts_get_a_note_only() {
        let nm = facts(&[(
            "/etc/NetworkManager/system-connections/Wired.nmconnection",
            "[connection]\nid=Wired\n",
        )]);
        let p = plan_of(&nm);
        assert!(p.changes.is_empty(), "{p:#?}");
        assert!(p
            .notes
            .iter()
            .any(|n| n.contains("nmcli connection modify lo +ipv4.addresses 192.168.21.20/32")));
        let mut rhel = facts(&[]);
        rhel.os_id = "rocky".into();
        let p = plan_of(&rhel);
        assert!(p.changes.is_empty());
        assert!(p.notes.iter().any(|n| n.contains("ifcfg-lo:0")), "{p:#?}");
        let p = plan_of(&facts(&[]));
        assert!(p.changes.is_empty());
        assert!(p
            .notes
            .iter()
            .any(|n| n.contains("ip addr add 192.168.21.20/32 dev lo")));
    }

    #[test]
    fn vip_not_accepted_at_all_still_gets_the_redirect_and_no_address() {
        let mut f = facts(&[(INTERFACES, DEBIAN_INTERFACES)]);
        f.interfaces[0].addrs.truncate(1);
        let p = plan_of(&f);
        assert!(!p.changes.iter().any(|c| c.kind == KIND), "{p:#?}");
        let rt = p
            .changes
            .iter()
            .find(|c| c.kind == "firewall-runtime")
            .unwrap();
        assert!(rt
            .commands
            .iter()
            .any(|c| c.contains("-d 192.168.21.20/32 -j REDIRECT")));
    }

    #[test]
    fn vip_on_a_nic_or_dummy_is_a_note() {
        let mut f = facts(&[(INTERFACES, DEBIAN_INTERFACES)]);
        let vip = f.interfaces[0].addrs.pop().unwrap();
        f.interfaces.push(Interface {
            name: "dummy0".into(),
            kind: "dummy".into(),
            up: true,
            addrs: vec![vip],
        });
        let p = plan_of(&f);
        assert!(!p.changes.iter().any(|c| c.kind == KIND));
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("on dummy0 only at runtime")),
            "{p:#?}"
        );
    }

    #[test]
    fn a_file_planned_as_new_that_appeared_meanwhile_is_not_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("lbdoctor-vip-x").display().to_string();
        let c = change(&path, None, "new\n".into(), "test");
        let mut t = crate::remote::local::LocalTransport::new("localhost");
        std::fs::write(&path, "admin\n").unwrap();
        let mut out = super::super::apply::Outcome::default();
        let e = apply_change(&mut t, &c, &mut out).unwrap_err();
        assert!(
            format!("{e:#}").contains("appeared since the facts were gathered"),
            "{e:#}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "admin\n");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no backup, no temp file"
        );
        std::fs::remove_file(&path).unwrap();
        apply_change(&mut t, &c, &mut out).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(
            out.applied,
            ["test; the address is already on lo, so nothing is brought up now"]
        );
    }

    #[test]
    fn ifupdown_next_to_networkd_files_says_which_was_chosen() {
        let f = facts(&[
            (INTERFACES, DEBIAN_INTERFACES),
            (
                "/etc/systemd/network/10-ens3.network",
                "[Match]\nName=ens3\n",
            ),
        ]);
        let p = plan_of(&f);
        assert_eq!(
            only_change(&p).file.as_deref(),
            Some("/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20")
        );
        assert!(
            p.notes.iter().any(|n| n.contains("persisted for ifupdown")),
            "{p:#?}"
        );
    }

    #[test]
    fn new_netplan_file_is_created_0600_by_the_write_script() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("60-x.yaml");
        let ps = p.to_str().unwrap();
        let mut t = crate::remote::local::LocalTransport::new("localhost");
        let o = t
            .run(&super::super::apply::write_file_script_mode(
                ps, "a: 1\n", None, None, "600",
            ))
            .unwrap();
        assert_eq!(o.status, 0, "{}", o.stderr_lossy());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// The IPv6 VIP on lo as /128 (and the IPv4 one gone): each stack gets the /128.
    fn plan6_of(files: &[(&str, &str)]) -> (HostFacts, HostPlan, Target) {
        let mut f = facts(files);
        let lo = &mut f.interfaces[0].addrs;
        lo.retain(|a| a.ip != VIP);
        lo.push(Addr {
            ip: "2001:db8:21::20".into(),
            prefix: 128,
        });
        let t = Target {
            vip6: Some("2001:db8:21::20".parse().unwrap()),
            port: 80,
            ..Default::default()
        };
        let p = crate::fix::plan(&Analysis::new(&f, &t, Role::Real));
        (f, p, t)
    }

    #[test]
    fn ipv6_vip_on_lo_is_persisted_per_stack_as_a_128() {
        let (f, p, t) = plan6_of(&[(INTERFACES, DEBIAN_INTERFACES)]);
        let c = only_change(&p);
        assert_eq!(
            c.file.as_deref(),
            Some("/etc/network/interfaces.d/lbdoctor-vip-2001-db8-21--20")
        );
        assert!(c
            .content
            .as_deref()
            .unwrap()
            .ends_with("auto lo\niface lo inet6 static\n    address 2001:db8:21::20/128\n"));
        let f = applied(f, &p);
        assert!(crate::fix::plan(&Analysis::new(&f, &t, Role::Real))
            .changes
            .is_empty());
        assert!(!crate::audit::audit(&f, &t, Role::Real)
            .iter()
            .any(|x| x.id == "RS021"));

        let (_, p, _) = plan6_of(&[(
            "/etc/netplan/50-cloud-init.yaml",
            "network:\n  version: 2\n  ethernets:\n    ens3:\n      addresses: [192.168.21.12/24]\n",
        )]);
        let y = only_change(&p).content.clone().unwrap();
        assert!(
            y.contains("    lo:\n      addresses:\n        - \"2001:db8:21::20/128\"\n"),
            "{y}"
        );

        let (_, p, _) = plan6_of(&[(
            "/etc/systemd/network/10-ens3.network",
            "[Match]\nName=ens3\n",
        )]);
        let n = only_change(&p).content.clone().unwrap();
        assert!(
            n.contains("Address=127.0.0.1/8\nAddress=2001:db8:21::20/128\n"),
            "{n}"
        );

        let (_, p, _) = plan6_of(&[(
            "/etc/NetworkManager/system-connections/ens3.nmconnection",
            "[connection]\nid=ens3\n",
        )]);
        assert!(p.changes.is_empty(), "{p:#?}");
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("+ipv6.addresses 2001:db8:21::20/128")),
            "{p:#?}"
        );
    }
}
