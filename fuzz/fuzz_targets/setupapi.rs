//! setupapi.dev.log / setupapi.setup.log / legacy setupapi.log:
//! `parse`, `count_records`, `looks_like`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::records::setupapi;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = setupapi::looks_like(&text);
    let recs = setupapi::parse(&text);
    assert_eq!(recs.len() as u64, setupapi::count_records(&text));
    let lines = text.split('\n').count() as u64;
    let mut prev = 0;
    for r in &recs {
        assert!(r.line > prev && r.line <= lines, "line {} after {prev}", r.line);
        prev = r.line;
        assert!(r.level.is_some());
    }
});
