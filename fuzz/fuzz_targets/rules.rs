//! Rule YAML is input too: `RuleSet::from_sources` must give Ok or Err for
//! any text (never panic, never hang), and a rule set that compiles must run
//! its own self-tests (`rules::selftest::run`) without panicking.
//! NUL bytes split the input into up to four rule documents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::rules::{model, selftest, RuleSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        if let Some(s) = model::parse_duration_secs(line) {
            assert!((0..=7 * 24 * 3600).contains(&s));
        }
    }
    let docs: Vec<(String, String)> =
        text.split('\0').take(4).enumerate().map(|(i, t)| (format!("fuzz-{i}.yaml"), t.to_string())).collect();
    match RuleSet::from_sources(&docs) {
        Ok(rules) => {
            for r in &rules.rules {
                assert!(rules.get(&r.id).is_some());
                assert!(!r.signals.is_empty());
            }
            let out = selftest::run(&rules);
            assert!(out.failures.len() <= out.checks);
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
