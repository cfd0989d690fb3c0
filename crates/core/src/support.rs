//! What support asks first about a failure: the update or package, the OS
//! build with its revision (UBR), the servicing stack version, the time of
//! the failure in UTC and the machine's name. Each comes from the finding's
//! facts, then the registry, then the logs; what none of them states is
//! said to be "not in the logs", never guessed.

use crate::report::{Finding, Report};
use jiff::civil::DateTime;

/// Said of a value no evidence states.
pub const NOT_IN_LOGS: &str = "not in the logs";

/// One line of the support summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub label: &'static str,
    /// `None`: not in the logs.
    pub value: Option<String>,
    /// Where the value comes from, for the reader ("registry", "CBS log", ...).
    pub from: Option<&'static str>,
}

impl Item {
    pub fn shown(&self) -> &str {
        self.value.as_deref().unwrap_or(NOT_IN_LOGS)
    }
}

/// The first value present among `keys` of the finding's facts, then the
/// system facts, with where it came from.
fn first(report: &Report, finding: &Finding, keys: &[(&str, &'static str)]) -> (Option<String>, Option<&'static str>) {
    for (key, from) in keys {
        let v = finding.facts.get(*key).or_else(|| report.system.get(*key));
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            return (Some(v.clone()), Some(*from));
        }
    }
    (None, None)
}

/// The support summary of one finding.
pub fn summary(report: &Report, finding: &Finding) -> Vec<Item> {
    let item = |label, (value, from): (Option<String>, Option<&'static str>)| Item { label, value, from };
    let package = {
        let (name, from) = first(report, finding, &[("package", "the logs"), ("package_in_logs", "the logs")]);
        let (kb, _) = first(report, finding, &[("kb", "the logs"), ("kb_in_logs", "the logs")]);
        // A KB is paired with a package only by the package's own name: a
        // KB stated elsewhere in the logs may be another update's.
        let value = match (kb, name) {
            (_, Some(name)) => Some(name),
            (Some(kb), None) => Some(kb),
            (None, None) => None,
        };
        (value, from)
    };
    let os = match report.system.get("os_build") {
        Some(build) => {
            let product = [report.system.get("os_product"), report.system.get("os_display_version")]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            let v = if product.is_empty() { format!("build {build}") } else { format!("{product}, build {build}") };
            (Some(v), Some("registry"))
        }
        None => match report.system.get("os_version_in_logs") {
            Some(v) => (Some(format!("{v} (the revision, UBR, is not in the logs)")), Some("the logs")),
            None => (None, None),
        },
    };
    let stack = match report.system.get("servicing_stack_registered") {
        Some(list) => (crate::version::newest(list).map(str::to_string), Some("registry")),
        None => first(report, finding, &[("servicing_stack_in_logs", "the logs")]),
    };
    let machine = first(report, finding, &[("computer_name", "registry"), ("computer_name_in_logs", "the logs")]);
    vec![
        item("Update or package", package),
        item("OS build", os),
        item("Servicing stack", stack),
        item("Failure time (UTC)", failure_time_utc(report, finding)),
        item("Machine name", machine),
    ]
}

/// The finding's time in UTC. Servicing logs write local time; the offset
/// is the registry's time zone (`utc_offset_minutes`, from ActiveTimeBias,
/// the offset in force when the hive was last written). Without it, the
/// local time is given and said to be local.
fn failure_time_utc(report: &Report, finding: &Finding) -> (Option<String>, Option<&'static str>) {
    let Some(t) = finding.time else { return (None, None) };
    let offset = report.system.get("utc_offset_minutes").and_then(|m| m.trim().parse::<i64>().ok());
    match offset.filter(|m| m.abs() <= 14 * 60) {
        Some(minutes) => match to_utc(t, minutes) {
            Some(u) => (
                Some(format!("{} UTC", u.strftime("%Y-%m-%d %H:%M:%S"))),
                Some("log time and the registry's time zone"),
            ),
            None => (None, None),
        },
        None => (
            Some(format!(
                "{} local time (the machine's UTC offset is not in the logs)",
                t.strftime("%Y-%m-%d %H:%M:%S")
            )),
            Some("the logs"),
        ),
    }
}

/// Local time at `offset_minutes` east of UTC, as UTC.
fn to_utc(local: DateTime, offset_minutes: i64) -> Option<DateTime> {
    local.checked_sub(jiff::Span::new().minutes(offset_minutes)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Finding;
    use crate::rules::Severity;

    fn finding(time: &str) -> Finding {
        Finding::for_test("r", Severity::Error, Some(time))
    }

    fn value<'a>(items: &'a [Item], label: &str) -> &'a str {
        items.iter().find(|i| i.label == label).unwrap().shown()
    }

    #[test]
    fn everything_the_evidence_states() {
        let mut r = Report::new();
        for (k, v) in [
            ("os_product", "Windows 10 Pro"),
            ("os_display_version", "22H2"),
            ("os_build", "19045.4170"),
            ("servicing_stack_registered", "10.0.19041.3989, 10.0.19041.4163"),
            ("servicing_stack_in_logs", "10.0.19041.1"),
            ("utc_offset_minutes", "60"),
            ("computer_name", "PC-7"),
            ("computer_name_in_logs", "OLD-NAME"),
            ("package_in_logs", "Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.8"),
            ("kb_in_logs", "KB5035845"),
        ] {
            r.system.insert(k.into(), v.into());
        }
        let s = summary(&r, &finding("2024-03-13T00:30:05"));
        // The KB the logs state elsewhere may be another update's: not paired.
        assert_eq!(value(&s, "Update or package"), "Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.8");
        assert_eq!(value(&s, "OS build"), "Windows 10 Pro 22H2, build 19045.4170");
        assert_eq!(value(&s, "Servicing stack"), "10.0.19041.4163");
        assert_eq!(value(&s, "Failure time (UTC)"), "2024-03-12 23:30:05 UTC");
        assert_eq!(value(&s, "Machine name"), "PC-7", "the registry wins");
    }

    #[test]
    fn what_no_evidence_states_is_said() {
        let mut r = Report::new();
        r.system.insert("os_version_in_logs".into(), "10.0.19045".into());
        r.system.insert("utc_offset_minutes".into(), "99999".into());
        let s = summary(&r, &finding("2024-03-13T00:30:05"));
        assert_eq!(value(&s, "Update or package"), NOT_IN_LOGS);
        r.system.insert("kb_in_logs".into(), "KB5034441".into());
        assert_eq!(value(&summary(&r, &finding("2024-03-13T00:30:05")), "Update or package"), "KB5034441");
        assert_eq!(value(&s, "OS build"), "10.0.19045 (the revision, UBR, is not in the logs)");
        assert_eq!(value(&s, "Servicing stack"), NOT_IN_LOGS);
        assert_eq!(
            value(&s, "Failure time (UTC)"),
            "2024-03-13 00:30:05 local time (the machine's UTC offset is not in the logs)",
            "an offset beyond 14 hours is not believed"
        );
        assert_eq!(value(&s, "Machine name"), NOT_IN_LOGS);
    }
}
