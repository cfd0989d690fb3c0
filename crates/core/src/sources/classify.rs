//! What a file is: by its name first, by its content when the name says
//! nothing (a renamed CBS.log is still a CBS log).

use crate::kind::LogKind;
use crate::records::{panther, setupapi, setupdiag, wulog};

/// How much of the start of a file content classification looks at.
pub const SNIFF_BYTES: usize = 256 << 10;

/// Components only the setup engine writes (Panther/MoSetup logs).
const SETUP_COMPONENTS: [&str; 14] = [
    "MOUPG", "SP", "IBS", "IBSLIB", "PANTHR", "SYSPRP", "MIG", "CMI", "UI", "SETUPUGC", "SETUPCL", "SPOOBE", "OOBE",
    "BLUEBOX",
];
/// Components of the servicing stack (CBS.log).
const CBS_COMPONENTS: [&str; 6] = ["CBS", "CSI", "SXS", "DEPLOY", "TI", "DPX"];

/// Classify by file name alone (case-insensitive).
pub fn by_name(file_name: &str) -> Option<LogKind> {
    let n = file_name.to_ascii_lowercase();
    let stem_is = |prefix: &str| {
        n == format!("{prefix}.log")
            || (n.starts_with(&format!("{prefix}_")) && n.ends_with(".log"))
            || (n.starts_with(prefix)
                && n.ends_with(".log")
                && n[prefix.len()..n.len() - 4].bytes().all(|c| c.is_ascii_digit()))
    };
    Some(match () {
        _ if n == "cbs.log" || (n.starts_with("cbspersist_") && n.ends_with(".log")) => LogKind::Cbs,
        _ if n == "dism.log" => LogKind::Dism,
        _ if stem_is("setupact") => LogKind::Setupact,
        _ if stem_is("setuperr") => LogKind::Setuperr,
        _ if n.ends_with(".log") && (n.starts_with("mosetup") || n.starts_with("mou") || n == "bluebox.log") => {
            LogKind::Mosetup
        }
        _ if n.starts_with("updateagent") && n.ends_with(".log") => LogKind::Updateagent,
        _ if n.starts_with("setupapi") && n.ends_with(".log") => LogKind::Setupapi,
        _ if n == "setupdiagresults.xml" => LogKind::SetupdiagXml,
        _ if n == "setupdiagresults.log" || n == "setupdiagresults.txt" => LogKind::SetupdiagText,
        _ if n == "windowsupdate.log" => LogKind::Windowsupdate,
        _ => return None,
    })
}

/// Classify by the text at the start of a file.
pub fn by_content(text: &str) -> LogKind {
    let head = head(text, SNIFF_BYTES);
    let trimmed = head.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if setupdiag::looks_like_xml(trimmed) {
        return LogKind::SetupdiagXml;
    }
    if setupapi::looks_like(trimmed) {
        return LogKind::Setupapi;
    }
    if wulog::looks_like(trimmed) {
        return LogKind::Windowsupdate;
    }
    if setupdiag::looks_like_text(trimmed) {
        return LogKind::SetupdiagText;
    }
    panther_family(head)
}

/// Which Panther-grammar log this is, from its components and levels.
fn panther_family(text: &str) -> LogKind {
    let (mut cbs, mut dism, mut setup, mut blank, mut info, mut total) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    for line in text.lines() {
        let Some(p) = panther::parse_line(line.trim_start_matches('\u{feff}')) else {
            continue;
        };
        if total == 0 && p.message.starts_with("UpdateAgent logging starts") {
            return LogKind::Updateagent;
        }
        total += 1;
        info += usize::from(p.level == "Info");
        match p.component {
            None => blank += 1,
            Some(c) if CBS_COMPONENTS.contains(&c) => cbs += 1,
            Some("DISM") => dism += 1,
            Some(c) if SETUP_COMPONENTS.contains(&c) => setup += 1,
            Some(_) => {}
        }
    }
    if total == 0 {
        return LogKind::Unknown;
    }
    // setup.exe logs DISM and CBS lines too, so its own components decide.
    let is_setup = setup * 20 >= total || (blank > cbs && blank > dism);
    if is_setup {
        if info == 0 {
            LogKind::Setuperr
        } else {
            LogKind::Setupact
        }
    } else if dism > 0 && dism >= cbs {
        LogKind::Dism
    } else if cbs > 0 {
        LogKind::Cbs
    } else {
        LogKind::Unknown
    }
}

/// The first `max` bytes of `text`, cut at a character boundary.
fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Name first, then content.
pub fn classify(file_name: &str, text: &str) -> LogKind {
    by_name(file_name).unwrap_or_else(|| by_content(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (n, k) in [
            ("CBS.log", LogKind::Cbs),
            ("CbsPersist_20251014031205.log", LogKind::Cbs),
            ("dism.log", LogKind::Dism),
            ("DISM.LOG", LogKind::Dism),
            ("setupact.log", LogKind::Setupact),
            ("setupact_1.log", LogKind::Setupact),
            ("SetupAct2.log", LogKind::Setupact),
            ("setuperr.log", LogKind::Setuperr),
            ("MoSetup.log", LogKind::Mosetup),
            ("MOUPG.log", LogKind::Mosetup),
            ("setupapi.dev.log", LogKind::Setupapi),
            ("setupapi.setup.log", LogKind::Setupapi),
            ("SetupDiagResults.xml", LogKind::SetupdiagXml),
            ("setupdiagresults.log", LogKind::SetupdiagText),
            ("WindowsUpdate.log", LogKind::Windowsupdate),
            ("UpdateAgent.log", LogKind::Updateagent),
        ] {
            assert_eq!(by_name(n), Some(k), "{n}");
        }
        for n in ["notes.txt", "cbs.log.bak", "setupactx.log", "CbsPersist_1.cab", "mou.txt"] {
            assert_eq!(by_name(n), None, "{n}");
        }
    }

    const CBS: &str = "2020-02-03 23:50:28, Info                  CBS    TI: start\n\
2020-02-03 23:50:29, Info                  CSI    00000001@2020/2/3:22:50:29.000 WcpInitialize\n";
    const DISM: &str = "2023-05-17 08:32:31, Info                  DISM   PID=7092 TID=5908 Scratch directory set\n\
2023-05-17 08:32:31, Info                  CBS    Loaded Servicing Stack\n\
2023-05-17 08:32:32, Info                  DISM   PID=7092 TID=5908 x\n";
    const SETUPACT: &str = "2022-07-06 08:08:29, Info                  MOUPG  SetupHost::Initialize\n\
2022-07-06 08:08:29, Info                  DISM   API: x\n\
2022-07-06 08:08:29, Info                  DISM   API: y\n\
2022-07-06 08:08:29, Info                  SP     Operation failed\n";
    const SETUPERR: &str = "2025-05-02 15:20:12, Error                 SP     x\n\
2025-05-02 15:20:18, Error                        Failed to delete y. hr = 0x80070005\n";
    const BLANK: &str = "2021-06-09 12:08:19, Info                         Starting enumeration of PnP devices.\n\
2021-06-09 12:08:20, Error                        Failed to check OS architecture. 0x00000490\n";

    #[test]
    fn content() {
        assert_eq!(by_content(CBS), LogKind::Cbs);
        assert_eq!(by_content(DISM), LogKind::Dism);
        assert_eq!(by_content(SETUPACT), LogKind::Setupact);
        assert_eq!(by_content(SETUPERR), LogKind::Setuperr);
        assert_eq!(by_content(BLANK), LogKind::Setupact);
        assert_eq!(
            by_content("2019-08-29 06:36:12, Info                         UpdateAgent logging starts.\n"),
            LogKind::Updateagent
        );
        assert_eq!(by_content("just some text\nand more"), LogKind::Unknown);
        assert_eq!(by_content(""), LogKind::Unknown);
        assert_eq!(classify("renamed.txt", CBS), LogKind::Cbs);
        assert_eq!(classify("CBS.log", DISM), LogKind::Cbs);
    }

    #[test]
    fn head_respects_char_boundaries() {
        assert_eq!(head("ééé", 3), "é");
        assert_eq!(head("abc", 10), "abc");
    }
}
