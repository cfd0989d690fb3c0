//! Text into a PowerShell script: one ASCII expression per string, or a
//! refusal naming where the text came from (see the module comment of
//! [`super`] for why ASCII).

use std::fmt::Write as _;

/// The UTF-8 byte order mark every script starts with.
pub const BOM: char = '\u{feff}';

/// Text that may not enter a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: refusing to put this text into a script: it contains {what} (U+{code:04X})")]
pub struct UnsafeText {
    /// Where the text came from: `path:line`, `fact missing of rule X`, ...
    pub origin: String,
    pub what: &'static str,
    pub code: u32,
}

/// A PowerShell expression, in ASCII only, whose value is `s`, or why there
/// cannot be one.
///
/// ASCII text is one single-quoted literal: inside `'...'` nothing is
/// expanded and the only special character is `'`, doubled. Text with other
/// characters is a parenthesised concatenation that starts with a literal
/// (so `+` joins strings, never adds char codes) and spells each non-ASCII
/// UTF-16 unit as `[char]0xNNNN`: `('C:\x ' + [char]0x0452 + ' y')`. Quote
/// look-alikes (U+2019 ...), bidirectional and other invisible format
/// controls (U+202E ...) thus never enter a script raw. Line breaks and other
/// control characters are refused rather than encoded: no log line holds one
/// legitimately.
pub fn ps_literal(s: &str, origin: &str) -> Result<String, UnsafeText> {
    for c in s.chars() {
        let what = match c {
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => "a line break",
            '\t' => continue,
            c if c.is_control() => "a control character",
            _ => continue,
        };
        return Err(UnsafeText { origin: origin.to_string(), what, code: c as u32 });
    }
    if s.is_ascii() {
        return Ok(quoted_ascii(s));
    }
    let mut out = String::with_capacity(s.len() * 4 + 4);
    out.push('(');
    let mut run_start = 0;
    let mut first = true;
    for (i, c) in s.char_indices() {
        if c.is_ascii() {
            continue;
        }
        if first || run_start < i {
            if !first {
                out.push_str(" + ");
            }
            out.push_str(&quoted_ascii(&s[run_start..i]));
            first = false;
        }
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            let _ = write!(out, " + [char]0x{u:04X}");
        }
        run_start = i + c.len_utf8();
    }
    if run_start < s.len() {
        out.push_str(" + ");
        out.push_str(&quoted_ascii(&s[run_start..]));
    }
    out.push(')');
    Ok(out)
}

/// `'s'` with each `'` doubled; `s` must be ASCII without control characters.
fn quoted_ascii(s: &str) -> String {
    debug_assert!(s.is_ascii());
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        out.push(c);
        if c == '\'' {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// [`ps_literal`], shorter.
pub(super) fn lit(s: &str, origin: &str) -> Result<String, UnsafeText> {
    ps_literal(s, origin)
}

/// `$Name = @(` one quoted item per line, commas between, `)`: every
/// PowerShell array the script carries (items already through [`lit`]).
pub(super) fn write_list(s: &mut String, name: &str, items: &[String]) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "{name} = @(");
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() { "," } else { "" };
        let _ = writeln!(s, "    {item}{comma}");
    }
    let _ = writeln!(s, ")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_literals_double_the_quote() {
        assert_eq!(ps_literal("a'b", "t").unwrap(), "'a''b'");
        assert_eq!(ps_literal("$(rm -r C:\\) `n \"x\" ;", "t").unwrap(), "'$(rm -r C:\\) `n \"x\" ;'");
        assert_eq!(ps_literal("", "t").unwrap(), "''");
        assert_eq!(ps_literal("tab\tok", "t").unwrap(), "'tab\tok'");
    }

    #[test]
    fn non_ascii_is_spelled_as_char_codes() {
        assert_eq!(ps_literal("C:\\x \u{452} + $(calc) #", "t").unwrap(), "('C:\\x ' + [char]0x0452 + ' + $(calc) #')");
        // Starts with a literal, so `+` joins strings; quote look-alikes and
        // bidi controls never appear raw; an emoji is its surrogate pair.
        assert_eq!(ps_literal("\u{2019}'", "t").unwrap(), "('' + [char]0x2019 + '''')");
        assert_eq!(
            ps_literal("a\u{202e}\u{1F600}", "t").unwrap(),
            "('a' + [char]0x202E + [char]0xD83D + [char]0xDE00)"
        );
        for s in ["\u{452}", "x\u{2018}\u{201A}\u{201B}y", "\u{4E2D}\u{6587}", "\u{61C}\u{2066}"] {
            assert!(ps_literal(s, "t").unwrap().is_ascii(), "{s:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_with_their_origin() {
        for bad in ["a\nb", "a\rb", "a\u{2028}b", "a\u{85}b", "a\u{1b}[31m", "a\0b"] {
            let e = ps_literal(bad, "CBS.log:12").unwrap_err();
            assert_eq!(e.origin, "CBS.log:12");
            assert!(e.to_string().starts_with("CBS.log:12: refusing"), "{e}");
        }
        for bad in ["\u{7f}", "\u{9b}31m", "\u{85}"] {
            assert!(ps_literal(bad, "t").is_err(), "{bad:?}");
        }
    }
}
