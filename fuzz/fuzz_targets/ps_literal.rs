//! `plan::ps_literal`: when it accepts text, the result is ASCII only (so it
//! reads the same in every ANSI code page Windows PowerShell 5.1 may use)
//! and is either one single-quoted literal or a parenthesised concatenation,
//! starting with a literal, of literals and `[char]0xNNNN`, whose value is
//! exactly that text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::plan;

/// Read `'...'` at the start of `s` (quotes doubled inside): its value and
/// the rest of `s`.
fn literal(s: &str) -> (String, &str) {
    let body = s.strip_prefix('\'').unwrap_or_else(|| panic!("no literal at {s:?}"));
    let mut out = String::new();
    let mut rest = body;
    loop {
        let i = rest.find('\'').unwrap_or_else(|| panic!("unterminated literal in {s:?}"));
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        match rest.strip_prefix('\'') {
            Some(r) => {
                out.push('\'');
                rest = r;
            }
            None => return (out, rest),
        }
    }
}

/// The value of what `ps_literal` writes, or a panic naming what is wrong.
fn value(lit: &str) -> String {
    let Some(inner) = lit.strip_prefix('(') else {
        let (v, rest) = literal(lit);
        assert!(rest.is_empty(), "text after the literal in {lit:?}");
        return v;
    };
    let inner = inner.strip_suffix(')').unwrap_or_else(|| panic!("unclosed ( in {lit:?}"));
    let (first, mut rest) = literal(inner);
    let mut units: Vec<u16> = first.encode_utf16().collect();
    let mut chars = 0;
    while !rest.is_empty() {
        rest = rest.strip_prefix(" + ").unwrap_or_else(|| panic!("expected ' + ' at {rest:?} in {lit:?}"));
        if let Some(hex) = rest.strip_prefix("[char]0x") {
            assert!(hex.len() >= 4 && hex[..4].bytes().all(|b| b.is_ascii_hexdigit()), "bad [char] in {lit:?}");
            units.push(u16::from_str_radix(&hex[..4], 16).unwrap());
            rest = &hex[4..];
            chars += 1;
        } else {
            let (v, r) = literal(rest);
            assert!(!v.is_empty(), "empty literal after the first in {lit:?}");
            units.extend(v.encode_utf16());
            rest = r;
        }
    }
    assert!(chars > 0, "a concatenation without [char] in {lit:?}");
    String::from_utf16(&units).unwrap_or_else(|_| panic!("unpaired surrogate in {lit:?}"))
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    match plan::ps_literal(&s, "fuzz:1") {
        Ok(lit) => {
            assert!(lit.is_ascii(), "non-ASCII in {lit:?}");
            assert!(!lit.bytes().any(|b| b.is_ascii_control() && b != b'\t'), "control character in {lit:?}");
            // Plain ASCII text stays one literal; anything else is spelled.
            assert_eq!(lit.starts_with('('), !s.is_ascii(), "{lit:?}");
            assert_eq!(value(&lit), s);
        }
        Err(e) => {
            let c = char::from_u32(e.code).expect("code is a char");
            assert!(s.contains(c), "refused U+{:04X} that is not in the text", e.code);
            assert!(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'), "refused U+{:04X}", e.code);
            assert_eq!(e.origin, "fuzz:1");
        }
    }
});
