//! LB045: a sorry_server on an address of the director itself (127.0.0.0/8, ::1, a VIP or
//! unicast_src_ip of this config, or --director-addr). IPVS marks a destination whose
//! address is local as IP_VS_CONN_F_LOCALNODE (net/netfilter/ipvs/ip_vs_ctl.c,
//! __ip_vs_update_dest(), Linux 2.6 and later) and hands the packet to the local stack
//! unchanged (ip_vs_null_xmit()): no port translation in any forwarding method. keepalived
//! also resets a DR/TUN sorry server's port to the service port ("sorry server ports don't
//! match - resetting"). So `sorry_server 127.0.0.1 80` on a :443 service lands on local :443.

use super::{at, Ctx};
use crate::finding::Finding;
use crate::keepalived::model::VsKey;
use std::net::IpAddr;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let cfg = &cx.loaded.config;
    let mut own: Vec<IpAddr> = cx.opts.director_addrs.clone();
    for v in &cfg.vrrp_instances {
        own.extend(v.unicast_src_ip);
        own.extend(v.vip_addrs());
    }
    for vs in &cfg.virtual_servers {
        let Some(sorry) = &vs.sorry_server else {
            continue;
        };
        let mut words = sorry.value.split_whitespace();
        let Some(ip) = words
            .next()
            .and_then(crate::keepalived::effective::parse_ip)
        else {
            continue;
        };
        let port: Option<u16> = words.next().and_then(|p| p.parse().ok());
        let local = ip.is_loopback() || own.contains(&ip);
        let vs_port = match vs.key {
            VsKey::Addr { port, .. } if port != 0 => Some(port),
            _ => None,
        };
        let (Some(vs_port), Some(port)) = (vs_port, port) else {
            continue;
        };
        if !local || port == vs_port {
            continue;
        }
        let whose = if ip.is_loopback() {
            "a loopback address"
        } else {
            "an address of this director"
        };
        out.push(
            Finding::new(
                "LB045",
                format!("virtual_server {}", vs.key),
                format!(
                    "sorry_server {ip} {port} is {whose}: IPVS delivers to a local destination without translating the port, so clients of :{vs_port} land on local port {vs_port}, not {port}"
                ),
            )
            .at(at(&sorry.span, "sorry_server".len()))
            .fix_text(format!(
                "make the local service listen on :{vs_port} too (or on the VIP's port), or point sorry_server at a remote server"
            )),
        );
    }
}
