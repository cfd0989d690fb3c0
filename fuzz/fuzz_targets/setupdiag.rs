//! SetupDiag results: `parse_xml`, `parse_text`, `records`, and the two
//! content sniffers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::records::setupdiag::{self, SetupDiag};

fn check(sd: &SetupDiag, text: &str) {
    let lines = text.split('\n').count() as u64;
    for (key, _, line) in &sd.entries {
        assert!(*line >= 1 && *line <= lines, "line {line} of {lines} ({key})");
        assert!(key.len() <= 1024);
    }
    let recs = sd.records();
    assert_eq!(recs.len(), sd.entries.len());
    if let Some((k, v, _)) = sd.entries.first() {
        assert_eq!(sd.get(k).is_some(), true, "{k} = {v}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = setupdiag::looks_like_xml(&text);
    let _ = setupdiag::looks_like_text(&text);
    check(&setupdiag::parse_text(&text), &text);
    match setupdiag::parse_xml(&text) {
        Ok(sd) => check(&sd, &text),
        Err(e) => assert!(e.starts_with("SetupDiag XML is malformed"), "{e}"),
    }
});
