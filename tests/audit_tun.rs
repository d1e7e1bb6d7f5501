//! LVS-TUN real servers in a network namespace (prefix lbdflt-), with the real iptables and
//! the real kernel. This machine's kernel has no ipip module (`modprobe ipip`: "Module ipip
//! not found"; `ip link add type ipip`: "Unknown device type"), so what is tested here is what
//! such a host shows: the audit finds every TUN gap, an MSS clamp added by hand satisfies
//! RS018, and `--fix` stops at `modprobe ipip` with a clear error, changing nothing else.
//! The plan with ipip present (sysctls on tunl0, files, second run empty) is covered by
//! src/fix/tun.rs's unit tests.

mod common;
use common::{can_use_netns, ids, NetNs};

const VIP: &str = "192.168.21.20";

fn kernel_has_ipip() -> bool {
    std::process::Command::new("modprobe")
        .arg("ipip")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        || std::path::Path::new("/sys/module/ipip").exists()
}

#[test]
fn tun_real_server_gaps_are_found_and_the_fix_stops_cleanly_without_ipip() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdflt", "flt1", 13);
    let (_, v) = ns.audit_local(VIP, &["--lvs-method", "TUN"]);
    let found = ids(&v, "findings");
    let has_ipip = kernel_has_ipip();
    for id in ["RS016", "RS017", "RS018"] {
        assert!(found.contains(&id.to_string()), "{id}: {found:?}");
    }
    if !has_ipip {
        assert!(found.contains(&"RS015".to_string()), "{found:?}");
    }
    // The same namespace audited as DR has none of the TUN findings.
    let (_, dr) = ns.audit_local(VIP, &[]);
    let dr = ids(&dr, "findings");
    assert!(
        !dr.iter()
            .any(|i| ["RS015", "RS016", "RS017", "RS018"].contains(&i.as_str())),
        "{dr:?}"
    );

    // The plan: ipip and tunl0 first, then the files, the tunl0 sysctl and the MSS clamp.
    let (_, plan) = ns.audit_local(VIP, &["--lvs-method", "TUN", "--fix", "--dry-run"]);
    let changes = plan["plan"][0]["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"tun-persist"), "{kinds:?}");
    let text = plan["plan"].to_string();
    for want in [
        "/etc/modules-load.d/lbdoctor-ipip.conf",
        "/etc/systemd/system/lbdoctor-tunl0.service",
        "sysctl -w net.ipv4.conf.tunl0.rp_filter=0",
        "--ctorigdst 192.168.21.20 -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }

    // An MSS clamp made by hand, read back from the real iptables-save: RS018 is satisfied.
    ns.exec("iptables -t mangle -A OUTPUT -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu");
    let (_, v) = ns.audit_local(VIP, &["--lvs-method", "TUN"]);
    assert!(!ids(&v, "findings").contains(&"RS018".to_string()), "{v}");

    if has_ipip {
        return;
    }
    // Without ipip in the kernel the fix stops at its first step, says why, and nothing
    // else is changed: no sysctl, no file.
    let before = ns.exec("sysctl -n net.ipv4.conf.all.rp_filter");
    let out = ns
        .lbdoctor()
        .args([
            "audit",
            "--local",
            "--vip",
            VIP,
            "--lvs-method",
            "TUN",
            "--fix",
            "--yes",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("modprobe ipip") && err.contains("CONFIG_NET_IPIP"),
        "{err}"
    );
    assert_eq!(ns.exec("sysctl -n net.ipv4.conf.all.rp_filter"), before);
    assert!(ns
        .exec("ls /etc/modules-load.d/lbdoctor-ipip.conf")
        .contains("No such file"));
}
