//! Check results as signal hits: a `check:` signal matches a
//! [`CheckFailure`] by its check id, and its `path`, `problem` and `check`
//! are the captures. No text is parsed back.

use super::scan::Hit;
use super::RuleSet;
use crate::checks::CheckFailure;

/// The captures every check hit carries, for fact sources (`signal.path`).
pub const CAPTURES: &[&str] = &["check", "path", "problem"];

/// Append a hit for each (failure, check signal naming its check). Line
/// numbers count failures from 1, in the order given.
pub fn hits(rules: &RuleSet, failures: &[CheckFailure], source: usize, out: &mut Vec<Hit>) {
    for (i, f) in failures.iter().enumerate() {
        for (ri, rule) in rules.rules.iter().enumerate() {
            for (si, sig) in rule.signals.iter().enumerate() {
                if !sig.checks.iter().any(|c| c == f.check) {
                    continue;
                }
                out.push(Hit {
                    rule: ri,
                    signal: si,
                    source,
                    line: i as u64 + 1,
                    time: None,
                    text: f.line(),
                    captures: vec![
                        ("check".into(), f.check.to_string()),
                        ("path".into(), f.path.clone()),
                        ("problem".into(), f.problem.clone()),
                    ],
                });
            }
        }
    }
}
