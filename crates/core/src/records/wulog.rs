//! WindowsUpdate.log, both the classic text log (Windows 7/8.1, Server
//! 2008 R2-2012 R2) and the one `Get-WindowsUpdateLog` renders from ETW traces
//! (Windows 10 and later):
//!
//! ```text
//! 2016-10-19<TAB>11:23:47:375<TAB>1532<TAB>1f40<TAB>Handler<TAB>FATAL: UH: 0x80070057: ...
//! 2021-08-28<TAB>03:07:48:216<TAB> 648<TAB>13bc<TAB>Report<TAB>CWERReporter finishing ...
//! 2021/07/13 10:22:58.9553434 3696  8172  Agent           WU client version 10.0.17763.1852
//! 1601/01/01 03:00:00.0000000 1176  3100  Unknown( 10):   GUID=d48679eb-... (No Format Information found).
//! ```
//!
//! Columns are separated by tabs (classic) or runs of spaces (ETW); either is
//! accepted in either format. A line that does not start with a timestamp
//! continues the entry above it and gets no record of its own.

use super::{datetime, digits, two, Record};
use jiff::civil::DateTime;

/// Parse WindowsUpdate.log (either format): one [`Record`] per entry line, with
/// `time` from the date and time columns, `component` the component column,
/// `message` the text after it, and `level` `Error` when the text contains
/// `FATAL` or `*FAILED*`, `Warning` when it contains `WARNING:`, else `Info`.
pub fn parse(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(e) = parse_line(line) {
            out.push(Record {
                line: i as u64 + 1,
                time: Some(e.time),
                level: Some(level_of(e.message).to_string()),
                component: e.component.map(str::to_string),
                message: super::message_text(e.message),
                section: None,
            });
        }
    }
    out
}

/// True when the first non-blank line of `text` is a WindowsUpdate.log entry
/// (timestamp, process and thread ids, component) in either format.
pub fn looks_like(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Judge the first line as `parse` will see it: trailing junk trimmed,
    // leading space kept (an indented line is no entry).
    let Some(first) = text.split('\n').find(|l| !trim(l).is_empty()) else {
        return false;
    };
    parse_line(first.trim_end_matches(|c: char| c.is_whitespace() || c == '\0'))
        .is_some_and(|e| e.component.is_some() && e.pid.bytes().all(|c| c.is_ascii_digit()))
}

/// True when `line` (no line break) starts an entry, as [`parse`] sees it.
pub fn starts_entry(line: &str) -> bool {
    parse_line(line.strip_prefix('\u{feff}').unwrap_or(line)).is_some()
}

/// One entry line, borrowing from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry<'a> {
    time: DateTime,
    pid: &'a str,
    component: Option<&'a str>,
    message: &'a str,
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

fn level_of(message: &str) -> &'static str {
    if message.contains("FATAL") || message.contains("*FAILED*") {
        "Error"
    } else if message.contains("WARNING:") {
        "Warning"
    } else {
        "Info"
    }
}

/// Parse one line; `None` when it does not start an entry.
fn parse_line(line: &str) -> Option<Entry<'_>> {
    let b = line.as_bytes();
    let (time, n) = classic_timestamp(b).or_else(|| etw_timestamp(b))?;
    let mut rest = &line[n..];
    let pid = next_token(&mut rest);
    let _tid = next_token(&mut rest);
    let mut component = next_token(&mut rest);
    // `Unknown( 10):` when the trace had no format information.
    if let Some(c) = component {
        if c.contains('(') && !c.contains(')') {
            if let Some(close) = rest.find(')') {
                rest = &rest[close + 1..];
                rest = rest.strip_prefix(':').unwrap_or(rest);
                component = c.split('(').next().filter(|s| !s.is_empty());
            }
        }
    }
    Some(Entry { time, pid: pid.unwrap_or(""), component, message: trim(rest) })
}

/// Take the next space/tab-separated token from `rest`.
fn next_token<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let s = rest.trim_start_matches([' ', '\t']);
    if s.is_empty() {
        *rest = s;
        return None;
    }
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    *rest = &s[end..];
    Some(&s[..end])
}

/// Classic `2016-10-19<TAB>11:23:47:375` (milliseconds after a third colon).
fn classic_timestamp(b: &[u8]) -> Option<(DateTime, usize)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'\t' | b' ') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    let (y, 4) = digits(b, 0, 4)? else {
        return None;
    };
    let (mo, d, h, mi, s) = (two(b, 5)?, two(b, 8)?, two(b, 11)?, two(b, 14)?, two(b, 17)?);
    let mut len = 19;
    let mut ms = 0;
    if matches!(b.get(19), Some(b':' | b'.')) {
        if let Some((v, n)) = digits(b, 20, 3) {
            ms = v * 10u32.pow(3 - n as u32);
            len = 20 + n;
        }
    }
    let dt = datetime(y, mo as u32, d as u32, h as u32, mi as u32, s as u32, ms * 1_000_000)?;
    Some((dt, len))
}

/// Get-WindowsUpdateLog `2021/07/13 10:22:58.9553434` (100 ns ticks; 1-9 digits accepted).
fn etw_timestamp(b: &[u8]) -> Option<(DateTime, usize)> {
    super::date_time(b, b'/')
}

#[cfg(test)]
mod tests {
    #[test]
    fn looks_like_agrees_with_parse() {
        // Found by fuzzing: an indented first entry was accepted by looks_like
        // but gave no record.
        let t = "  2021/07/13 10:22:58.9553434 3696  8172  Shared          InitializeSus\n";
        assert_eq!(super::looks_like(t), !super::parse(t).is_empty());
    }

    use super::*;

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    const CLASSIC: &str = "2016-10-19\t11:23:47:375\t1532\t2150\tAU\t## START ##  AU: Search for updates\n\
2016-10-19\t11:23:47:375\t1532\t1f40\tAgent\t  * Online = Yes; Ignore download priority = No\n\
2016-10-19\t11:23:58:516\t1532\t1f40\tHandler\tFATAL: UH: 0x80070057: EvaluateApplicability failed in CCbs::EvaluateApplicability\n\
2016-10-19\t11:24:10:002\t1532\t1f40\tAgent\t  * WARNING: Exit code = 0x80070057\n\
a continuation line\n\
\n\
2021-08-28\t03:07:48:216\t 648\t13bc\tReport\tCWERReporter finishing event handling. (00000000)\r\n\
2021-08-28\t03:07:49:5\t 648\t13bc\tAgent\t*FAILED* [80070057] Method failed\r\n";

    const ETW: &str = "2021/07/13 10:22:58.9553434 3696  8172  Shared          InitializeSus\r\n\
2021/07/13 10:22:58.9566922 3696  8172  Agent           WU client version 10.0.17763.1852\r\n\
2021/07/13 10:23:06.3460256 3696  8172  Misc            *FAILED* [8024000C] LoadHistoryEventFromRegistry completed\r\n\
2021/07/13 10:23:07.0000001 3696  8172  ComApi          WARNING: ISusInternal::DisconnectCall failed, hr=8024000C\r\n\
1601/01/01 03:00:00.0000000 1176  3100  Unknown( 10):   GUID=d48679eb-8aa3-4138-be24-f1648c874e49 (No Format Information found).\r\n\
\r\n";

    #[test]
    fn classic_format() {
        assert!(looks_like(CLASSIC));
        let recs = parse(CLASSIC);
        assert_eq!(recs.len(), 6);
        let r = &recs[0];
        assert_eq!(r.line, 1);
        assert_eq!(r.time, Some(dt("2016-10-19T11:23:47.375")));
        assert_eq!(r.component.as_deref(), Some("AU"));
        assert_eq!(r.message, "## START ##  AU: Search for updates");
        assert_eq!(r.level.as_deref(), Some("Info"));
        assert_eq!(recs[1].message, "* Online = Yes; Ignore download priority = No");
        let fatal = &recs[2];
        assert_eq!(fatal.component.as_deref(), Some("Handler"));
        assert_eq!(fatal.level.as_deref(), Some("Error"));
        assert!(fatal.message.starts_with("FATAL: UH: 0x80070057"));
        assert_eq!(recs[3].level.as_deref(), Some("Warning"));
        // The continuation and blank lines make no records; numbering continues.
        let wer = &recs[4];
        assert_eq!(wer.line, 7);
        assert_eq!(wer.component.as_deref(), Some("Report"));
        assert_eq!(wer.message, "CWERReporter finishing event handling. (00000000)");
        assert_eq!(recs[5].time, Some(dt("2021-08-28T03:07:49.5")));
        assert_eq!(recs[5].level.as_deref(), Some("Error"));
        assert!(recs.iter().all(|r| r.section.is_none()));
    }

    #[test]
    fn get_windowsupdatelog_format() {
        assert!(looks_like(ETW));
        let recs = parse(ETW);
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[0].time, Some(dt("2021-07-13T10:22:58.9553434")));
        assert_eq!(recs[0].component.as_deref(), Some("Shared"));
        assert_eq!(recs[0].message, "InitializeSus");
        assert_eq!(recs[1].component.as_deref(), Some("Agent"));
        assert_eq!(recs[1].message, "WU client version 10.0.17763.1852");
        assert_eq!(recs[2].level.as_deref(), Some("Error"));
        assert_eq!(recs[2].line, 3);
        assert_eq!(recs[3].level.as_deref(), Some("Warning"));
        assert_eq!(recs[4].component.as_deref(), Some("Unknown"));
        assert_eq!(recs[4].time, Some(dt("1601-01-01T03:00:00")));
        assert!(recs[4].message.starts_with("GUID=d48679eb"));
    }

    #[test]
    fn truncated_and_odd_lines() {
        let recs = parse("2021/07/13 10:22:58.9553434\n2021/07/13 10:22:58 1 2\n2016-10-19\t11:23:47\n2016-13-19\t11:23:47:375\t1\t2\tAU\tx\n");
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].component, None);
        assert_eq!(recs[0].message, "");
        assert_eq!(recs[1].time, Some(dt("2021-07-13T10:22:58")));
        assert_eq!(recs[1].component, None);
        assert_eq!(recs[2].time, Some(dt("2016-10-19T11:23:47")));
        let recs = parse("2021/07/13 10:22:58.1 1 2 Unknown( 10\n");
        assert_eq!(recs[0].component.as_deref(), Some("Unknown("));
        assert_eq!(recs[0].message, "10");
    }

    #[test]
    fn looks_like_negatives() {
        assert!(!looks_like(""));
        assert!(!looks_like("\n\n   \n"));
        assert!(!looks_like("2017-12-06 15:30:46, Info                  CBS    x\n"));
        assert!(!looks_like(
            "[Boot Session: 2024/03/13 11:08:42.008]\n2021/07/13 10:22:58.9553434 3696  8172  Agent  x\n"
        ));
        assert!(!looks_like("2021/07/13 10:22:58.9553434 abc  8172  Agent  x\n"));
        assert!(looks_like("\u{feff}\r\n2021/07/13 10:22:58.9553434 3696  8172  Agent  x\n"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u64 = 0x1234_5678_9abc_def1;
        let alphabet: &[u8] = b"2021/07/13 10:22:58.9553434\t-:( )FATAL*FAILED*WARNING:\r\n\xc3\xa9\xff\0";
        for round in 0..400 {
            let len = (round * 11) % 300;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let pick = (seed % 4) as usize;
                bytes.push(if pick == 0 {
                    (seed >> 8) as u8
                } else {
                    alphabet[(seed >> 16) as usize % alphabet.len()]
                });
            }
            let text = String::from_utf8_lossy(&bytes);
            for r in parse(&text) {
                assert!(r.time.is_some());
            }
            let _ = looks_like(&text);
        }
        let huge = format!("2021/07/13 10:22:58.9553434 1 2 Agent {}\r", "é".repeat(500_000));
        assert_eq!(parse(&huge).len(), 1);
    }
}
