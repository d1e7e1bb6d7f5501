//! IPv6 VIPs on DR real servers: the VIP on lo as /128, now, and in the host's network
//! configuration for the next boot (vip_boot::plan6). Nothing else is needed for neighbour
//! discovery (a VIP on lo is never advertised) and there is no IPv6 rp_filter; IPv6
//! firewall rules are not written.

use super::{Change, HostPlan};
use crate::audit::Analysis;
use crate::remedy::ipv6;

pub const KIND: &str = "address6-runtime";

pub fn plan(a: &Analysis, p: &mut HostPlan) {
    let Some(vip) = a.t.vip6 else { return };
    let acc = a.acceptance6();
    if acc.is_empty() {
        p.changes.push(Change {
            kind: KIND.into(),
            description: format!("put the IPv6 VIP {vip} on lo as /128 now (lo does no duplicate address detection and is never advertised by neighbour discovery)"),
            commands: vec![ipv6::add_command(vip)],
            file: None,
            diff: None,
            content: None,
            old: None,
        });
    }
    // The address in the network configuration, for the next boot.
    super::vip_boot::plan6(a, p);
}

pub fn apply_change(
    t: &mut dyn crate::remote::Transport,
    c: &Change,
    out: &mut super::apply::Outcome,
) -> anyhow::Result<()> {
    let o = t.run(&format!("set -e\n{}\n", c.commands.join("\n")))?;
    if o.status != 0 {
        anyhow::bail!(
            "host {}: {} failed (exit {}): {}",
            t.host(),
            c.commands.join("; "),
            o.status,
            o.stderr_lossy().trim()
        );
    }
    out.applied.push(c.description.clone());
    Ok(())
}
