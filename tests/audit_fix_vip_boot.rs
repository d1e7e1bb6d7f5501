//! `audit --fix` on a real server whose VIP is on lo only at runtime (RS014): a real network
//! namespace with a private /etc (overlay), the VIP on lo /32, the ARP sysctls set and
//! persisted, and Debian's /etc/network/interfaces. The fix writes the ifupdown stanza; a
//! simulated reboot (lo flushed, then the boot files applied as ifup would) brings the VIP back
//! and a client's request to the VIP is answered again.

mod common;
use common::*;
use serde_json::Value;

const VIP: &str = "192.168.21.20";

/// Facts of the server below before the fix (LBDOCTOR_RECORD=1 re-records them).
fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/vip-on-lo-ifupdown.json")
}

/// Offline, no root: the recorded facts plan exactly the interfaces.d file.
#[test]
fn recorded_vip_on_lo_facts_plan_the_interfaces_d_stanza() {
    let out = assert_cmd::Command::cargo_bin("lbdoctor")
        .unwrap()
        .args([
            "--format",
            "json",
            "audit",
            "--fix",
            "--dry-run",
            "--vip",
            VIP,
            "--facts",
        ])
        .arg(fixture())
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(ids(&v, "findings"), ["RS014"], "{:?}", v["findings"]);
    let changes = v["plan"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["kind"], "address-persist");
    assert_eq!(
        changes[0]["file"],
        "/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20"
    );
    assert_eq!(v["applied"], false);
}

/// The lab's ifupdown simulation for lo stanzas (ifupdown is not installed here).
fn ifup_lo_script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/ifup-lo.sh").to_string()
}

/// A real server that accepts the VIP on lo, with everything else right and persisted; the
/// only other network configuration is the given /etc/network/interfaces.
fn vip_on_lo_server(tag: &str, octet: u8, interfaces: &str) -> NetNs {
    let ns = NetNs::app(tag, octet);
    // Whatever the machine's own /etc holds for other network stacks is hidden (overlay
    // whiteouts; the machine's files are untouched).
    ns.exec("rm -f /etc/netplan/*.yaml /etc/netplan/*.yml /etc/systemd/network/*.network /etc/NetworkManager/system-connections/* /etc/network/interfaces.d/*");
    ns.exec(&format!(
        "mkdir -p /etc/network && cat > /etc/network/interfaces <<'EOF'\n{interfaces}EOF"
    ));
    ns.exec("cat > /etc/sysctl.d/90-lvs-dr.conf <<'EOF'\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.ens3.rp_filter = 0\nnet.ipv4.conf.ens4.rp_filter = 0\nEOF\nsysctl -q -p /etc/sysctl.d/90-lvs-dr.conf");
    ns.exec(&format!("ip addr add {VIP}/32 dev lo"));
    ns
}

fn audit(ns: &NetNs, extra: &[&str]) -> (Value, Option<i32>) {
    let (code, v) = ns.audit_local(VIP, extra);
    (v, code)
}

/// Reboot: lo back to 127.0.0.1/8 only, then the boot-time files as the system applies them.
fn reboot_lo(ns: &NetNs) {
    ns.exec(
        "ip addr flush dev lo; ip addr add 127.0.0.1/8 dev lo; sysctl -q --system >/dev/null 2>&1",
    );
    assert!(
        !ns.exec("ip -4 -o addr show dev lo").contains(VIP),
        "the flush removed the VIP"
    );
}

fn vip_on_lo(ns: &NetNs) -> bool {
    ns.exec("ip -4 -o addr show dev lo")
        .contains(&format!(" {VIP}/32 "))
}

const SOURCED: &str = "# interfaces(5) file used by ifup(8) and ifdown(8)\n# Include files from /etc/network/interfaces.d:\nsource /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet static\n    address 192.168.21.14/24\n";

#[test]
fn vip_on_lo_fix_writes_interfaces_d_stanza_idempotent_and_survives_reboot() {
    if !can_use_netns() {
        return;
    }
    let ns = vip_on_lo_server("vb1", 14, SOURCED);
    let c = Client::attach(&ns, "vb1");
    assert_eq!(c.curl(VIP), "200", "the VIP on lo answers at runtime");

    let facts = ns.dir.path().join("vip-on-lo.json");
    let (v, code) = audit(&ns, &["--save-facts", facts.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&v, "findings"), ["RS014"], "{:?}", v["findings"]);
    if std::env::var_os("LBDOCTOR_RECORD").is_some() {
        std::fs::copy(&facts, fixture()).unwrap();
    }

    let (v, code) = audit(&ns, &["--fix", "--yes"]);
    assert_eq!(v["applied"], true, "{v}");
    let changes = v["plan"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["kind"], "address-persist");
    assert_eq!(
        changes[0]["file"],
        "/etc/network/interfaces.d/lbdoctor-vip-192-168-21-20"
    );
    assert!(changes[0]["diff"]
        .as_str()
        .unwrap()
        .contains("+iface lo:0 inet static"));
    assert!(ids(&v, "findings").is_empty(), "{:?}", v["findings"]);
    assert_eq!(ids(&v, "findings_before"), ["RS014"]);
    assert_eq!(code, Some(0));
    // A new file: nothing to back up.
    assert!(v["outcomes"][0]["backups"].as_array().unwrap().is_empty());
    let written = ns.exec("cat /etc/network/interfaces.d/lbdoctor-vip-192-168-21-20");
    assert!(
        written.ends_with("auto lo:0\niface lo:0 inet static\n    address 192.168.21.20/32\n"),
        "{written}"
    );
    assert_eq!(
        ns.exec("stat -c %a /etc/network/interfaces.d/lbdoctor-vip-192-168-21-20")
            .trim(),
        "644"
    );
    assert_eq!(
        ns.exec("cat /etc/network/interfaces"),
        SOURCED,
        "the admin's file is untouched"
    );
    assert!(vip_on_lo(&ns), "runtime untouched");

    // Second run: nothing to do.
    let (v, code) = audit(&ns, &["--fix", "--yes"]);
    assert_eq!(
        v["plan"][0]["changes"].as_array().unwrap().len(),
        0,
        "{}",
        v["plan"]
    );
    assert_eq!(v["applied"], false);
    assert_eq!(code, Some(0));

    // A second service VIP gets a file (and alias) of its own: the first file is not edited,
    // so no backup lands in the directory `source interfaces.d/*` reads.
    ns.exec("ip addr add 192.168.21.21/32 dev lo");
    let (code, v) = ns.audit_local("192.168.21.21", &["--fix", "--yes"]);
    assert_eq!(v["applied"], true, "{v}");
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        ns.exec("ls -A /etc/network/interfaces.d/"),
        "lbdoctor-vip-192-168-21-20\nlbdoctor-vip-192-168-21-21\n"
    );
    assert!(ns
        .exec("cat /etc/network/interfaces.d/lbdoctor-vip-192-168-21-21")
        .ends_with("auto lo:1\niface lo:1 inet static\n    address 192.168.21.21/32\n"));

    reboot_lo(&ns);
    assert_eq!(
        c.curl(VIP),
        "000",
        "without the VIP, the request is dropped"
    );
    let out = ns.exec(&format!("sh {} 2>&1; echo rc=$?", ifup_lo_script()));
    assert!(out.ends_with("rc=0\n"), "{out}");
    assert!(vip_on_lo(&ns), "{}", ns.exec("ip -4 addr show dev lo"));
    assert!(ns
        .exec("ip -4 -o addr show dev lo")
        .contains(" 192.168.21.21/32 "));
    assert_eq!(c.curl(VIP), "200", "answered again after the reboot");
    let (v, code) = audit(&ns, &[]);
    assert!(ids(&v, "findings").is_empty(), "{:?}", v["findings"]);
    assert_eq!(code, Some(0));
}

const NOT_SOURCED: &str = "auto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet static\n    address 192.168.21.15/24\n";

#[test]
fn vip_on_lo_fix_appends_to_interfaces_with_a_backup_when_interfaces_d_is_not_read() {
    if !can_use_netns() {
        return;
    }
    let ns = vip_on_lo_server("vb2", 15, NOT_SOURCED);
    let (v, code) = audit(&ns, &["--fix", "--yes"]);
    assert_eq!(v["applied"], true, "{v}");
    assert_eq!(code, Some(0), "{v}");
    let changes = v["plan"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["file"], "/etc/network/interfaces");
    let backups: Vec<String> = v["outcomes"][0]["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].starts_with("/etc/network/interfaces.lbdoctor-"));
    assert_eq!(ns.exec(&format!("cat {}", backups[0])), NOT_SOURCED);
    let now = ns.exec("cat /etc/network/interfaces");
    assert!(now.starts_with(NOT_SOURCED), "{now}");
    assert!(
        now.ends_with("auto lo:0\niface lo:0 inet static\n    address 192.168.21.20/32\n"),
        "{now}"
    );
    assert!(ns
        .exec("ls -A /etc/network/interfaces.d/ 2>/dev/null")
        .trim()
        .is_empty());
    let (v, _) = audit(&ns, &["--fix", "--yes"]);
    assert_eq!(v["plan"][0]["changes"].as_array().unwrap().len(), 0);

    reboot_lo(&ns);
    ns.exec(&format!("sh {}", ifup_lo_script()));
    assert!(vip_on_lo(&ns), "{}", ns.exec("ip -4 addr show dev lo"));

    // Debian's own ifup, when the machine has it (or LBDOCTOR_IFUP names one, e.g. extracted
    // with `apt-get download ifupdown && dpkg -x`): the same file, the same result.
    let ifup = std::env::var("LBDOCTOR_IFUP")
        .ok()
        .or_else(|| {
            let o = sh("command -v ifup");
            o.status
                .success()
                .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
        })
        .filter(|p| !p.is_empty());
    match ifup {
        Some(ifup) => {
            reboot_lo(&ns);
            let state = ns.dir.path().join("ifstate");
            std::fs::create_dir_all(&state).unwrap();
            let out = ns.exec(&format!(
                "{ifup} -a -X ens3 --no-scripts --state-dir {} 2>&1; echo rc=$?",
                state.display()
            ));
            assert!(out.ends_with("rc=0\n"), "{out}");
            assert!(vip_on_lo(&ns), "real ifup: {out}");
        }
        None => eprintln!(
            "note: no ifup here (set LBDOCTOR_IFUP): checked with tests/lab/ifup-lo.sh only"
        ),
    }
}
