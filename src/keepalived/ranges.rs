//! The numeric ranges keepalived's handlers enforce, for the keywords whose bad values
//! change what keepalived runs. Each rule is read from keepalived 2.2.7's source (the
//! handler named in the comment calls read_unsigned_strvec()/read_int_strvec()/
//! read_decimal_unsigned_strvec()/read_timer() with these bounds; lib/parser.c then logs
//! "invalid number" or "number '...' outside range") and checked with `keepalived -t`.

/// How a keyword's value is read.
#[derive(Clone, Copy, Debug)]
pub enum Num {
    /// read_unsigned_strvec(min, max): digits only.
    UInt(u64, u64),
    /// read_int_strvec(min, max).
    Int(i64, i64),
    /// Seconds with up to 6 decimals (read_decimal_unsigned_strvec(.., TIMER_HZ_DIGITS) and
    /// read_timer(), whose bounds are in microseconds): min, max in seconds.
    Secs(f64, f64),
}

pub struct Rule {
    /// Block path as in keywords.json ("global_defs", "vrrp_instance", ...); a rule for
    /// "checker" applies in every checker block and in virtual_server/real_server.
    pub block: &'static str,
    pub keyword: &'static str,
    pub num: Num,
    /// What keepalived does with a bad value.
    pub then: &'static str,
}

const U32: u64 = u32::MAX as u64;
/// UINT_MAX / TIMER_HZ (TIMER_HZ = 1000000).
const U32_SECS: u64 = U32 / 1_000_000;

pub const RULES: &[Rule] = &[
    // global_parser.c vrrp_garp_interval_handler / vrrp_gna_interval_handler: min 1 us.
    Rule {
        block: "global_defs",
        keyword: "vrrp_garp_interval",
        num: Num::Secs(0.000001, 4294.967295),
        then: "ignores it (\"vrrp_garp_interval '...' is invalid\") and sends gratuitous ARPs back to back",
    },
    Rule {
        block: "global_defs",
        keyword: "vrrp_gna_interval",
        num: Num::Secs(0.000001, 4294.967295),
        then: "ignores it (\"vrrp_gna_interval '...' is invalid\") and sends unsolicited neighbour advertisements back to back",
    },
    // vrrp_parser.c vrrp_garp_delay_handler, vrrp_garp_refresh_handler,
    // vrrp_garp_rep_handler, vrrp_garp_refresh_rep_handler, vrrp_garp_lower_prio_delay_handler.
    Rule {
        block: "vrrp_instance",
        keyword: "garp_master_delay",
        num: Num::UInt(0, U32_SECS),
        then: "ignores it (\"garp_master_delay '...' invalid - ignoring\")",
    },
    Rule {
        block: "vrrp_instance",
        keyword: "garp_master_refresh",
        num: Num::UInt(0, U32),
        then: "ignores it (\"Invalid garp_master_refresh '...' - ignoring\")",
    },
    Rule {
        block: "vrrp_instance",
        keyword: "garp_master_repeat",
        num: Num::UInt(1, U32),
        then: "ignores it, or uses 1 for 0 (\"garp_master_repeat must be greater than 0, setting to 1\")",
    },
    Rule {
        block: "vrrp_instance",
        keyword: "garp_master_refresh_repeat",
        num: Num::UInt(1, U32),
        then: "ignores it, or uses 1 for 0 (\"garp_master_refresh_repeat must be greater than 0, setting to 1\")",
    },
    Rule {
        block: "vrrp_instance",
        keyword: "garp_lower_prio_delay",
        num: Num::UInt(0, U32_SECS),
        then: "ignores it (\"garp_lower_prio_delay '...' invalid - ignoring\")",
    },
    // vrrp_preempt_delay_handler: 0..TIMER_MAX_SEC (1000).
    Rule {
        block: "vrrp_instance",
        keyword: "preempt_delay",
        num: Num::Secs(0.0, 1000.0),
        then: "ignores it (\"Preempt_delay not valid! must be between 0-1000\")",
    },
    // vrrp_vscript_interval_handler / _timeout_handler (2.2.7: whole seconds, 0 becomes 1),
    // _weight_handler, _rise_handler, _fall_handler.
    Rule {
        block: "vrrp_script",
        keyword: "interval",
        num: Num::UInt(1, U32_SECS),
        then: "ignores it, or uses 1 for 0 (\"vrrp script interval must be greater than 0, setting to 1\")",
    },
    Rule {
        block: "vrrp_script",
        keyword: "timeout",
        num: Num::UInt(1, U32_SECS),
        then: "ignores it, or uses 1 for 0 (\"vrrp script timeout must be greater than 0, setting to 1\")",
    },
    Rule {
        block: "vrrp_script",
        keyword: "weight",
        num: Num::Int(-253, 253),
        then: "ignores it (\"vrrp_script ... weight ... must be in [-253, 253]\"), so the script changes no priority",
    },
    Rule {
        block: "vrrp_script",
        keyword: "rise",
        num: Num::UInt(1, i32::MAX as u64),
        then: "uses 1 (\"vrrp script rise value '...' invalid, defaulting to 1\")",
    },
    Rule {
        block: "vrrp_script",
        keyword: "fall",
        num: Num::UInt(1, i32::MAX as u64),
        then: "uses 1 (\"vrrp script fall value '...' invalid, defaulting to 1\")",
    },
    // check_parser.c quorum_handler, hysteresis_handler, rs_weight_handler.
    Rule {
        block: "virtual_server",
        keyword: "quorum",
        num: Num::UInt(1, U32),
        then: "uses 1 (\"Quorum ... must be in [1, 4294967295]. Setting to 1.\")",
    },
    Rule {
        block: "virtual_server",
        keyword: "hysteresis",
        num: Num::UInt(0, U32),
        then: "ignores it (\"Hysteresis ... must be in [0, 4294967295] - ignoring\")",
    },
    Rule {
        block: "virtual_server.real_server",
        keyword: "weight",
        num: Num::UInt(0, i32::MAX as u64),
        then: "ignores it (\"Real server weight ... is outside range 0-2147483647\") and uses weight 1",
    },
    // check_parser.c vs_delay_handler, check_api.c delay_handler, co_timeout_handler
    // (read_timer with a 1 us minimum), retry_handler, delay_before_retry_handler.
    Rule {
        block: "checker",
        keyword: "delay_loop",
        num: Num::Secs(0.000001, 1.8e13),
        then: "ignores it (\"delay_loop '...' is invalid - ignoring\")",
    },
    Rule {
        block: "checker",
        keyword: "connect_timeout",
        num: Num::Secs(0.000001, 4294.967295),
        then: "ignores it (\"connect_timeout ... invalid - ignoring\")",
    },
    Rule {
        block: "checker",
        keyword: "retry",
        num: Num::UInt(0, U32),
        then: "ignores it (\"Invalid retry connection value '...'\")",
    },
    Rule {
        block: "checker",
        keyword: "delay_before_retry",
        num: Num::Secs(0.0, 1.8e13),
        then: "ignores it (\"Invalid delay_before_retry connection value '...'\")",
    },
];

/// The rule for `keyword` in the block at `path`.
pub fn rule(path: &str, keyword: &str) -> Option<&'static Rule> {
    let in_checker = path.starts_with("virtual_server");
    RULES
        .iter()
        .find(|r| r.keyword == keyword && (r.block == path || (r.block == "checker" && in_checker)))
}

/// Why keepalived rejects `v` under `num`, or None when it accepts it.
pub fn problem(num: Num, v: &str) -> Option<String> {
    match num {
        Num::UInt(min, max) => match v.parse::<u64>() {
            Ok(x) if x >= min && x <= max => None,
            Ok(_) => Some(format!("is outside {min}..{max}")),
            Err(_) if v.parse::<i64>().is_ok() => {
                Some(format!("is negative (allowed: {min}..{max})"))
            }
            Err(_) => Some("is not a whole number".into()),
        },
        Num::Int(min, max) => match v.parse::<i64>() {
            Ok(x) if x >= min && x <= max => None,
            Ok(_) => Some(format!("is outside {min}..{max}")),
            Err(_) => Some("is not a whole number".into()),
        },
        Num::Secs(min, max) => {
            let (int, frac) = v.split_once('.').unwrap_or((v, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 6 {
                return Some("is not a number of seconds (at most 6 decimals)".into());
            }
            match v.parse::<f64>() {
                Ok(x) if x >= min - 1e-9 && x <= max => None,
                _ if min > 0.0 && min < 1.0 => Some("must be above 0".into()),
                _ => Some(format!("is outside {min}..{max} seconds")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keepalived_rejects() {
        let garp = rule("global_defs", "vrrp_garp_interval").unwrap().num;
        assert!(problem(garp, "0").is_some());
        assert!(problem(garp, "0.001").is_none());
        assert!(problem(garp, "0.0000001").is_some());
        let w = rule("vrrp_script", "weight").unwrap().num;
        assert!(problem(w, "-20").is_none());
        assert!(problem(w, "300").is_some());
        let prio = rule("virtual_server.real_server.TCP_CHECK", "connect_timeout")
            .unwrap()
            .num;
        assert!(problem(prio, "3").is_none());
        assert!(problem(prio, "0").is_some());
        assert!(problem(prio, "3s").is_some());
        assert!(rule("vrrp_instance", "weight").is_none());
    }
}
