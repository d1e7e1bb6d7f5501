//! `# lbdoctor: ignore LB001,LB016` comments. At the end of a line they cover that line; on
//! a line of their own they cover the next line. When the covered line opens a block they
//! cover the whole block. A suppression that covers no finding is itself reported (LB037),
//! like ruff's RUF100, so stale ones do not hide future problems.

use super::parser::{Document, NodeKind};
use crate::finding::{Finding, Location};

struct Scope {
    file: String,
    from: u32,
    to: u32,
}

/// Does `id` match a suppression entry (an id or a prefix such as LB0)?
fn matches(entry: &str, id: &str) -> bool {
    id.starts_with(entry)
}

/// Drop suppressed findings and add LB037 for suppressions that matched nothing.
/// `enabled(id)` says whether a check is selected at all (an unselected check's
/// suppression is not "unused").
pub fn apply(
    doc: &Document,
    findings: Vec<Finding>,
    enabled: &dyn Fn(&str) -> bool,
) -> Vec<Finding> {
    if doc.suppressions.is_empty() {
        return findings;
    }
    // resolve each comment to the lines it covers
    let mut scopes: Vec<Option<Scope>> = Vec::with_capacity(doc.suppressions.len());
    for s in &doc.suppressions {
        let file = doc.path(s.file).display().to_string();
        let target = doc.nodes.iter().find(|n| {
            n.file == s.file
                && if s.own_line {
                    n.line > s.line
                } else {
                    n.line == s.line
                }
        });
        let scope = match target {
            Some(n) => {
                let to = match n.kind {
                    NodeKind::Block(_) | NodeKind::Value | NodeKind::Skipped
                        if n.close_line > 0 && n.close_file == s.file =>
                    {
                        n.close_line
                    }
                    _ => n.line,
                };
                Some(Scope {
                    file,
                    from: n.line,
                    to,
                })
            }
            None if !s.own_line => Some(Scope {
                file,
                from: s.line,
                to: s.line,
            }),
            None => None,
        };
        scopes.push(scope);
    }
    let mut used: Vec<Vec<bool>> = doc
        .suppressions
        .iter()
        .map(|s| vec![false; s.ids.len().max(1)])
        .collect();
    let mut kept = Vec::with_capacity(findings.len());
    'next: for f in findings {
        if let Some(loc) = &f.location {
            for (si, (s, scope)) in doc.suppressions.iter().zip(&scopes).enumerate() {
                let Some(sc) = scope else { continue };
                if sc.file != loc.file || loc.line < sc.from || loc.line > sc.to {
                    continue;
                }
                if s.ids.is_empty() {
                    used[si][0] = true;
                    continue 'next;
                }
                if let Some(k) = s.ids.iter().position(|e| matches(e, &f.id)) {
                    used[si][k] = true;
                    continue 'next;
                }
            }
        }
        kept.push(f);
    }
    for (si, s) in doc.suppressions.iter().enumerate() {
        let file = doc.path(s.file).display().to_string();
        let unused: Vec<&str> = if s.ids.is_empty() {
            if used[si][0] || !enabled("LB037") {
                continue;
            }
            vec!["(all)"]
        } else {
            s.ids
                .iter()
                .zip(&used[si])
                .filter(|(id, u)| !**u && enabled(id))
                .map(|(id, _)| id.as_str())
                .collect()
        };
        if unused.is_empty() {
            continue;
        }
        let mut loc = Location::new(file.clone(), s.line, s.col);
        loc.length = "lbdoctor:".len() as u32;
        kept.push(
            Finding::new(
                "LB037",
                file,
                format!(
                    "`lbdoctor: ignore {}` suppresses nothing{}: the finding it was written for is gone",
                    unused.join(","),
                    if scopes[si].is_none() { " (no line follows it)" } else { "" }
                ),
            )
            .at(loc)
            .fix_text("delete the suppression comment (or the ids that no longer apply)"),
        );
    }
    kept
}

#[cfg(test)]
mod tests {
    use crate::keepalived::checks::tests::load_str;
    use crate::keepalived::checks::{run, Options};

    fn ids_lines(text: &str) -> Vec<(String, u32)> {
        let (_d, l) = load_str(text);
        let mut all = l.findings.clone();
        all.extend(run(&l, &Options::default()));
        let kept = super::apply(&l.doc, all, &|_| true);
        let mut v: Vec<_> = kept
            .into_iter()
            .map(|f| (f.id, f.location.unwrap().line))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn line_block_and_unused() {
        let text = "virtual_server 10.0.0.1 80 { # lbdoctor: ignore LB035,LB036\n lvs_sched rr\n lb_algo wrr  # lbdoctor: ignore LB001\n real_server 10.0.0.2 80 {\n }\n}\n# lbdoctor: ignore LB016\nvirtual_server 10.0.0.3 80 {\n lvs_method NAT\n protocol TCP # lbdoctor: ignore LB002\n real_server 10.0.0.4 80 {\n }\n}\n";
        let got = ids_lines(text);
        let want: Vec<(String, u32)> = vec![
            ("LB016".into(), 4),
            ("LB024".into(), 1),
            ("LB037".into(), 10),
        ];
        assert_eq!(got, want);
    }
}
