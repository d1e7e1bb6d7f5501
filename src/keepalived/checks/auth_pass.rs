//! LB032: auth_pass longer than 8 characters: keepalived uses only the first 8
//! (auth_data[8]), so passwords that differ after the 8th character still match.

use super::Ctx;
use crate::finding::Finding;
use crate::keepalived::finding_line;
use crate::keepalived::parser::NodeKind;

pub fn check(cx: &Ctx, out: &mut Vec<Finding>) {
    let doc = &cx.loaded.doc;
    for (i, n) in doc.nodes.iter().enumerate() {
        if n.kind != NodeKind::Plain || doc.kw(i) != "auth_pass" {
            continue;
        }
        let Some(p) = doc.arg(i, 0) else { continue };
        if p.chars().count() <= 8 {
            continue;
        }
        let kept: String = p.chars().take(8).collect();
        out.push(
            finding_line(
                doc,
                "LB032",
                i,
                "auth_pass",
                format!(
                    "auth_pass is {} characters; VRRP carries only 8, so keepalived uses `{kept}` (\"Truncating auth_pass to 8 characters\") and a peer whose password differs after the 8th character still matches",
                    p.chars().count()
                ),
            )
            .fix_text(format!("use at most 8 characters on all peers, e.g. `auth_pass {kept}`")),
        );
    }
}
