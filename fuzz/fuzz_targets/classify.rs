//! What a file is: `classify::classify` (name, then content) and `by_content`.
//! The first line of the input is the file name, the rest the content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::sources::classify;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (name, body) = text.split_once('\n').unwrap_or(("", &text));
    let by_content = classify::by_content(body);
    let kind = classify::classify(name, body);
    assert_eq!(kind, classify::by_name(name).unwrap_or(by_content));
    // The whole input as content, too (no name line).
    let _ = classify::by_content(&text);
});
