//! WinSxS folder names (`checks::winsxs::parse_component_name`) and dotted
//! version comparison (`version::compare`). Folder names on a damaged or
//! hostile disk are input. Line 1 and line 2 are compared as versions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::checks::winsxs;
use std::cmp::Ordering;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').take(8) {
        if let Some(c) = winsxs::parse_component_name(line) {
            let again = format!("{}_{}_{}_{}_{}_{}", c.arch, c.name, c.public_key_token, c.version, c.culture, c.hash);
            assert_eq!(again, line.to_ascii_lowercase());
        }
    }
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    let ab = servicing_doctor::version::compare(a, b);
    assert_eq!(ab, servicing_doctor::version::compare(b, a).reverse());
    assert_eq!(servicing_doctor::version::compare(a, a), Ordering::Equal);
});
