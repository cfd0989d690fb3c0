//! Archives (`sources::archive::walk` and `package::inspect`) over an in-memory
//! `Cursor`, with small limits. Every member handed out is read to its end.
//!
//! Invariants: no member yields more than `max_member_bytes`, the members of
//! one walk not more than `max_total_bytes` (nor `max_ratio` times the
//! archive's size) in all, no archive is entered
//! deeper than `max_depth`, and the inspection serializes to JSON.
//!
//! The archive module runs the third-party decoders (zip, cab, lzxd, ...)
//! under `catch_unwind` on purpose; `shared::let_dependency_panics_pass`
//! keeps libFuzzer from aborting on those caught panics.
#![no_main]

#[path = "shared/mod.rs"]
mod shared;

use libfuzzer_sys::fuzz_target;
use servicing_doctor::package;
use servicing_doctor::sources::archive::{self, Event, Limits};
use std::io::{Cursor, Read};

const LIMITS: Limits =
    Limits { max_total_bytes: 8 << 20, max_ratio: 200, max_members: 64, max_depth: 2, max_member_bytes: 2 << 20 };

fuzz_target!(|data: &[u8]| {
    shared::let_dependency_panics_pass();
    let _ = archive::sniff(data);

    let mut total = 0u64;
    let mut events = 0usize;
    let mut archives: Vec<(String, usize)> = Vec::new();
    archive::walk("fuzz.bin", Cursor::new(data), &LIMITS, &mut |ev| {
        events += 1;
        match ev {
            Event::File { path, reader, .. } => {
                assert!(path.starts_with("fuzz.bin!"), "{path}");
                let mut buf = Vec::new();
                let cap = LIMITS.max_member_bytes + 1;
                let _ = reader.take(cap).read_to_end(&mut buf);
                assert!(buf.len() as u64 <= LIMITS.max_member_bytes, "{path}: {} bytes", buf.len());
                total += buf.len() as u64;
            }
            Event::Error { path, message } => {
                assert!(path.starts_with("fuzz.bin"), "{path}");
                assert!(!message.is_empty());
            }
            Event::Archive { path, .. } => {
                // Nesting depth: member names may contain `!` themselves, so
                // count the enclosing archives already entered instead.
                let depth = archives
                    .iter()
                    .filter(|(p, _)| path.strip_prefix(p.as_str()).is_some_and(|r| r.starts_with('!')))
                    .map(|(_, d)| d + 1)
                    .max()
                    .unwrap_or(0);
                assert!(depth > 0 || path == "fuzz.bin", "{path}");
                assert!(depth <= LIMITS.max_depth, "entered at depth {depth}: {path}");
                archives.push((path.to_string(), depth));
            }
        }
    });
    assert!(events >= 1, "a walk always reports something");
    assert!(total <= LIMITS.max_total_bytes, "{total} bytes in all");
    // The ratio limit holds for the whole walk: members that share (or
    // overlap) compressed bytes cannot multiply them past it.
    let allowance = LIMITS.max_ratio.saturating_mul(data.len() as u64).max(archive::RATIO_FLOOR);
    assert!(total <= allowance, "{total} bytes from {} archive bytes", data.len());

    let ins = package::inspect("fuzz.bin", Cursor::new(data), &LIMITS);
    serde_json::to_string(&ins).expect("inspection serializes");
});
