//! One file per check. Real-server checks (RSxxx) assume DSR (LVS-DR); director checks
//! (DRxxx) look at the IPVS host. Each check's prose lives in checks/<ID>.md.

use super::{Acceptance, Analysis};
use crate::Finding;

mod dr001;
mod dr002;
mod dr003;
mod dr004;
mod dr005;
mod dr006;
mod dr007;
mod dr008;
mod dr009;
mod dr010;
mod dr011;
mod dr012;
mod dr013;
mod dr014;
mod dr015;
mod dr016;
mod rs001;
mod rs002;
mod rs003;
mod rs004;
mod rs005;
mod rs006;
mod rs007;
mod rs008;
mod rs009;
mod rs010;
mod rs011;
mod rs012;
mod rs013;
pub(crate) mod rs014;
mod rs015;
mod rs016;
pub(crate) mod rs017;
pub(crate) mod rs018;
mod rs019;
mod rs020;
mod rs021;
mod rs022;
mod rs023;
mod rs024;

/// Is `ip` in a gathered network configuration file (RS014's test, for the IPv6 fix too)?
pub fn rs014_persisted(a: &Analysis, ip: &str) -> bool {
    rs014::persisted(a, ip)
}

pub fn run_real(a: &Analysis, out: &mut Vec<Finding>) {
    for c in [
        rs001::run,
        rs002::run,
        rs003::run,
        rs004::run,
        rs005::run,
        rs006::run,
        rs007::run,
        rs008::run,
        rs009::run,
        rs010::run,
        rs011::run,
        rs012::run,
        rs013::run,
        rs014::run,
        rs015::run,
        rs016::run,
        rs017::run,
        rs018::run,
        rs019::run,
        rs020::run,
        rs021::run,
        rs022::run,
        rs023::run,
        rs024::run,
    ] {
        c(a, out);
    }
}

pub fn run_director(a: &Analysis, out: &mut Vec<Finding>) {
    for c in [
        dr001::run,
        dr002::run,
        dr003::run,
        dr004::run,
        dr005::run,
        dr006::run,
        dr007::run,
        dr008::run,
        dr009::run,
        dr010::run,
        dr011::run,
        dr012::run,
        dr013::run,
        dr014::run,
        dr015::run,
        dr016::run,
    ] {
        c(a, out);
    }
}

/// One sysctl setting a director needs, from what its services and routing use. The same
/// list drives DR001/DR002/DR007 (runtime), DR011 (boot) and the director's `--fix`.
#[derive(Debug, Clone)]
pub struct DirectorSysctl {
    pub check: &'static str,
    /// What it is about, e.g. "net.ipv4.ip_forward" or "rp_filter on eth0".
    pub label: String,
    /// The keys the fix writes (rp_filter: `all` and the interface, the kernel uses the max).
    pub keys: Vec<String>,
    pub want: u32,
    /// Value now and after a reboot (effective, for per-interface knobs).
    pub runtime: u32,
    pub boot: u32,
    pub ok: fn(u32) -> bool,
    pub why: &'static str,
}

/// Interface names go into commands; the kernel allows shell characters in them, so names
/// outside the usual alphabet are left out (and so never make it into a command).
pub fn safe_iface(n: &str) -> bool {
    n.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
}

pub fn director_requirements(a: &Analysis) -> Vec<DirectorSysctl> {
    let mut v = Vec::new();
    let boot_global = |k: &str, default: u32| {
        a.boot_sysctl
            .get(k)
            .and_then(|b| b.value.trim().parse().ok())
            .unwrap_or(default)
    };
    if dr001::uses_nat(a) {
        if let Some(now) = a.f.sysctl_u32("net.ipv4.ip_forward") {
            v.push(DirectorSysctl {
                check: "DR001",
                label: "net.ipv4.ip_forward".into(),
                keys: vec!["net.ipv4.ip_forward".into()],
                want: 1,
                runtime: now,
                boot: boot_global("net.ipv4.ip_forward", 0),
                ok: |x| x == 1,
                why: "LVS-NAT replies are forwarded back to clients",
            });
        }
    }
    if !dr004::mark_rules(a).is_empty() {
        for i in a.segment_ifaces() {
            let Some(now) = a.f.effective(&i.name, "rp_filter") else {
                continue;
            };
            if !safe_iface(&i.name) {
                continue;
            }
            v.push(DirectorSysctl {
                check: "DR002",
                label: format!("rp_filter on {}", i.name),
                keys: vec![
                    "net.ipv4.conf.all.rp_filter".into(),
                    format!("net.ipv4.conf.{}.rp_filter", i.name.replace('.', "/")),
                ],
                want: 0,
                runtime: now,
                boot: crate::audit::parse::sysctl::boot_effective(
                    &a.boot_sysctl,
                    &i.name,
                    "rp_filter",
                ),
                ok: |x| x != 1,
                why: "DSR replies marked and routed back through the director pass the reverse-path check",
            });
        }
    }
    if let Some(now) = a.f.sysctl_u32("net.ipv4.tcp_syncookies") {
        v.push(DirectorSysctl {
            check: "DR007",
            label: "net.ipv4.tcp_syncookies".into(),
            keys: vec!["net.ipv4.tcp_syncookies".into()],
            want: 1,
            runtime: now,
            boot: boot_global("net.ipv4.tcp_syncookies", 1),
            ok: |x| x != 0,
            why: "the director's own TCP services keep working under a SYN flood",
        });
    }
    v
}

/// One sysctl a DSR real server needs, on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlReq {
    pub iface: String,
    pub knob: &'static str,
    /// The value the fix writes.
    pub want: u32,
    pub check: &'static str,
    pub why: String,
}

pub fn knob_ok(knob: &str, v: u32) -> bool {
    match knob {
        "arp_ignore" => v >= 1,
        "arp_announce" => v == 2,
        "rp_filter" => v != 1,
        _ => true,
    }
}

pub fn knob_rule(knob: &str) -> &'static str {
    match knob {
        "arp_ignore" => ">= 1",
        "arp_announce" => "= 2",
        _ => "0 or 2",
    }
}

/// What the real server needs, from how it accepts the VIP and how many NICs face the
/// segment. A host that accepts the VIP in no way yet gets the REDIRECT the fix will add.
pub fn sysctl_requirements(a: &Analysis) -> Vec<SysctlReq> {
    let mut v = Vec::new();
    if a.t.vip.is_none() {
        return v;
    }
    let safe = safe_iface;
    let seg: Vec<String> = a
        .segment_ifaces()
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| safe(n))
        .collect();
    let (arp_ifaces, why) = if a.vip_is_local() {
        (seg.clone(), "the VIP is a local address, so without it this host answers ARP for the VIP and steals the director's traffic".to_string())
    } else {
        (a.shared_subnet_ifaces().into_iter().filter(|n| safe(n)).collect(), "two NICs share the subnet, so without it each NIC answers ARP for the other's address (ARP flux) and replies leave from the wrong MAC".to_string())
    };
    for i in &arp_ifaces {
        v.push(SysctlReq {
            iface: i.clone(),
            knob: "arp_ignore",
            want: 1,
            check: "RS003",
            why: why.clone(),
        });
        v.push(SysctlReq {
            iface: i.clone(),
            knob: "arp_announce",
            want: 2,
            check: "RS004",
            why: why.clone(),
        });
    }
    // LVS-TUN: the decapsulated packet comes in on tunl0 from the client's address, whose
    // route leads out of a segment NIC: strict reverse-path filtering on tunl0 drops it.
    if a.is_tun() {
        v.push(SysctlReq {
            iface: "tunl0".into(),
            knob: "rp_filter",
            want: 0,
            check: "RS016",
            why: "decapsulated IPIP packets arrive on tunl0 from the client's address, whose route back leaves through a segment NIC; strict reverse-path filtering drops every one".into(),
        });
    }
    if seg.len() >= 2 {
        for i in &seg {
            v.push(SysctlReq {
                iface: i.clone(),
                knob: "rp_filter",
                want: 0,
                check: "RS005",
                why: "with several NICs, VIP traffic can arrive on one NIC while the route back to the client uses another; strict reverse-path filtering then drops it".into(),
            });
        }
    }
    v
}

pub fn runtime_effective(a: &Analysis, r: &SysctlReq) -> u32 {
    // An interface that does not exist yet (tunl0 before ipip loads) is created with
    // `default`'s value, and the kernel then uses max(all, it).
    if !a
        .f
        .sysctl
        .contains_key(&crate::remedy::sysctl_key(&r.iface, r.knob))
    {
        if let Some(d) =
            a.f.sysctl_u32(&crate::remedy::sysctl_key("default", r.knob))
        {
            let all =
                a.f.sysctl_u32(&crate::remedy::sysctl_key("all", r.knob))
                    .unwrap_or(0);
            return all.max(d);
        }
    }
    a.f.effective(&r.iface, r.knob).unwrap_or(0)
}

pub fn boot_effective(a: &Analysis, r: &SysctlReq) -> u32 {
    crate::audit::parse::sysctl::boot_effective(&a.boot_sysctl, &r.iface, r.knob)
}

/// Where the boot value for all/iface comes from, for evidence.
pub fn boot_sources(a: &Analysis, iface: &str, knob: &str) -> Vec<String> {
    let mut ev = Vec::new();
    let get = |scope: &str| {
        let k = format!("net.ipv4.conf.{scope}.{knob}");
        (a.boot_sysctl.get(&k).cloned(), k)
    };
    for scope in ["all", iface] {
        match get(scope) {
            (Some(b), k) => ev.push(format!("at boot {k} = {} ({}:{})", b.value, b.file, b.line)),
            (None, k) if scope == "all" => {
                ev.push(format!("at boot {k}: no file sets it (kernel default 0)"))
            }
            (None, k) => match get("default") {
                (Some(d), dk) => ev.push(format!(
                    "at boot {k}: no file sets it; the interface takes {dk} = {} ({}:{}) when it is created",
                    d.value, d.file, d.line
                )),
                (None, _) => ev.push(format!("at boot {k}: no file sets it (kernel default 0)")),
            },
        }
    }
    ev
}

pub fn runtime_evidence(a: &Analysis, iface: &str, knob: &str) -> Vec<String> {
    let g = |s: &str| {
        a.f.sysctl
            .get(&format!("net.ipv4.conf.{s}.{knob}"))
            .cloned()
            .unwrap_or_else(|| "?".into())
    };
    vec![format!(
        "now net.ipv4.conf.all.{knob} = {}, net.ipv4.conf.{iface}.{knob} = {} (effective max = {})",
        g("all"),
        g(iface),
        a.f.effective(iface, knob)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into())
    )]
}

/// Shared body of RS003/RS004/RS005: runtime requirement not met.
pub fn sysctl_check(a: &Analysis, out: &mut Vec<Finding>, check: &str) {
    // One finding per knob, naming every interface where it is wrong.
    let bad: Vec<(SysctlReq, u32)> = sysctl_requirements(a)
        .into_iter()
        .filter(|r| r.check == check)
        .map(|r| {
            let now = runtime_effective(a, &r);
            (r, now)
        })
        .filter(|(r, now)| !knob_ok(r.knob, *now))
        .collect();
    let Some((first, _)) = bad.first() else {
        return;
    };
    let where_: Vec<String> = bad
        .iter()
        .map(|(r, now)| format!("{} on {}", now, r.iface))
        .collect();
    let mut f = Finding::new(
        check,
        &a.f.host,
        format!(
            "effective {} is {}; a DSR real server needs {}: {}",
            first.knob,
            where_.join(", "),
            knob_rule(first.knob),
            first.why
        ),
    );
    let mut cmds: Vec<String> = Vec::new();
    for (r, _) in &bad {
        f = f.evidence_lines(runtime_evidence(a, &r.iface, r.knob));
        for c in crate::remedy::sysctl_commands(r.knob, &r.iface, r.want) {
            if !cmds.contains(&c) {
                cmds.push(c);
            }
        }
    }
    for c in cmds {
        f = f.fix_command(c);
    }
    out.push(f.fix_text("set it at runtime and in /etc/sysctl.d (lbdoctor audit --fix does both)"));
}

pub fn acceptance_evidence(a: &Analysis) -> Vec<String> {
    a.acceptance
        .iter()
        .map(|x| match x {
            Acceptance::Nat(r) => format!("iptables: {r}"),
            Acceptance::Nft(r) => format!("nftables: {r}"),
            Acceptance::Address { iface, prefix } => format!(
                "address {}/{prefix} on {iface}",
                a.t.vip.map(|v| v.to_string()).unwrap_or_default()
            ),
        })
        .collect()
}
