//! `{fact}` and `{system.key}` placeholders in remediation step text:
//! found when rules load (an unknown name is an error there), filled when
//! a finding is made (facts) and once the machine is known (system).

use crate::report::{Action, Report};
use std::collections::BTreeMap;

/// What a step says where a fact the rule declares was not in the logs.
pub const NOT_IN_LOGS: &str = "(not named in the logs)";
/// What a step says where a system fact is not known.
pub const NOT_KNOWN: &str = "(not known)";
/// The prefix of a system placeholder: `{system.os_build}`.
pub const SYSTEM: &str = "system.";

/// The placeholders of a text: `{name}` (a letter, then letters, digits and
/// `_`) or `{system.name}`. `{0}` (a PowerShell format item) and a script
/// block `{ ... }` are not placeholders.
pub fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    each(s, |name| {
        out.push(name.to_string());
        None
    });
    out
}

fn is_name(name: &str) -> bool {
    let bare = name.strip_prefix(SYSTEM).unwrap_or(name);
    bare.starts_with(|c: char| c.is_ascii_alphabetic()) && bare.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Call `f` on each placeholder; where it gives a value the placeholder is
/// replaced by it, elsewhere it stays as written.
fn each(s: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                match f(&after[..close]) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Fill `{fact}` placeholders; `{system.x}` ones wait for [`fill_system`].
pub fn fill_facts(step: &str, facts: &BTreeMap<String, String>) -> String {
    each(step, |name| {
        if name.starts_with(SYSTEM) {
            None
        } else {
            Some(facts.get(name).cloned().unwrap_or_else(|| NOT_IN_LOGS.to_string()))
        }
    })
}

/// Fill the `{system.x}` placeholders of every finding's steps from the
/// report's `system{}`, once it is complete.
pub fn fill_system(report: &mut Report) {
    let system = &report.system;
    for f in &mut report.findings {
        let r = &mut f.remediation;
        if !r.actions.iter().any(|a| a.text.contains("{system.")) {
            continue;
        }
        let actions: Vec<Action> = r
            .actions
            .iter()
            .map(|a| Action {
                text: each(&a.text, |name| {
                    let key = name.strip_prefix(SYSTEM)?;
                    Some(system.get(key).cloned().unwrap_or_else(|| NOT_KNOWN.to_string()))
                }),
                ..a.clone()
            })
            .collect();
        r.set_actions(actions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_non_names() {
        assert_eq!(placeholders("a {missing} b {system.os_build} {0} { $_ } {a b} {x"), ["missing", "system.os_build"]);
        let mut f = BTreeMap::new();
        f.insert("missing".to_string(), "C:\\x.inf".to_string());
        assert_eq!(fill_facts("Restore {missing}.", &f), "Restore C:\\x.inf.");
        assert_eq!(fill_facts("{inf}", &f), NOT_IN_LOGS);
        assert_eq!(fill_facts("On {system.os_build}: {missing}", &f), "On {system.os_build}: C:\\x.inf");
        assert_eq!(fill_facts("'{0}' -f { $_ }", &f), "'{0}' -f { $_ }");
        assert_eq!(fill_facts("% { & robocopy $_.FullName }", &f), "% { & robocopy $_.FullName }");
    }

    #[test]
    fn system_facts_are_filled_once_the_machine_is_known() {
        let mut r = Report::new();
        let step = |t: &str| Action { text: t.into(), shell: None, commands: Vec::new() };
        let mut f = crate::report::Finding::for_test("r", crate::rules::Severity::Error, None);
        f.remediation.set_actions(vec![step("Build {system.os_build}, zone {system.time_zone}."), step("{keep}")]);
        r.findings.push(f);
        r.system.insert("os_build".into(), "19045.4291".into());
        fill_system(&mut r);
        let a = &r.findings[0].remediation;
        assert_eq!(a.actions[0].text, "Build 19045.4291, zone (not known).");
        assert_eq!(a.steps[0], a.actions[0].text);
        assert_eq!(a.actions[1].text, "{keep}");
    }
}
