//! Runtime sysctls (from `grep -r . /proc/sys/...`) and what the boot-time files would set,
//! applied in the order systemd-sysctl and `sysctl --system` use.

use std::collections::BTreeMap;

/// `/proc/sys/net/ipv4/conf/all/arp_ignore:1` -> ("net.ipv4.conf.all.arp_ignore", "1").
pub fn parse_proc_grep(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in text.lines() {
        let Some(rest) = l.strip_prefix("/proc/sys/") else {
            continue;
        };
        let Some((path, value)) = rest.split_once(':') else {
            continue;
        };
        out.insert(path.replace('/', "."), value.trim().to_string());
    }
    out
}

/// Normalise a sysctl key: slash form (`net/ipv4/conf/eth0.100/rp_filter`) or dot form with
/// slashes standing for dots inside names (`net.ipv4.conf.eth0/100.rp_filter`) both become
/// `net.ipv4.conf.eth0.100.rp_filter`, matching parse_proc_grep.
pub fn normalize_key(k: &str) -> String {
    k.trim().replace('/', ".")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSetting {
    pub key: String,
    pub value: String,
    pub line: u32,
}

/// `key = value` lines; `#`/`;` comments; a leading `-` (ignore errors) is dropped.
pub fn parse_file(text: &str) -> Vec<FileSetting> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_start_matches('-');
        out.push(FileSetting {
            key: normalize_key(k),
            value: v.trim().to_string(),
            line: i as u32 + 1,
        });
    }
    out
}

/// Where a boot-time value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootValue {
    pub value: String,
    pub file: String,
    pub line: u32,
}

const DIRS: [&str; 5] = [
    "/etc/sysctl.d/",
    "/run/sysctl.d/",
    "/usr/local/lib/sysctl.d/",
    "/usr/lib/sysctl.d/",
    "/lib/sysctl.d/",
];

/// The files a boot applies, in order: `*.conf` from the sysctl.d directories, a name in an
/// earlier directory masking the same name in later ones, sorted by file name; then
/// /etc/sysctl.conf unless a sysctl.d entry already links to it (Debian's 99-sysctl.conf).
pub fn boot_order(
    files: &BTreeMap<String, String>,
    links: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for dir in DIRS.iter().rev() {
        for path in files.keys() {
            if let Some(name) = path.strip_prefix(dir) {
                if name.ends_with(".conf") && !name.contains('/') {
                    by_name.insert(name.to_string(), path.clone());
                }
            }
        }
    }
    let mut order: Vec<String> = by_name.into_values().collect();
    let linked = order.iter().any(|p| {
        links
            .get(p)
            .map(|t| t == "/etc/sysctl.conf")
            .unwrap_or(false)
    });
    if files.contains_key("/etc/sysctl.conf") && !linked {
        order.push("/etc/sysctl.conf".into());
    }
    order
}

/// Every key the boot files set (later files win), with `*` in keys expanded over `names`
/// (interface names plus all/default).
pub fn boot_values(
    files: &BTreeMap<String, String>,
    links: &BTreeMap<String, String>,
    names: &[String],
) -> BTreeMap<String, BootValue> {
    let mut out = BTreeMap::new();
    for path in boot_order(files, links) {
        let Some(text) = files.get(&path) else {
            continue;
        };
        for s in parse_file(text) {
            let bv = BootValue {
                value: s.value.clone(),
                file: path.clone(),
                line: s.line,
            };
            if s.key.contains('*') {
                for n in names {
                    let k = s.key.replacen('*', n, 1);
                    out.insert(k, bv.clone());
                }
            } else {
                out.insert(s.key.clone(), bv);
            }
        }
    }
    out
}

/// What a knob would be on `iface` after a reboot: the interface's own file value, else the
/// `default` value the interface inherits when it is created, else the kernel default 0;
/// then max() with `all`, as the kernel does.
pub fn boot_effective(boot: &BTreeMap<String, BootValue>, iface: &str, knob: &str) -> u32 {
    let get = |k: String| boot.get(&k).and_then(|b| b.value.parse::<u32>().ok());
    let all = get(format!("net.ipv4.conf.all.{knob}")).unwrap_or(0);
    let one = get(format!("net.ipv4.conf.{iface}.{knob}"))
        .or_else(|| get(format!("net.ipv4.conf.default.{knob}")))
        .unwrap_or(0);
    all.max(one)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn proc_grep_and_keys() {
        let r = parse_proc_grep("/proc/sys/net/ipv4/conf/all/arp_ignore:1\n/proc/sys/net/ipv4/conf/eth0.100/rp_filter:2\nnoise\n");
        assert_eq!(r["net.ipv4.conf.all.arp_ignore"], "1");
        assert_eq!(r["net.ipv4.conf.eth0.100.rp_filter"], "2");
        assert_eq!(
            normalize_key("net/ipv4/conf/eth0.100/rp_filter"),
            "net.ipv4.conf.eth0.100.rp_filter"
        );
        assert_eq!(
            normalize_key("net.ipv4.conf.eth0/100.rp_filter"),
            "net.ipv4.conf.eth0.100.rp_filter"
        );
    }

    #[test]
    fn precedence_later_files_win_etc_masks_usr_lib() {
        let files = m(&[
            ("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.accept_source_route = 0\n"),
            ("/usr/lib/sysctl.d/60-masked.conf", "net.ipv4.conf.all.arp_ignore = 8\n"),
            ("/etc/sysctl.d/60-masked.conf", "# masks the /usr/lib one\n"),
            ("/etc/sysctl.d/90-lvs.conf", "net.ipv4.conf.all.rp_filter=0\nnet.ipv4.conf.ens3.rp_filter = 0\n"),
            ("/etc/sysctl.conf", "net.ipv4.conf.all.arp_announce = 2\n"),
        ]);
        let names = vec![
            "all".to_string(),
            "default".into(),
            "ens3".into(),
            "ens4".into(),
        ];
        let b = boot_values(&files, &BTreeMap::new(), &names);
        assert_eq!(
            b["net.ipv4.conf.all.rp_filter"].file,
            "/etc/sysctl.d/90-lvs.conf"
        );
        assert_eq!(b["net.ipv4.conf.all.rp_filter"].line, 1);
        assert!(
            !b.contains_key("net.ipv4.conf.all.arp_ignore"),
            "masked file not applied"
        );
        assert_eq!(boot_effective(&b, "ens3", "rp_filter"), 0);
        assert_eq!(
            boot_effective(&b, "ens4", "rp_filter"),
            2,
            "ens4 keeps the distro's 2"
        );
        assert_eq!(boot_effective(&b, "ens3", "arp_announce"), 2);
        assert_eq!(boot_effective(&b, "ens3", "arp_ignore"), 0);
        let order = boot_order(&files, &BTreeMap::new());
        assert_eq!(order.last().unwrap(), "/etc/sysctl.conf");
        // Debian: 99-sysctl.conf -> ../sysctl.conf, applied in its sorted place, not twice.
        let mut f2 = files.clone();
        f2.insert(
            "/etc/sysctl.d/99-sysctl.conf".into(),
            files["/etc/sysctl.conf"].clone(),
        );
        let links = m(&[("/etc/sysctl.d/99-sysctl.conf", "/etc/sysctl.conf")]);
        let order = boot_order(&f2, &links);
        assert_eq!(order.last().unwrap(), "/etc/sysctl.d/99-sysctl.conf");
        assert!(!order.contains(&"/etc/sysctl.conf".to_string()));
    }
}
