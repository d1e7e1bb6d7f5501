//! RS017: an LVS-TUN real server has ipip and tunl0 now, but nothing loads the module or
//! brings tunl0 up at boot.
use crate::audit::Analysis;
use crate::remedy::tun;
use crate::Finding;

/// A modules-load.d file or /etc/modules that names ipip (systemd-modules-load reads both
/// forms: one module a line, `#` and `;` comments).
pub fn module_at_boot(a: &Analysis) -> Option<String> {
    a.f.files.iter().find_map(|(p, t)| {
        let listed =
            (p.starts_with("/etc/modules-load.d/") && p.ends_with(".conf")) || p == "/etc/modules";
        (listed
            && t.lines()
                .map(|l| l.split(['#', ';']).next().unwrap_or("").trim())
                .any(|m| m == "ipip"))
        .then(|| p.clone())
    })
}

/// Something brings tunl0 up at boot: our unit, enabled, or a network configuration file
/// that names tunl0 (ifupdown, networkd, netplan, ifcfg).
pub fn up_at_boot(a: &Analysis) -> Option<String> {
    if a.f.files.contains_key(tun::UNIT_LINK) && a.f.files.contains_key(tun::UNIT_FILE) {
        // Ours, and it puts the VIP on tunl0 where the VIP has to be there.
        let unit = &a.f.files[tun::UNIT_FILE];
        if a.tun_vip()
            .is_none_or(|v| super::rs014::mentions(unit, &v.to_string()))
        {
            return Some(format!("{} (enabled)", tun::UNIT_FILE));
        }
        return None;
    }
    a.f.files.iter().find_map(|(p, t)| {
        (super::rs014::NETWORK_CONFIG_DIRS
            .iter()
            .any(|d| p.starts_with(d))
            && super::rs014::mentions(t, "tunl0"))
        .then(|| p.clone())
    })
}

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if !a.is_tun() {
        return;
    }
    let module = module_at_boot(a);
    let up = up_at_boot(a);
    if module.is_some() && up.is_some() {
        return;
    }
    let mut lost = Vec::new();
    if module.is_none() {
        lost.push("the ipip module (no /etc/modules-load.d/*.conf or /etc/modules names it)");
    }
    if up.is_none() {
        lost.push(
            "tunl0 up with the VIP on it (no enabled unit or network configuration brings it up)",
        );
    }
    let mut f = Finding::new(
        "RS017",
        &a.f.host,
        format!(
            "a reboot loses {}: the director's tunnelled packets are then dropped while the health check on the real IP still passes",
            lost.join(" and ")
        ),
    );
    if let Some(m) = module {
        f = f.evidence(format!("ipip loaded at boot by {m}"));
    }
    if let Some(u) = up {
        f = f.evidence(format!("tunl0 brought up at boot by {u}"));
    }
    out.push(f.fix_text(format!(
        "lbdoctor audit --fix writes {} (ipip) and {} (tunl0 up, enabled)",
        tun::MODULES_FILE,
        tun::UNIT_FILE
    )));
}
