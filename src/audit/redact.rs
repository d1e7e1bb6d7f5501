//! Secrets in gathered files, redacted by each file's own syntax: a keepalived `auth_pass`
//! or `auth_hmac { key ... }`, a systemd-networkd `.netdev` `PrivateKey=`, a NetworkManager
//! keyfile's `psk=`, `wep-key0=` or `[vpn-secrets]` entry (whose keys may hold spaces), a
//! netplan `password:`/`key:`/`shared:`, an ifupdown `wpa-psk`, an ifcfg `WPA_PSK=`.
//!
//! The gather script's awk (`facts::GATHER_SCRIPT`) does the same on the host, so secrets
//! never travel; this copy is applied again to what arrives and to loaded facts files (made
//! by older versions), and is what the tests and the fuzzer hold the awk to. Keep the two in
//! step: `tests/security.rs` runs the awk and this side by side over every format.

/// What replaces a secret value.
pub const MARK: &str = "<redacted>";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Keepalived,
    Yaml,
    /// NetworkManager keyfile: ini, and every value of `[vpn-secrets]` is a secret.
    NmKeyfile,
    /// systemd .netdev/.network/.link: ini.
    Ini,
    Ifupdown,
    /// ifcfg-* shell assignments.
    Shell,
    /// Anything else: `name = value` / `name: value` / `name value` whose name says secret.
    Generic,
}

/// The syntax of a file from its path (the awk decides the same way).
pub fn syntax(path: &str) -> Syntax {
    if path.contains("keepalived") {
        Syntax::Keepalived
    } else if path.ends_with(".yaml") || path.ends_with(".yml") {
        Syntax::Yaml
    } else if path.contains("NetworkManager/system-connections/") {
        Syntax::NmKeyfile
    } else if path.contains("systemd/network/") {
        Syntax::Ini
    } else if path.contains("network/interfaces") {
        Syntax::Ifupdown
    } else if path.contains("ifcfg-") {
        Syntax::Shell
    } else {
        Syntax::Generic
    }
}

/// `text` (the content of `path`) with every secret value replaced by `MARK`. Line ends and
/// every other line are kept as they are.
pub fn redact(path: &str, text: &str) -> String {
    let mut st = State {
        syntax: syntax(path),
        section: String::new(),
        block: None,
    };
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, nl) = match piece.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (piece, ""),
        };
        out.push_str(&st.line(line));
        out.push_str(nl);
    }
    out
}

struct State {
    syntax: Syntax,
    /// The current `[section]` of an ini file, lowercased.
    section: String,
    /// YAML: inside a block scalar (`password: |`) whose key sits at this column.
    block: Option<usize>,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim_blank_start(s: &str) -> &str {
    s.trim_start_matches(is_blank)
}

fn has_value(s: &str) -> bool {
    s.chars().any(|c| !is_blank(c))
}

fn ini_secret(key: &str) -> bool {
    let k = key.trim_matches(is_blank).to_ascii_lowercase();
    if k.ends_with("file") || k.ends_with("-flags") || k.ends_with("-type") {
        return false;
    }
    k == "key"
        || k == "pin"
        || k.ends_with("-pin")
        || [
            "psk",
            "pass",
            "secret",
            "private-key",
            "privatekey",
            "preshared",
            "wep-key",
        ]
        .iter()
        .any(|w| k.contains(w))
}

fn yaml_secret(name: &str) -> bool {
    let mut k = name.trim_matches(is_blank);
    for q in ['"', '\''] {
        if k.len() >= 2 && k.starts_with(q) && k.ends_with(q) {
            k = &k[1..k.len() - 1];
        }
    }
    let k = k.to_ascii_lowercase();
    matches!(k.as_str(), "key" | "shared" | "private" | "pin")
        || ["pass", "psk", "secret", "private-key", "preshared"]
            .iter()
            .any(|w| k.contains(w))
}

/// ifupdown option words (`wpa-psk`, `wireless-key1`) and ifcfg names (`WPA_PSK`, `KEY1`).
fn word_secret(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    ["psk", "pass", "secret"].iter().any(|x| w.contains(x))
        || (w.contains("key") && !w.contains("mgmt"))
}

impl State {
    fn line(&mut self, line: &str) -> String {
        match self.syntax {
            Syntax::Keepalived => keepalived(line),
            Syntax::Yaml => self.yaml(line),
            Syntax::NmKeyfile => self.ini(line, true),
            Syntax::Ini => self.ini(line, false),
            Syntax::Ifupdown => ifupdown(line),
            Syntax::Shell => shell(line),
            Syntax::Generic => generic(line),
        }
    }

    fn ini(&mut self, line: &str, nm: bool) -> String {
        let t = trim_blank_start(line);
        if t.starts_with('#') || t.starts_with(';') {
            return line.into();
        }
        if t.starts_with('[') {
            self.section = t.trim_end_matches(is_blank).to_ascii_lowercase();
            return line.into();
        }
        let Some(i) = line.find('=') else {
            return line.into();
        };
        if !has_value(&line[i + 1..]) {
            return line.into();
        }
        if ini_secret(&line[..i]) || (nm && self.section == "[vpn-secrets]") {
            return format!("{}{MARK}", &line[..=i]);
        }
        line.into()
    }

    fn yaml(&mut self, line: &str) -> String {
        let t = line.trim_start_matches(' ');
        let ind = line.len() - t.len();
        if let Some(col) = self.block {
            if t.is_empty() {
                return line.into();
            }
            if ind > col {
                return format!("{}{MARK}", &line[..ind]);
            }
            self.block = None;
        }
        // List item dashes belong to the indentation.
        let mut pre = ind;
        let mut t = t;
        while let Some(rest) = t.strip_prefix("- ") {
            let r = rest.trim_start_matches(' ');
            pre += 2 + (rest.len() - r.len());
            t = r;
        }
        if let Some(i) = t.find('{') {
            let hit = t[i..]
                .split(['{', ',', '}'])
                .filter_map(|p| p.split_once(':'))
                .any(|(k, _)| yaml_secret(k));
            if hit {
                return format!("{}{}{MARK}}}", &line[..pre], &t[..=i]);
            }
            return line.into();
        }
        let b = t.as_bytes();
        let Some(c) = (0..b.len())
            .find(|&j| b[j] == b':' && (j + 1 == b.len() || is_blank(b[j + 1] as char)))
        else {
            return line.into();
        };
        let v = trim_blank_start(&t[c + 1..]);
        if !yaml_secret(&t[..c]) || v.is_empty() || v.starts_with('#') {
            return line.into();
        }
        if v.starts_with('|') || v.starts_with('>') {
            self.block = Some(pre);
            return line.into();
        }
        format!("{}{} {MARK}", &line[..pre], &t[..=c])
    }
}

/// keepalived: the words after `auth_pass`, `password` or `key`, up to a `}` or the line's
/// end (the one-line `authentication { auth_pass X }` included).
fn keepalived(line: &str) -> String {
    if !["auth_pass", "password", "key"]
        .iter()
        .any(|w| line.contains(w))
    {
        return line.into();
    }
    let b = line.as_bytes();
    // `=` too: a definition `$PW=auth_pass X` holds the same secret.
    let sep = |c: u8| matches!(c, b' ' | b'\t' | b'{' | b'}' | b'=');
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < b.len() {
        if sep(b[i]) {
            out.push(b[i] as char);
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !sep(b[i]) {
            i += 1;
        }
        let w = &line[start..i];
        out.push_str(w);
        if matches!(w, "auth_pass" | "password" | "key") {
            let end = line[i..].find('}').map(|j| i + j).unwrap_or(b.len());
            if has_value(&line[i..end]) {
                out.push(' ');
                out.push_str(MARK);
                if end < b.len() {
                    out.push(' ');
                }
            } else {
                out.push_str(&line[i..end]);
            }
            i = end;
        }
    }
    out
}

fn ifupdown(line: &str) -> String {
    let t = trim_blank_start(line);
    let ind = line.len() - t.len();
    let Some(ws) = t.find(is_blank) else {
        return line.into();
    };
    let rest = trim_blank_start(&t[ws..]);
    if rest.is_empty() || !word_secret(&t[..ws]) {
        return line.into();
    }
    let keep = ind + t.len() - rest.len();
    format!("{}{MARK}", &line[..keep])
}

fn shell(line: &str) -> String {
    let t = trim_blank_start(line);
    let Some(i) = t.find('=') else {
        return line.into();
    };
    let k = &t[..i];
    if i == 0
        || !k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        || t.len() == i + 1
        || !word_secret(k)
    {
        return line.into();
    }
    let keep = line.len() - t.len() + i + 1;
    format!("{}{MARK}", &line[..keep])
}

/// The old catch-all: a leading name made of [a-z0-9_.-] that contains psk, password,
/// passwd, secret or auth_pass, then `=`, `:` or a space, then the value.
fn generic(line: &str) -> String {
    let l = line.to_ascii_lowercase();
    let t = trim_blank_start(&l);
    let ind = l.len() - t.len();
    let n = t
        .bytes()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(c))
        .count();
    let name = &t[..n];
    if n == 0
        || !["psk", "password", "passwd", "secret", "auth_pass"]
            .iter()
            .any(|w| name.contains(w))
    {
        return line.into();
    }
    let r = &t[n..];
    let ws = r.len() - trim_blank_start(r).len();
    let sep_end = match r.as_bytes().get(ws) {
        Some(b'=') | Some(b':') => ws + 1,
        _ => match r[..ws].rfind(' ') {
            Some(j) => j + 1,
            None => return line.into(),
        },
    };
    let after = trim_blank_start(&r[sep_end..]);
    let keep = ind + n + r.len() - after.len();
    format!("{}{MARK}", &line[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_by_its_own_syntax() {
        let r = |p: &str, t: &str| redact(p, t);
        assert_eq!(
            r("/etc/keepalived/keepalived.conf", "  authentication { auth_pass s3cret }\n  auth_hmac {\n    key 1 0xSECRET\n  }\nauth_pass\n"),
            "  authentication { auth_pass <redacted> }\n  auth_hmac {\n    key <redacted>\n  }\nauth_pass\n"
        );
        assert_eq!(
            r("/etc/systemd/network/wg0.netdev", "[WireGuard]\nPrivateKey=SECRET1\nPrivateKeyFile=/etc/wg.key\n[WireGuardPeer]\nPresharedKey = SECRET2\nPublicKey=pub\n"),
            "[WireGuard]\nPrivateKey=<redacted>\nPrivateKeyFile=/etc/wg.key\n[WireGuardPeer]\nPresharedKey =<redacted>\nPublicKey=pub\n"
        );
        assert_eq!(
            r("/etc/NetworkManager/system-connections/x.nmconnection", "[wifi-security]\nwep-key0=S1\npsk-flags=0\n[802-1x]\nprivate-key=/k\ncert-pass=S2\npin=1234\n[vpn-secrets]\nXauth password=S3\nIPSec secret=S4\n"),
            "[wifi-security]\nwep-key0=<redacted>\npsk-flags=0\n[802-1x]\nprivate-key=<redacted>\ncert-pass=<redacted>\npin=<redacted>\n[vpn-secrets]\nXauth password=<redacted>\nIPSec secret=<redacted>\n"
        );
        assert_eq!(
            r("/etc/netplan/50.yaml", "network:\n  wifis:\n    w:\n      access-points:\n        \"net\":\n          password: \"S1\"\n  tunnels:\n    wg0:\n      key: S2\n      peers:\n        - keys: {public: P, shared: S3}\n          endpoint: 1.2.3.4:5\n      mode: wireguard\n      auth:\n        key-management: psk\n        password: |\n          S4\n        method: peap\n"),
            "network:\n  wifis:\n    w:\n      access-points:\n        \"net\":\n          password: <redacted>\n  tunnels:\n    wg0:\n      key: <redacted>\n      peers:\n        - keys: {<redacted>}\n          endpoint: 1.2.3.4:5\n      mode: wireguard\n      auth:\n        key-management: psk\n        password: |\n          <redacted>\n        method: peap\n"
        );
        assert_eq!(
            r("/etc/network/interfaces", "iface w inet dhcp\n  wpa-psk S1\n  wireless-key1 S2\n  wpa-key-mgmt WPA-PSK\n  address 10.0.0.1\n"),
            "iface w inet dhcp\n  wpa-psk <redacted>\n  wireless-key1 <redacted>\n  wpa-key-mgmt WPA-PSK\n  address 10.0.0.1\n"
        );
        assert_eq!(
            r(
                "/etc/sysconfig/network-scripts/ifcfg-lo:1",
                "WPA_PSK=S1\nKEY_MGMT=WPA-PSK\nIPADDR=1.2.3.4\n"
            ),
            "WPA_PSK=<redacted>\nKEY_MGMT=WPA-PSK\nIPADDR=1.2.3.4\n"
        );
        assert_eq!(
            r("/etc/sysctl.conf", "psk=h\n  Password: a b\nWPA-PSK = x\nauth_pass  s\nnet.ipv4.ip_forward = 1"),
            "psk=<redacted>\n  Password: <redacted>\nWPA-PSK = <redacted>\nauth_pass  <redacted>\nnet.ipv4.ip_forward = 1"
        );
    }
}
