//! SetupDiag results, in either of the forms it writes.
//!
//! XML (`SetupDiagResults.xml`, UTF-16 on disk, declaration says `utf-16`):
//!
//! ```text
//! <SetupDiag xmlns="https://docs.microsoft.com/windows/deployment/upgrade/setupdiag">
//!   <ProfileName>FindSPFatalError</ProfileName>
//!   <SystemInfo><HostOSVersion>10.0.18908</HostOSVersion>...</SystemInfo>
//!   <LogErrorLine>2019-06-06 21:47:11, Error  SP  Error converting ...</LogErrorLine>
//!   <FailureData>LogEntry: ...</FailureData>          (repeated)
//!   <FailureDetails>Err = 0x00000057, LastOperation = ..., LastPhase = Downlevel</FailureDetails>
//! </SetupDiag>
//! ```
//!
//! Text (`SetupDiagResults.log`):
//!
//! ```text
//! Matching Profile found: FindRollbackFailure - 3A43C9B5-05B3-4F7C-A955-88F991BB5A48
//! SetupDiag version: 1.6.2107.27002
//! System Information:
//! <TAB>Machine Name = DESKTOP-1
//! <TAB>HostOSVersion =
//! Error: SetupDiag reports rollback failure found.
//! Last Phase = Safe OS
//! Error = 0x8007000D-0x2000C
//! LogEntry: 2023-05-23 00:32:46, Error   SP   ExecuteOperations: ... Error: 0x8007000D
//! Last Setup Phase:
//! Phase Name: Safe OS
//! <TAB>Completed Successfully? False
//! ```

use super::Record;
use jiff::civil::DateTime;

/// Flattened SetupDiag results: `(key, value, 1-based line)` in document order.
///
/// XML keys are element paths below the root joined with `.` (namespace
/// dropped): `ProfileName`, `SystemInfo.HostOSVersion`, `FailureData` (one entry
/// per repeated element). Text keys are as written (`Error`, `LogEntry`,
/// `Last Phase`, ...), `SystemInfo.Key` for the indented lines under
/// `System Information:`, `LastSetupPhase.Phase Name`-style keys inside the
/// `Last Setup Phase:`/`Last Setup Operation:` blocks, `ProfileName` and
/// `ProfileGuid` from `Matching Profile found:`, `Version` from the SetupDiag
/// version line, and `Text` for free-text lines that have no key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupDiag {
    pub entries: Vec<(String, String, u64)>,
}

/// Longest XML key kept (element paths nested deeper are cut to this many bytes).
const MAX_KEY_LEN: usize = 1024;

/// Parse SetupDiag XML results. The XML declaration is skipped (its
/// `encoding="utf-16"` is ignored: `text` is already decoded).
/// Malformed XML gives an error naming the line and column.
pub fn parse_xml(text: &str) -> Result<SetupDiag, String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = body.trim_start();
    // Skip the declaration, keeping track of what was cut so positions stay true.
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => match rest.find("?>") {
            Some(end) => &rest[end + 2..],
            None => return Err(error_at(text, text.len(), "unterminated XML declaration")),
        },
        None => body,
    };
    let cut = text.len() - body.len();
    let cut_line = text[..cut].bytes().filter(|&c| c == b'\n').count() as u64;

    let doc = match roxmltree::Document::parse(body) {
        Ok(doc) => doc,
        Err(e) => {
            let pos = e.pos();
            let row = u64::from(pos.row) + cut_line;
            let mut col = u64::from(pos.col);
            if pos.row == 1 {
                let last_line_start = text[..cut].rfind('\n').map_or(0, |i| i + 1);
                col += text[last_line_start..cut].chars().count() as u64;
            }
            return Err(format!("SetupDiag XML is malformed at line {row}, column {col}: {e}"));
        }
    };

    let root = doc.root_element();
    let mut entries = Vec::new();
    // Path of the element being visited, and the stack of open ancestors with
    // the path length each had.
    let mut path = String::new();
    let mut stack: Vec<(roxmltree::NodeId, usize)> = Vec::new();
    // Line counting is incremental: nodes come in document order.
    let (mut counted_to, mut line) = (0usize, 1 + cut_line);

    for node in root.descendants().filter(|n| n.is_element()) {
        if node == root {
            continue;
        }
        let parent = node.parent_element().map(|p| p.id());
        while let Some(&(id, len)) = stack.last() {
            if Some(id) == parent {
                break;
            }
            stack.pop();
            path.truncate(len);
        }
        // Leaving this element later truncates the path back to its parent's.
        let parent_len = path.len();
        if !stack.is_empty() {
            path.push('.');
        }
        path.push_str(node.tag_name().name());
        stack.push((node.id(), parent_len));

        if node.first_element_child().is_some() {
            continue;
        }
        let start = node.range().start.min(body.len());
        line += body.as_bytes()[counted_to.min(start)..start].iter().filter(|&&c| c == b'\n').count() as u64;
        counted_to = counted_to.max(start);

        let mut value = String::new();
        for t in node.children().filter_map(|c| c.text().filter(|_| c.is_text())) {
            value.push_str(t);
        }
        let value = value.trim();
        // Keys of absurdly deep documents are cut, so each costs bounded time.
        let mut key_len = path.len().min(MAX_KEY_LEN);
        while !path.is_char_boundary(key_len) {
            key_len -= 1;
        }
        entries.push((path[..key_len].to_string(), value.to_string(), line));
    }
    if entries.is_empty() && root.first_element_child().is_none() {
        // `<SetupDiag>text</SetupDiag>`: keep what there is.
        let value: String = root.children().filter_map(|c| c.text().filter(|_| c.is_text())).collect();
        let value = value.trim();
        if !value.is_empty() {
            let start = root.range().start.min(body.len());
            let line = 1 + cut_line + body.as_bytes()[..start].iter().filter(|&&c| c == b'\n').count() as u64;
            entries.push((root.tag_name().name().to_string(), value.to_string(), line));
        }
    }
    Ok(SetupDiag { entries })
}

fn error_at(text: &str, pos: usize, what: &str) -> String {
    let before = &text[..pos];
    let row = 1 + before.bytes().filter(|&c| c == b'\n').count();
    let col = 1 + before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    format!("SetupDiag XML is malformed at line {row}, column {col}: {what}")
}

/// Which block of the text form the parser is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block<'a> {
    None,
    /// `System Information:` — indented `Key = Value` lines.
    SystemInfo,
    /// `Last Setup Phase:` and the like, until a blank line; holds the key prefix title.
    Titled(&'a str),
}

/// Parse SetupDiag text results (`SetupDiagResults.log`). Never fails: lines
/// that match nothing known are kept as `Text` entries.
pub fn parse_text(text: &str) -> SetupDiag {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    let mut block = Block::None;
    for (i, raw) in text.split('\n').enumerate() {
        let no = i as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = line.trim();
        if t.is_empty() {
            block = Block::None;
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if block == Block::SystemInfo && !indented {
            block = Block::None;
        }

        if let Some(rest) = t.strip_prefix("Matching Profile found:") {
            let rest = rest.trim();
            let (name, guid) = match rest.rfind(" - ") {
                Some(at) => (rest[..at].trim(), Some(rest[at + 3..].trim())),
                None => (rest, None),
            };
            entries.push(("ProfileName".to_string(), name.to_string(), no));
            if let Some(guid) = guid {
                entries.push(("ProfileGuid".to_string(), guid.to_string(), no));
            }
            block = Block::None;
            continue;
        }
        if let Some(version) = setupdiag_version(t) {
            entries.push(("Version".to_string(), version.to_string(), no));
            continue;
        }

        let (key, value) = match split_key_value(t) {
            Some((key, value)) => (key, value),
            None => {
                entries.push(("Text".to_string(), t.to_string(), no));
                continue;
            }
        };
        if value.is_empty() && !indented && t.ends_with(':') {
            // A block title: `System Information:`, `Last Setup Phase:`, ...
            block = if key == "System Information" { Block::SystemInfo } else { Block::Titled(key) };
            continue;
        }
        let key = match block {
            Block::SystemInfo => format!("SystemInfo.{key}"),
            Block::Titled(title) => {
                let mut k: String = title.split_whitespace().collect();
                k.push('.');
                k.push_str(key);
                k
            }
            Block::None => key.to_string(),
        };
        entries.push((key, value.to_string(), no));
    }
    SetupDiag { entries }
}

/// `SetupDiag version: 1.6.2107.27002` or the banner `SetupDiag v1.4.0.0`.
fn setupdiag_version(t: &str) -> Option<&str> {
    if let Some(v) = t.strip_prefix("SetupDiag version:") {
        return Some(v.trim());
    }
    let v = t.strip_prefix("SetupDiag v")?;
    (v.starts_with(|c: char| c.is_ascii_digit()) && !v.contains(' ')).then_some(v)
}

/// Split `Key = Value`, `Key: Value`, `Key:` or `Key? Value` (the first separator
/// wins); the key must look like a key (short, no quotes or path characters).
fn split_key_value(t: &str) -> Option<(&str, &str)> {
    let b = t.as_bytes();
    let mut at = None;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'=' => {
                at = Some((i, 1));
                break;
            }
            // `Key: value` or `Key:` at the end; `C:\` and `12:30` are not separators.
            b':' if matches!(b.get(i + 1), None | Some(b' ' | b'\t')) => {
                at = Some((i, 1));
                break;
            }
            // `Completed Successfully? False`
            b'?' if matches!(b.get(i + 1), Some(b' ' | b'\t')) => {
                at = Some((i, 1));
                break;
            }
            _ => {}
        }
    }
    let (i, n) = at?;
    let key = t[..i].trim();
    let ok = !key.is_empty()
        && key.len() <= 64
        && key.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b' ' | b'_' | b'-' | b'.' | b'(' | b')'));
    ok.then(|| (key, t[i + n..].trim()))
}

impl SetupDiag {
    /// One [`Record`] per entry: message `Key: Value` (whitespace collapsed),
    /// component `SetupDiag`, level `Error` for FailureData/FailureDetails/
    /// LogErrorLine/Error* keys and `Info` otherwise, time from a Panther
    /// timestamp at the start of LogEntry/LogErrorLine values.
    pub fn records(&self) -> Vec<Record> {
        self.entries
            .iter()
            .map(|(key, value, line)| {
                let mut message = String::with_capacity(key.len() + 2 + value.len());
                message.push_str(key);
                message.push_str(": ");
                for (i, word) in value.split_whitespace().enumerate() {
                    if i > 0 {
                        message.push(' ');
                    }
                    message.push_str(word);
                }
                let leaf = key.rsplit('.').next().unwrap_or(key);
                let error =
                    matches!(leaf, "FailureData" | "FailureDetails" | "LogErrorLine") || leaf.starts_with("Error");
                let time =
                    if matches!(leaf, "LogEntry" | "LogErrorLine") { panther_time(value.as_bytes()) } else { None };
                Record {
                    line: *line,
                    time,
                    level: Some(if error { "Error" } else { "Info" }.to_string()),
                    component: Some("SetupDiag".to_string()),
                    message,
                    section: None,
                }
            })
            .collect()
    }

    /// The value of the first entry with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str())
    }
}

/// `2019-06-06 21:47:11` (then `,` in Panther logs) at the start of `b`.
fn panther_time(b: &[u8]) -> Option<DateTime> {
    super::date_time(b, b'-').map(|(t, _)| t)
}

/// True when `text` looks like SetupDiag text results.
pub fn looks_like_text(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('<') {
        return false;
    }
    text.split('\n').map(str::trim).filter(|l| !l.is_empty()).take(40).any(|l| {
        l.starts_with("Matching Profile found:")
            || l.starts_with("SetupDiag version:")
            || l.starts_with("SetupDiag found ")
            || l.starts_with("SetupDiag reports")
            || l.starts_with("Error: SetupDiag")
            || setupdiag_version(l).is_some()
    })
}

/// True when `text` looks like SetupDiag XML results (a `<SetupDiag` root near the start).
pub fn looks_like_xml(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim_start();
    if !text.starts_with('<') {
        return false;
    }
    let head = &text.as_bytes()[..text.len().min(4096)];
    head.windows(11)
        .any(|w| w.starts_with(b"<SetupDiag") && matches!(w[10], b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Modelled on the SetupDiag documentation sample; the declaration says
    /// utf-16 while the text is (already decoded) UTF-8, with CRLF line ends.
    const XML: &str = "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r
<SetupDiag xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns=\"https://docs.microsoft.com/windows/deployment/upgrade/setupdiag\">\r
  <Version>1.5.0.0</Version>\r
  <ProfileName>FindSPFatalError</ProfileName>\r
  <ProfileGuid>A4028172-1B09-48F8-AD3B-86CDD7D55852</ProfileGuid>\r
  <SystemInfo>\r
    <MachineName>Offline</MachineName>\r
    <BiosVersion />\r
    <HostOSVersion>10.0.18908</HostOSVersion>\r
    <TargetOSBuildString>10.0.18912.1001 (rs_prerelease.190601-1739)</TargetOSBuildString>\r
  </SystemInfo>\r
  <LogErrorLine>2019-06-06 21:47:11, Error                 SP     Error converting install time 5/2/2019 to structure[gle=0x00000057]</LogErrorLine>\r
  <FailureData>\r
Error: SetupDiag reports Fatal Error.\r
Last Setup Phase = Downlevel\r
Error: 0x00000057</FailureData>\r
  <FailureData>LogEntry: 2019-06-06 21:47:11, Error   SP   Error converting install time</FailureData>\r
  <FailureDetails>Err = 0x00000057, LastOperation = Gather data, scope: EVERYTHING, LastPhase = Downlevel</FailureDetails>\r
</SetupDiag>\r
";

    /// Modelled on a real SetupDiagResults.log (mixed CRLF/LF, tab-indented blocks).
    const TEXT: &str = "\n\
Matching Profile found: FindRollbackFailure - 3A43C9B5-05B3-4F7C-A955-88F991BB5A48\n\
SetupDiag version: 1.6.2107.27002\r\n\
System Information:\r\n\
\tMachine Name = DESKTOP-TEST01\r\n\
\tBiosVendor = BIOS Date: 07/27/16 10:01:46 Ver: 04.06.05\r\n\
\tHostOSVersion = \r\n\
\tHostOSBuildString = 19041.1.amd64fre.vb_release.191206-1406\r\n\
\tUpgradeStartTime = 5/23/2023 12:21:30 AM\r\n\
\r\n\
\n\
Error: SetupDiag reports rollback failure found.\n\
Last Phase = Safe OS\n\
Last Operation = Apply WIM file PathForNewOSFile, index 6 to D:\\$WINDOWS.~BT\\NewOS\n\
Error = 0x8007000D-0x2000C\r\n\
LogEntry: 2023-05-23 00:32:46, Error                 SP     ExecuteOperations: Main operation execution failed. Error: 0x8007000D\r\n\
\n\
Refer to \"https://docs.microsoft.com/en-us/windows/desktop/Debug/system-error-codes\" for error information.\r\n\
\r\n\
Last Setup Phase:\n\
Phase Name: Safe OS\n\
\tPhase Started: 5/23/2023 12:32:12 AM\n\
\tCompleted Successfully? False\n\
\r\n\
Last Setup Operation:\n\
Operation Name: Apply WIM file PathForNewOSFile, index 6 to D:\\$WINDOWS.~BT\\NewOS\n\
\tOperation Time Delta: 0:00:00:00.0000000\n\
\tCompleted Successfully? False\n";

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    #[test]
    fn xml_with_utf16_declaration() {
        assert!(looks_like_xml(XML));
        assert!(!looks_like_text(XML));
        let sd = parse_xml(XML).unwrap();
        assert_eq!(sd.get("ProfileName"), Some("FindSPFatalError"));
        assert_eq!(sd.get("ProfileGuid"), Some("A4028172-1B09-48F8-AD3B-86CDD7D55852"));
        assert_eq!(sd.get("SystemInfo.HostOSVersion"), Some("10.0.18908"));
        assert_eq!(sd.get("SystemInfo.BiosVersion"), Some(""));
        assert_eq!(sd.get("SystemInfo"), None);
        let keys: Vec<&str> = sd.entries.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Version",
                "ProfileName",
                "ProfileGuid",
                "SystemInfo.MachineName",
                "SystemInfo.BiosVersion",
                "SystemInfo.HostOSVersion",
                "SystemInfo.TargetOSBuildString",
                "LogErrorLine",
                "FailureData",
                "FailureData",
                "FailureDetails"
            ]
        );
        let lines: Vec<u64> = sd.entries.iter().map(|e| e.2).collect();
        assert_eq!(lines, [3, 4, 5, 7, 8, 9, 10, 12, 13, 17, 18]);
        assert!(sd.entries[8].1.starts_with("Error: SetupDiag reports Fatal Error.\nLast Setup Phase"));

        let recs = sd.records();
        assert_eq!(recs.len(), 11);
        let fd = &recs[8];
        assert_eq!(
            fd.message,
            "FailureData: Error: SetupDiag reports Fatal Error. Last Setup Phase = Downlevel Error: 0x00000057"
        );
        assert_eq!(fd.level.as_deref(), Some("Error"));
        assert_eq!(fd.component.as_deref(), Some("SetupDiag"));
        assert_eq!(fd.time, None);
        let le = &recs[7];
        assert_eq!(le.time, Some(dt("2019-06-06T21:47:11")));
        assert_eq!(le.level.as_deref(), Some("Error"));
        assert!(le.message.starts_with("LogErrorLine: 2019-06-06 21:47:11, Error SP Error converting"));
        assert_eq!(recs[1].message, "ProfileName: FindSPFatalError");
        assert_eq!(recs[1].level.as_deref(), Some("Info"));
        assert_eq!(recs[1].line, 4);
        assert_eq!(recs[10].level.as_deref(), Some("Error"));
        assert!(recs.iter().all(|r| r.section.is_none()));
    }

    #[test]
    fn xml_variants() {
        // BOM, no declaration, prefixed namespace.
        let sd =
            parse_xml("\u{feff}<sd:SetupDiag xmlns:sd=\"urn:x\"><sd:ProfileName>P</sd:ProfileName></sd:SetupDiag>")
                .unwrap();
        assert_eq!(sd.get("ProfileName"), Some("P"));
        assert_eq!(sd.entries[0].2, 1);
        // Deeper nesting and siblings after a nested element.
        let sd = parse_xml("<?xml version='1.0'?>\n<R>\n<A><B><C>1</C></B><D>2</D></A>\n<E>3</E></R>").unwrap();
        let flat: Vec<(&str, &str, u64)> = sd.entries.iter().map(|(k, v, l)| (k.as_str(), v.as_str(), *l)).collect();
        assert_eq!(flat, [("A.B.C", "1", 3), ("A.D", "2", 3), ("E", "3", 4)]);
        // Only a root.
        let sd = parse_xml("<SetupDiag>just text</SetupDiag>").unwrap();
        assert_eq!(sd.get("SetupDiag"), Some("just text"));
        assert!(parse_xml("<SetupDiag/>").unwrap().entries.is_empty());
        // Deep nesting is iterative, and keys stay bounded with a leaf at every level.
        let deep = format!("<R>{}x{}</R>", "<a>".repeat(5000), "</a>".repeat(5000));
        let sd = parse_xml(&deep).unwrap();
        assert_eq!(sd.entries.len(), 1);
        assert_eq!(sd.entries[0].0.len(), MAX_KEY_LEN);
        let deep = format!("<R>{}{}</R>", "<é><b/>".repeat(100_000), "</é>".repeat(100_000));
        let sd = parse_xml(&deep).unwrap();
        assert_eq!(sd.entries.len(), 100_000);
        assert!(sd.entries.iter().all(|e| e.0.len() <= MAX_KEY_LEN));
        assert_eq!(sd.entries[1].0, "é.é.b");
    }

    #[test]
    fn malformed_xml_errors_name_position() {
        let err = parse_xml(
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<SetupDiag>\r\n  <ProfileName>x</Profile>\r\n</SetupDiag>",
        )
        .unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("column"), "{err}");
        let err = parse_xml("<SetupDiag><A>").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        let err = parse_xml("<?xml version=\"1.0\"").unwrap_err();
        assert!(err.contains("declaration"), "{err}");
        assert!(parse_xml("").is_err());
        assert!(parse_xml("Matching Profile found: X - Y").is_err());
    }

    #[test]
    fn text_form() {
        assert!(looks_like_text(TEXT));
        assert!(!looks_like_xml(TEXT));
        let sd = parse_text(TEXT);
        assert_eq!(sd.get("ProfileName"), Some("FindRollbackFailure"));
        assert_eq!(sd.get("ProfileGuid"), Some("3A43C9B5-05B3-4F7C-A955-88F991BB5A48"));
        assert_eq!(sd.get("Version"), Some("1.6.2107.27002"));
        assert_eq!(sd.get("SystemInfo.Machine Name"), Some("DESKTOP-TEST01"));
        assert_eq!(sd.get("SystemInfo.BiosVendor"), Some("BIOS Date: 07/27/16 10:01:46 Ver: 04.06.05"));
        assert_eq!(sd.get("SystemInfo.HostOSVersion"), Some(""));
        assert_eq!(sd.get("SystemInfo.UpgradeStartTime"), Some("5/23/2023 12:21:30 AM"));
        assert_eq!(sd.get("Error"), Some("SetupDiag reports rollback failure found."));
        assert_eq!(sd.get("Last Phase"), Some("Safe OS"));
        assert_eq!(
            sd.get("Last Operation"),
            Some("Apply WIM file PathForNewOSFile, index 6 to D:\\$WINDOWS.~BT\\NewOS")
        );
        assert_eq!(sd.get("LastSetupPhase.Phase Name"), Some("Safe OS"));
        assert_eq!(sd.get("LastSetupPhase.Phase Started"), Some("5/23/2023 12:32:12 AM"));
        assert_eq!(sd.get("LastSetupPhase.Completed Successfully"), Some("False"));
        assert_eq!(sd.get("LastSetupOperation.Operation Time Delta"), Some("0:00:00:00.0000000"));
        assert_eq!(sd.get("LastSetupOperation.Completed Successfully"), Some("False"));
        assert!(sd.get("Text").unwrap().starts_with("Refer to"));

        let errors: Vec<&str> =
            sd.entries.iter().filter(|(k, _, _)| k == "Error").map(|(_, v, _)| v.as_str()).collect();
        assert_eq!(errors, ["SetupDiag reports rollback failure found.", "0x8007000D-0x2000C"]);
        let line_of = |key: &str| sd.entries.iter().find(|e| e.0 == key).unwrap().2;
        assert_eq!(line_of("ProfileName"), 2);
        assert_eq!(line_of("SystemInfo.Machine Name"), 5);
        assert_eq!(line_of("LogEntry"), 16);
        assert_eq!(line_of("LastSetupOperation.Completed Successfully"), 28);

        let recs = sd.records();
        let entry = recs.iter().find(|r| r.message.starts_with("LogEntry:")).unwrap();
        assert_eq!(entry.time, Some(dt("2023-05-23T00:32:46")));
        assert_eq!(entry.level.as_deref(), Some("Info"));
        assert_eq!(
            entry.message,
            "LogEntry: 2023-05-23 00:32:46, Error SP ExecuteOperations: Main operation execution failed. Error: 0x8007000D"
        );
        let err = recs.iter().find(|r| r.message == "Error: 0x8007000D-0x2000C").unwrap();
        assert_eq!(err.level.as_deref(), Some("Error"));
        assert_eq!(err.line, 15);
        assert!(recs
            .iter()
            .filter(|r| r.message.starts_with("SystemInfo."))
            .all(|r| r.level.as_deref() == Some("Info")));
    }

    #[test]
    fn text_form_docs_variant() {
        // System Information ends at the first unindented line, without a blank line.
        let text = "SetupDiag v1.4.0.0\n\
Matching Profile found: FindSPFatalError - A4028172-1B09-48F8-AD3B-86CDD7D55852\n\
System Information:\n\
\x20       Machine Name = Offline\n\
\x20       HostOSVersion = 10.0.15063\n\
Error: SetupDiag reports Fatal Error.\n\
Last Setup Phase = Downlevel\n\
Last Setup Operation: Gather data, scope: EVERYTHING\n\
Error: 0x00000057\n\
LogEntry: 2019-06-06 21:47:11, Error  SP     Error converting install time 5/2/2019\n\
Warning: Found Disk Space Hard Block.\n\
You need to free up some space on the system disk.\n";
        assert!(looks_like_text(text));
        let sd = parse_text(text);
        assert_eq!(sd.get("Version"), Some("1.4.0.0"));
        assert_eq!(sd.get("SystemInfo.HostOSVersion"), Some("10.0.15063"));
        assert_eq!(sd.get("Last Setup Phase"), Some("Downlevel"));
        assert_eq!(sd.get("Last Setup Operation"), Some("Gather data, scope: EVERYTHING"));
        assert_eq!(sd.get("Warning"), Some("Found Disk Space Hard Block."));
        assert_eq!(sd.get("Text"), Some("You need to free up some space on the system disk."));
        assert_eq!(sd.entries.iter().filter(|e| e.0 == "Error").count(), 2);
        assert_eq!(sd.entries.len(), 12);
    }

    #[test]
    fn looks_like_negatives() {
        assert!(!looks_like_text("2017-12-06 15:30:46, Info  CBS  x\n"));
        assert!(!looks_like_text(""));
        assert!(!looks_like_xml("<?xml version=\"1.0\"?><other/>"));
        assert!(!looks_like_xml("SetupDiag"));
        assert!(!looks_like_xml(""));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let alphabet: &[u8] =
            b"<>/?=:! \t\r\nSetupDiag<?xml version='1.0'?><A>b</A>Error: LogEntry: 2019-06-06 21:47:11,\xc3\xa9\xff\0";
        for round in 0..400 {
            let len = (round * 5) % 250;
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
            let sd = parse_text(&text);
            let _ = sd.records();
            if let Ok(sd) = parse_xml(&text) {
                let _ = sd.records();
            }
            let _ = (looks_like_text(&text), looks_like_xml(&text));
        }
        let sd = parse_text(&format!("LogEntry: {}", "é".repeat(100_000)));
        assert_eq!(sd.records().len(), 1);
        assert_eq!(panther_time(b"2019-06-06 21:47"), None);
        assert_eq!(panther_time(b"2019-13-06 21:47:11,"), None);
    }
}
