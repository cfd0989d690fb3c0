//! Printers over the one report model.

pub mod html;
pub mod md;
pub mod text;

/// Log text is untrusted: control characters (an ANSI escape in a log must
/// not recolour or move the user's terminal) are shown as `\xNN`.
pub fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' {
            out.push(' ');
        } else if c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn control_sequences_are_inert() {
        assert_eq!(inert("a\u{1b}[31mred\u{7}\r\n"), "a\\x{1b}[31mred\\x{7}\\x{d}\\x{a}");
        assert_eq!(inert("bidi\u{202e}x"), "bidi\\x{202e}x");
        assert_eq!(inert("C:\\Windows\té"), "C:\\Windows é");
    }
}
