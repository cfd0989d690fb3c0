//! `plan::ps_literal`: when it accepts text, the result is one PowerShell
//! single-quoted literal that means exactly that text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::plan;

/// Characters PowerShell reads as a single quote.
fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    match plan::ps_literal(&s, "fuzz:1") {
        Ok(lit) => {
            assert!(lit.len() >= 2 && lit.starts_with('\'') && lit.ends_with('\''));
            let inner = &lit[1..lit.len() - 1];
            assert!(!inner.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']));
            assert!(!inner.chars().any(|c| c.is_control() && c != '\t'));
            // Quote-like characters only in even runs, each char doubled;
            // undoubling gives the input back.
            let chars: Vec<char> = inner.chars().collect();
            let mut back = String::with_capacity(s.len());
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                if is_quote(c) {
                    let run = chars[i..].iter().take_while(|&&q| is_quote(q)).count();
                    assert!(run % 2 == 0, "odd quote run of {run} at char {i} in {lit:?}");
                    assert_eq!(chars.get(i + 1), Some(&c), "quote not doubled in {lit:?}");
                    back.push(c);
                    i += 2;
                } else {
                    back.push(c);
                    i += 1;
                }
            }
            assert_eq!(back, s);
        }
        Err(e) => {
            let c = char::from_u32(e.code).expect("code is a char");
            assert!(s.contains(c), "refused U+{:04X} that is not in the text", e.code);
            assert_eq!(e.origin, "fuzz:1");
        }
    }
});
