//! Zip members, read through the `zip` crate (under `catch_unwind`), each
//! entry's bytes claimed so that overlapping entries are not decoded twice.

use super::walker::{handle_member, join, members_limit_message, stopped_message, Counting, Ctx, Ranges, ReadSeek};
use super::{Ev, Meta, Sink};
use crate::panic_text;
use std::cell::Cell;
use std::io::{Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

fn zip_error(e: &zip::result::ZipError) -> String {
    match e {
        zip::result::ZipError::Io(io) => format!("i/o error: {io}"),
        other => other.to_string(),
    }
}

#[allow(deprecated)]
fn zip_method(m: zip::CompressionMethod) -> (String, bool) {
    use zip::CompressionMethod as M;
    match m {
        M::Stored => ("stored".into(), true),
        M::Deflated => ("deflate".into(), true),
        M::Deflate64 => ("deflate64".into(), true),
        M::Unsupported(n) => {
            let name = match n {
                1 => "shrink",
                2..=5 => "reduce",
                6 => "implode",
                12 => "bzip2",
                14 => "lzma",
                93 => "zstd",
                95 => "xz",
                98 => "ppmd",
                99 => "aes",
                _ => "unknown",
            };
            (format!("{name} (method {n})"), false)
        }
        other => (format!("{other:?}").to_ascii_lowercase(), false),
    }
}

pub(super) fn walk_zip(ctx: &mut Ctx, path: &str, src: &mut dyn ReadSeek, depth: usize, sink: &mut Sink<'_>) {
    let counter = Rc::new(Cell::new(0u64));
    let reader = Counting { inner: src, count: Rc::clone(&counter) };
    let opened = catch_unwind(AssertUnwindSafe(|| zip::ZipArchive::new(reader)));
    let mut archive = match opened {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            sink(Ev::Error { path, message: format!("cannot read zip directory: {}", zip_error(&e)), meta: None });
            return;
        }
        Err(p) => {
            sink(Ev::Error {
                path,
                message: format!("zip reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: None,
            });
            return;
        }
    };
    let count = archive.len();
    let take = count.min(ctx.limits.max_members);
    let mut ranges = Ranges::default();
    for i in 0..take {
        if ctx.exhausted {
            sink(Ev::Error { path, message: stopped_message(ctx, take - i), meta: None });
            return;
        }
        zip_member(ctx, path, &mut archive, i, &counter, &mut ranges, depth, sink);
    }
    if count > take {
        sink(Ev::Error { path, message: members_limit_message(&ctx.limits, count), meta: None });
    }
}

#[allow(clippy::too_many_arguments)]
fn zip_member<R: Read + Seek>(
    ctx: &mut Ctx,
    path: &str,
    archive: &mut zip::ZipArchive<R>,
    i: usize,
    counter: &Cell<u64>,
    ranges: &mut Ranges,
    depth: usize,
    sink: &mut Sink<'_>,
) {
    let fallback_name = archive.name_for_index(i).map(str::to_string).unwrap_or_else(|| format!("#{i}"));
    // Metadata first, without decompressing.
    let raw = catch_unwind(AssertUnwindSafe(|| {
        archive.by_index_raw(i).map(|f| {
            let span = (f.header_start(), f.data_start().saturating_add(f.compressed_size()));
            (f.name().to_string(), f.is_dir(), f.encrypted(), f.compression(), f.size(), f.compressed_size(), span)
        })
    }));
    let (name, is_dir, encrypted, method, size, compressed, span) = match raw {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let p = join(path, &fallback_name);
            sink(Ev::Error { path: &p, message: format!("cannot read zip entry: {}", zip_error(&e)), meta: None });
            return;
        }
        Err(p) => {
            let p2 = join(path, &fallback_name);
            sink(Ev::Error {
                path: &p2,
                message: format!("zip reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: None,
            });
            return;
        }
    };
    if is_dir {
        return;
    }
    let member_path = join(path, &name);
    let (method_name, supported) = zip_method(method);
    let meta = Meta { size: Some(size), compressed: Some(compressed), method: method_name.clone() };
    if encrypted {
        sink(Ev::Error {
            path: &member_path,
            message: "encrypted member: password-protected zip entries are not supported".into(),
            meta: Some(&meta),
        });
        return;
    }
    if !supported {
        sink(Ev::Error {
            path: &member_path,
            message: format!(
                "unsupported zip compression method {method_name} (only stored, deflate and deflate64 are read)"
            ),
            meta: Some(&meta),
        });
        return;
    }
    // Its local header and data, from the central directory: a second
    // entry pointing into them would decode the same bytes again.
    if let Err(other) = ranges.claim(span.0, span.1, i) {
        let other = archive.name_for_index(other).map(|n| join("", n)).unwrap_or_default();
        sink(Ev::Error {
            path: &member_path,
            message: format!(
                "overlaps member {} (its data at bytes {}..{} is shared with that member): not read again",
                other.trim_start_matches('!'),
                span.0,
                span.1
            ),
            meta: Some(&meta),
        });
        return;
    }
    let a = &mut *archive;
    let opened = catch_unwind(AssertUnwindSafe(move || {
        let a = a;
        a.by_index(i)
    }));
    let mut file = match opened {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            sink(Ev::Error {
                path: &member_path,
                message: format!("cannot open zip entry: {}", zip_error(&e)),
                meta: Some(&meta),
            });
            return;
        }
        Err(p) => {
            sink(Ev::Error {
                path: &member_path,
                message: format!("zip reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: Some(&meta),
            });
            return;
        }
    };
    handle_member(ctx, &member_path, &meta, &mut file, counter, depth, sink);
}
