//! The CBS/DISM/Panther line grammar: `parse_line`, `parse_timestamp`,
//! `parse_csi_stamp`, `starts_entry`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::records::panther;

fuzz_target!(|data: &[u8]| {
    // Raw bytes first: the timestamp and entry sniffers take bytes.
    if let Some((_, n)) = panther::parse_timestamp(data) {
        assert!((19..=29).contains(&n) && n <= data.len(), "length {n}");
    }
    let _ = panther::starts_entry(data);

    let text = String::from_utf8_lossy(data);
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let parsed = panther::parse_line(line);
        // The entry counter and the parser agree on what starts an entry.
        assert_eq!(
            panther::starts_entry(line.as_bytes()),
            parsed.is_some(),
            "starts_entry and parse_line disagree on {line:?}"
        );
        let _ = panther::parse_csi_stamp(line);
        if let Some(p) = parsed {
            assert_eq!(p.message, p.message.trim_end());
            if let Some(c) = p.component {
                assert!(!c.is_empty() && !c.contains([' ', '\t']));
            }
            if let Some(id) = p.msgid {
                assert!(id.starts_with("0x"));
            }
            let r = p.to_record(i as u64 + 1);
            assert_eq!(r.message, p.message);
            if let Some(s) = panther::parse_csi_stamp(p.message) {
                assert_eq!(Some(s.seq), u32::from_str_radix(p.message.get(..8).unwrap_or(""), 16).ok());
            }
        }
    }
});
