//! `state` checks, one per file. Each reads the merged kernel state (and, for the ST01x
//! comparisons, what keepalived.conf expects) and appends findings.

pub mod st001;
pub mod st002;
pub mod st003;
pub mod st004;
pub mod st005;
pub mod st006;
pub mod st007;
pub mod st008;
pub mod st010;
pub mod st011;
pub mod st012;
pub mod st013;
pub mod st014;
pub mod st015;
pub mod st016;
pub mod st017;
pub mod st018;

use super::expected::{ConfLine, ExpectedConfig, ExpectedReal, ExpectedService};
use super::model::*;
use crate::finding::{Finding, Location};

/// Everything a check may look at.
pub struct Input<'a> {
    pub state: &'a IpvsState,
    pub config: Option<&'a ExpectedConfig>,
}

pub fn run(input: &Input) -> Vec<Finding> {
    let mut out = Vec::new();
    st001::check(input, &mut out);
    st002::check(input, &mut out);
    st003::check(input, &mut out);
    st004::check(input, &mut out);
    st005::check(input, &mut out);
    st006::check(input, &mut out);
    st007::check(input, &mut out);
    st008::check(input, &mut out);
    if input.config.is_some() {
        st010::check(input, &mut out);
        st011::check(input, &mut out);
        st012::check(input, &mut out);
        st013::check(input, &mut out);
        st014::check(input, &mut out);
        st015::check(input, &mut out);
        st016::check(input, &mut out);
        st017::check(input, &mut out);
        st018::check(input, &mut out);
    }
    out
}

pub fn origin_loc(o: &Option<Origin>) -> Option<Location> {
    o.as_ref()
        .map(|o| Location::new(o.file.clone(), o.line as u32, 1))
}

pub fn conf_loc(c: &ConfLine) -> Location {
    let mut l = Location::new(c.file.clone(), c.line, c.column.max(1));
    l.length = c.keyword.chars().count() as u32;
    l
}

/// Attach a location when there is one.
pub fn at(f: Finding, loc: Option<Location>) -> Finding {
    match loc {
        Some(l) => f.at(l),
        None => f,
    }
}

/// How ipvsadm -Ln would show a real server, for evidence lines.
pub fn rs_line(rs: &RealServer) -> String {
    let o = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    format!(
        "-> {}  {}  weight {}  ActiveConn {}  InActConn {}",
        rs.addr,
        rs.forward.map_or("-", |f| f.as_str()),
        rs.weight.map_or("-".to_string(), |w| w.to_string()),
        o(rs.active),
        o(rs.inactive)
    )
}

/// Host part of an address for short mentions ("192.168.21.72").
pub fn host_of(a: &std::net::SocketAddr) -> String {
    a.ip().to_string()
}

pub fn same_key(a: &ServiceKey, b: &ServiceKey) -> bool {
    super::same_key(a, b)
}

/// Config services paired with the kernel services they create (None: not in the kernel).
pub fn pairs<'a>(
    input: &Input<'a>,
) -> Vec<(&'a ExpectedService, &'a ServiceKey, Option<&'a Service>)> {
    let mut out = Vec::new();
    if let Some(cfg) = input.config {
        for es in &cfg.services {
            for k in &es.keys {
                let ks = input.state.services.iter().find(|s| same_key(&s.key, k));
                out.push((es, k, ks));
            }
        }
    }
    out
}

/// The config's real server matching a kernel one (same IP, and same port when given).
pub fn expected_real<'a>(es: &'a ExpectedService, rs: &RealServer) -> Option<&'a ExpectedReal> {
    es.real_servers
        .iter()
        .find(|e| e.ip == rs.addr.ip() && port_matches(e.port, rs.addr.port()))
}

/// Does a config real server's port match the kernel's? A DR or TUN real server takes its
/// service's port, so under a fwmark service the kernel lists it with port 0 whatever the
/// config says (`real_server 192.168.21.71 80` shows as `192.168.21.71:0` under `FWM 1`:
/// fixtures/state/real/fwmark, Linux 6.1 with keepalived 2.2.7).
pub fn port_matches(config: Option<u16>, kernel: u16) -> bool {
    config.is_none_or(|p| p == kernel || kernel == 0)
}

/// The config service and real server for a kernel real server, if --config was given.
pub fn config_for<'a>(
    input: &Input<'a>,
    svc: &Service,
    rs: &RealServer,
) -> Option<(&'a ExpectedService, &'a ExpectedReal)> {
    let cfg = input.config?;
    cfg.services
        .iter()
        .filter(|es| es.keys.iter().any(|k| same_key(k, &svc.key)))
        .find_map(|es| expected_real(es, rs).map(|r| (es, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(table: &str) -> IpvsState {
        let text = format!("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n{table}");
        crate::ipvs::parse_text("t", &text).unwrap()
    }

    fn ids(st: &IpvsState) -> Vec<String> {
        run(&Input {
            state: st,
            config: None,
        })
        .into_iter()
        .map(|f| format!("{}:{}", f.id, f.severity))
        .collect()
    }

    #[test]
    fn wlc_weighs_overhead_by_weight() {
        // .71: (2*256+0)/4 = 128; .72: 10/1 = 10 -> .72 takes about 128-10 = 118 more.
        let st = state(
            "TCP  10.0.0.1:80 wlc\n  -> 10.0.0.71:80 Route 4 2 0\n  -> 10.0.0.72:80 Route 1 0 10\n",
        );
        let f = run(&Input {
            state: &st,
            config: None,
        });
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("about the next 118 of them"),
            "{}",
            f[0].message
        );
        // With weights making the active server the cheaper one, nothing is pinned.
        let st = state("TCP  10.0.0.1:80 wlc\n  -> 10.0.0.71:80 Route 100 1 0\n  -> 10.0.0.72:80 Route 1 0 10\n");
        assert!(ids(&st).is_empty());
    }

    #[test]
    fn st001_explains_the_kernel_it_runs_on() {
        let table = "TCP  192.168.21.20:80 lc\n  -> 192.168.21.71:80 Route 1 1 3\n  -> 192.168.21.72:80 Route 1 0 4\n";
        let msg = |kernel: Option<&str>| {
            let mut st = state(table);
            st.kernel = kernel.map(String::from);
            let f = run(&Input {
                state: &st,
                config: None,
            });
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].id, "ST001");
            f[0].message.clone()
        };
        // Debian 12's kernel: SYN_RECV is active (be2cef49904b, 4.8), so the pick's inactive
        // entries are closed connections, and a silent pick would take about 1 (255/256).
        let m = msg(Some("6.1.0-57-amd64"));
        assert!(!m.contains("stays inactive"), "{m}");
        assert!(m.contains("it answered them"), "{m}");
        assert!(
            m.contains("it takes about 1 before the scheduler moves away"),
            "{m}"
        );
        // CentOS 7's 3.10: SYN_RECV is inactive, the old explanation holds.
        let m = msg(Some("3.10.0-1160.el7.x86_64"));
        assert!(
            m.contains("an entry stays inactive (SYN_RECV) when the real server never answers"),
            "{m}"
        );
        assert!(m.contains("it keeps getting all 255"), "{m}");
        // Unknown kernel (--from without --kernel): both.
        let m = msg(None);
        assert!(
            m.contains("since Linux 4.8") && m.contains("before 4.8"),
            "{m}"
        );
    }

    #[test]
    fn lc_pinning_needs_a_holder_and_a_margin() {
        // Nobody holds an active connection: lc simply balances inactive entries.
        assert!(ids(&state(
            "TCP  10.0.0.1:80 lc\n  -> 10.0.0.71:80 Route 1 0 3\n  -> 10.0.0.72:80 Route 1 0 4\n"
        ))
        .is_empty());
        // rr is not affected by long connections.
        assert!(ids(&state(
            "TCP  10.0.0.1:80 rr\n  -> 10.0.0.71:80 Route 1 1 3\n  -> 10.0.0.72:80 Route 1 0 4\n"
        ))
        .is_empty());
        // The weight-0 server is out of the race (ST002 instead).
        assert_eq!(
            ids(&state("TCP  10.0.0.1:80 lc\n  -> 10.0.0.71:80 Route 1 1 3\n  -> 10.0.0.72:80 Route 0 0 4\n")),
            vec!["ST002:warning"]
        );
    }

    #[test]
    fn an_idle_pick_is_info_not_warning() {
        assert_eq!(
            ids(&state("TCP  10.0.0.1:80 lc\n  -> 10.0.0.71:80 Route 1 1 0\n  -> 10.0.0.72:80 Route 1 0 0\n")),
            vec!["ST001:info"]
        );
    }

    #[test]
    fn all_weights_zero_is_st003_not_st002() {
        assert_eq!(
            ids(&state("TCP  10.0.0.1:80 rr\n  -> 10.0.0.71:80 Route 0 1 3\n  -> 10.0.0.72:80 Route 0 0 4\n")),
            vec!["ST003:error"]
        );
    }

    #[test]
    fn table_size_thresholds() {
        // 3 entries per bucket: info; 8 or more: warning; 2 or fewer: nothing.
        let mk = |n: u64| {
            state(&format!(
                "TCP  10.0.0.1:80 rr\n  -> 10.0.0.71:80 Route 1 {n} 0\n"
            ))
        };
        assert!(ids(&mk(8192)).is_empty());
        assert_eq!(ids(&mk(3 * 4096)), vec!["ST007:info"]);
        assert_eq!(ids(&mk(8 * 4096)), vec!["ST007:warning"]);
    }

    #[test]
    fn flood_fix_suggests_only_defences_that_are_off() {
        let mut st = IpvsState::default();
        let mut c = ConnTable::default();
        for i in 0..1200u32 {
            c.add(
                Connection {
                    proto: "TCP".into(),
                    client: std::net::SocketAddr::from(([10, (i >> 8) as u8, i as u8, 1], 1000)),
                    virt: "192.168.21.20:80".parse().unwrap(),
                    dest: "192.168.21.71:80".parse().unwrap(),
                    state: "SYN_RECV".into(),
                    expires_secs: 30,
                    pe: None,
                },
                i as usize + 2,
            );
        }
        st.connections = Some(c);
        st.sysctls.insert("drop_entry".into(), "1".into());
        st.sysctls.insert("secure_tcp".into(), "0".into());
        let f = run(&Input {
            state: &st,
            config: None,
        });
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].id, "ST004");
        assert_eq!(
            f[0].fix.as_ref().unwrap().commands,
            vec!["sysctl -w net.ipv4.vs.secure_tcp=1"]
        );
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e == "net.ipv4.vs: drop_entry=1 secure_tcp=0"));
        assert!(
            f[0].message.contains("from 1200 different addresses"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn jiffies_match_seconds_at_common_hz() {
        assert!(Timeout::Jiffies(90000).matches_seconds(360));
        assert!(Timeout::Jiffies(36000).matches_seconds(360));
        assert!(!Timeout::Jiffies(90001).matches_seconds(360));
        assert_eq!(
            Timeout::Jiffies(90000).describe(),
            "90000 jiffies (900s at HZ=100, 360s at HZ=250, 300s at HZ=300, 90s at HZ=1000)"
        );
    }
}
