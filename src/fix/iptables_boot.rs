//! Persistence without packages: where no distribution service restores iptables rules at
//! boot (no netfilter-persistent, no iptables-services) and no package may be installed (an
//! air-gapped host; on Debian, iptables-persistent would also make apt remove ufw), our rules
//! go to a file of ours, and a unit of ours puts back only those rules at boot. Nothing is
//! downloaded, and nothing outside our rules is flushed or saved.

use super::{unified_diff, Change, HostPlan};
use crate::audit::Analysis;
use crate::remedy::iptables_boot::{RULES, SCRIPT, UNIT, UNIT_NAME};

/// Ordered like Debian's netfilter-persistent.service (before network-pre.target, so the
/// rules are in place before any interface is configured; no default dependencies, so it can
/// run that early). Its Install section is what `systemctl enable` reads.
pub fn unit_text() -> String {
    format!(
        "# Written by lbdoctor audit --fix: restores lbdoctor's LVS-DR rules ({RULES}) at boot.\n\
[Unit]\n\
Description=lbdoctor LVS-DR real-server rules\n\
DefaultDependencies=no\n\
Wants=network-pre.target systemd-modules-load.service local-fs.target\n\
Before=network-pre.target shutdown.target\n\
After=systemd-modules-load.service local-fs.target\n\
Conflicts=shutdown.target\n\
ConditionPathExists={RULES}\n\
\n\
[Service]\n\
Type=oneshot\n\
RemainAfterExit=yes\n\
ExecStart=/bin/sh {SCRIPT} {RULES}\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n"
    )
}

/// Adds each `-A` rule of the rules file that the chain lacks, at its place among the
/// chain's first rules (at boot the chains are empty, so the file's order is kept). Present
/// rules are left alone, so a restart adds nothing twice; nothing is flushed, and policies
/// are not touched. Each rule is loaded by iptables-restore --noflush, which parses the
/// rule's quoting itself (no shell eval). The presence test compares with `iptables -S`,
/// whose form is the file's (both are iptables-save's).
pub fn script_text() -> String {
    format!(
        r#"#!/bin/sh
# Written by lbdoctor audit --fix, run by {UNIT_NAME}: adds the rules of {RULES}
# that are missing, and changes nothing else.
F=${{1:-{RULES}}}
rc=0; t=; pc=; n=0
while IFS= read -r l; do
  case "$l" in
    '*'*) t=${{l#?}}; pc= ;;
    '-A '*)
      r=${{l#-A }}; c=${{r%% *}}; spec=${{r#* }}
      [ "$c" = "$pc" ] || {{ pc=$c; n=0; }}
      n=$((n + 1))
      iptables -w -t "$t" -S "$c" 2>/dev/null | grep -qxF -- "$l" && continue
      len=$(iptables -w -t "$t" -S "$c" 2>/dev/null | grep -c '^-A ')
      p=$n; [ "$p" -le $((len + 1)) ] || p=$((len + 1))
      printf '*%s\n-I %s %s %s\nCOMMIT\n' "$t" "$c" "$p" "$spec" | iptables-restore --noflush ||
        {{ echo "{UNIT_NAME}: could not add: $l" >&2; rc=1; }} ;;
  esac
done < "$F"
exit $rc
"#
    )
}

fn file_change(a: &Analysis, path: &str, new: String, what: &str) -> Option<Change> {
    let old = a.f.files.get(path).cloned();
    (old.as_deref() != Some(new.as_str())).then(|| Change {
        kind: "firewall-boot-unit".into(),
        description: what.into(),
        commands: vec![format!("write {path}")],
        diff: Some(unified_diff(path, old.as_deref().unwrap_or(""), &new)),
        file: Some(path.into()),
        content: Some(new),
        old,
    })
}

/// The unit, its script and `systemctl enable`, as far as they are not in place yet.
pub fn unit_changes(a: &Analysis, plan: &mut HostPlan) {
    plan.changes.extend(file_change(
        a,
        SCRIPT,
        script_text(),
        &format!("write {SCRIPT}, which adds lbdoctor's rules from {RULES} (only those) at boot"),
    ));
    plan.changes.extend(file_change(
        a,
        UNIT,
        unit_text(),
        &format!("write {UNIT}, which runs it before network-pre.target"),
    ));
    if !a.f.packages.lbdoctor_iptables_enabled {
        plan.changes.push(Change {
            kind: "service-enable".into(),
            description: format!("enable {UNIT_NAME} so {RULES} is restored at boot"),
            // A running systemd must read the new unit first; without one (a container, an
            // image being built) `systemctl enable` still creates the symlink.
            commands: vec![
                "if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi".into(),
                format!("systemctl enable {UNIT_NAME}"),
            ],
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::facts::{Addr, HostFacts, Interface};
    use crate::audit::{Analysis, Role, Target};
    use crate::fix::{plan_with, Options};
    use crate::remote::local::LocalTransport;
    use crate::remote::Transport;

    /// A Debian real server without the VIP's REDIRECT, with fail2ban's and docker's chains
    /// live, and no firewall persistence package.
    fn host() -> HostFacts {
        let mut f = HostFacts {
            host: "app".into(),
            os_id: "debian".into(),
            iptables_save: Some("*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n*filter\n:INPUT ACCEPT [5:300]\n:f2b-sshd - [0:0]\n-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n-A f2b-sshd -s 203.0.113.9/32 -j REJECT --reject-with icmp-port-unreachable\n-A f2b-sshd -j RETURN\nCOMMIT\n".into()),
            ..Default::default()
        };
        f.interfaces = vec![Interface {
            name: "ens3".into(),
            kind: "ether".into(),
            up: true,
            addrs: vec![Addr {
                ip: "192.168.21.12".into(),
                prefix: 24,
            }],
        }];
        for (k, v) in [
            ("all.arp_ignore", "1"),
            ("all.arp_announce", "2"),
            ("all.rp_filter", "0"),
            ("ens3.rp_filter", "0"),
        ] {
            f.sysctl.insert(format!("net.ipv4.conf.{k}"), v.into());
        }
        f.files.insert(
            "/etc/sysctl.d/90-lvs.conf".into(),
            "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.ens3.rp_filter = 0\n".into(),
        );
        f
    }

    fn target() -> Target {
        Target {
            vip: Some("192.168.21.20".parse().unwrap()),
            port: 80,
            ..Default::default()
        }
    }

    fn kinds(p: &crate::fix::HostPlan) -> Vec<&str> {
        p.changes.iter().map(|c| c.kind.as_str()).collect()
    }

    #[test]
    fn without_a_restore_service_our_unit_persists_our_rules_and_nothing_is_installed() {
        let f = host();
        let t = target();
        let p = plan_with(&Analysis::new(&f, &t, Role::Real), &Options::default());
        assert_eq!(
            kinds(&p),
            [
                "firewall-runtime",
                "firewall-persist",
                "firewall-boot-unit",
                "firewall-boot-unit",
                "service-enable"
            ],
            "{p:#?}"
        );
        let persist = &p.changes[1];
        assert_eq!(persist.file.as_deref(), Some(super::RULES));
        let rules = persist.content.as_deref().unwrap();
        assert!(
            rules.contains("-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"),
            "{rules}"
        );
        assert!(
            !rules.contains("f2b") && !rules.contains("DOCKER"),
            "{rules}"
        );
        assert!(p
            .changes
            .iter()
            .all(|c| c.commands.iter().all(|x| !x.contains("apt-get"))));
        assert_eq!(
            p.changes[4].commands.last().unwrap(),
            "systemctl enable lbdoctor-iptables.service"
        );
    }

    #[test]
    fn a_rules_v4_created_where_none_existed_holds_our_rules_only() {
        let mut f = host();
        f.packages.netfilter_persistent = true;
        let t = target();
        let p = plan_with(&Analysis::new(&f, &t, Role::Real), &Options::default());
        let persist = p
            .changes
            .iter()
            .find(|c| c.kind == "firewall-persist")
            .unwrap();
        assert_eq!(persist.file.as_deref(), Some("/etc/iptables/rules.v4"));
        let rules = persist.content.as_deref().unwrap();
        assert!(
            rules.contains("-A PREROUTING -d 192.168.21.20/32 -j REDIRECT"),
            "{rules}"
        );
        assert!(
            !rules.contains("f2b") && !rules.contains("DOCKER") && !rules.contains("203.0.113.9"),
            "{rules}"
        );
    }

    #[test]
    fn install_packages_plans_the_package_without_removals_and_rules_v4() {
        let f = host();
        let t = target();
        let p = plan_with(
            &Analysis::new(&f, &t, Role::Real),
            &Options {
                install_packages: true,
            },
        );
        assert_eq!(
            kinds(&p),
            ["package", "firewall-runtime", "firewall-persist"],
            "{p:#?}"
        );
        let pkg = &p.changes[0];
        assert!(pkg
            .commands
            .last()
            .unwrap()
            .contains("apt-get install -y -q --no-remove iptables-persistent"));
        assert!(pkg.commands[0].contains("autosave_v4 boolean false"));
        assert_eq!(p.changes[2].file.as_deref(), Some("/etc/iptables/rules.v4"));
        let sim = "NOTE: This is only a simulation!\nRemv ufw [0.36.2-1]\nInst netfilter-persistent (1.0.20 Debian:12.5/stable [all])\nInst iptables-persistent (1.0.20 Debian:12.5/stable [all])\n";
        assert_eq!(crate::fix::simulated_removals(sim), ["ufw"]);
        assert!(crate::fix::simulated_removals("Inst a (1 x)\nConf a (1 x)\n").is_empty());
    }

    #[test]
    fn once_our_unit_is_in_place_the_plan_is_empty() {
        let mut f = host();
        let t = target();
        let p = plan_with(&Analysis::new(&f, &t, Role::Real), &Options::default());
        f.iptables_save = Some(f.iptables_save.unwrap().replace(
            "-A PREROUTING -m addrtype",
            "-A PREROUTING -d 192.168.21.20/32 -j REDIRECT\n-A PREROUTING -m addrtype",
        ));
        for c in &p.changes {
            if let (Some(file), Some(content)) = (&c.file, &c.content) {
                f.files.insert(file.clone(), content.clone());
            }
        }
        f.packages.lbdoctor_iptables_enabled = true;
        let p2 = plan_with(&Analysis::new(&f, &t, Role::Real), &Options::default());
        assert!(p2.changes.is_empty(), "{p2:#?}");
        assert!(crate::audit::audit(&f, &t, Role::Real)
            .iter()
            .all(|x| x.id != "RS008"));
    }

    /// The script against a fake iptables that records calls: present rules are skipped,
    /// missing ones inserted at their place, a failing one reported with exit 1.
    #[test]
    fn script_adds_only_missing_rules_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("rules"),
            "# ours\n*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.0.0.1/32 -j REDIRECT\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -m comment --comment \"a b\" -j DROP\nCOMMIT\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("script"), super::script_text()).unwrap();
        // iptables -S: INPUT already holds the SSH accept; restore records its input and
        // fails for the DROP.
        std::fs::write(
            dir.path().join("iptables"),
            "#!/bin/sh\n[ \"$4\" = -S ] || exit 9\n[ \"$5\" = INPUT ] && echo '-P INPUT ACCEPT' && echo '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT'\nexit 0\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("iptables-restore"),
            format!("#!/bin/sh\ncat >> {d}/loaded\ngrep -q DROP {d}/loaded && exit 1\nexit 0\n"),
        )
        .unwrap();
        let mut t = LocalTransport::new("localhost");
        let o = t
            .run(&format!(
                "chmod +x {d}/iptables {d}/iptables-restore; PATH={d}:$PATH sh {d}/script {d}/rules"
            ))
            .unwrap();
        assert_eq!(o.status, 1, "{}", o.stderr_lossy());
        assert!(o
            .stderr_lossy()
            .contains("could not add: -A INPUT -m comment"));
        let loaded = std::fs::read_to_string(dir.path().join("loaded")).unwrap();
        assert_eq!(
            loaded,
            "*nat\n-I PREROUTING 1 -d 10.0.0.1/32 -j REDIRECT\nCOMMIT\n\
*filter\n-I INPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n\
*filter\n-I INPUT 2 -m comment --comment \"a b\" -j DROP\nCOMMIT\n"
        );
    }
}
