//! Which files a repair may write. Some write targets come from the host (the networkd file
//! that matches lo), so audit (RS023) and fix (the plan) judge them with this one function;
//! it lives in audit because data flows audit -> fix.

/// Directories a plan may write a file into (the file itself, not below it).
const WRITE_DIRS: &[&str] = &[
    "/etc",
    "/etc/sysctl.d",
    "/etc/iptables",
    "/etc/sysconfig",
    "/etc/network",
    "/etc/network/interfaces.d",
    "/etc/netplan",
    "/etc/systemd/network",
    // lbdoctor's own restore unit and rules (hosts without a restore service), the TUN
    // module and tunl0 unit, and the firewall managers' files it edits between markers.
    "/etc/lbdoctor",
    "/etc/systemd/system",
    "/etc/modules-load.d",
    "/etc/ufw",
    "/etc/firewalld",
];

/// Why `path` may not be a write target, or None for a plain file name in one of
/// `WRITE_DIRS`. Some targets come from the host (the networkd file that matches lo): a
/// name with `..`, quotes, `$(`, blanks or a newline is refused, however well it is quoted.
pub fn problem(path: &str) -> Option<&'static str> {
    let Some((dir, name)) = path.rsplit_once('/') else {
        return Some("not an absolute path");
    };
    if !path.starts_with('/') {
        return Some("not an absolute path");
    }
    if name.is_empty() || name == "." || name == ".." || name.starts_with('-') {
        return Some("not a plain file name");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"._+@:,=-".contains(&c))
    {
        return Some("its name holds characters other than letters, digits and ._+@:,=-");
    }
    if !WRITE_DIRS.contains(&dir) {
        return Some("not directly in a directory lbdoctor writes to");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    /// Every file a repair writes must pass, or the plan silently drops the change (merging
    /// the write-target check dropped the TUN unit and lbdoctor's own restore unit).
    #[test]
    fn every_file_the_fix_writes_is_a_valid_target() {
        for p in [
            "/etc/sysctl.d/90-lbdoctor-lvs-dr.conf",
            "/etc/iptables/rules.v4",
            "/etc/nftables.conf",
            "/etc/sysconfig/nftables.conf",
            "/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20",
            "/etc/netplan/60-lbdoctor-vip.yaml",
            "/etc/systemd/network/60-lbdoctor-vip.network",
            "/etc/lbdoctor/iptables.rules",
            "/etc/systemd/system/lbdoctor-iptables.service",
            "/etc/systemd/system/lbdoctor-tunl0.service",
            "/etc/modules-load.d/lbdoctor-ipip.conf",
            crate::audit::facts::UFW_BEFORE,
            "/etc/firewalld/direct.xml",
        ] {
            assert_eq!(problem(p), None, "{p}");
        }
        assert!(problem("/etc/systemd/network/../../x").is_some());
        assert!(problem("/etc/systemd/system/sub/x.service").is_some());
    }
}
