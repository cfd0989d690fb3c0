//! Rules test themselves: every signal's `match` / `no_match` lines, and
//! every rule's `tests` cases (small logs run through the whole pipeline).

use super::model::CaseDoc;
use super::RuleSet;
use crate::checks::{CheckFailure, CHECK_IDS};
use crate::diagnose::diagnose_buffers_with_checks;
use crate::kind::LogKind;
use crate::report::Report;

/// One failed expectation, naming the rule file and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub rule: String,
    pub origin: String,
    pub message: String,
}

/// What a self-test run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub checks: usize,
    pub failures: Vec<Failure>,
}

/// Run every rule's own tests.
pub fn run(rules: &RuleSet) -> Outcome {
    run_only(rules, None)
}

/// Run the tests of one rule (by id), or of every rule.
pub fn run_only(rules: &RuleSet, only: Option<&str>) -> Outcome {
    let mut out = Outcome::default();
    for rule in rules.rules.iter().filter(|r| only.is_none_or(|id| r.id == id)) {
        // `file:line` of what failed: the signal's id, or the test case's name.
        let at = |file: &str, line: u64| if line > 0 { format!("{file}:{line}") } else { file.to_string() };
        for sig in &rule.signals {
            let origin = at(sig.shared.as_deref().unwrap_or(&rule.origin), sig.line);
            let mut fail =
                |message: String| out.failures.push(Failure { rule: rule.id.clone(), origin: origin.clone(), message });
            for line in &sig.must_match {
                out.checks += 1;
                if !sig.matches_text(line) {
                    fail(format!("signal `{}` should match: {line}", sig.id));
                }
            }
            for line in &sig.no_match {
                out.checks += 1;
                if sig.matches_text(line) {
                    fail(format!("signal `{}` should not match: {line}", sig.id));
                }
            }
        }
        for case in &rule.tests {
            let origin = at(&rule.origin, case.name.referenced.line());
            let mut fail =
                |message: String| out.failures.push(Failure { rule: rule.id.clone(), origin: origin.clone(), message });
            out.checks += 1;
            let report = run_case(rules, case);
            if rule.emit == super::Emit::System {
                // Facts about the machine land in system{}, not in a finding.
                let got: Vec<(&String, &String)> =
                    rule.facts.iter().filter_map(|(k, _)| report.system.get_key_value(k)).collect();
                match (case.fires, got.is_empty()) {
                    (true, true) => fail(format!("test `{}`: the rule gave no system fact", case.name.value)),
                    (false, false) => {
                        fail(format!("test `{}`: the rule gave system facts but should not: {got:?}", case.name.value))
                    }
                    _ => {}
                }
                for (k, want) in &case.facts {
                    if report.system.get(k) != Some(want) {
                        fail(format!(
                            "test `{}`: system `{k}` is {:?}, expected {want:?}",
                            case.name.value,
                            report.system.get(k)
                        ));
                    }
                }
                continue;
            }
            // A rule's test logs are its fixtures: no other error rule may
            // claim them (two rules for one failure would both be shown).
            let claims = |f: &&crate::report::Finding| {
                f.rule != rule.id && f.severity == super::Severity::Error && !case.also_fires.contains(&f.rule)
            };
            for other in report.findings.iter().filter(claims) {
                fail(format!(
                    "test `{}`: rule `{}` ({}) fires on these logs too (evidence: {})",
                    case.name.value,
                    other.rule,
                    rules.get(&other.rule).map(|r| r.origin.as_str()).unwrap_or("?"),
                    other.evidence.first().map(|e| e.text.as_str()).unwrap_or("")
                ));
            }
            let found: Vec<_> = report.findings.iter().filter(|f| f.rule == rule.id).collect();
            match (case.fires, found.first()) {
                (true, None) => fail(format!("test `{}`: the rule did not fire", case.name.value)),
                (false, Some(f)) => fail(format!(
                    "test `{}`: the rule fired but should not (evidence: {})",
                    case.name.value,
                    f.evidence.first().map(|e| e.text.as_str()).unwrap_or("")
                )),
                (true, Some(f)) => {
                    for (k, want) in &case.facts {
                        match f.facts.get(k) {
                            Some(got) if got == want => {}
                            got => {
                                fail(format!("test `{}`: fact `{k}` is {got:?}, expected {want:?}", case.name.value))
                            }
                        }
                    }
                }
                (false, None) => {}
            }
        }
    }
    out
}

/// Diagnose one test case's logs and check problems, as `rules test` does.
pub fn run_case(rules: &RuleSet, case: &CaseDoc) -> Report {
    let buffers: Vec<(String, Option<LogKind>, Vec<u8>)> = case
        .logs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let name = l.name.clone().unwrap_or_else(|| format!("{}-{i}.log", l.kind));
            (name, LogKind::from_name(&l.kind), l.text.clone().into_bytes())
        })
        .collect();
    let failures: Vec<CheckFailure> = case
        .checks
        .iter()
        .filter_map(|c| {
            let check = CHECK_IDS.iter().find(|id| **id == c.check)?;
            Some(CheckFailure {
                check,
                path: c.path.clone(),
                problem: c.problem.clone(),
                registered: c.check == "servicing-stack-registered",
            })
        })
        .collect();
    diagnose_buffers_with_checks(&buffers, &failures, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_pass_their_own_tests() {
        let rules = RuleSet::embedded()
            .unwrap_or_else(|e| panic!("{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")));
        assert!(rules.get("wu-0x80070003-driver-files-missing").is_some());
        assert!(rules.get("upgrade-0x80070003-servicing-stack-damaged").is_some());
        let out = run(&rules);
        let msgs: Vec<String> =
            out.failures.iter().map(|f| format!("{}: {}: {}", f.origin, f.rule, f.message)).collect();
        assert!(msgs.is_empty(), "{}", msgs.join("\n"));
        assert!(out.checks > 20);
    }

    #[test]
    fn an_overflowing_window_is_a_rule_error_not_a_panic() {
        let doc = "id: t\ntitle: t\nseverity: error\nsummary: s\nwindow: 2562047788015216h\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: hello\nremediation: { id: r, steps: [x] }\n";
        let err = RuleSet::from_sources(&[("t.yaml".into(), doc.into())]).unwrap_err();
        assert!(err[0].to_string().contains("t.yaml:5: window"), "{}", err[0]);
    }

    #[test]
    fn a_broken_expectation_is_reported() {
        let doc = r#"
id: t
title: t
severity: warning
summary: s
signals:
  - id: a
    kinds: [cbs]
    anchor: "hello"
    match: ["goodbye"]
remediation: { id: r, steps: [x] }
tests:
  - name: c
    fires: true
    logs: [{ kind: cbs, text: "2020-01-01 00:00:00, Info CBS nothing here\n" }]
"#;
        let rules = RuleSet::from_sources(&[("t.yaml".into(), doc.into())]).unwrap();
        let out = run(&rules);
        assert_eq!(out.failures.len(), 2, "{:?}", out.failures);
    }
}
