//! Printers over the one report model.

pub mod html;
pub mod md;
pub mod text;

/// The one function that makes input-derived text (log lines, file names,
/// rule text, error messages that quote them) inert for a terminal and for
/// readers of the other formats: control characters (C0, DEL, C1 such as
/// the one-byte CSI U+009B), line and paragraph separators, and invisible
/// format characters that reorder or hide text (bidi overrides, isolates,
/// zero-width characters) are shown as `\x{NN}`. A tab becomes a space.
/// The result holds none of them, so applying it twice changes nothing.
pub fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' {
            out.push(' ');
        } else if c.is_control() || is_format(c) {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode's format characters (general category Cf) and the line and
/// paragraph separators. Written out here because std has no category
/// lookup and the list is short and stable; a new dependency of the binary
/// for it is not worth it.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// JSON as serde_json wrote it, with every character [`inert`] would show
/// (DEL, C1, bidi and format characters; serde_json already escapes C0)
/// written as a `\uXXXX` escape: the same data, nothing raw for a terminal
/// that shows it. Outside strings JSON is ASCII, so only strings change.
pub fn inert_json(json: Vec<u8>) -> Vec<u8> {
    let Ok(text) = String::from_utf8(json) else { unreachable!("serde_json writes UTF-8") };
    if !text.chars().any(|c| c.is_control() || is_format(c)) {
        return text.into_bytes();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for c in text.chars() {
        if (c.is_control() && c != '\n') || is_format(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.into_bytes()
}

/// [`inert`] for each line of a message whose line breaks are our own
/// layout (a list of rule mistakes, a regex error with its caret line).
pub fn inert_lines(s: &str, indent: &str) -> String {
    s.split('\n').map(|l| inert(l.strip_suffix('\r').unwrap_or(l))).collect::<Vec<_>>().join(&format!("\n{indent}"))
}

#[cfg(test)]
mod tests {
    use super::{inert, inert_lines};

    #[test]
    fn control_sequences_are_inert() {
        assert_eq!(inert("a\u{1b}[31mred\u{7}\r\n"), "a\\x{1b}[31mred\\x{7}\\x{d}\\x{a}");
        assert_eq!(inert("bidi\u{202e}x"), "bidi\\x{202e}x");
        assert_eq!(inert("C:\\Windows\té"), "C:\\Windows é");
        assert_eq!(
            inert("\u{9b}2J\u{7f}\u{61c}\u{2066}\u{200b}\u{2028}\u{feff}"),
            "\\x{9b}2J\\x{7f}\\x{61c}\\x{2066}\\x{200b}\\x{2028}\\x{feff}"
        );
        assert_eq!(inert("\u{1b}]0;title\u{7}"), "\\x{1b}]0;title\\x{7}");
    }

    #[test]
    fn inert_is_idempotent_and_keeps_text() {
        let s = "C:\\x\u{1b}[2J \u{452} \u{4e2d} \u{1f600} \u{202e}";
        assert_eq!(inert(&inert(s)), inert(s));
        assert!(inert(s).contains("\u{452} \u{4e2d} \u{1f600}"));
    }

    #[test]
    fn json_keeps_its_data_and_loses_raw_controls() {
        let v = serde_json::json!({"p": "a\u{202e}b\u{9b}c\u{7f}\u{e0041}\u{1b}"});
        let json = super::inert_json(serde_json::to_vec_pretty(&v).unwrap());
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.contains("a\\u202eb\\u009bc\\u007f\\udb40\\udc41\\u001b"), "{text}");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&json).unwrap(), v);
    }

    #[test]
    fn inert_lines_keeps_only_the_line_breaks() {
        assert_eq!(inert_lines("a\u{1b}\nb\r\nc", "  "), "a\\x{1b}\n  b\n  c");
    }
}
