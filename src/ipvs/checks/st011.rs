//! ST011: the kernel's scheduler or method comes from a line that overrides an earlier one
//! (lvs_sched rr ... lb_algo lc: the incident).

use super::*;
use crate::ipvs::expected::Setting;

fn explain(
    what: &str,
    key: &ServiceKey,
    kernel: &str,
    s: &Setting<String>,
    out: &mut Vec<Finding>,
) {
    let Some(at) = &s.at else { return };
    if s.overridden.is_empty() || !kernel.eq_ignore_ascii_case(&s.value) {
        return;
    }
    let lost: Vec<String> = s
        .overridden
        .iter()
        .map(|(l, v)| format!("`{} {v}` at line {}", l.keyword, l.line))
        .collect();
    let msg = format!(
        "The kernel runs {what} {kernel} for {key} because of `{} {}` at {at}. It overrides {} in the same virtual_server: {} are one setting and keepalived keeps the last line, silently. Anyone reading the config sees {} first; the kernel runs {}.",
        at.keyword,
        s.value,
        lost.join(" and "),
        if what == "scheduler" { "lvs_sched and lb_algo" } else { "lvs_method and lb_kind" },
        s.overridden[0].1,
        s.value
    );
    let mut f = Finding::new("ST011", key.to_string(), msg)
        .evidence(format!("kernel: {key} {what} {kernel}"))
        .evidence(format!("{at}: {} {} (wins)", at.keyword, s.value));
    for (l, v) in &s.overridden {
        f = f.evidence(format!("{l}: {} {v} (overridden)", l.keyword));
    }
    let f = f.fix_text(format!(
        "Keep one {what} line in the virtual_server, with the value you mean, delete the other, and reload keepalived{}.",
        if what == "scheduler" && s.value == "lc" {
            ". With lc, one long-lived connection to one server sends every new client to the other (see ST001); rr spreads them evenly"
        } else {
            ""
        }
    ));
    out.push(f.at(conf_loc(at)));
}

pub fn check(input: &Input, out: &mut Vec<Finding>) {
    for (es, key, ks) in pairs(input) {
        let Some(ks) = ks else { continue };
        if let Some(k) = ks.scheduler.as_deref() {
            explain("scheduler", key, k, &es.scheduler, out);
        }
        // The method is per real server in the kernel; explain it once per service.
        if let Some(f) = ks.real_servers.iter().find_map(|r| r.forward) {
            explain("method", key, f.keepalived_name(), &es.method, out);
        }
    }
}
