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
