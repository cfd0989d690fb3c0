//! The one report model every printer reads. Its JSON form is the stable
//! contract `servicing-doctor/report/v1` (see DESIGN.md).

use crate::kind::LogKind;
use crate::rules::Severity;
use jiff::civil::DateTime;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "servicing-doctor/report/v1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub version: &'static str,
    /// The input PATH this report covers, when each PATH is diagnosed as
    /// its own machine (`diagnose_each`, `--format ndjson`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub sources: Vec<Source>,
    pub findings: Vec<Finding>,
    pub checks: Vec<Check>,
    pub system: BTreeMap<String, String>,
}

impl Report {
    pub fn new() -> Report {
        Report {
            schema: SCHEMA,
            version: crate::VERSION,
            input: None,
            sources: Vec::new(),
            findings: Vec::new(),
            checks: Vec::new(),
            system: BTreeMap::new(),
        }
    }

    /// True when any finding has error severity (exit code 1).
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Logs read without error (archives, checks and unknown files aside).
    pub fn logs_read(&self) -> usize {
        self.sources.iter().filter(|s| s.error.is_none() && s.kind.is_log()).count()
    }

    /// True when something was diagnosed: a log was read, or a Windows
    /// installation checked. Otherwise the run could do nothing (exit 2).
    pub fn diagnosed(&self) -> bool {
        self.logs_read() > 0 || !self.checks.is_empty()
    }

    /// One word for fleet scripts: `unreadable` (nothing could be
    /// diagnosed), `failed` (an error-severity finding), `partial` (no
    /// failure found, but some sources could not be read, so the machine
    /// is not known to be healthy) or `healthy`.
    pub fn status(&self) -> Status {
        if !self.diagnosed() {
            Status::Unreadable
        } else if self.has_errors() {
            Status::Failed
        } else if self.sources.iter().any(|s| s.error.is_some()) {
            Status::Partial
        } else {
            Status::Healthy
        }
    }

    /// `path: error` for each source that could not be read.
    pub fn source_errors(&self) -> Vec<String> {
        self.sources.iter().filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.path))).collect()
    }
}

/// See [`Report::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Unreadable,
    Failed,
    Partial,
    Healthy,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unreadable => "unreadable",
            Status::Failed => "failed",
            Status::Partial => "partial",
            Status::Healthy => "healthy",
        }
    }
}

impl Default for Report {
    fn default() -> Self {
        Report::new()
    }
}

/// One input file (or archive member) and what came of reading it.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub path: String,
    pub kind: LogKind,
    /// Where it sits in a Windows root: `servicing`, `downlevel`, `rollback`,
    /// `post-upgrade`, `new-os`, `unattend`, `setupdiag`, `previous-os`, `system`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// `utf-8`, `utf-8-bom`, `utf-16le`, `utf-16be`, `utf-8+windows-1252`; absent when unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    pub bytes: u64,
    pub records: u64,
    /// Why the source could not be read; the other sources are still diagnosed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Things repaired or cut short while reading it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// When the failure happened (the trigger's local log time).
    pub time: Option<DateTime>,
    pub summary: String,
    /// The fact that names what is broken (a path, a package, an
    /// installer), shown in the headline, the support request and the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Each fact as one string (a list joined with `; `), for scripts.
    pub facts: BTreeMap<String, String>,
    /// The same facts for people: label and every value, the subject first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fact_list: Vec<FactOut>,
    pub evidence: Vec<Evidence>,
    /// The evidence line that started the incident (an index into `evidence`).
    #[serde(skip)]
    pub trigger: Option<usize>,
    pub remediation: RemediationOut,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// A fact as the rule declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactOut {
    pub name: String,
    /// What the value is, for people ("Missing or corrupt").
    pub label: String,
    /// One value, or every distinct value of a list fact in log order;
    /// none: the subject, not named in the logs.
    pub values: Vec<String>,
    /// Values of a list fact past the limit, counted, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// A bare finding for unit tests: the rule, severity and time given,
    /// the rest empty.
    #[cfg(test)]
    pub(crate) fn for_test(rule: &str, severity: Severity, time: Option<&str>) -> Finding {
        Finding {
            rule: rule.into(),
            title: "t".into(),
            severity,
            code: None,
            code_name: None,
            code_message: None,
            scenario: None,
            time: time.map(|t| t.parse().unwrap()),
            summary: "s".into(),
            subject: None,
            facts: BTreeMap::new(),
            fact_list: Vec::new(),
            evidence: Vec::new(),
            trigger: None,
            remediation: RemediationOut::new("x".into(), Vec::new(), Vec::new(), None),
            references: Vec::new(),
        }
    }

    /// The subject fact, when the rule names one (no values: not in the logs).
    pub fn subject_fact(&self) -> Option<&FactOut> {
        let name = self.subject.as_deref()?;
        self.fact_list.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub path: String,
    pub line: u64,
    pub time: Option<DateTime>,
    pub text: String,
    /// The rule signal this line matched.
    pub signal: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemediationOut {
    pub id: String,
    /// Each step as one string: its text, then each command on a line of its own.
    pub steps: Vec<String>,
    /// The same steps with text and commands apart, for printers and scripts.
    pub actions: Vec<Action>,
    /// The plan actions `servicing-doctor plan` writes for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<crate::plan::Action>,
    /// What to do once the plan has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<String>,
}

/// A remediation step: prose (facts filled in), and commands to paste as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<crate::rules::model::Shell>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

impl RemediationOut {
    /// The remediation's steps, then what to do once they are done (a last step).
    pub fn new(id: String, mut actions: Vec<Action>, plan: Vec<crate::plan::Action>, done: Option<String>) -> Self {
        if let Some(d) = &done {
            actions.push(Action { text: d.clone(), shell: None, commands: Vec::new() });
        }
        let mut r = RemediationOut { id, steps: Vec::new(), actions: Vec::new(), plan, done };
        r.set_actions(actions);
        r
    }

    /// Replace the steps (`done` already among them), keeping `steps` in step.
    pub fn set_actions(&mut self, actions: Vec<Action>) {
        self.steps = actions
            .iter()
            .map(|a| {
                std::iter::once(a.text.as_str())
                    .chain(a.commands.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        self.actions = actions;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: String,
    pub status: CheckStatus,
    pub detail: String,
}
