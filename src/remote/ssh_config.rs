//! The subset of ssh_config(5) operators rely on to reach their hosts: Host blocks with
//! wildcard/negated patterns, `Match all`, Include, and HostName, User, Port, IdentityFile,
//! ProxyJump, UserKnownHostsFile, HostKeyAlias, ConnectTimeout. As in OpenSSH, the first
//! value obtained for a keyword wins, except IdentityFile, which accumulates.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub alias: String,
    pub hostname: String,
    pub user: Option<String>,
    pub port: u16,
    pub identity_files: Vec<PathBuf>,
    pub proxy_jump: Option<String>,
    pub known_hosts: Option<PathBuf>,
    pub host_key_alias: Option<String>,
    pub connect_timeout: Option<u64>,
}

pub fn home_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.dir)
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into())
}

fn expand_tilde(s: &str) -> PathBuf {
    if let Some(rest) = s.strip_prefix("~/") {
        home_dir().join(rest)
    } else if s == "~" {
        home_dir()
    } else {
        PathBuf::from(s)
    }
}

fn host_matches(patterns: &[String], name: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        for p in p.split(',') {
            if let Some(neg) = p.strip_prefix('!') {
                if super::known_hosts::patterns_match(neg, name) {
                    return false;
                }
            } else if super::known_hosts::patterns_match(p, name) {
                hit = true;
            }
        }
    }
    hit
}

/// Split one line into keyword and arguments: `Key value`, `Key=value`, quoted arguments.
fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (kw, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
        Some(i) => (
            &line[..i],
            line[i..].trim_start_matches(|c: char| c.is_whitespace() || c == '='),
        ),
        None => (line, ""),
    };
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    Some((kw.to_ascii_lowercase(), args))
}

struct Resolver<'a> {
    alias: &'a str,
    out: HostConfig,
    user_set: bool,
    seen: std::collections::HashSet<&'static str>,
    depth: u32,
}

impl Resolver<'_> {
    fn set_once(&mut self, kw: &'static str) -> bool {
        self.seen.insert(kw)
    }

    fn read(&mut self, path: &Path) -> anyhow::Result<()> {
        if self.depth > 8 {
            return Ok(()); // Include loops: OpenSSH stops at 16; 8 is plenty
        }
        let text = match std::fs::read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(
                    crate::error::Error::file(path, format!("cannot read ssh config: {e}")).into(),
                )
            }
        };
        let mut active = true;
        for (n, line) in text.lines().enumerate() {
            let Some((kw, args)) = split_line(line) else {
                continue;
            };
            match kw.as_str() {
                "host" => active = host_matches(&args, self.alias),
                // Only `Match all` is evaluated; other criteria (exec, user...) are skipped
                // rather than guessed, so their settings do not apply.
                "match" => active = args.iter().all(|a| a.eq_ignore_ascii_case("all")),
                "include" if active => {
                    for a in &args {
                        let p = expand_tilde(a);
                        let p = if p.is_absolute() {
                            p
                        } else {
                            home_dir().join(".ssh").join(p)
                        };
                        let mut files: Vec<PathBuf> = glob::glob(&p.to_string_lossy())
                            .map(|g| g.filter_map(Result::ok).collect())
                            .unwrap_or_default();
                        files.sort();
                        self.depth += 1;
                        for f in files {
                            self.read(&f)?;
                        }
                        self.depth -= 1;
                    }
                }
                _ if !active => {}
                _ => {
                    let Some(v) = args.first().cloned() else {
                        continue;
                    };
                    let bad = |what: &str| {
                        crate::error::Error::file_line(path, n + 1, format!("{what}: {v:?}"))
                    };
                    match kw.as_str() {
                        "hostname" if self.set_once("hostname") => {
                            self.out.hostname = v.replace("%h", self.alias)
                        }
                        "user" if self.set_once("user") => {
                            self.out.user = Some(v);
                            self.user_set = true;
                        }
                        "port" if self.set_once("port") => {
                            self.out.port = v.parse().map_err(|_| bad("bad Port"))?
                        }
                        "identityfile" => {
                            let v = v.replace("%d", &home_dir().to_string_lossy());
                            self.out.identity_files.push(expand_tilde(&v))
                        }
                        "proxyjump" if self.set_once("proxyjump") => {
                            self.out.proxy_jump = (!v.eq_ignore_ascii_case("none")).then_some(v)
                        }
                        "userknownhostsfile" if self.set_once("ukh") => {
                            self.out.known_hosts = Some(expand_tilde(&v))
                        }
                        "hostkeyalias" if self.set_once("hka") => self.out.host_key_alias = Some(v),
                        "connecttimeout" if self.set_once("ct") => {
                            self.out.connect_timeout = v.parse().ok()
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// Resolve `alias` through the config file (default ~/.ssh/config; absent file = no settings).
pub fn resolve(alias: &str, config: Option<&Path>) -> anyhow::Result<HostConfig> {
    let default = home_dir().join(".ssh/config");
    let path = config.unwrap_or(&default);
    if config.is_some() && !path.exists() {
        return Err(crate::error::Error::file(
            path,
            "ssh config file not found (check --ssh-config)",
        )
        .into());
    }
    let mut r = Resolver {
        alias,
        out: HostConfig {
            alias: alias.to_string(),
            ..Default::default()
        },
        user_set: false,
        seen: Default::default(),
        depth: 0,
    };
    r.read(path)?;
    let mut out = r.out;
    if out.hostname.is_empty() {
        out.hostname = alias.to_string();
    }
    if out.port == 0 {
        out.port = 22;
    }
    Ok(out)
}

/// The first plain `Host` alias whose HostName is `ip` (so `--config` can reach real servers
/// by the names the operator's ssh_config gives them).
pub fn alias_for(ip: &str, config: Option<&Path>) -> Option<String> {
    let default = home_dir().join(".ssh/config");
    let text = std::fs::read_to_string(config.unwrap_or(&default)).ok()?;
    let mut current: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some((kw, args)) = split_line(line) else {
            continue;
        };
        match kw.as_str() {
            "host" => {
                current = args
                    .into_iter()
                    .filter(|a| !a.contains(['*', '?', '!']))
                    .collect()
            }
            "match" => current.clear(),
            "hostname" if args.first().map(|h| h == ip).unwrap_or(false) => {
                if let Some(a) = current.first() {
                    return Some(a.clone());
                }
            }
            _ => {}
        }
    }
    None
}

/// Split `user@host:port` as ssh and ProxyJump accept it.
pub fn split_destination(dest: &str) -> (Option<String>, String, Option<u16>) {
    let (user, rest) = match dest.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, dest),
    };
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some((h, tail)) = inner.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (user, h.to_string(), port);
        }
    }
    match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(p) => (user, h.to_string(), Some(p)),
            Err(_) => (user, rest.to_string(), None),
        },
        _ => (user, rest.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_wins_identity_accumulates_wildcards_and_include() {
        let dir = tempfile::tempdir().unwrap();
        let inc = dir.path().join("extra.conf");
        std::fs::write(
            &inc,
            "Host app*\n  IdentityFile /k/extra\n  User fromInclude\n",
        )
        .unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(
            &cfg,
            format!(
                "# lab\nInclude {}\nHost app1 app2\n    HostName=192.168.21.11\n    Port 2222\n    IdentityFile ~/.ssh/id_lab\n    ProxyJump root@bastion:2200\nHost !app2 *\n    User nobody\n    Port 22\n    UserKnownHostsFile \"/tmp/kh file\"\n",
                inc.display()
            ),
        )
        .unwrap();
        let h = resolve("app1", Some(&cfg)).unwrap();
        assert_eq!(h.hostname, "192.168.21.11");
        assert_eq!(h.port, 2222);
        assert_eq!(h.user.as_deref(), Some("fromInclude"));
        assert_eq!(h.identity_files.len(), 2);
        assert_eq!(h.identity_files[0], PathBuf::from("/k/extra"));
        assert_eq!(h.proxy_jump.as_deref(), Some("root@bastion:2200"));
        assert_eq!(h.known_hosts, Some(PathBuf::from("/tmp/kh file")));
        let other = resolve("db1", Some(&cfg)).unwrap();
        assert_eq!(other.hostname, "db1");
        assert_eq!(other.user.as_deref(), Some("nobody"));
        assert_eq!(other.port, 22);
        assert!(resolve("x", Some(&dir.path().join("missing"))).is_err());
    }

    #[test]
    fn bad_port_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(&cfg, "Host a\n Port http\n").unwrap();
        let e = resolve("a", Some(&cfg)).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
    }

    #[test]
    fn destinations() {
        assert_eq!(
            split_destination("root@bastion:2200"),
            (Some("root".into()), "bastion".into(), Some(2200))
        );
        assert_eq!(
            split_destination("[::1]:22"),
            (None, "::1".into(), Some(22))
        );
        assert_eq!(split_destination("host"), (None, "host".into(), None));
    }
}
