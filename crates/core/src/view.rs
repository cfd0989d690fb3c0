//! The one reading of a report that every printer and the plan share:
//! findings grouped by rule (repeated incidents counted, with their first
//! and last time; the most recent one shown in full), groups ordered by
//! severity then recency, and the top finding. Text, Markdown, HTML, JSON
//! (`view{}`) and the plan all take their order and their "top" from here.

use crate::report::{Evidence, Finding, Report};
use crate::rules::Severity;
use jiff::civil::DateTime;
use serde::Serialize;

/// Earlier incidents a printer lists one line each; the rest are counted.
pub const MAX_EARLIER_LISTED: usize = 10;

/// A report as people read it.
pub struct View<'a> {
    pub report: &'a Report,
    pub groups: Vec<Group<'a>>,
}

/// The incidents of one rule.
pub struct Group<'a> {
    /// Most recent first.
    pub findings: Vec<&'a Finding>,
    /// Indexes of `findings` in the report's list (JSON `view.groups[].findings`).
    pub indexes: Vec<usize>,
    /// Correlation kept only the most recent incidents of this rule.
    pub more_incidents: bool,
}

impl<'a> Group<'a> {
    /// The incident shown in full.
    pub fn latest(&self) -> &'a Finding {
        self.findings[0]
    }

    /// The other incidents, most recent first.
    pub fn earlier(&self) -> &[&'a Finding] {
        &self.findings[1..]
    }

    pub fn count(&self) -> usize {
        self.findings.len()
    }

    pub fn first_time(&self) -> Option<DateTime> {
        self.findings.iter().filter_map(|f| f.time).min()
    }

    pub fn last_time(&self) -> Option<DateTime> {
        self.findings.iter().filter_map(|f| f.time).max()
    }

    /// `, first <time>, last <time>` when the incidents carry times, else
    /// nothing: what every printer says after the count.
    pub fn span_text(&self) -> String {
        match (self.first_time(), self.last_time()) {
            (Some(a), Some(b)) => format!(", first {}, last {}", when(Some(a)), when(Some(b))),
            _ => String::new(),
        }
    }
}

/// A finding's log time as printers show it, or `no time`.
pub fn when(t: Option<DateTime>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "no time".into())
}

impl<'a> View<'a> {
    pub fn new(report: &'a Report) -> View<'a> {
        let mut groups: Vec<Group<'a>> = Vec::new();
        for (i, f) in report.findings.iter().enumerate() {
            match groups.iter_mut().find(|g| g.latest().rule == f.rule) {
                Some(g) => {
                    g.findings.push(f);
                    g.indexes.push(i);
                }
                None => groups.push(Group { findings: vec![f], indexes: vec![i], more_incidents: false }),
            }
        }
        for g in &mut groups {
            g.more_incidents = g.findings.iter().any(|f| f.facts.contains_key("more_incidents"));
            // Most recent first; untimed incidents last, in report order.
            let mut order: Vec<usize> = (0..g.findings.len()).collect();
            order.sort_by_key(|&i| (g.findings[i].time.is_none(), std::cmp::Reverse(g.findings[i].time), i));
            g.findings = order.iter().map(|&i| g.findings[i]).collect();
            g.indexes = order.iter().map(|&i| g.indexes[i]).collect();
        }
        // Errors first, then the most recent incident.
        groups.sort_by_key(|g| (g.latest().severity, g.latest().time.is_none(), std::cmp::Reverse(g.last_time())));
        View { report, groups }
    }

    /// The finding a support request and the summary lead with.
    pub fn top(&self) -> Option<&'a Finding> {
        self.groups.first().map(Group::latest)
    }

    /// The finding a repair plan is for: the top one, when it is a failure.
    pub fn top_error(&self) -> Option<&'a Finding> {
        self.top().filter(|f| f.severity == Severity::Error)
    }

    /// Failures (error-severity incidents) and findings in all.
    pub fn counts(&self) -> (usize, usize) {
        let errors = self.report.findings.iter().filter(|f| f.severity == Severity::Error).count();
        (errors, self.report.findings.len())
    }

    /// The JSON form (`view{}` beside the report's own fields).
    pub fn out(&self) -> ViewOut {
        ViewOut {
            top: self.groups.first().map(|g| g.indexes[0]),
            groups: self
                .groups
                .iter()
                .map(|g| GroupOut {
                    rule: g.latest().rule.clone(),
                    severity: g.latest().severity,
                    count: g.count(),
                    more_incidents: g.more_incidents,
                    first_time: g.first_time(),
                    last_time: g.last_time(),
                    findings: g.indexes.clone(),
                })
                .collect(),
        }
    }
}

/// The line that started an incident: its trigger, else the evidence at the
/// finding's time, else its first line.
pub fn trigger_line(f: &Finding) -> Option<&Evidence> {
    f.trigger
        .and_then(|i| f.evidence.get(i))
        .or_else(|| f.evidence.iter().find(|e| f.time.is_some() && e.time == f.time))
        .or(f.evidence.first())
}

/// `view{}` in the JSON report: `findings[top]` leads; `groups` in the
/// order printers show them, each naming its findings (indexes into
/// `findings`, most recent first).
#[derive(Debug, Clone, Serialize)]
pub struct ViewOut {
    pub top: Option<usize>,
    pub groups: Vec<GroupOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupOut {
    pub rule: String,
    pub severity: Severity,
    pub count: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub more_incidents: bool,
    pub first_time: Option<DateTime>,
    pub last_time: Option<DateTime>,
    pub findings: Vec<usize>,
}

/// A report with its view, as `--format json` and `ndjson` write it.
#[derive(Serialize)]
pub struct ReportWithView<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    pub view: ViewOut,
}

impl<'a> ReportWithView<'a> {
    pub fn new(report: &'a Report) -> Self {
        ReportWithView { report, view: View::new(report).out() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, severity: Severity, time: Option<&str>) -> Finding {
        Finding::for_test(rule, severity, time)
    }

    #[test]
    fn incidents_group_by_rule_errors_and_recent_first() {
        let mut r = Report::new();
        r.findings = vec![
            finding("a", Severity::Error, Some("2024-01-01T10:00:00")),
            finding("b", Severity::Error, Some("2024-03-01T10:00:00")),
            finding("a", Severity::Error, Some("2024-02-01T10:00:00")),
            finding("w", Severity::Warning, Some("2024-05-01T10:00:00")),
            finding("a", Severity::Error, None),
        ];
        let v = View::new(&r);
        let rules: Vec<&str> = v.groups.iter().map(|g| g.latest().rule.as_str()).collect();
        assert_eq!(rules, ["b", "a", "w"]);
        let a = &v.groups[1];
        assert_eq!(a.count(), 3);
        assert_eq!(a.indexes, [2, 0, 4]);
        assert_eq!(a.first_time().unwrap().to_string(), "2024-01-01T10:00:00");
        assert_eq!(a.last_time().unwrap().to_string(), "2024-02-01T10:00:00");
        assert_eq!(v.top().unwrap().rule, "b");
        assert_eq!(v.out().top, Some(1));
        let mut only_warning = Report::new();
        only_warning.findings = vec![finding("w", Severity::Warning, None)];
        assert!(View::new(&only_warning).top_error().is_none());
        assert_eq!(View::new(&only_warning).top().unwrap().rule, "w");
    }
}
