//! IPv6 VIPs on a DR real server, in network namespaces (prefix lbdflt-) with the real
//! kernel: neighbour discovery does not advertise a VIP held on lo (IPv6's strict
//! per-interface ND, the reason RS020 needs no arp_ignore counterpart) and does advertise one
//! on the NIC; the audit reads both, and `--fix` puts a missing VIP on lo.

mod common;
use common::{can_use_netns, ids, sh, NetNs};

const VIP6: &str = "2001:db8:21::20";

/// A client namespace on the far end of the real server's ens3 veth, 2001:db8:21::50/64,
/// with the VIP on-link: its packets to the VIP need neighbour discovery, as through a
/// director that forwards at layer 2.
struct Client6 {
    name: String,
}

impl Client6 {
    fn attach(tag: &str) -> Client6 {
        let name = format!("lbdflt-{tag}c");
        let _ = sh(&format!("ip netns del {name} 2>/dev/null"));
        sh(&format!(
            "set -e; ip netns add {name}; ip link set {tag}e3 netns {name}; ip -n {name} link set lo up; ip -n {name} link set {tag}e3 up; ip -n {name} -6 addr add 2001:db8:21::50/64 dev {tag}e3 nodad"
        ));
        Client6 { name }
    }

    /// Does neighbour discovery for the VIP get an answer? A TCP connection attempt makes
    /// the client solicit it; the neighbour entry then has the answering MAC (REACHABLE) or
    /// stays INCOMPLETE. (This machine has no ping binary; curl is enough to trigger ND.)
    fn vip_neighbour(&self) -> String {
        let _ = sh(&format!("ip -n {} -6 neigh flush all", self.name));
        let _ = std::process::Command::new("ip")
            .args(["netns", "exec", &self.name, "curl", "-s", "-o", "/dev/null"])
            .args(["--max-time", "2"])
            .arg(format!("http://[{VIP6}]:80/"))
            .output()
            .unwrap();
        let o = sh(&format!("ip -n {} -6 neigh show {VIP6}", self.name));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for Client6 {
    fn drop(&mut self) {
        let _ = sh(&format!("ip netns del {}", self.name));
    }
}

#[test]
fn ipv6_vip_on_lo_is_not_advertised_and_the_audit_reads_it() {
    if !can_use_netns() {
        return;
    }
    let ns = NetNs::app_with_prefix("lbdflt", "flt6", 14);
    ns.exec("ip -6 addr add 2001:db8:21::14/64 dev ens3 nodad");
    let client = Client6::attach("flt6");
    let vip = format!("[{VIP6}]:80");

    // Nothing accepts the VIP yet.
    let (_, v) = ns.audit_local(&vip, &[]);
    let found = ids(&v, "findings");
    assert!(found.contains(&"RS019".to_string()), "{found:?}");
    assert_eq!(v["hosts"][0]["host"], "localhost");

    // The fix puts it on lo as /128, now.
    let (code, v) = ns.audit_local(&vip, &["--fix", "--yes"]);
    assert!(
        !ids(&v, "findings").contains(&"RS019".to_string()),
        "{code:?} {v}"
    );
    let lo = ns.exec("ip -6 addr show dev lo");
    assert!(lo.contains(&format!("{VIP6}/128")), "{lo}");
    // Not persisted (RS021) and the HTTP server listens on 0.0.0.0 only (RS022).
    let found = ids(&v, "findings");
    assert!(found.contains(&"RS021".to_string()), "{found:?}");
    assert!(found.contains(&"RS022".to_string()), "{found:?}");
    assert!(!found.contains(&"RS020".to_string()), "{found:?}");
    // A second run plans no IPv6 change.
    let (_, v) = ns.audit_local(&vip, &["--fix", "--dry-run"]);
    assert!(
        !v["plan"].to_string().contains("address6-runtime"),
        "{}",
        v["plan"]
    );

    // The kernel does not answer neighbour solicitations for the VIP on lo.
    let n = client.vip_neighbour();
    assert!(n.contains("INCOMPLETE") || n.contains("FAILED"), "{n}");
    assert!(
        !n.contains("lladdr"),
        "ND answered for a VIP held on lo: {n}"
    );

    // The VIP on the NIC: advertised (ping answered) and reported.
    ns.exec(&format!(
        "ip -6 addr del {VIP6}/128 dev lo; ip -6 addr add {VIP6}/64 dev ens3 nodad"
    ));
    let mac = ns
        .exec("cat /sys/class/net/ens3/address")
        .trim()
        .to_string();
    let n = client.vip_neighbour();
    assert!(
        n.contains(&format!("lladdr {mac}")),
        "ND did not answer for a VIP on ens3: {n}"
    );
    let (_, v) = ns.audit_local(&vip, &[]);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RS020")
        .unwrap_or_else(|| panic!("no RS020 in {v}"));
    assert!(f["message"].as_str().unwrap().contains("ens3"), "{f}");
}

#[test]
fn ipv6_vip_errors_stay_clear_for_what_is_not_supported() {
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "audit",
            "--facts",
            "/nonexistent",
            "--vip",
            "[2001:db8::20]:80",
            "--deny-direct",
            "2001:db8::/64",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--deny-direct and --lvs-method TUN are not supported yet"),
        "{err}"
    );
}

const IFUPDOWN: &str = "/opt/lbdoctor-test/ifupdown/sbin/ifup";

/// An ifupdown host: `--fix` writes the IPv6 VIP as an `iface lo inet6 static` stanza of its
/// own, and a real `ifup -a` (Debian 12's ifupdown 0.8.41, unpacked by install-deps) brings it
/// back after the address is gone, as at boot.
#[test]
fn ipv6_vip_is_persisted_for_ifupdown_and_ifup_brings_it_back() {
    if !can_use_netns() {
        return;
    }
    if !std::path::Path::new(IFUPDOWN).exists() {
        eprintln!("SKIP: no unpacked ifupdown at {IFUPDOWN} (run scripts/install-deps.sh)");
        return;
    }
    let ns = NetNs::app_with_prefix("lbdflt", "flp6", 15);
    ns.exec("ip -6 addr add 2001:db8:21::15/64 dev ens3 nodad");
    ns.exec("mkdir -p /etc/network/interfaces.d /etc/network/if-pre-up.d /etc/network/if-up.d /etc/network/if-down.d /etc/network/if-post-down.d && printf 'auto lo\\niface lo inet loopback\\n\\nsource /etc/network/interfaces.d/*\\n' >/etc/network/interfaces");
    let vip = format!("[{VIP6}]:80");

    let (code, v) = ns.audit_local(&vip, &["--fix", "--yes"]);
    let found = ids(&v, "findings");
    assert!(
        !found.contains(&"RS019".to_string()) && !found.contains(&"RS021".to_string()),
        "{code:?} {found:?} {}",
        v["plan"]
    );
    let file = "/etc/network/interfaces.d/lbdoctor-vip-2001-db8-21--20";
    let stanza = ns.exec(&format!("cat {file}"));
    assert!(
        stanza.contains("iface lo inet6 static") && stanza.contains(&format!("address {VIP6}/128")),
        "{stanza}"
    );

    // A reboot loses the runtime address; ifupdown's `ifup -a` at boot brings it back.
    ns.exec(&format!("ip -6 addr del {VIP6}/128 dev lo"));
    let (_, v) = ns.audit_local(&vip, &[]);
    assert!(ids(&v, "findings").contains(&"RS019".to_string()));
    let state = ns.dir.path().join("ifstate");
    std::fs::create_dir_all(&state).unwrap();
    let out = ns.exec(&format!(
        "{IFUPDOWN} -a --state-dir {} 2>&1; echo rc=$?",
        state.display()
    ));
    assert!(out.contains("rc=0"), "{out}");
    let lo = ns.exec("ip -6 addr show dev lo");
    assert!(lo.contains(&format!("{VIP6}/128")), "{lo}");
    let (_, v) = ns.audit_local(&vip, &[]);
    let found = ids(&v, "findings");
    assert!(
        !found.contains(&"RS019".to_string()) && !found.contains(&"RS021".to_string()),
        "{found:?}"
    );
    // Idempotent: a second run plans no address change, runtime or boot.
    let (_, v) = ns.audit_local(&vip, &["--fix", "--dry-run"]);
    let plan = v["plan"].to_string();
    assert!(
        !plan.contains("address6-runtime") && !plan.contains("address-persist"),
        "{plan}"
    );
}
