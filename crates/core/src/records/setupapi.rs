//! setupapi.dev.log / setupapi.setup.log (Vista and later) and the legacy
//! setupapi.log (Windows 2000/XP):
//!
//! ```text
//! [Device Install Log]
//!      OS Version = 10.0.22621
//! [Boot Session: 2024/03/13 11:08:42.008]
//!
//! >>>  [Install Driver Updates]
//! >>>  Section start 2024/04/09 23:20:50.348
//!       cmd: C:\WINDOWS\winsxs\...\TiWorker.exe -Embedding
//!      sto: {Publish Driver Package: C:\...\c_image.inf} 23:20:52.341
//! !    inf: Needed section [PciASPMOptIn] not found.               (warning)
//! !!!  sto:      Unable to load INF: 'C:\...\ntprint4.inf'(00000003) (error)
//! <<<  Section end 2024/04/09 23:21:10.915
//! <<<  [Exit status: FAILURE(0x00000003)]
//!
//! [2025/11/27 22:13:36 180.12]                                     (legacy header)
//! [2006/06/14 10:24:51 1272.3 Driver Install]                      (legacy header)
//! #E361 An unsigned or incorrectly signed file ...                 (XP error)
//! ```
//!
//! Every non-blank line becomes one record (lines holding only whitespace or
//! NUL padding are blank). Section bookkeeping is tolerant: a new `>>>  [`
//! header or a `[Boot Session:` line closes a section that never ended, and
//! after `<<<  Section end` the first line that is not a `<<<` line closes it.

use super::{date_time, digits, Record};
use jiff::civil::DateTime;
use std::sync::Arc;

/// Section titles longer than this (in characters) are cut, and say so:
/// real titles are a path at most; every record of a section shares it.
pub const MAX_TITLE_CHARS: usize = 2000;

/// Parse setupapi.dev.log / setupapi.setup.log (and tolerate the legacy setupapi.log).
///
/// One [`Record`] per non-blank line, inside or outside sections:
/// `time` is the enclosing section's start time (or the boot session / legacy
/// header time outside a section), `level` is `Error` for `!!!` lines,
/// `Warning` for `!` lines and `Info` otherwise, `component` is the 3-letter
/// area (`sto`, `inf`, `flq`, ...), `message` is the text after the area and its
/// indentation, and `section` the full title of the enclosing `>>>  [title]`.
/// Section header/start/end/exit-status lines are records of that section too,
/// with the `>>>`/`<<<` marker removed from the message.
pub fn parse(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    // The section being read: title (shared by its records) and start time.
    let mut section: Option<Arc<str>> = None;
    let mut section_time: Option<DateTime> = None;
    // `<<<  Section end` seen: the section closes before the next non-`<<<` line.
    let mut ending = false;
    // Boot session / legacy header time, for lines outside sections.
    let mut outside_time: Option<DateTime> = None;

    let mut lines = text.split('\n').peekable();
    let mut no: u64 = 0;
    while let Some(raw) = lines.next() {
        no += 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = trim(line);
        if t.is_empty() {
            continue;
        }

        if let Some(rest) = t.strip_prefix(">>>") {
            let rest = trim(rest);
            if let Some(title) = rest.strip_prefix('[') {
                // A new section; one that never ended is closed implicitly.
                let title = match title.rfind(']') {
                    Some(close) => &title[..close],
                    None => title,
                };
                section = Some(shared_title(title));
                ending = false;
                // Its start time is on the next line; the header gets it too.
                section_time = lines
                    .peek()
                    .and_then(|next| trim(next).strip_prefix(">>>"))
                    .and_then(|next| section_start_time(trim(next)));
                let time = section_time.or(outside_time);
                out.push(marker_record(no, time, rest, section.as_ref()));
            } else if section.is_some() {
                if let Some(start) = section_start_time(rest) {
                    section_time = Some(start);
                }
                let time = section_time.or(outside_time);
                out.push(marker_record(no, time, rest, section.as_ref()));
            } else {
                // A stray start line outside any section.
                let time = section_start_time(rest).or(outside_time);
                out.push(marker_record(no, time, rest, None));
            }
            continue;
        }

        if let Some(rest) = t.strip_prefix("<<<") {
            let rest = trim(rest);
            let time = if section.is_some() { section_time.or(outside_time) } else { outside_time };
            out.push(marker_record(no, time, rest, section.as_ref()));
            if rest.starts_with("Section end") {
                ending = true;
            } else if rest.starts_with("[Exit status") {
                section = None;
                section_time = None;
                ending = false;
            }
            continue;
        }

        if ending {
            section = None;
            section_time = None;
            ending = false;
        }

        if let Some(boot) = t.strip_prefix("[Boot Session:") {
            // A boot session line cannot be inside a section: close any open one.
            section = None;
            section_time = None;
            outside_time = date_time(trim(boot).as_bytes(), b'/').map(|(dt, _)| dt);
            out.push(plain_record(no, outside_time, "Info", None, t, None));
            continue;
        }

        if let Some(head) = legacy_header_time(t) {
            outside_time = Some(head);
            out.push(plain_record(no, outside_time, "Info", None, t, section.as_ref()));
            continue;
        }

        let time = if section.is_some() { section_time.or(outside_time) } else { outside_time };
        let (level, component, message) = split_line(t);
        out.push(plain_record(no, time, level, component, message, section.as_ref()));
    }
    out
}

/// The number of records [`parse`] returns for `text` (its non-blank lines), without allocating.
pub fn count_records(text: &str) -> u64 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n').filter(|l| !trim(l).is_empty()).count() as u64
}

/// True when `text` looks like a setupapi log: a `[Device Install Log]` or
/// `[SetupAPI Log]` header, a `>>>  [` section line, a `[Boot Session:` line or a
/// legacy `[YYYY/MM/DD hh:mm:ss pid.tid]` header among its first non-blank lines.
pub fn looks_like(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n').map(trim).filter(|l| !l.is_empty()).take(8).any(|l| {
        l.starts_with("[Device Install Log]")
            || l.starts_with("[SetupAPI Log]")
            || l.starts_with("[Boot Session:")
            || (l.starts_with(">>>") && trim(&l[3..]).starts_with('['))
            || legacy_header_time(l).is_some()
    })
}

/// Trim whitespace (including a trailing `\r`) and NUL padding.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

/// A section title as its records share it, cut at [`MAX_TITLE_CHARS`].
fn shared_title(title: &str) -> Arc<str> {
    match title.char_indices().nth(MAX_TITLE_CHARS) {
        None => Arc::from(title),
        Some((i, _)) => Arc::from(format!("{}… [title cut at {MAX_TITLE_CHARS} characters]", &title[..i])),
    }
}

fn marker_record(line: u64, time: Option<DateTime>, message: &str, section: Option<&Arc<str>>) -> Record {
    plain_record(line, time, "Info", None, message, section)
}

fn plain_record(
    line: u64,
    time: Option<DateTime>,
    level: &str,
    component: Option<&str>,
    message: &str,
    section: Option<&Arc<str>>,
) -> Record {
    Record {
        line,
        time,
        level: Some(level.to_string()),
        component: component.map(str::to_string),
        message: super::message_text(message),
        section: section.cloned(),
    }
}

/// Split a trimmed body line into level, area and message.
fn split_line(t: &str) -> (&'static str, Option<&str>, &str) {
    let b = t.as_bytes();
    let bangs = b.iter().take_while(|&&c| c == b'!').count();
    let level = match bangs {
        0 => legacy_level(b),
        1 | 2 => "Warning",
        _ => "Error",
    };
    let rest = trim(&t[bangs..]);
    let rb = rest.as_bytes();
    if rb.len() >= 4 && rb[..3].iter().all(u8::is_ascii_lowercase) && rb[3] == b':' {
        (level, Some(&rest[..3]), trim(&rest[4..]))
    } else {
        (level, None, rest)
    }
}

/// Windows XP setupapi.log marks lines `#E361` (error), `#W187` (warning), `#-019`, `#I060`.
fn legacy_level(b: &[u8]) -> &'static str {
    let coded = b.len() >= 5 && b[0] == b'#' && b[2..5].iter().all(u8::is_ascii_digit);
    match b.get(1) {
        Some(b'E') if coded => "Error",
        Some(b'W') if coded => "Warning",
        _ => "Info",
    }
}

/// `Section start 2022/02/05 10:51:43.692` (text after the `>>>` marker).
fn section_start_time(rest: &str) -> Option<DateTime> {
    let when = rest.strip_prefix("Section start")?;
    date_time(trim(when).as_bytes(), b'/').map(|(dt, _)| dt)
}

/// Legacy header `[2025/11/27 22:13:36 180.12]` or `[2006/06/14 10:24:51 1272.3 Driver Install]`.
fn legacy_header_time(t: &str) -> Option<DateTime> {
    let b = t.as_bytes();
    if b.first() != Some(&b'[') || b.last() != Some(&b']') {
        return None;
    }
    let (dt, n) = date_time(&b[1..], b'/')?;
    // Then ` pid.tid`.
    let i = 1 + n;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    let (_, p) = digits(b, i + 1, 9)?;
    (b.get(i + 1 + p) == Some(&b'.')).then_some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    const DEV_LOG: &str = "[Device Install Log]\r
     OS Version = 10.0.22621\r
     Architecture = amd64\r
\r
[BeginLog]\r
\r
[Boot Session: 2024/03/13 11:08:42.008]\r
\r
>>>  [Install Driver Updates]\r
>>>  Section start 2024/04/09 23:20:50.348\r
      cmd: C:\\WINDOWS\\winsxs\\amd64_microsoft-windows-servicingstack\\TiWorker.exe -Embedding\r
     sto: Driver Updates     = 2\r
     sto: {Publish Driver Package: C:\\WINDOWS\\System32\\DriverStore\\FileRepository\\c_image.inf_amd64_df935a19aefeb1eb\\c_image.inf} 23:20:52.341\r
!    inf: Needed section [PciASPMOptIn] not found.\r
!!!  sto:      Unable to load INF: 'C:\\Windows\\System32\\DriverStore\\FileRepository\\ntprint4.inf_amd64_0123456789abcdef\\ntprint4.inf'(00000003)\r
!!!  sto:      Error = 0x00000003\r
<<<  Section end 2024/04/09 23:21:10.915\r
<<<  [Exit status: FAILURE(0x00000003)]\r
\r
\r
     dvi: A line between sections\r
>>>  [Setup Import Driver Package - C:\\Windows\\system32\\spool\\tools\\Microsoft Print To PDF\\prnms009.Inf]\r
>>>  Section start 2024/04/10 08:00:01.001\r
     inf: Provider: Microsoft\r
<<<  Section end 2024/04/10 08:00:02.500\r
<<<  [Exit status: SUCCESS]\r
\r
[Boot Session: 2024/04/11 07:00:00.000]\r
";

    #[test]
    fn dev_log_failing_section() {
        let recs = parse(DEV_LOG);
        assert_eq!(recs.len() as u64, count_records(DEV_LOG));
        assert_eq!(recs.len(), 22);

        let err = recs.iter().find(|r| r.message.starts_with("Unable to load INF")).unwrap();
        assert_eq!(err.line, 15);
        assert_eq!(err.level.as_deref(), Some("Error"));
        assert_eq!(err.component.as_deref(), Some("sto"));
        assert_eq!(
            err.message,
            "Unable to load INF: 'C:\\Windows\\System32\\DriverStore\\FileRepository\\ntprint4.inf_amd64_0123456789abcdef\\ntprint4.inf'(00000003)"
        );
        assert_eq!(err.section.as_deref(), Some("Install Driver Updates"));
        assert_eq!(err.time, Some(dt("2024-04-09T23:20:50.348")));

        let code = &recs[recs.iter().position(|r| r.line == 16).unwrap()];
        assert_eq!(code.message, "Error = 0x00000003");
        assert_eq!(code.level.as_deref(), Some("Error"));

        let warn = recs.iter().find(|r| r.line == 14).unwrap();
        assert_eq!(warn.level.as_deref(), Some("Warning"));
        assert_eq!(warn.component.as_deref(), Some("inf"));
        assert_eq!(warn.message, "Needed section [PciASPMOptIn] not found.");

        let cmd = recs.iter().find(|r| r.line == 11).unwrap();
        assert_eq!(cmd.component.as_deref(), Some("cmd"));
        assert_eq!(cmd.level.as_deref(), Some("Info"));
        assert!(cmd.message.starts_with("C:\\WINDOWS\\winsxs"));

        // Header, start, end and exit status lines belong to the section.
        let header = recs.iter().find(|r| r.line == 9).unwrap();
        assert_eq!(header.message, "[Install Driver Updates]");
        assert_eq!(header.section.as_deref(), Some("Install Driver Updates"));
        assert_eq!(header.time, Some(dt("2024-04-09T23:20:50.348")));
        assert_eq!(header.component, None);
        let start = recs.iter().find(|r| r.line == 10).unwrap();
        assert_eq!(start.message, "Section start 2024/04/09 23:20:50.348");
        let exit = recs.iter().find(|r| r.line == 18).unwrap();
        assert_eq!(exit.message, "[Exit status: FAILURE(0x00000003)]");
        assert_eq!(exit.section.as_deref(), Some("Install Driver Updates"));
        assert_eq!(exit.time, Some(dt("2024-04-09T23:20:50.348")));
    }

    #[test]
    fn outside_sections_and_boot_sessions() {
        let recs = parse(DEV_LOG);
        let first = &recs[0];
        assert_eq!((first.line, first.message.as_str()), (1, "[Device Install Log]"));
        assert_eq!(first.time, None);
        assert_eq!(first.section, None);
        let os = &recs[1];
        assert_eq!(os.message, "OS Version = 10.0.22621");
        assert_eq!(os.component, None);

        let boot = recs.iter().find(|r| r.line == 7).unwrap();
        assert_eq!(boot.message, "[Boot Session: 2024/03/13 11:08:42.008]");
        assert_eq!(boot.time, Some(dt("2024-03-13T11:08:42.008")));

        let between = recs.iter().find(|r| r.line == 21).unwrap();
        assert_eq!(between.message, "A line between sections");
        assert_eq!(between.component.as_deref(), Some("dvi"));
        assert_eq!(between.section, None);
        assert_eq!(between.time, Some(dt("2024-03-13T11:08:42.008")));

        let import = recs.iter().find(|r| r.line == 24).unwrap();
        assert_eq!(
            import.section.as_deref(),
            Some("Setup Import Driver Package - C:\\Windows\\system32\\spool\\tools\\Microsoft Print To PDF\\prnms009.Inf")
        );
        assert_eq!(import.time, Some(dt("2024-04-10T08:00:01.001")));
        assert_eq!(import.message, "Provider: Microsoft");

        let last = recs.last().unwrap();
        assert_eq!(last.line, 28);
        assert_eq!(last.time, Some(dt("2024-04-11T07:00:00")));
        assert_eq!(last.section, None);
    }

    #[test]
    fn unterminated_sections_are_closed() {
        let text = ">>>  [Device Install - A]\n\
                    >>>  Section start 2024/01/01 10:00:00.000\n\
                    \x20    ndv: crashed here\n\
                    >>>  [Device Install - B]\n\
                    \x20    ndv: in B\n\
                    <<<  Section end 2024/01/01 10:00:05.000\n\
                    \x20    ndv: after B\n\
                    [Boot Session: 2024/01/02 09:00:00.000]\n\
                    >>>  [Device Install - C]\n\
                    >>>  Section start 2024/01/02 09:00:01.000\n\
                    [Boot Session: 2024/01/03 09:00:00.000]\n\
                    after boot\n";
        let recs = parse(text);
        assert_eq!(recs.len(), 12);
        assert_eq!(recs[2].section.as_deref(), Some("Device Install - A"));
        assert_eq!(recs[4].section.as_deref(), Some("Device Install - B"));
        // B has no start line and no boot session before it.
        assert_eq!(recs[4].time, None);
        assert_eq!(recs[5].section.as_deref(), Some("Device Install - B"));
        assert_eq!(recs[6].section, None);
        assert_eq!(recs[6].message, "after B");
        assert_eq!(recs[9].section.as_deref(), Some("Device Install - C"));
        assert_eq!(recs[11].section, None);
        assert_eq!(recs[11].time, Some(dt("2024-01-03T09:00:00")));
    }

    #[test]
    fn legacy_setupapi_log() {
        let text = "[2025/11/27 22:13:36 180.12]\r\n\
                    Munged cmdline: setup -newsetup\r\n\
                    EXE name: C:\\WINNT\\system32\\setup.exe\r\n\
                    [2025/11/27 22:15:10 180.1413 Driver Install]\r\n\
                    #-019 Searching for hardware ID(s): pci\\ven_8086\r\n\
                    #W187 Install failed, attempting to restore original files.\r\n\
                    #E361 An unsigned or incorrectly signed file was found.\r\n\
                    \0\0\0\0\0\0\0\0\0";
        assert!(looks_like(text));
        let recs = parse(text);
        assert_eq!(recs.len(), 7);
        assert_eq!(count_records(text), 7);
        assert_eq!(recs[0].time, Some(dt("2025-11-27T22:13:36")));
        assert_eq!(recs[0].message, "[2025/11/27 22:13:36 180.12]");
        assert_eq!(recs[1].message, "Munged cmdline: setup -newsetup");
        assert_eq!(recs[1].component, None);
        assert_eq!(recs[2].component, None);
        assert_eq!(recs[4].time, Some(dt("2025-11-27T22:15:10")));
        assert_eq!(recs[4].level.as_deref(), Some("Info"));
        assert_eq!(recs[5].level.as_deref(), Some("Warning"));
        assert_eq!(recs[6].level.as_deref(), Some("Error"));
        assert_eq!(recs[6].line, 7);
        assert!(recs.iter().all(|r| r.section.is_none()));
    }

    #[test]
    fn looks_like_variants() {
        assert!(looks_like(DEV_LOG));
        assert!(looks_like("\u{feff}>>>  [Install Driver Updates]\n"));
        assert!(looks_like("\n\n[Boot Session: 2024/03/13 11:08:42.008]\n"));
        assert!(looks_like("[SetupAPI Log]\nOS Version = 5.1.2600 Service Pack 2\n"));
        assert!(!looks_like("2017-12-06 15:30:46, Info                  CBS    x\n"));
        assert!(!looks_like("[2025/11/27 22:13:36]\n"));
        assert!(!looks_like(""));
        assert!(!looks_like(">>>"));
    }

    #[test]
    fn odd_lines() {
        let recs = parse("!!!\n!\n>>>\n<<<\n>>>  [\n>>>  [Unclosed title\n!!!  abc:\nsto:x\n\r\r\n");
        assert_eq!(recs.len(), 8);
        assert_eq!(recs[0].message, "");
        assert_eq!(recs[0].level.as_deref(), Some("Error"));
        assert_eq!(recs[4].section.as_deref(), Some(""));
        assert_eq!(recs[5].section.as_deref(), Some("Unclosed title"));
        assert_eq!(recs[6].component.as_deref(), Some("abc"));
        assert_eq!(recs[6].message, "");
        assert_eq!(recs[7].component.as_deref(), Some("sto"));
        assert_eq!(recs[7].message, "x");
        // A lone '\r' line that is not blank after stripping one '\r' is still blank.
        assert_eq!(count_records("\r\r\n \t\n\0\n"), 0);
    }

    /// A huge title is cut (and says so), and its section's records share
    /// it: 6,000 lines under a 1 MiB title once cost 6 GB.
    #[test]
    fn a_huge_section_title_is_cut_and_shared() {
        let mut text = format!(">>>  [{}]\n>>>  Section start 2024/04/09 23:20:50.348\n", "é".repeat(1 << 19));
        text.push_str(&"!!!  sto:      Unable to load INF: 'C:\\x\\a.inf'(00000003)\n".repeat(6_000));
        text.push_str("<<<  Section end 2024/04/09 23:21:10.915\n>>>  [Short]\n     inf: x\n");
        let recs = parse(&text);
        assert_eq!(recs.len(), 6_005);
        let title = recs[2].section.clone().unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS + " [title cut at 2000 characters]".chars().count() + 1);
        assert!(title.starts_with("éé") && title.ends_with("é… [title cut at 2000 characters]"), "{}", &title[..20]);
        assert!(recs[..6_003].iter().all(|r| r.section.as_ref().is_some_and(|s| Arc::ptr_eq(s, &title))));
        assert_eq!(recs[6_004].section.as_deref(), Some("Short"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet: &[u8] = b">>><<<[]!:/ .0123456789\r\n\tsto: Section start 2024/01/02 03:04:05.678 \xc3\xa9\xff\0";
        for round in 0..400 {
            let len = (round * 7) % 300;
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
            let recs = parse(&text);
            assert_eq!(recs.len() as u64, count_records(&text));
            let _ = looks_like(&text);
        }
        // A record keeps at most 4 KiB of its line, cut on a character boundary.
        let huge = format!("!!!  sto: {}\n", "\u{20ac}".repeat(1 << 20));
        let m = &parse(&huge)[0].message;
        assert!(m.len() <= crate::records::MAX_MESSAGE_BYTES && m.len() > crate::records::MAX_MESSAGE_BYTES - 3);
        assert!(m.chars().all(|c| c == '\u{20ac}'));
    }
}
