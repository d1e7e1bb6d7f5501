//! RS023: a gathered network or sysctl file whose name is not a plain file name (`..`,
//! quotes, `$(`, blanks, a newline). The fix could choose such a file as its write target
//! (the systemd-networkd file that matches lo comes from the host); it refuses, and says so.
use crate::audit::Analysis;
use crate::Finding;

/// The directories whose files the fix may pick as targets.
const PICKED_FROM: &[&str] = &[
    "/etc/systemd/network/",
    "/etc/network/",
    "/etc/netplan/",
    "/etc/sysctl.d/",
];

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    for path in a.f.files.keys() {
        if !PICKED_FROM.iter().any(|d| path.starts_with(d)) {
            continue;
        }
        let Some(why) = crate::audit::write_target::problem(path) else {
            continue;
        };
        out.push(
            Finding::new(
                "RS023",
                &a.f.host,
                format!("the host reports a configuration file named {path:?}: {why}; lbdoctor --fix will not write to it"),
            )
            .evidence(format!("gathered file {path:?}"))
            .fix_text("rename the file to a plain name (letters, digits, ._-) in its directory, or remove it if it is not yours: a name like this is a mistake or an attempt to make a tool write elsewhere"),
        );
    }
}
