//! LB021: two virtual_server blocks for the same service (address:port and protocol, or
//! the same fwmark/group): IPVS has one service, and the second block's real servers and
//! scheduler fight the first's.

use super::{at, line_ref, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;
use std::collections::HashMap;
use std::net::IpAddr;

/// What identifies one IPVS service.
#[derive(Hash, PartialEq, Eq)]
enum ServiceKey<'a> {
    Addr(IpAddr, u16, Option<&'a str>),
    Fwmark(u32),
    Group(&'a str),
}

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let vss = &cx.loaded.config.virtual_servers;
    // first virtual server seen for each service
    let mut seen: HashMap<ServiceKey, usize> = HashMap::with_capacity(vss.len());
    for (i, vs) in vss.iter().enumerate() {
        let proto = vs.effective_protocol();
        let mut keys: Vec<ServiceKey> = vs
            .addresses
            .iter()
            .map(|a| ServiceKey::Addr(a.0, a.1, proto))
            .collect();
        keys.extend(vs.fwmarks.iter().map(|m| ServiceKey::Fwmark(*m)));
        if let VsKey::Group(g) = &vs.key {
            keys.push(ServiceKey::Group(g));
        }
        let mut first = None;
        for k in keys {
            match seen.get(&k) {
                Some(&j) if j != i => first = first.or(Some(j)),
                Some(_) => {}
                None => {
                    seen.insert(k, i);
                }
            }
        }
        let Some(j) = first else { continue };
        let prev = &vss[j];
        out.push(
            Finding::new(
                "LB021",
                format!("virtual_server {}", vs.key),
                format!(
                    "virtual_server {} ({}) is the same IPVS service as virtual_server {} at {}; both blocks configure one kernel service, so their schedulers and real servers overwrite each other",
                    vs.key,
                    proto.unwrap_or("fwmark"),
                    prev.key,
                    line_ref(&prev.span, &vs.span)
                ),
            )
            .at(at(&vs.span, "virtual_server".len()))
            .fix_text("merge the two blocks into one"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::lint_str;

    #[test]
    fn same_service_twice() {
        let f = lint_str("virtual_server_group G {\n 10.0.0.1 80\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n}\nvirtual_server group G {\n protocol TCP\n}\nvirtual_server 10.0.0.1 80 {\n protocol UDP\n}\n", "LB021");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.as_ref().unwrap().line, 7);
    }
}
