//! ST014: persistence (timeout, granularity) in the kernel differs from keepalived.conf.

use super::*;

fn host_mask(m: &Option<String>, ipv6: bool) -> Option<String> {
    match m.as_deref() {
        None => None,
        Some("255.255.255.255") if !ipv6 => None,
        Some("128") | Some("/128") if ipv6 => None,
        Some(s) => Some(s.trim_start_matches('/').to_string()),
    }
}

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        if !ks.persistence_known {
            continue;
        }
        let want = es.persistence_timeout.as_ref();
        let have = ks.persistence.as_ref();
        let problem = match (want, have) {
            (None, None) => None,
            (Some(w), None) => Some(format!(
                "keepalived.conf makes {key} persistent (`persistence_timeout {}`), but the kernel's service is not: each new connection of a client may go to another real server.",
                w.value
            )),
            (None, Some(h)) => Some(format!(
                "The kernel's {key} is persistent ({}), but keepalived.conf has no persistence_timeout: clients stick to one real server, which the config does not say.",
                h.timeout.describe()
            )),
            (Some(w), Some(h)) if !h.timeout.matches_seconds(w.value as u64) => Some(format!(
                "The kernel's persistence timeout for {key} is {}; keepalived.conf says {} s.",
                h.timeout.describe(),
                w.value
            )),
            (Some(_), Some(h)) => {
                let wm = host_mask(
                    &es.persistence_granularity.as_ref().map(|g| g.value.clone()),
                    ks.is_ipv6(),
                );
                let hm = host_mask(&h.netmask, ks.is_ipv6());
                (wm != hm).then(|| {
                    format!(
                        "The kernel groups clients for persistence by netmask {}; keepalived.conf says {}.",
                        hm.unwrap_or_else(|| "of one host".into()),
                        wm.map(|m| format!("persistence_granularity {m}"))
                            .unwrap_or_else(|| "no persistence_granularity (one host)".into())
                    )
                })
            }
        };
        let Some(msg) = problem else { continue };
        let at = want.and_then(|w| w.at.as_ref()).unwrap_or(&es.at);
        let f = Finding::new("ST014", key.to_string(), msg)
            .evidence(format!(
                "kernel: {}",
                have.map_or("not persistent".into(), |h| format!(
                    "persistent {}{}",
                    h.timeout.describe(),
                    h.netmask
                        .as_ref()
                        .map(|m| format!(" mask {m}"))
                        .unwrap_or_default()
                ))
            ))
            .fix_text("Reload keepalived so the kernel matches the config, or fix the config.");
        out.push(f.at(conf_loc(at)));
    }
}
