//! Each rule's firing test cases (its fixtures, in its YAML file), run
//! through the whole pipeline and snapshot-tested on the finding: rule,
//! code, subject, facts, evidence lines and the steps people read. A change
//! in what a rule reports shows up here as a snapshot diff to review
//! (`INSTA_UPDATE=always cargo test -p servicing-doctor-core --test rule_findings`).

use serde_json::{json, Value};
use servicing_doctor::rules::{selftest, Emit, RuleSet};

fn slug(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').chars().take(60).collect()
}

#[test]
fn every_firing_case_matches_its_snapshot() {
    let rules = RuleSet::embedded().unwrap();
    let mut snapshots = 0;
    for rule in rules.rules.iter().filter(|r| r.emit == Emit::Finding) {
        for case in rule.tests.iter().filter(|c| c.fires) {
            let report = selftest::run_case(&rules, case);
            let found: Vec<Value> = report
                .findings
                .iter()
                .filter(|f| f.rule == rule.id)
                .map(|f| {
                    json!({
                        "rule": f.rule,
                        "severity": f.severity,
                        "code": f.code,
                        "time": f.time,
                        "subject": f.subject,
                        "fact_list": f.fact_list,
                        "evidence": f.evidence.iter().map(|e| format!("{}:{} [{}] {}", e.path, e.line, e.signal, e.text)).collect::<Vec<_>>(),
                        "steps": f.remediation.steps,
                        "plan": f.remediation.plan,
                    })
                })
                .collect();
            assert!(!found.is_empty(), "{}: `{}` fires (rules test says so)", rule.id, case.name.value);
            let mut settings = insta::Settings::clone_current();
            settings.set_info(&json!({ "rule": rule.id, "origin": rule.origin, "case": case.name.value }));
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_json_snapshot!(format!("{}__{}", rule.id, slug(&case.name.value)), found));
            snapshots += 1;
        }
    }
    assert!(snapshots >= 9, "{snapshots} snapshots");
}
