//! DR008: keepalived is not running (or not installed) on a director.
use crate::audit::Analysis;
use crate::Finding;

pub fn run(a: &Analysis, out: &mut Vec<Finding>) {
    if a.f.keepalived_running {
        return;
    }
    let msg = if a.f.keepalived_installed {
        "keepalived is installed but not running: the VIP has no VRRP owner here and IPVS entries are not health-checked"
    } else {
        "keepalived is not installed on this director"
    };
    out.push(
        Finding::new("DR008", &a.f.host, msg)
            .evidence(format!(
                "pidof keepalived: none; keepalived binary {}",
                if a.f.keepalived_installed {
                    "present"
                } else {
                    "absent"
                }
            ))
            .fix_command("systemctl enable --now keepalived"),
    );
}
