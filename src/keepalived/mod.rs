//! keepalived.conf: lexer, parser with spans, effective model, lint checks.
//!
//! `load()` reads a config the way keepalived 2.x reads it (lib/parser.c read_line() and
//! process_stream()), and returns the effective model plus parse-level findings.

pub mod checks;
pub mod effective;
pub mod keywords;
pub mod lexer;
pub mod model;
pub mod parser;
pub mod suppress;

use crate::finding::{Finding, Location};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// keepalived's -i/--config-id, selecting `@id` lines. None: no `@id` line matches
    /// (keepalived would use the host name; lbdoctor lints for no particular host).
    pub config_id: Option<String>,
    /// Resolve absolute include paths under this directory (a copy of another host's /).
    pub include_root: Option<PathBuf>,
    /// Absolute include prefixes to read from another directory, e.g. /etc/keepalived to
    /// the directory holding a copy of a director's config.
    pub include_map: Vec<(PathBuf, PathBuf)>,
    /// A config from another host: includes resolve only under `include_root` (see
    /// `lexer::Lexer::confined`).
    pub confined: bool,
    /// Input limits; None = defaults.
    pub limits: Option<lexer::Limits>,
}

pub struct Loaded {
    pub config: model::Config,
    /// Parse-level findings (unknown keywords, braces, includes, invalid values...).
    pub findings: Vec<Finding>,
    /// The parse tree, for checks that need the lines themselves.
    pub doc: parser::Document,
}

/// Read and parse a keepalived config with its includes. Err only when the top file cannot
/// be read at all; everything else becomes a finding.
pub fn load(path: &Path, opts: &LoadOptions) -> anyhow::Result<Loaded> {
    let mut lx = lexer::Lexer::new(
        opts.limits.clone().unwrap_or_default(),
        opts.config_id.clone(),
        opts.include_root.clone(),
    );
    lx.include_map = opts.include_map.clone();
    lx.confined = opts.confined && opts.include_root.is_some();
    lx.open_top(path)?;
    let doc = parser::parse(lx);
    let mut findings: Vec<Finding> = doc.diags.iter().map(|d| diag_finding(&doc, d)).collect();
    let (config, more) = effective::Builder::new(&doc).build();
    findings.extend(more);
    fill_snippets(&mut findings, &[&doc]);
    Ok(Loaded {
        config,
        findings,
        doc,
    })
}

/// Like `load`, for a config held in memory under a virtual file name (fuzzing, tests).
/// Includes resolve to nothing: they are reported as missing, never read from disk.
pub fn load_str(name: &str, data: &[u8], opts: &LoadOptions) -> Loaded {
    let mut lx = lexer::Lexer::new(
        opts.limits.clone().unwrap_or_default(),
        opts.config_id.clone(),
        None,
    );
    lx.open_memory(Path::new(name), data.to_vec());
    let doc = parser::parse(lx);
    let mut findings: Vec<Finding> = doc.diags.iter().map(|d| diag_finding(&doc, d)).collect();
    let (config, more) = effective::Builder::new(&doc).build();
    findings.extend(more);
    // No fill_snippets: the virtual name must not be opened on disk.
    Loaded {
        config,
        findings,
        doc,
    }
}

fn diag_finding(doc: &parser::Document, d: &lexer::Diag) -> Finding {
    let file = doc.path(d.file).display().to_string();
    let mut loc = Location::new(file.clone(), d.line, d.col.max(1));
    loc.length = if d.col == 0 { 0 } else { d.len };
    let mut f = Finding::new(d.id, file, d.message.clone())
        .at(loc)
        .evidence_lines(d.evidence.iter().cloned());
    if let Some(fix) = &d.fix {
        f = f.fix_text(fix.clone());
    }
    f
}

/// A finding pointing at node `n`'s keyword.
pub fn finding_at(
    doc: &parser::Document,
    id: &str,
    n: usize,
    subject: &str,
    message: String,
) -> Finding {
    let node = &doc.nodes[n];
    let t = &doc.toks[node.tok as usize];
    let mut loc = Location::new(
        doc.path(node.file).display().to_string(),
        node.line,
        t.col(),
    );
    loc.length = t.byte_len().max(1);
    Finding::new(id, subject, message).at(loc)
}

/// A finding pointing at node `n`'s whole line (keyword and arguments).
pub fn finding_line(
    doc: &parser::Document,
    id: &str,
    n: usize,
    subject: &str,
    message: String,
) -> Finding {
    let node = &doc.nodes[n];
    let first = &doc.toks[node.tok as usize];
    let last = &doc.toks[(node.tok + node.ntok - 1) as usize];
    let mut f = finding_at(doc, id, n, subject, message);
    if let Some(l) = &mut f.location {
        // quoted tokens add their two quotes
        let end = last.col() + last.byte_len() + if last.quoted() { 2 } else { 0 };
        l.length = end.saturating_sub(first.col()).max(1);
    }
    f
}

/// Add the source line to every finding that has a location but no snippet, and turn byte
/// columns into character columns. Lines are read back with the documents' line index
/// (a seek per block of lines), or by one sequential pass for files no document indexed.
pub fn fill_snippets(findings: &mut [Finding], docs: &[&parser::Document]) {
    let mut wanted: HashMap<String, Vec<u32>> = HashMap::new();
    for f in findings.iter() {
        if let Some(l) = &f.location {
            if l.snippet.is_none() && l.line > 0 {
                wanted.entry(l.file.clone()).or_default().push(l.line);
            }
        }
    }
    let mut lines: HashMap<(String, u32), String> = HashMap::new();
    for (file, mut nums) in wanted {
        nums.sort_unstable();
        nums.dedup();
        let index = docs
            .iter()
            .flat_map(|d| d.files.iter())
            .find(|f| f.path.display().to_string() == file)
            .map(|f| f.line_index.as_slice())
            .unwrap_or(&[]);
        read_lines(&file, &nums, index, &mut lines);
    }
    for f in findings.iter_mut() {
        if let Some(l) = &mut f.location {
            if l.snippet.is_some() {
                continue;
            }
            if let Some(s) = lines.get(&(l.file.clone(), l.line)) {
                let byte_col = (l.column.saturating_sub(1) as usize).min(s.len());
                if let Some(prefix) = s.get(..byte_col) {
                    let char_col = prefix.chars().count() as u32 + 1;
                    if let Some(rest) = s.get(byte_col..) {
                        let take = (l.length as usize).min(rest.len());
                        let mut end = take;
                        while !rest.is_char_boundary(end) {
                            end -= 1;
                        }
                        l.length = rest[..end].chars().count() as u32;
                    }
                    l.column = char_col;
                }
                l.snippet = Some(s.clone());
            }
        }
    }
}

/// Read lines `nums` (sorted) of `file` into `out`.
fn read_lines(file: &str, nums: &[u32], index: &[u64], out: &mut HashMap<(String, u32), String>) {
    use std::io::{Seek, SeekFrom};
    let Ok(fh) = std::fs::File::open(file) else {
        return;
    };
    let mut rd = BufReader::with_capacity(16 << 10, fh);
    let step = lexer::LINE_INDEX_STEP;
    let mut buf = Vec::new();
    // the line the reader is positioned at
    let mut at = 1u32;
    for &want in nums {
        let block = ((want - 1) / step) as usize;
        let block_line = block as u32 * step + 1;
        if (at > want || at < block_line) && block < index.len() {
            if rd.seek(SeekFrom::Start(index[block])).is_err() {
                return;
            }
            at = block_line;
        }
        while at <= want {
            buf.clear();
            // a snippet needs only the start of a huge line
            match (&mut rd).take(1 << 16).read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if buf.last() == Some(&b'\n') || buf.len() < 1 << 16 {
                at += 1;
            } else {
                // rest of an over-long line: skip to its end
                let _ = rd.read_until(b'\n', &mut Vec::new());
                at += 1;
            }
            if at - 1 == want {
                while buf.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                    buf.pop();
                }
                buf.truncate(400);
                out.insert(
                    (file.to_string(), want),
                    String::from_utf8_lossy(&buf).into_owned(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/incidents")
            .join(name)
    }

    #[test]
    fn seed_incident_model_says_lc_wins() {
        let l = load(&fixture("seed-keepalived.conf"), &LoadOptions::default()).unwrap();
        let c = &l.config;
        assert_eq!(c.virtual_servers.len(), 1);
        let vs = &c.virtual_servers[0];
        assert_eq!(vs.key, model::VsKey::Group("app_servers".into()));
        assert_eq!(vs.addresses, [("192.168.21.20".parse().unwrap(), 80)]);
        let sched = vs.scheduler.as_ref().unwrap();
        assert_eq!(
            (
                sched.value.as_str(),
                sched.keyword.as_str(),
                sched.span.line
            ),
            ("lc", "lb_algo", 21)
        );
        assert_eq!(
            sched.overridden.iter().map(|s| s.line).collect::<Vec<_>>(),
            [19]
        );
        assert_eq!(vs.method.as_ref().unwrap().value, "DR");
        assert_eq!(vs.protocol.as_ref().unwrap().value, "TCP");
        assert_eq!(vs.real_servers.len(), 2);
        assert_eq!(vs.real_servers[1].ip.to_string(), "192.168.21.72");
        assert_eq!(vs.real_servers[1].checkers[0].kind, "TCP_CHECK");
        let v = &c.vrrp_instances[0];
        assert_eq!(v.name, "VI_1");
        assert_eq!(v.effective_state(), "MASTER");
        assert!(v.nopreempt);
        assert_eq!(v.virtual_router_id.as_ref().unwrap().value, 51);
        assert_eq!(v.vips[0].0, "192.168.21.20");
        assert!(l.findings.is_empty(), "{:?}", l.findings);
    }

    #[test]
    fn unreadable_top_file_is_an_error() {
        let e = load(
            Path::new("/nonexistent/keepalived.conf"),
            &LoadOptions::default(),
        );
        assert!(e.is_err());
    }
}
