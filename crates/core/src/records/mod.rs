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
    /// The entry's text: for line-oriented logs, the whole line after the
    /// prefix (continuation lines are not included, so evidence quotes one line).
    pub message: String,
    /// The enclosing section, for logs that have them (setupapi `[title]`):
    /// shared by every record of the section, never copied per line.
    pub section: Option<Arc<str>>,
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
