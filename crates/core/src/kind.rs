//! The kinds of log servicing-doctor knows, and how rules name them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a source file is. Rules name the kinds they read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// CBS.log and its rotated CbsPersist_*.log copies.
    Cbs,
    /// dism.log.
    Dism,
    /// setupact.log (Panther), including numbered copies.
    Setupact,
    /// setuperr.log (Panther).
    Setuperr,
    /// MoSetup / MOU* upgrade-engine logs (e.g. `MoSetup\volatile\BlueBox.log`).
    Mosetup,
    /// UpdateAgent.log (Windows Update's feature-update agent; Panther grammar).
    Updateagent,
    /// setupapi.dev.log / setupapi.setup.log / legacy setupapi.log.
    Setupapi,
    /// SetupDiag results as XML (setupdiagresults.xml).
    SetupdiagXml,
    /// SetupDiag results as text (SetupDiagResults.log).
    SetupdiagText,
    /// WindowsUpdate.log (classic tab-separated or Get-WindowsUpdateLog output).
    Windowsupdate,
    /// A .zip or .cab/.msu read for its members (listed, then each member is a source).
    Archive,
    /// Failed system checks, one line each (synthetic; rules may read it).
    Check,
    /// A registry hive (SOFTWARE) read by the system checks.
    Hive,
    /// A WinSxS folder inventoried by the system checks.
    Winsxs,
    /// Not a log servicing-doctor reads; listed, then skipped.
    Unknown,
}

impl LogKind {
    pub const ALL: [LogKind; 15] = [
        LogKind::Cbs,
        LogKind::Dism,
        LogKind::Setupact,
        LogKind::Setuperr,
        LogKind::Mosetup,
        LogKind::Updateagent,
        LogKind::Setupapi,
        LogKind::SetupdiagXml,
        LogKind::SetupdiagText,
        LogKind::Windowsupdate,
        LogKind::Archive,
        LogKind::Check,
        LogKind::Hive,
        LogKind::Winsxs,
        LogKind::Unknown,
    ];

    /// The name used in JSON and in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Cbs => "cbs",
            LogKind::Dism => "dism",
            LogKind::Setupact => "setupact",
            LogKind::Setuperr => "setuperr",
            LogKind::Mosetup => "mosetup",
            LogKind::Updateagent => "updateagent",
            LogKind::Setupapi => "setupapi",
            LogKind::SetupdiagXml => "setupdiag_xml",
            LogKind::SetupdiagText => "setupdiag_text",
            LogKind::Windowsupdate => "windowsupdate",
            LogKind::Archive => "archive",
            LogKind::Check => "check",
            LogKind::Hive => "hive",
            LogKind::Winsxs => "winsxs",
            LogKind::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Option<LogKind> {
        LogKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Kinds a rule signal may read (not hives, folders or unknown files).
    pub fn readable_by_rules(self) -> bool {
        !matches!(self, LogKind::Archive | LogKind::Hive | LogKind::Winsxs | LogKind::Unknown)
    }

    /// Kinds that are logs (not archives, system checks, or unknown files).
    pub fn is_log(self) -> bool {
        self.readable_by_rules() && self != LogKind::Check
    }

    /// Kinds written in the shared CBS/DISM/Panther line grammar.
    pub fn is_panther(self) -> bool {
        matches!(
            self,
            LogKind::Cbs
                | LogKind::Dism
                | LogKind::Setupact
                | LogKind::Setuperr
                | LogKind::Mosetup
                | LogKind::Updateagent
        )
    }
}

impl fmt::Display for LogKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
