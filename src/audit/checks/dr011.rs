//! DR011: a director setting that is right now (ip_forward for NAT, rp_filter under fwmark
//! routing, SYN cookies) but that the boot-time files do not carry: a reboot breaks it.
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    for r in super::director_requirements(a) {
        if !(r.ok)(r.runtime) || (r.ok)(r.boot) {
            continue;
        }
        let mut f = Finding::new(
            "DR011",
            &a.f.host,
            format!(
                "{} is {} now but {} after a reboot: it is set at runtime only, and is what makes {}",
                r.label, r.runtime, r.boot, r.why
            ),
        )
        .evidence(format!("now: {} (effective) ", r.runtime).trim_end().to_string());
        f = match r.label.strip_prefix("rp_filter on ") {
            Some(iface) => f.evidence_lines(super::boot_sources(a, iface, "rp_filter")),
            None => f.evidence(match a.boot_sysctl.get(&r.keys[0]) {
                Some(b) => format!(
                    "at boot {} = {} ({}:{})",
                    r.keys[0], b.value, b.file, b.line
                ),
                None => format!(
                    "at boot {}: no file sets it (kernel default {})",
                    r.keys[0], r.boot
                ),
            }),
        };
        out.push(
            f.fix_text(format!(
                "persist it in /etc/sysctl.d (lbdoctor audit --role director --fix writes {})",
                crate::remedy::DIRECTOR_SYSCTL_FILE
            ))
            .fix_command(format!(
                "printf '%s\\n' {} >> {}",
                r.keys
                    .iter()
                    .map(|k| format!("'{k} = {}'", r.want))
                    .collect::<Vec<_>>()
                    .join(" "),
                crate::remedy::DIRECTOR_SYSCTL_FILE
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::{facts::HostFacts, Analysis, Role, Target};

    fn director(runtime: &[(&str, &str)], boot: &str) -> HostFacts {
        let mut f = HostFacts {
            host: "lb1".into(),
            ..Default::default()
        };
        for (k, v) in runtime {
            f.sysctl.insert(k.to_string(), v.to_string());
        }
        f.files
            .insert("/etc/sysctl.d/50-site.conf".into(), boot.to_string());
        f
    }

    fn ids(f: &HostFacts, t: &Target) -> Vec<String> {
        let a = Analysis::new(f, t, Role::Director);
        let mut out = Vec::new();
        super::run(&a, &mut out);
        out.into_iter().map(|x| x.message).collect()
    }

    #[test]
    fn runtime_only_syncookies_and_nat_forwarding_are_lost_at_reboot() {
        let nat = Target {
            method: Some("NAT".into()),
            ..Default::default()
        };
        let f = director(
            &[
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.tcp_syncookies", "1"),
            ],
            "net.ipv4.tcp_syncookies = 0\n",
        );
        let m = ids(&f, &nat);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("net.ipv4.ip_forward is 1 now but 0 after a reboot"));
        assert!(m[1].starts_with("net.ipv4.tcp_syncookies is 1 now but 0 after a reboot"));
        // Persisted: nothing to say. Not NAT: ip_forward is not required.
        let f = director(
            &[
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.tcp_syncookies", "1"),
            ],
            "net.ipv4.ip_forward = 1\n",
        );
        assert!(ids(&f, &nat).is_empty());
        let f = director(&[("net.ipv4.ip_forward", "1")], "");
        assert!(ids(&f, &Target::default()).is_empty());
        // Wrong now: that is DR001's finding, not this one.
        let f = director(&[("net.ipv4.ip_forward", "0")], "");
        assert!(ids(&f, &nat).is_empty());
    }
}
