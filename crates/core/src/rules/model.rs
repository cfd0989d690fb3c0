//! The rule file format, as written by people. See `rules/README.md`.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// One rule file (YAML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    pub id: Spanned<String>,
    pub title: String,
    pub severity: Severity,
    /// Seed scenario letter, when the rule implements one.
    #[serde(default)]
    pub scenario: Option<String>,
    /// The error code the rule is about ("0x80070003").
    #[serde(default)]
    pub code: Option<Spanned<String>>,
    /// A fact whose value is the finding's code (a rule for any failure of
    /// an operation: the code is the one the log states). Wins over `code`.
    #[serde(default)]
    pub code_from: Option<Spanned<String>>,
    /// A generic failure finding: it folds into a specific rule's error
    /// finding of the same failure (a shared evidence line, or the same
    /// code within this rule's window), so one failure gives one finding.
    #[serde(default)]
    pub fallback: bool,
    /// Codes that end an operation without a fault of the machine (a
    /// cancellation, a probe): a finding with one of them is not reported.
    #[serde(default)]
    pub quiet_codes: Vec<Spanned<String>>,
    /// What the finding means, for people.
    pub summary: String,
    #[serde(default)]
    pub references: Vec<String>,
    /// How far from the trigger's time other signals may be ("0s" = same second).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// How many distinct signals an incident needs (default 1).
    #[serde(default = "one")]
    pub min_signals: usize,
    /// Signals that start an incident (default: every signal).
    #[serde(default)]
    pub triggers: Vec<Spanned<String>>,
    /// Evidence must come from the trigger's own file.
    #[serde(default)]
    pub same_file: bool,
    /// `finding` (default) or `system`: the rule's facts describe the
    /// machine and go to the report's `system{}` instead of a finding.
    #[serde(default)]
    pub emit: Emit,
    pub signals: Vec<SignalDoc>,
    /// fact name -> candidate sources `signal.capture`, first found wins.
    #[serde(default)]
    pub facts: BTreeMap<String, FactDoc>,
    /// The fact naming what is broken (headline, support request, plan).
    #[serde(default)]
    pub subject: Option<Spanned<String>>,
    /// A remediation file's id (`remediations/<id>.yaml`), or a remediation
    /// written in the rule (`{id, steps, ...}`).
    pub remediation: RemediationRef,
    /// Small logs the rule must (or must not) fire on; run by `rules test`.
    #[serde(default)]
    pub tests: Vec<CaseDoc>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalDoc {
    pub id: Spanned<String>,
    /// A shared signal (`signals/<name>.yaml`) used under this id; only
    /// `window` and `anytime` may be given beside it.
    #[serde(default, rename = "use")]
    pub uses: Option<Spanned<String>>,
    /// Log kinds this signal reads (`cbs`, `dism`, `setupact`, ...).
    #[serde(default)]
    pub kinds: Vec<Spanned<String>>,
    /// Literal text that must occur in the line; one or several (any).
    #[serde(default)]
    pub anchor: Option<OneOrMany>,
    /// Instead of log lines: the system checks whose problems this signal
    /// matches (`servicing-stack-not-empty`, ...); captures `check`, `path`
    /// and `problem`.
    #[serde(default)]
    pub check: Vec<Spanned<String>>,
    /// Match anchors ignoring ASCII case (slower; use only where needed).
    #[serde(default)]
    pub ignore_case: bool,
    /// Regex the line must also match; named groups become captures.
    #[serde(default)]
    pub regex: Option<Spanned<String>>,
    /// Levels the entry must have (`Error`, `Warning`, ...).
    #[serde(default)]
    pub levels: Vec<String>,
    /// Component column the entry must have (`CBS`, `DISM`, ...).
    #[serde(default)]
    pub component: Option<String>,
    /// Section title prefix the line must be in (setupapi `[Install Driver Updates]`).
    #[serde(default)]
    pub section: Option<String>,
    /// Overrides the rule's window for this signal.
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// Lines that carry no time (SetupDiag summaries) join any incident.
    #[serde(default)]
    pub anytime: bool,
    /// Lines (as in the log) this signal must match.
    #[serde(default, rename = "match")]
    pub must_match: Vec<String>,
    /// Lines this signal must not match.
    #[serde(default)]
    pub no_match: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Spanned<String>),
    Many(Vec<Spanned<String>>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&Spanned<String>> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v.iter().collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emit {
    #[default]
    Finding,
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationDoc {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    pub steps: Vec<StepDoc>,
    /// Plan actions from the vetted set ([`crate::plan::Action`]); none: the
    /// plan shows the steps and changes nothing.
    #[serde(default)]
    pub plan: Vec<crate::plan::Action>,
    /// What to do once the plan has run ("Try the upgrade again.").
    #[serde(default)]
    pub done: Option<String>,
}

/// A fact: its candidate sources (`signal.capture`, the nearest line of
/// the first source that gives one wins), or a declaration with them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FactDoc {
    From(Vec<Spanned<String>>),
    Declared(DeclaredFact),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredFact {
    pub from: Vec<Spanned<String>>,
    /// Every distinct value of the incident, in log order (bounded), not
    /// the nearest one.
    #[serde(default)]
    pub many: bool,
    /// What the value is, for people ("Corrupt payloads").
    #[serde(default)]
    pub label: Option<String>,
    /// Only lines at or before the trigger (the command that failed, not a
    /// later retry).
    #[serde(default)]
    pub before: bool,
}

/// How a rule names its remediation.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RemediationRef {
    Id(Spanned<String>),
    Inline(RemediationDoc),
}

/// One remediation step: prose, or prose with commands to paste. Prose
/// may name facts (`{missing}`); commands may not, so that nothing from a
/// log ever lands in a command line.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StepDoc {
    Text(String),
    Commands(CommandStep),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandStep {
    pub text: String,
    /// Where the commands run: `cmd` or `powershell`.
    pub shell: Shell,
    /// One command per entry, shown as is and never wrapped.
    pub run: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Cmd,
    Powershell,
}

impl Shell {
    pub fn as_str(self) -> &'static str {
        match self {
            Shell::Cmd => "cmd",
            Shell::Powershell => "powershell",
        }
    }
}

/// A self-test case: logs in, expectation out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDoc {
    pub name: Spanned<String>,
    #[serde(default)]
    pub logs: Vec<CaseLog>,
    /// Whether this rule must fire.
    pub fires: bool,
    /// Problems the system checks found, as the checks would report them.
    #[serde(default)]
    pub checks: Vec<CheckCase>,
    /// Facts the finding must carry (only when `fires`).
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
    /// Other error rules that fire on these logs too, on purpose (each one
    /// named here is reviewed; any other is a test failure).
    #[serde(default)]
    pub also_fires: Vec<String>,
}

/// A check's problem in a test case (see [`crate::checks::CheckFailure`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckCase {
    pub check: String,
    pub path: String,
    pub problem: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLog {
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    pub text: String,
}

/// Parse "0s", "2s", "90s", "5m", "1h".
pub fn parse_duration_secs(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b's' => (&s[..s.len() - 1], 1),
        b'm' => (&s[..s.len() - 1], 60),
        b'h' => (&s[..s.len() - 1], 3600),
        _ => return None,
    };
    let n: i64 = num.trim().parse().ok()?;
    // Checked: a rule file is input too (fuzzing found the overflow).
    let secs = n.checked_mul(mult)?;
    (0..=7 * 24 * 3600).contains(&secs).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("0s"), Some(0));
        assert_eq!(parse_duration_secs("5m"), Some(300));
        assert_eq!(parse_duration_secs("2h"), Some(7200));
        assert_eq!(parse_duration_secs("5"), None);
        assert_eq!(parse_duration_secs("-5s"), None);
        assert_eq!(parse_duration_secs("999999h"), None);
        assert_eq!(parse_duration_secs(""), None);
        assert_eq!(parse_duration_secs("2562047788015216h"), None);
        assert_eq!(parse_duration_secs("1147797409030816545h"), None);
    }
}
