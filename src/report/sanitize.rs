//! Text from hosts and files (kernel strings, file contents, command output, host names) is
//! shown on the operator's terminal. A control character in it could move the cursor, erase
//! lines, retitle the window or, through a bidi override, show text in another order than it
//! is. Everything human-facing passes through here; JSON and SARIF keep the exact bytes.

use std::borrow::Cow;

/// Would `c` act on a terminal rather than print? C0 (but tab), DEL, C1 (8-bit CSI, OSC...)
/// and the Unicode bidi controls.
fn is_active(c: char, keep_newline: bool) -> bool {
    match c {
        '\t' => false,
        '\n' => !keep_newline,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn escape(s: &str, keep_newline: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_active(c, keep_newline)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_active(c, keep_newline) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// One line of text: every control character, newline included, shown as an escape.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Multi-line text (a plan, a message): newlines stay, every other control is escaped.
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_untouched() {
        assert!(matches!(line("5.10.0-28-amd64 ü"), Cow::Borrowed(_)));
        assert_eq!(line("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(line("x\x1b[1A\x1b[2K\ry"), "x\\x1b[1A\\x1b[2K\\x0dy");
        assert_eq!(line("a\nb\tc"), "a\\x0ab\tc");
        assert_eq!(text("a\nb\u{9b}c\u{202e}d"), "a\nb\\x9bc\\u{202e}d");
        assert_eq!(line("\x7f"), "\\x7f");
    }
}
