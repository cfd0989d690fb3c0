//! Log records: one per log entry, with continuation lines folded in.
//!
//! The shared CBS/DISM/Panther grammar lives in [`panther`]; setupapi,
//! SetupDiag and WindowsUpdate.log have small parsers of their own.

pub mod panther;
pub mod setupapi;
pub mod setupdiag;
pub mod wulog;

use jiff::civil::DateTime;
use std::sync::Arc;

/// One log entry as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number of the entry's first line in its source.
    pub line: u64,
    /// Local wall-clock time the entry was written, when the log gives one.
    pub time: Option<DateTime>,
    /// `Info`, `Error`, `Warning`, ... as written (setupapi: `!`/`!!!` become Warning/Error).
    pub level: Option<String>,
    /// CBS, CSI, DISM, MOUPG, SP, ... ; `None` when the column is blank.
    pub component: Option<String>,
    /// The entry's text: for line-oriented logs, the line after the prefix
    /// (continuation lines are not included, so evidence quotes one line),
    /// cut at [`MAX_MESSAGE_BYTES`] in setupapi and WindowsUpdate.log records.
    pub message: String,
    /// The enclosing section, for logs that have them (setupapi `[title]`):
    /// shared by every record of the section, never copied per line.
    pub section: Option<Arc<str>>,
}

/// A record's message is cut here (on a character boundary): evidence is
/// quoted from the line itself, and a record per 24 MiB line of a hostile
/// log doubled the memory of a chunk.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// `message` as a record keeps it: at most [`MAX_MESSAGE_BYTES`].
pub(crate) fn message_text(message: &str) -> String {
    let mut end = message.len().min(MAX_MESSAGE_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    // A cut can end in whitespace: messages are trimmed.
    message[..end].trim_end().to_string()
}

impl Record {
    pub fn new(line: u64, message: impl Into<String>) -> Record {
        Record { line, time: None, level: None, component: None, message: message.into(), section: None }
    }
}

/// Parse exactly two ASCII digits at `b[i..i+2]`.
#[inline]
pub(crate) fn two(b: &[u8], i: usize) -> Option<i8> {
    let (x, y) = (*b.get(i)?, *b.get(i + 1)?);
    if x.is_ascii_digit() && y.is_ascii_digit() {
        Some(((x - b'0') * 10 + (y - b'0')) as i8)
    } else {
        None
    }
}

/// Parse an ASCII decimal of 1..=max_len digits at `b[i..]`; returns value and length.
#[inline]
pub(crate) fn digits(b: &[u8], i: usize, max_len: usize) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    let mut n = 0;
    while n < max_len {
        match b.get(i + n) {
            Some(c) if c.is_ascii_digit() => {
                v = v * 10 + u32::from(c - b'0');
                n += 1;
            }
            _ => break,
        }
    }
    (n > 0).then_some((v, n))
}

/// `YYYY-MM-DD hh:mm:ss` (CBS, DISM, Panther: `date_sep` is `-`) or
/// `YYYY/MM/DD hh:mm:ss` (setupapi: `/`) at the start of `b`, with an
/// optional fraction of 1 to 9 digits (`.fff`); returns the time and the byte
/// length consumed. Impossible dates and times (`2024-02-30`) are refused.
pub(crate) fn date_time(b: &[u8], date_sep: u8) -> Option<(DateTime, usize)> {
    if b.len() < 19 || b[4] != date_sep || b[7] != date_sep || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, 4) = digits(b, 0, 4)? else {
        return None;
    };
    let mo = two(b, 5)?;
    let d = two(b, 8)?;
    let h = two(b, 11)?;
    let mi = two(b, 14)?;
    let s = two(b, 17)?;
    let mut len = 19;
    let mut nanos = 0u32;
    if b.get(19) == Some(&b'.') {
        if let Some((frac, n)) = digits(b, 20, 9) {
            nanos = frac * 10u32.pow(9 - n as u32);
            len = 20 + n;
        }
    }
    let t = datetime(y, mo as u32, d as u32, h as u32, mi as u32, s as u32, nanos)?;
    Some((t, len))
}

/// Build a civil date-time, rejecting impossible values instead of panicking.
pub(crate) fn datetime(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> Option<DateTime> {
    let y = i16::try_from(y).ok()?;
    DateTime::new(
        y,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(mi).ok()?,
        i8::try_from(s).ok()?,
        i32::try_from(nanos).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod message_tests {
    use super::*;

    /// The fuzzer's find: a cut that ends on a tab left the message untrimmed.
    #[test]
    fn a_cut_message_is_trimmed() {
        let text = format!("{}\tmore", "x".repeat(MAX_MESSAGE_BYTES - 1));
        assert_eq!(message_text(&text), "x".repeat(MAX_MESSAGE_BYTES - 1));
        let wide = format!("{}\u{e9}", "y".repeat(MAX_MESSAGE_BYTES - 1));
        assert_eq!(message_text(&wide).len(), MAX_MESSAGE_BYTES - 1, "cut on a character boundary");
    }
}
