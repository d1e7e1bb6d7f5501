//! ST013: a real server's weight in the kernel differs from keepalived.conf (weight 0 is
//! ST002's).

use super::*;

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        for rs in &ks.real_servers {
            let (Some(w), Some(er)) = (rs.weight, expected_real(es, rs)) else {
                continue;
            };
            if w == 0 || w == er.weight.value {
                continue;
            }
            let said = match &er.weight.at {
                Some(at) => format!("`weight {}` at {at}", er.weight.value),
                None => format!("no weight line, so {}", er.weight.value),
            };
            let msg = format!(
                "{} runs with weight {w} in the kernel; keepalived.conf says {said}. Weighted schedulers (wrr, wlc, sed, ...) share connections by weight, so the split differs from the one planned. A MISC_CHECK with misc_dynamic, or someone's `ipvsadm -e ... -w`, changes weights at run time.",
                rs.addr
            );
            let f = Finding::new("ST013", key.to_string(), msg)
                .evidence(rs_line(rs))
                .fix_text("Reload keepalived to reapply the configured weight, or change the config to the weight you want.");
            out.push(f.at(conf_loc(er.weight.at.as_ref().unwrap_or(&er.at))));
        }
    }
}
