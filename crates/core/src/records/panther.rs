//! The line grammar shared by CBS.log, dism.log, setupact/setuperr and the
//! MoSetup logs:
//!
//! ```text
//! 2017-12-06 15:30:46, Info                  CBS    message
//! 2021-09-27 04:03:44, Info       [0x0601c1] IBS    message      (message-id column)
//! 2021-06-09 12:08:19, Info                         message      (blank component)
//! 2017-12-06 15:30:46, Info    CBS   Doqe: ...                   (collapsed spacing)
//! Error      [0x018003] CSI    00000c71 (F) ...                  (doc excerpt, no time)
//! ```
//!
//! A line that starts with neither a timestamp nor a level continues the
//! entry above it (multi-line CSI and advanced-installer blocks).

use super::{date_time, datetime, digits, Record};
use jiff::civil::DateTime;

/// Levels that may start an entry when a copied excerpt dropped the timestamp.
const LEVELS: [&str; 6] = ["Info", "Error", "Warning", "Perf", "Debug", "Trace"];

/// In the standard layout the level column is 22 wide and the component 7:
/// text that starts this far past the level is a message with a blank component.
const BLANK_COMPONENT_GAP: usize = 29;

/// One parsed entry line, borrowing from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PantherLine<'a> {
    pub time: Option<DateTime>,
    pub level: &'a str,
    /// The `[0xNNNNNN]` message id, without brackets.
    pub msgid: Option<&'a str>,
    pub component: Option<&'a str>,
    pub message: &'a str,
}

impl PantherLine<'_> {
    pub fn to_record(&self, line: u64) -> Record {
        Record {
            line,
            time: self.time,
            level: Some(self.level.to_string()),
            component: self.component.map(str::to_string),
            message: self.message.to_string(),
            section: None,
        }
    }
}

/// A CSI sequence number with its UTC stamp: `00000097@2016/10/19:17:28:37.798`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsiStamp {
    pub seq: u32,
    /// UTC time, when the `@...` part is complete (doc excerpts leave it blank).
    pub utc: Option<DateTime>,
}

/// Parse `YYYY-MM-DD HH:MM:SS` (optionally `.fff`) at the start of `b`;
/// returns the time and the byte length consumed.
pub fn parse_timestamp(b: &[u8]) -> Option<(DateTime, usize)> {
    date_time(b, b'-')
}

/// True when the line begins a new entry (a timestamp, or a bare level word).
#[inline]
pub fn starts_entry(line: &[u8]) -> bool {
    match line.first() {
        Some(c) if c.is_ascii_digit() => parse_timestamp(line).is_some(),
        Some(b'I' | b'E' | b'W' | b'P' | b'D' | b'T') => level_prefix(line).is_some(),
        _ => false,
    }
}

/// A level word at the start, followed by `,`, a space or a tab: returns its length.
fn level_prefix(b: &[u8]) -> Option<usize> {
    LEVELS.iter().find_map(|lv| {
        let n = lv.len();
        (b.len() > n + 1 && &b[..n] == lv.as_bytes() && matches!(b[n], b',' | b' ' | b'\t')).then_some(n)
    })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

fn token_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
        i += 1;
    }
    i
}

fn is_component(tok: &[u8]) -> bool {
    !tok.is_empty()
        && tok.len() <= 16
        && tok.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        && tok.iter().any(|c| c.is_ascii_alphabetic())
}

/// Parse one line; `None` when it continues the entry above.
pub fn parse_line(line: &str) -> Option<PantherLine<'_>> {
    let b = line.as_bytes();
    let (time, mut i) = match parse_timestamp(b) {
        Some((t, n)) => {
            // `, ` after the time; tolerate a missing comma.
            let mut i = n;
            if b.get(i) == Some(&b',') {
                i += 1;
            }
            (Some(t), skip_ws(b, i))
        }
        None => {
            level_prefix(b)?;
            (None, 0)
        }
    };
    let level_start = i;
    let level_end = token_end(b, i);
    let mut level = &line[level_start..level_end];
    if let Some(stripped) = level.strip_suffix(',') {
        level = stripped;
    }
    if level.is_empty() {
        return Some(PantherLine { time, level, msgid: None, component: None, message: "" });
    }
    i = skip_ws(b, level_end);
    let mut msgid = None;
    if b[i..].starts_with(b"[0x") {
        if let Some(close) = b[i..].iter().position(|&c| c == b']') {
            let id = &line[i + 1..i + close];
            if id[2..].bytes().all(|c| c.is_ascii_hexdigit()) {
                msgid = Some(id);
                i = skip_ws(b, i + close + 1);
            }
        }
    }
    let gap = i - level_start;
    let tok_end = token_end(b, i);
    let component = if gap >= BLANK_COMPONENT_GAP || !is_component(&b[i..tok_end]) || tok_end >= b.len() {
        None
    } else {
        let c = &line[i..tok_end];
        i = skip_ws(b, tok_end);
        Some(c)
    };
    Some(PantherLine { time, level, msgid, component, message: line[i..].trim_end() })
}

/// Parse a CSI sequence prefix at the start of a CSI message:
/// `00000097@2016/10/19:17:28:37.798 ...` or `00000c61 ...`.
pub fn parse_csi_stamp(message: &str) -> Option<CsiStamp> {
    let b = message.as_bytes();
    if b.len() < 8 || !b[..8].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let seq = u32::from_str_radix(&message[..8], 16).ok()?;
    let utc = if b.get(8) == Some(&b'@') { parse_csi_utc(&b[9..]) } else { None };
    match b.get(8) {
        None | Some(b' ' | b'@' | b'\t') => Some(CsiStamp { seq, utc }),
        _ => None,
    }
}

/// `2016/10/19:17:28:37.798` with 1- or 2-digit month and day.
fn parse_csi_utc(b: &[u8]) -> Option<DateTime> {
    let (y, n) = digits(b, 0, 4)?;
    let mut i = n;
    let mut next = |sep: u8, max: usize| -> Option<u32> {
        if b.get(i) != Some(&sep) {
            return None;
        }
        let (v, n) = digits(b, i + 1, max)?;
        i += 1 + n;
        Some(v)
    };
    let mo = next(b'/', 2)?;
    let d = next(b'/', 2)?;
    let h = next(b':', 2)?;
    let mi = next(b':', 2)?;
    let s = next(b':', 2)?;
    let ms = next(b'.', 3).unwrap_or(0);
    datetime(y, mo, d, h, mi, s, ms * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    #[test]
    fn standard_cbs_line() {
        let l =
            parse_line("2020-02-03 23:50:28, Info                  CBS    TI: --- Initializing Trusted Installer ---")
                .unwrap();
        assert_eq!(l.time, Some(dt("2020-02-03T23:50:28")));
        assert_eq!(l.level, "Info");
        assert_eq!(l.component, Some("CBS"));
        assert_eq!(l.msgid, None);
        assert_eq!(l.message, "TI: --- Initializing Trusted Installer ---");
    }

    #[test]
    fn error_level_dism_line() {
        let l = parse_line(
            "2023-05-17 08:32:31, Warning               DISM   PID=7092 TID=5908 Failed to archive - X(hr:0x80070002)",
        )
        .unwrap();
        assert_eq!(l.level, "Warning");
        assert_eq!(l.component, Some("DISM"));
        assert!(l.message.starts_with("PID=7092"));
    }

    #[test]
    fn collapsed_spacing_from_docs() {
        let l =
            parse_line("2017-12-06 15:30:46, Info    CBS   Doqe: Recording result: 0x80070003, for Inf: ntprint4.inf")
                .unwrap();
        assert_eq!(l.component, Some("CBS"));
        assert_eq!(l.message, "Doqe: Recording result: 0x80070003, for Inf: ntprint4.inf");
        let l = parse_line("2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing").unwrap();
        assert_eq!(l.level, "Error");
        assert_eq!(l.component, Some("CBS"));
    }

    #[test]
    fn message_id_column() {
        let l =
            parse_line("2021-09-27 04:03:44, Info       [0x0601c1] IBS    InstallWindows:Install Path = C:\\Windows")
                .unwrap();
        assert_eq!(l.msgid, Some("0x0601c1"));
        assert_eq!(l.component, Some("IBS"));
        assert_eq!(l.message, "InstallWindows:Install Path = C:\\Windows");
    }

    #[test]
    fn blank_component() {
        let l = parse_line("2021-06-09 12:08:19, Info                         Starting enumeration of PnP devices.")
            .unwrap();
        assert_eq!(l.component, None);
        assert_eq!(l.message, "Starting enumeration of PnP devices.");
        let l =
            parse_line("2021-09-27 04:03:44, Info                         [setup.exe] OrchestrateUpdateImageState: x")
                .unwrap();
        assert_eq!(l.component, None);
        assert_eq!(l.message, "[setup.exe] OrchestrateUpdateImageState: x");
        // An all-caps first word in a blank-component line is still message.
        let l = parse_line("2025-05-02 15:20:18, Error                        Failed to delete x. hr = 0x80070005")
            .unwrap();
        assert_eq!(l.component, None);
        assert!(l.message.starts_with("Failed"));
    }

    #[test]
    fn setuperr_wide_component() {
        let l = parse_line("2025-05-02 15:20:12, Error                 SP         CProvisioningMigration::DoExecute: ProvMigration failed. Error: 0x80070003[gle=0x0000012a]").unwrap();
        assert_eq!(l.component, Some("SP"));
        assert!(l.message.starts_with("CProvisioningMigration"));
    }

    #[test]
    fn doc_excerpt_without_timestamp() {
        let l = parse_line("Info,\tCSI    00000c61 Begin executing advanced installer phase 38").unwrap();
        assert_eq!(l.time, None);
        assert_eq!(l.level, "Info");
        assert_eq!(l.component, Some("CSI"));
        let l = parse_line("Error      [0x018003] CSI    00000c71 (F) Failed execution").unwrap();
        assert_eq!(l.msgid, Some("0x018003"));
        assert_eq!(l.component, Some("CSI"));
        let l = parse_line("Error CBS    Startup: Failed to process advanced operation queue").unwrap();
        assert_eq!(l.component, Some("CBS"));
        assert!(l.message.starts_with("Startup:"));
    }

    #[test]
    fn continuation_lines() {
        for l in [
            "    Old component: [l:0]''",
            "  (0)  Uninstall: flags: 0 tlc: [x]",
            "[6980] [0x8007007b] FIOReadFileIntoBuffer:(1381): x",
            "",
            " ['The system cannot find the file specified.']",
            "Information is not a level",
            "Error: looks like a level but has a colon",
        ] {
            assert!(parse_line(l).is_none(), "{l:?} must continue the entry above");
            assert!(!starts_entry(l.as_bytes()));
        }
    }

    #[test]
    fn fractional_seconds_and_bad_dates() {
        let (t, n) = parse_timestamp(b"2024-01-02 03:04:05.250, Info").unwrap();
        assert_eq!(t, dt("2024-01-02T03:04:05.25"));
        assert_eq!(n, 23);
        assert!(parse_timestamp(b"2024-13-02 03:04:05, Info").is_none());
        assert!(parse_timestamp(b"2024-02-30 03:04:05, Info").is_none());
        assert!(parse_timestamp(b"2024-02-0").is_none());
        assert!(parse_line("2024-02-02 03:04:05,").is_some());
    }

    #[test]
    fn csi_stamps() {
        let s = parse_csi_stamp("00000097@2016/10/19:17:28:37.798 CSI Transaction").unwrap();
        assert_eq!(s.seq, 0x97);
        assert_eq!(s.utc, Some(dt("2016-10-19T17:28:37.798")));
        let s = parse_csi_stamp("00000001@2016/9/27:20:30:31.455 WcpInitialize").unwrap();
        assert_eq!(s.utc, Some(dt("2016-09-27T20:30:31.455")));
        let s = parse_csi_stamp("00000c6e@ (F) CMIADAPTER").unwrap();
        assert_eq!((s.seq, s.utc), (0xc6e, None));
        let s = parse_csi_stamp("0000000c Performing 3 operations").unwrap();
        assert_eq!((s.seq, s.utc), (12, None));
        assert!(parse_csi_stamp("Loaded Servicing Stack").is_none());
    }
}
