//! The whole pipeline on one buffer: `diagnose::diagnose_buffers` with the
//! embedded rules, then the repair plan for the report.
//!
//! Byte 0 picks the log kind (`byte % 15`: 0 = classify it, else
//! `LogKind::ALL[n - 1]`) and the file name used for classification; the
//! rest is the file. Invariants: the report serializes to JSON, no parser
//! panicked (diagnose catches panics per source; libFuzzer's panic hook
//! aborts first anyway), every evidence line number is within the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::rules::RuleSet;
use servicing_doctor::{decode, diagnose, plan, LogKind};
use std::sync::OnceLock;

const NAMES: [&str; 8] = [
    "input.log",
    "CBS.log",
    "setupact.log",
    "setupapi.dev.log",
    "WindowsUpdate.log",
    "SetupDiagResults.xml",
    "SetupDiagResults.log",
    "dism.log",
];

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::embedded().expect("embedded rules compile"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let n = usize::from(pick % 15);
    let kind = n.checked_sub(1).map(|i| LogKind::ALL[i]);
    let name = format!("fuzz/{}", NAMES[usize::from(pick / 15) % NAMES.len()]);
    let buffers = vec![(name.clone(), kind, bytes.to_vec())];
    let report = diagnose::diagnose_buffers(&buffers, rules());

    let json = serde_json::to_string(&report).expect("report serializes");
    assert!(json.starts_with('{'));
    assert_eq!(report.sources.len(), 1);
    let src = &report.sources[0];
    if let Some(e) = &src.error {
        assert!(!e.contains("internal error"), "{e}");
    }
    let text = decode::decode(bytes).text;
    let lines = decode::lines(&text).count() as u64;
    for f in &report.findings {
        assert!(!f.evidence.is_empty(), "finding {} without evidence", f.rule);
        for ev in &f.evidence {
            assert_eq!(ev.path, name);
            assert!(ev.line >= 1 && ev.line <= lines + 1, "evidence line {} of {lines} ({})", ev.line, f.rule);
        }
    }
    // The repair plan reads log text: it may refuse it, never panic.
    match plan::powershell(&report, &plan::PlanOptions::default()) {
        Ok(script) => assert!(!script.is_empty()),
        Err(_) => {}
    }
});
