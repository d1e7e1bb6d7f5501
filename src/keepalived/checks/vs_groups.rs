//! LB022: `virtual_server group NAME` with no virtual_server_group NAME: keepalived has no
//! addresses for it and the service never exists. LB023: a virtual_server_group no
//! virtual_server uses.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let cfg = &cx.loaded.config;
    for vs in &cfg.virtual_servers {
        if let VsKey::Group(g) = &vs.key {
            if !cfg.vs_groups.iter().any(|x| &x.name == g) {
                let known: Vec<&str> = cfg.vs_groups.iter().map(|x| x.name.as_str()).collect();
                let hint = known
                    .iter()
                    .filter(|k| strsim::jaro_winkler(k, g) > 0.85)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .next()
                    .unwrap_or_default();
                out.push(
                    Finding::new(
                        "LB022",
                        format!("virtual_server group {g}"),
                        format!("no virtual_server_group `{g}` is defined, so this virtual server has no address and keepalived creates no IPVS service{hint}"),
                    )
                    .at(at(&vs.span, "virtual_server".len()))
                    .fix_text(format!("define `virtual_server_group {g} {{ <VIP> <port> }}` or fix the name")),
                );
            }
        }
    }
    for g in &cfg.vs_groups {
        let used = cfg
            .virtual_servers
            .iter()
            .any(|vs| matches!(&vs.key, VsKey::Group(n) if n == &g.name));
        if !used {
            out.push(
                Finding::new(
                    "LB023",
                    format!("virtual_server_group {}", g.name),
                    format!("virtual_server_group `{}` is not used by any `virtual_server group {}`; its addresses are not balanced", g.name, g.name),
                )
                .at(at(&g.span, "virtual_server_group".len()))
                .fix_text("remove it, or reference it with `virtual_server group NAME { ... }`"),
            );
        }
    }
}
