//! OpenSSH known_hosts: plain, wildcard, negated and hashed (`|1|salt|hmac`) host patterns,
//! `@revoked` markers. Parsed here rather than by libssh2, whose reader stops at the first line
//! it does not understand (certificate authorities, security-key types) and so would silently
//! lose every entry after it.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::io::Write;
use std::path::{Path, PathBuf};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone)]
pub struct Entry {
    pub line: usize,
    pub revoked: bool,
    pub cert_authority: bool,
    pub patterns: String,
    pub key_type: String,
    pub key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The presented key is recorded for this host (file:line).
    Known { line: usize },
    /// The host is recorded with a different key of the same type: possible MITM.
    Changed { line: usize },
    /// The presented key is marked @revoked.
    Revoked { line: usize },
    /// Nothing recorded for this host (maybe keys of other types: `other_types`).
    Unknown { other_types: Vec<String> },
}

/// The name OpenSSH looks keys up under: `host`, or `[host]:port` off port 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `SHA256:...` as `ssh-keygen -lf` prints it.
pub fn fingerprint_sha256(key: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key);
    let b = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest);
    format!("SHA256:{b}")
}

pub fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let (mut revoked, mut ca) = (false, false);
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                "@cert-authority" => ca = true,
                _ => continue,
            }
            first = fields.next().unwrap_or("");
        }
        let (Some(kt), Some(kb)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(key) = B64.decode(kb) else { continue };
        out.push(Entry {
            line: i + 1,
            revoked,
            cert_authority: ca,
            patterns: first.to_string(),
            key_type: kt.to_string(),
            key,
        });
    }
    out
}

/// OpenSSH `match_pattern`: `*` and `?` wildcards, case-insensitive for host names.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((b'?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => !n.is_empty() && c.eq_ignore_ascii_case(&n[0]) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

fn hashed_matches(pattern: &str, name: &str) -> bool {
    // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
    let mut parts = pattern.split('|');
    let (Some(""), Some("1"), Some(salt), Some(hash)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// Does a host-pattern list match `name`? A matching negated pattern vetoes the line.
pub fn patterns_match(patterns: &str, name: &str) -> bool {
    if patterns.starts_with("|1|") {
        return hashed_matches(patterns, name);
    }
    let mut hit = false;
    for p in patterns.split(',') {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard(neg, name) {
                return false;
            }
        } else if wildcard(p, name) {
            hit = true;
        }
    }
    hit
}

pub fn check(entries: &[Entry], name: &str, key_type: &str, key: &[u8]) -> Verdict {
    let mut changed = None;
    let mut other_types = Vec::new();
    let mut known = None;
    for e in entries {
        if e.cert_authority || !patterns_match(&e.patterns, name) {
            continue;
        }
        if e.revoked {
            if e.key == key {
                return Verdict::Revoked { line: e.line };
            }
            continue;
        }
        if e.key == key {
            known.get_or_insert(e.line);
        } else if e.key_type == key_type {
            changed.get_or_insert(e.line);
        } else if !other_types.contains(&e.key_type) {
            other_types.push(e.key_type.clone());
        }
    }
    match (known, changed) {
        (Some(line), _) => Verdict::Known { line },
        (None, Some(line)) => Verdict::Changed { line },
        _ => Verdict::Unknown { other_types },
    }
}

/// Key types recorded for `name`, so the handshake can ask for one of them first (as OpenSSH
/// orders its HostKeyAlgorithms) instead of tripping over a type we have no record of.
pub fn known_types(entries: &[Entry], name: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for e in entries {
        if !e.revoked
            && !e.cert_authority
            && patterns_match(&e.patterns, name)
            && !v.contains(&e.key_type)
        {
            v.push(e.key_type.clone());
        }
    }
    v
}

pub fn load(path: &Path) -> anyhow::Result<Vec<Entry>> {
    match std::fs::read(path) {
        Ok(b) => Ok(parse(&String::from_utf8_lossy(&b))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => {
            Err(crate::error::Error::file(path, format!("cannot read known_hosts: {e}")).into())
        }
    }
}

/// The system-wide file OpenSSH also reads (GlobalKnownHostsFile's first default).
pub const GLOBAL: &str = "/etc/ssh/ssh_known_hosts";

/// The user's file, then the global one. A global file that exists but cannot be read is an
/// error: skipping it would silently drop its @revoked lines.
pub fn load_with_global(user: &Path, global: &Path) -> anyhow::Result<Vec<Entry>> {
    let mut entries = load(user)?;
    let g = load(global).map_err(|e| {
        anyhow::anyhow!(
            "{e:#}. Its @revoked and host key lines must apply; fix its permissions (it is normally 0644 root:root)"
        )
    })?;
    entries.extend(g);
    Ok(entries)
}

/// Append `name key_type key` (creating the file 0600 and its directory 0700 if needed).
pub fn append(path: &Path, name: &str, key_type: &str, key: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| crate::error::Error::file(dir, format!("cannot create: {e}")))?;
        }
    }
    // A file that does not end in a newline would glue our entry to its last line.
    let needs_nl = std::fs::read(path)
        .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
        .unwrap_or(false);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| crate::error::Error::file(path, format!("cannot open for writing: {e}")))?;
    let line = format!(
        "{}{name} {key_type} {}\n",
        if needs_nl { "\n" } else { "" },
        B64.encode(key)
    );
    f.write_all(line.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| crate::error::Error::file(path, format!("cannot write: {e}")))?;
    Ok(())
}

pub fn default_path() -> PathBuf {
    super::ssh_config::home_dir().join(".ssh/known_hosts")
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real `ssh-keygen -t ed25519` public key; `ssh-keygen -lf` printed the fingerprint below.
    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIMKAVqiVoAV1oyOjEAz5dSdDy6L38XNzJG0QVkBspDKj";

    #[test]
    fn fingerprint_is_openssh_format() {
        // ssh-keygen -lf on this key prints the same fingerprint.
        let key = B64.decode(KEY).unwrap();
        let fp = fingerprint_sha256(&key);
        assert_eq!(fp, "SHA256:LYt4Zhdz2XUR9b+4ovwWFKhJhjUUfEPi3R1FrSeFvCI");
    }

    #[test]
    fn plain_wildcard_negated() {
        assert!(patterns_match("app1,192.168.21.11", "192.168.21.11"));
        assert!(patterns_match("*.example.com", "web.EXAMPLE.com"));
        assert!(!patterns_match(
            "*.example.com,!bad.example.com",
            "bad.example.com"
        ));
        assert!(patterns_match(
            "[127.0.0.1]:2222",
            &lookup_name("127.0.0.1", 2222)
        ));
        assert!(!patterns_match(
            "127.0.0.1",
            &lookup_name("127.0.0.1", 2222)
        ));
    }

    #[test]
    fn hashed_entry_matches_only_its_host() {
        // Built with the same construction ssh-keygen -H uses.
        let salt = b"0123456789abcdefghij";
        let mut mac = Hmac::<Sha1>::new_from_slice(salt).unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let h = mac.finalize().into_bytes();
        let pat = format!("|1|{}|{}", B64.encode(salt), B64.encode(h));
        assert!(patterns_match(&pat, "[127.0.0.1]:2222"));
        assert!(!patterns_match(&pat, "127.0.0.1"));
    }

    #[test]
    fn verdicts() {
        let key = B64.decode(KEY).unwrap();
        let mut other = key.clone();
        *other.last_mut().unwrap() ^= 1;
        let text = format!(
            "# comment\n@cert-authority *.corp ssh-ed25519 {KEY}\nhostA ssh-ed25519 {KEY}\nhostB ssh-ed25519 {}\nhostC ssh-rsa {}\n@revoked hostD ssh-ed25519 {KEY}\ngarbage\n",
            B64.encode(&other),
            B64.encode(&other)
        );
        let e = parse(&text);
        assert_eq!(
            check(&e, "hostA", "ssh-ed25519", &key),
            Verdict::Known { line: 3 }
        );
        assert_eq!(
            check(&e, "hostB", "ssh-ed25519", &key),
            Verdict::Changed { line: 4 }
        );
        assert_eq!(
            check(&e, "hostC", "ssh-ed25519", &key),
            Verdict::Unknown {
                other_types: vec!["ssh-rsa".into()]
            }
        );
        assert!(matches!(
            check(&e, "hostD", "ssh-ed25519", &key),
            Verdict::Revoked { .. }
        ));
        assert_eq!(known_types(&e, "hostC"), vec!["ssh-rsa".to_string()]);
    }

    #[test]
    fn unreadable_global_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("known_hosts");
        // Missing files are fine (nothing recorded)...
        assert!(load_with_global(&user, &dir.path().join("absent"))
            .unwrap()
            .is_empty());
        // ...one that exists but cannot be read (a directory here; EACCES for a user) is not.
        let global = dir.path().join("ssh_known_hosts");
        std::fs::create_dir(&global).unwrap();
        let e = format!("{:#}", load_with_global(&user, &global).unwrap_err());
        assert!(
            e.contains("ssh_known_hosts") && e.contains("@revoked"),
            "{e}"
        );
    }

    #[test]
    fn append_creates_file_and_keeps_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/known_hosts");
        let key = B64.decode(KEY).unwrap();
        append(&p, "[h]:2", "ssh-ed25519", &key).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"x ssh-ed25519 AAAA")
            .unwrap();
        append(&p, "h2", "ssh-ed25519", &key).unwrap();
        let e = parse(&std::fs::read_to_string(&p).unwrap());
        assert_eq!(e.len(), 3);
        assert!(matches!(
            check(&e, "h2", "ssh-ed25519", &key),
            Verdict::Known { .. }
        ));
    }
}
