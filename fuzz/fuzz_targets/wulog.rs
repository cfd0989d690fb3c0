//! WindowsUpdate.log, classic and Get-WindowsUpdateLog forms: `parse`, `looks_like`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::records::wulog;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = wulog::looks_like(&text);
    let lines = text.split('\n').count() as u64;
    let mut prev = 0;
    for r in wulog::parse(&text) {
        assert!(r.time.is_some());
        assert!(r.line > prev && r.line <= lines, "line {} after {prev}", r.line);
        prev = r.line;
        assert_eq!(r.message, r.message.trim());
    }
});
