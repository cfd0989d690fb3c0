//! `decode::decode` (BOM sniffing, UTF-16, UTF-8 with a Windows-1252
//! fallback, lone-CR repair), `decode::looks_binary` and `decode::lines`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::decode::{self, Encoding};

fuzz_target!(|data: &[u8]| {
    let _ = decode::looks_binary(data);
    let d = decode::decode(data);
    let text: &str = &d.text;

    // A lone CR always becomes LF: later stages split on LF only.
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'\r' {
            assert_eq!(b.get(i + 1), Some(&b'\n'), "lone CR left at byte {i}");
        }
    }
    // Clean UTF-8 without a BOM comes back unchanged (but for lone CRs).
    if d.encoding == Encoding::Utf8 {
        assert!(d.warnings.is_empty());
        assert_eq!(text.len(), data.len());
    }
    if matches!(d.encoding, Encoding::Utf8 | Encoding::Utf8Bom) {
        if let Ok(s) = std::str::from_utf8(data) {
            let s = s.strip_prefix('\u{feff}').unwrap_or(s);
            assert_eq!(text.len(), s.len());
        }
    }

    // lines(): numbered from 1 without gaps, no line breaks inside a line,
    // and one line per LF (a final LF does not open an empty line).
    let mut n = 0u64;
    for (no, line) in decode::lines(text) {
        n += 1;
        assert_eq!(no, n);
        assert!(!line.contains('\n'));
        assert!(!line.ends_with('\r'));
    }
    let expected = if text.is_empty() {
        0
    } else {
        let body = text.strip_suffix('\n').unwrap_or(text);
        body.bytes().filter(|&c| c == b'\n').count() as u64 + 1
    };
    assert_eq!(n, expected);
});
