//! Bytes to text: BOM sniffing (UTF-8, UTF-16LE/BE), a BOM-less UTF-16
//! sniff, else UTF-8 with a Windows-1252 fallback for invalid bytes. One
//! bad byte never loses a file; what was repaired is reported.
//!
//! Line endings are left alone except a lone CR (not followed by LF), which
//! becomes LF so that every later stage splits lines on LF only.

use std::borrow::Cow;

/// How a source's bytes were turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Valid UTF-8 except for some bytes read as Windows-1252.
    Utf8WithCp1252,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Utf8WithCp1252 => "utf-8+windows-1252",
        }
    }
}

/// Decoded text plus what had to be repaired to get it.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub encoding: Encoding,
    /// Human-readable notes: replaced sequences, odd trailing byte, etc.
    pub warnings: Vec<String>,
}

/// The encoding of a source, from its first bytes: BOM, else the UTF-16
/// sniff, else UTF-8. Returns the encoding and the BOM length to skip.
pub fn sniff(head: &[u8]) -> (Encoding, usize) {
    if head.starts_with(b"\xEF\xBB\xBF") {
        (Encoding::Utf8Bom, 3)
    } else if head.starts_with(b"\xFF\xFE") {
        (Encoding::Utf16Le, 2)
    } else if head.starts_with(b"\xFE\xFF") {
        (Encoding::Utf16Be, 2)
    } else {
        match sniff_utf16(head) {
            Some(true) => (Encoding::Utf16Le, 0),
            Some(false) => (Encoding::Utf16Be, 0),
            None => (Encoding::Utf8, 0),
        }
    }
}

/// Decode one chunk of UTF-8 (a stream's piece ending at a line break):
/// invalid bytes read as Windows-1252, lone CRs become LF. Returns the text
/// and how many bytes had to be read as Windows-1252.
pub fn utf8_chunk(bytes: &[u8]) -> (Cow<'_, str>, usize) {
    let mut w = Vec::new();
    let text = utf8_lossy_1252(bytes, &mut w);
    let bad = match w.first() {
        Some(msg) => msg.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(1),
        None => 0,
    };
    (fix_lone_cr(text), bad)
}

/// Decode a whole buffer.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    let mut warnings = Vec::new();
    let (text, encoding): (Cow<'_, str>, Encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (utf8_lossy_1252(rest, &mut warnings), Encoding::Utf8Bom)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (Cow::Owned(utf16(rest, true, &mut warnings)), Encoding::Utf16Le)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (Cow::Owned(utf16(rest, false, &mut warnings)), Encoding::Utf16Be)
    } else if let Some(le) = sniff_utf16(bytes) {
        warnings.push(format!("no byte-order mark; read as UTF-16{}", if le { "LE" } else { "BE" }));
        let enc = if le { Encoding::Utf16Le } else { Encoding::Utf16Be };
        (Cow::Owned(utf16(bytes, le, &mut warnings)), enc)
    } else {
        let before = warnings.len();
        let t = utf8_lossy_1252(bytes, &mut warnings);
        let enc = if warnings.len() > before { Encoding::Utf8WithCp1252 } else { Encoding::Utf8 };
        (t, enc)
    };
    Decoded { text: fix_lone_cr(text), encoding, warnings }
}

/// True for content that is not text in any encoding we read: no BOM,
/// not UTF-16, and a NUL byte near the start.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let bom = head.starts_with(b"\xEF\xBB\xBF") || head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
    // A stray NUL (crash padding) does not make a log binary; many do.
    let nuls = memchr::memchr_iter(0, head).count();
    !bom && sniff_utf16(bytes).is_none() && nuls > 0 && nuls * 100 >= head.len()
}

/// BOM-less UTF-16: ASCII-heavy text has a zero in every other byte.
fn sniff_utf16(b: &[u8]) -> Option<bool> {
    let n = b.len().min(4096) & !1;
    if n < 8 {
        return None;
    }
    let (mut even0, mut odd0) = (0usize, 0usize);
    for pair in b[..n].chunks_exact(2) {
        even0 += usize::from(pair[0] == 0);
        odd0 += usize::from(pair[1] == 0);
    }
    let pairs = n / 2;
    // Demand a strong signal both ways, so that NUL-filled files stay "UTF-8".
    if odd0 * 10 >= pairs * 7 && even0 * 10 <= pairs {
        Some(true)
    } else if even0 * 10 >= pairs * 7 && odd0 * 10 <= pairs {
        Some(false)
    } else {
        None
    }
}

fn utf16(b: &[u8], le: bool, warnings: &mut Vec<String>) -> String {
    let enc = if le { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
    let (text, had_errors) = enc.decode_without_bom_handling(b);
    if had_errors {
        warnings.push(if b.len() % 2 == 1 {
            "odd number of bytes in UTF-16 text (truncated?); invalid units replaced with U+FFFD".to_string()
        } else {
            "invalid UTF-16 (unpaired surrogates) replaced with U+FFFD".to_string()
        });
    }
    text.into_owned()
}

/// UTF-8, reading each invalid byte as Windows-1252 (logs edited or written
/// by ANSI tools mix the two). Borrowed when the input is clean.
fn utf8_lossy_1252<'a>(b: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, str> {
    let mut out: Option<String> = None;
    let mut bad = 0usize;
    let mut first_bad = 0usize;
    let mut pos = 0usize;
    while pos < b.len() {
        // One valid stretch and the invalid sequence after it, validated once.
        let Some(p) = b[pos..].utf8_chunks().next() else { break };
        if p.invalid().is_empty() {
            match out.as_mut() {
                None => return Cow::Borrowed(p.valid()),
                Some(o) => o.push_str(p.valid()),
            }
            break;
        }
        let o = out.get_or_insert_with(|| {
            first_bad = pos + p.valid().len();
            String::with_capacity(b.len() + b.len() / 2)
        });
        o.push_str(p.valid());
        // The whole run of bytes that start no valid UTF-8 sequence (all
        // >= 0x80) goes to the Windows-1252 decoder at once: a call per byte
        // made a file of bad bytes read at tens of MB/s.
        let start = pos + p.valid().len();
        let mut end = start + p.invalid().len();
        while end < b.len() && b[end] >= 0x80 && !starts_utf8(&b[end..]) {
            end += 1;
        }
        push_cp1252(&b[start..end], o);
        bad += end - start;
        pos = end;
    }
    match out {
        None => Cow::Borrowed(""),
        Some(o) => {
            warnings
                .push(format!("{bad} byte(s) not valid UTF-8 read as Windows-1252 (first at byte offset {first_bad})"));
            Cow::Owned(o)
        }
    }
}

/// Appends `run` decoded as Windows-1252.
fn push_cp1252(run: &[u8], out: &mut String) {
    let mut decoder = encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling();
    let mut rest = run;
    loop {
        // At most three UTF-8 bytes per input byte; the decoder writes only
        // into reserved capacity.
        out.reserve(decoder.max_utf8_buffer_length_without_replacement(rest.len()).unwrap_or(3 * rest.len()));
        let (result, read) = decoder.decode_to_string_without_replacement(rest, out, true);
        rest = &rest[read..];
        if matches!(result, encoding_rs::DecoderResult::InputEmpty) || rest.is_empty() {
            break;
        }
    }
}

/// Whether `b` starts with a complete, valid UTF-8 multi-byte sequence.
fn starts_utf8(b: &[u8]) -> bool {
    let width = match b[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return false,
    };
    b.len() >= width && std::str::from_utf8(&b[..width]).is_ok()
}

pub fn fix_lone_cr(text: Cow<'_, str>) -> Cow<'_, str> {
    let b = text.as_bytes();
    let lone = |i: usize| b.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', b).any(lone) {
        return text;
    }
    // Copied in stretches between lone CRs (both ASCII, so every cut is a
    // character boundary): a char-by-char copy made a log with random CRs
    // read at tens of MB/s.
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for i in memchr::memchr_iter(b'\r', b).filter(|&i| lone(i)) {
        out.push_str(&text[from..i]);
        out.push('\n');
        from = i + 1;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// Iterate `(1-based line number, line without its "\r\n" / "\n")`.
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    body.split('\n').enumerate().filter(move |_| !empty).map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_of_bad_bytes_decode_byte_for_byte() {
        let raw = vec![0x80u8; 5000];
        let (text, bad) = utf8_chunk(&raw);
        assert_eq!(bad, 5000);
        assert_eq!(text, "€".repeat(5000));
        // Valid sequences inside a bad stretch stay UTF-8; a truncated one
        // is two Windows-1252 characters.
        let (text, bad) = utf8_chunk(b"a\x80\xc3\xa9\x81\x9f\xe2\x82x\xe2\x82\xac\xff");
        assert_eq!(text, "a€é\u{81}Ÿâ‚x€ÿ");
        assert_eq!(bad, 6);
    }

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        v
    }

    #[test]
    fn plain_utf8_is_borrowed() {
        let d = decode(b"2020-01-01 00:00:00, Info CBS x\r\n");
        assert!(matches!(d.text, Cow::Borrowed(_)));
        assert_eq!(d.encoding, Encoding::Utf8);
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn utf8_bom_stripped() {
        let d = decode("\u{feff}abc".as_bytes());
        assert_eq!(d.text, "abc");
        assert_eq!(d.encoding, Encoding::Utf8Bom);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let s = "2017-12-06 15:30:46, Info    CBS   Doqe: x\r\n";
        let with_bom = utf16le(s, true);
        let d = decode(&with_bom);
        assert_eq!((d.text.as_ref(), d.encoding), (s, Encoding::Utf16Le));
        let without = utf16le(s, false);
        let d = decode(&without);
        assert_eq!((d.text.as_ref(), d.encoding), (s, Encoding::Utf16Le));
        assert_eq!(d.warnings.len(), 1);
        let mut be = vec![0xFE, 0xFF];
        be.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be).text, s);
    }

    #[test]
    fn odd_utf16_and_bad_surrogate_keep_the_rest() {
        let mut b = utf16le("hello world", true);
        b.push(0x41);
        let d = decode(&b);
        assert!(d.text.starts_with("hello world"));
        assert!(d.warnings[0].contains("odd number"));
        let mut b = utf16le("ab", true);
        b.extend([0x00, 0xD8]); // lone high surrogate
        b.extend(utf16le("cd", false));
        let d = decode(&b);
        assert_eq!(d.text, "ab\u{fffd}cd");
    }

    #[test]
    fn cp1252_fallback_for_bad_bytes() {
        let d = decode(b"caf\xE9 ok \x93quoted\x94 \xC3\xA9");
        assert_eq!(d.text, "café ok \u{201c}quoted\u{201d} é");
        assert_eq!(d.encoding, Encoding::Utf8WithCp1252);
        assert!(d.warnings[0].contains("3 byte(s)"));
    }

    #[test]
    fn binary_detection() {
        assert!(looks_binary(b"MSCF\0\0\0\0\x10\x20"));
        assert!(!looks_binary(&utf16le("text", true)));
        assert!(!looks_binary(&utf16le("plain ascii text here", false)));
        assert!(!looks_binary(b"2020-01-01 00:00:00, Info CBS x"));
        let mut one_nul = vec![b'a'; 4000];
        one_nul[100] = 0;
        assert!(!looks_binary(&one_nul));
    }

    #[test]
    fn nul_filled_is_not_utf16() {
        let d = decode(&[0u8; 64]);
        assert_eq!(d.encoding, Encoding::Utf8);
        assert_eq!(d.text.len(), 64);
    }

    #[test]
    fn line_endings() {
        let d = decode(b"a\r\nb\nc\rd\r\n");
        assert_eq!(d.text, "a\r\nb\nc\nd\r\n");
        let got: Vec<_> = lines(&d.text).collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        let got: Vec<_> = lines("x\n\ny").collect();
        assert_eq!(got, vec![(1, "x"), (2, ""), (3, "y")]);
    }
}
