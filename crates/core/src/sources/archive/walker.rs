//! The walk itself, whatever the format: the state of one top-level walk
//! ([`Ctx`]), the reader handed out for each member ([`Guard`], which
//! enforces the [`Limits`] and catches decoder panics), and what becomes of
//! one member ([`handle_member`]: entered if it is an archive, else handed to
//! the callback), with the messages for limits hit.

use super::{sniff, ArchiveKind, Ev, Limits, Meta, Sink, RATIO_FLOOR, SNIFF_LEN};
use crate::panic_text;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

pub(super) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// State shared by one top-level walk.
pub(super) struct Ctx {
    pub(super) limits: Limits,
    /// Bytes decoded so far, every level and every skip counted.
    pub(super) total: u64,
    /// Size of the top-level archive: the ratio limit also holds for the
    /// whole walk, so members that share (or re-read) compressed bytes
    /// cannot multiply them past it.
    archive_len: u64,
    pub(super) exhausted: bool,
}

impl Ctx {
    fn new(limits: Limits) -> Self {
        Ctx { limits, total: 0, archive_len: u64::MAX, exhausted: false }
    }

    /// For a walk of `archive`, whose size bounds the walk's output.
    pub(super) fn for_archive(limits: Limits, archive: &mut dyn Seek) -> Self {
        let len = archive.seek(SeekFrom::End(0)).unwrap_or(u64::MAX);
        Ctx { archive_len: len, ..Ctx::new(limits) }
    }

    /// Decoded bytes the whole walk may produce under the ratio limit.
    fn ratio_allowance(&self) -> u64 {
        self.limits.max_ratio.saturating_mul(self.archive_len).max(RATIO_FLOOR)
    }

    /// The walk-wide budget: `max_total_bytes`, or less for a small archive.
    fn budget(&self) -> u64 {
        self.limits.max_total_bytes.min(self.ratio_allowance())
    }

    pub(super) fn total_message(&self) -> String {
        if self.ratio_allowance() < self.limits.max_total_bytes {
            format!(
                "archive compression ratio limit reached (max_ratio = {}:1 over the whole archive): {} bytes decoded from a {}-byte archive",
                self.limits.max_ratio, self.total, self.archive_len
            )
        } else {
            format!("total decompressed bytes limit reached (max_total_bytes = {})", self.limits.max_total_bytes)
        }
    }
}

/// Byte ranges of an archive already handed out (zip entries, cab folder
/// data), so a member whose bytes overlap another's is refused instead of
/// decoded again: overlapping members multiply a small archive's output.
#[derive(Default)]
pub(super) struct Ranges {
    /// start -> (end, owner index); the ranges kept never overlap.
    by_start: BTreeMap<u64, (u64, usize)>,
}

impl Ranges {
    /// Claim `start..end` for `owner`; on overlap, the owner already there.
    pub(super) fn claim(&mut self, start: u64, end: u64, owner: usize) -> Result<(), usize> {
        if start >= end {
            return Ok(());
        }
        if let Some((_, &(e, o))) = self.by_start.range(..=start).next_back() {
            if e > start {
                return Err(o);
            }
        }
        if let Some((&s, &(_, o))) = self.by_start.range(start..).next() {
            if s < end {
                return Err(o);
            }
        }
        self.by_start.insert(start, (end, owner));
        Ok(())
    }
}

pub(super) fn walk_archive(
    ctx: &mut Ctx,
    path: &str,
    src: &mut dyn ReadSeek,
    depth: usize,
    meta: Option<&Meta>,
    sink: &mut Sink<'_>,
) {
    let mut head = [0u8; SNIFF_LEN];
    let got = src.seek(SeekFrom::Start(0)).and_then(|_| read_full(src, &mut head));
    let got = match got {
        Ok(n) => n,
        Err(e) => {
            sink(Ev::Error { path, message: format!("cannot read archive: {e}"), meta });
            return;
        }
    };
    let Some(kind) = sniff(&head[..got]) else {
        sink(Ev::Error { path, message: "not a zip, cab, tar or gzip archive (unrecognised signature)".into(), meta });
        return;
    };
    sink(Ev::Archive { path, kind, meta });
    match kind {
        ArchiveKind::Zip => super::zip::walk_zip(ctx, path, src, depth, sink),
        ArchiveKind::Cab => super::cab::walk_cab(ctx, path, src, depth, sink),
        ArchiveKind::Wim => sink(Ev::Error { path, message: WIM_UNSUPPORTED.into(), meta: None }),
        ArchiveKind::Tar => super::tar::walk_plain_tar(ctx, path, src, depth, sink),
        ArchiveKind::Gzip => super::tar::walk_gzip(ctx, path, src, depth, sink),
    }
}

const WIM_UNSUPPORTED: &str = "WIM container (MSWIM) is not supported: newer .msu files carry \
     their payload as .wim + .psf deltas, which need DISM to apply; read the logs from the \
     machine instead";

pub(super) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `parent!name`, with `\` turned into `/` and control characters escaped.
pub(super) fn join(parent: &str, name: &str) -> String {
    let mut out = String::with_capacity(parent.len() + name.len() + 1);
    out.push_str(parent);
    out.push('!');
    for c in name.chars() {
        if c == '\\' {
            out.push('/');
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Largest read [`Counting`] passes on: decoders read ahead into their own
/// buffers (32 KiB for the zip crate's inflater), which would make the
/// compressed bytes counted for a member too high and its ratio too low;
/// short reads keep the read-ahead, and so the error, small.
const COUNTING_MAX_READ: usize = 2048;

/// Counts bytes pulled from an archive's own bytes (compressed input).
pub(super) struct Counting<'s> {
    pub(super) inner: &'s mut dyn ReadSeek,
    pub(super) count: Rc<Cell<u64>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(COUNTING_MAX_READ);
        let n = self.inner.read(&mut buf[..len])?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

impl Seek for Counting<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailKind {
    /// One of the [`Limits`].
    Limit,
    /// The data could not be decoded (damaged, truncated, decoder panic).
    Decode,
}

#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) kind: FailKind,
    pub(super) message: String,
}

/// The reader handed out for a member: replays the sniffed head, enforces
/// the limits, catches decoder panics and remembers the first failure.
pub(super) struct Guard<'g> {
    inner: &'g mut dyn Read,
    ctx: &'g mut Ctx,
    /// Compressed bytes pulled from the archive so far, and at member start.
    consumed: &'g Cell<u64>,
    consumed_start: u64,
    declared: Option<u64>,
    /// Apply the per-member limits (size, ratio); off for skipping.
    pub(super) member_limits: bool,
    head: [u8; SNIFF_LEN],
    head_len: usize,
    head_pos: usize,
    /// Bytes accepted from `inner`.
    produced: u64,
    /// Bytes taken from `inner`, accepted or not.
    pub(super) pulled: u64,
    pub(super) failure: Option<Failure>,
}

impl<'g> Guard<'g> {
    pub(super) fn new(
        inner: &'g mut dyn Read,
        ctx: &'g mut Ctx,
        consumed: &'g Cell<u64>,
        declared: Option<u64>,
    ) -> Self {
        let consumed_start = consumed.get();
        Guard {
            inner,
            ctx,
            consumed,
            consumed_start,
            declared,
            member_limits: true,
            head: [0; SNIFF_LEN],
            head_len: 0,
            head_pos: 0,
            produced: 0,
            pulled: 0,
            failure: None,
        }
    }

    fn fail(&mut self, kind: FailKind, message: String) -> io::Error {
        let err = io::Error::other(message.clone());
        self.failure = Some(Failure { kind, message });
        err
    }

    /// Read the first bytes (up to [`SNIFF_LEN`]) for sniffing; they are replayed.
    fn peek(&mut self) -> io::Result<&[u8]> {
        let mut head = [0u8; SNIFF_LEN];
        let mut n = 0;
        while n < head.len() {
            match self.pull(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.head = head;
        self.head_len = n;
        self.head_pos = 0;
        Ok(&self.head[..n])
    }

    fn pull(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.failure {
            return Err(io::Error::other(f.message.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let limits = self.ctx.limits;
        let total_room = self.ctx.budget().saturating_sub(self.ctx.total);
        let member_room =
            if self.member_limits { limits.max_member_bytes.saturating_sub(self.produced) } else { u64::MAX };
        let room = total_room.min(member_room);
        // At a limit, a one-byte probe tells the end of the data from more
        // data past the limit; otherwise never read past a limit.
        let mut probe = [0u8; 1];
        let target: &mut [u8] = if room == 0 {
            &mut probe
        } else {
            let want = (buf.len() as u64).min(room) as usize;
            &mut buf[..want]
        };
        let inner = &mut *self.inner;
        let got = catch_unwind(AssertUnwindSafe(|| inner.read(target)));
        let n = match got {
            Err(p) => {
                let msg = format!("decoder crashed on malformed data ({})", panic_text(p.as_ref()));
                return Err(self.fail(FailKind::Decode, msg));
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Ok(Err(e)) => {
                let msg = format!("cannot decode: {e}");
                return Err(self.fail(FailKind::Decode, msg));
            }
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            if let Some(d) = self.declared {
                if self.produced < d {
                    let msg = format!("data ends early: got {} of {} bytes (truncated or damaged)", self.produced, d);
                    return Err(self.fail(FailKind::Decode, msg));
                }
            }
            return Ok(0);
        }
        let n64 = n as u64;
        self.pulled = self.pulled.saturating_add(n64);
        if room == 0 {
            let msg = if member_room == 0 {
                format!("member size limit exceeded (max_member_bytes = {})", limits.max_member_bytes)
            } else {
                // The walk stops after this member.
                self.ctx.exhausted = true;
                self.ctx.total_message()
            };
            return Err(self.fail(FailKind::Limit, msg));
        }
        let produced = self.produced + n64;
        if let Some(d) = self.declared {
            if produced > d {
                let msg = format!("member data is longer than its declared size ({d} bytes)");
                return Err(self.fail(FailKind::Decode, msg));
            }
        }
        self.produced = produced;
        self.ctx.total += n64;
        if self.member_limits && produced > RATIO_FLOOR {
            let consumed = self.consumed.get().saturating_sub(self.consumed_start).max(1);
            if produced > limits.max_ratio.saturating_mul(consumed) {
                // No byte counts: where a read stops depends on the reader's
                // buffer sizes, and the report must not.
                let msg = format!(
                    "compression ratio limit exceeded (max_ratio = {0}:1): the member inflates to more than {0} times its compressed size (checked past its first {1} MiB)",
                    limits.max_ratio,
                    RATIO_FLOOR >> 20
                );
                return Err(self.fail(FailKind::Limit, msg));
            }
        }
        Ok(n)
    }
}

impl Read for Guard<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.head_pos < self.head_len {
            if buf.is_empty() {
                return Ok(0);
            }
            let n = (self.head_len - self.head_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
            self.head_pos += n;
            return Ok(n);
        }
        self.pull(buf)
    }
}

/// What became of one member.
pub(super) struct Outcome {
    /// Bytes taken from the member stream.
    pub(super) pulled: u64,
    /// A decode failure (the stream behind it is unreliable from here).
    pub(super) decode_error: Option<String>,
}

/// Deliver one member: sniff it, enter it if it is an archive, otherwise
/// hand it to the callback; report what went wrong.
#[allow(clippy::too_many_arguments)]
pub(super) fn handle_member(
    ctx: &mut Ctx,
    path: &str,
    meta: &Meta,
    stream: &mut dyn Read,
    consumed: &Cell<u64>,
    depth: usize,
    sink: &mut Sink<'_>,
) -> Outcome {
    let limits = ctx.limits;
    if let Some(size) = meta.size {
        if size > limits.max_member_bytes {
            sink(Ev::Error {
                path,
                message: format!(
                    "member size limit exceeded (max_member_bytes = {}): member is {} bytes",
                    limits.max_member_bytes, size
                ),
                meta: Some(meta),
            });
            return Outcome { pulled: 0, decode_error: None };
        }
    }
    let mut guard = Guard::new(stream, ctx, consumed, meta.size);
    let kind = match guard.peek() {
        Ok(head) => sniff(head),
        Err(_) => {
            let f = guard.failure.clone();
            let pulled = guard.pulled;
            let (message, decode_error) = match f {
                Some(f) => {
                    let d = (f.kind == FailKind::Decode).then(|| f.message.clone());
                    (f.message, d)
                }
                None => ("cannot read".to_string(), None),
            };
            sink(Ev::Error { path, message, meta: Some(meta) });
            return Outcome { pulled, decode_error };
        }
    };
    match kind {
        Some(ArchiveKind::Wim) => {
            let pulled = guard.pulled;
            sink(Ev::Archive { path, kind: ArchiveKind::Wim, meta: Some(meta) });
            sink(Ev::Error { path, message: WIM_UNSUPPORTED.into(), meta: None });
            Outcome { pulled, decode_error: None }
        }
        Some(kind) => {
            if depth + 1 > limits.max_depth {
                let pulled = guard.pulled;
                sink(Ev::Error {
                    path,
                    message: format!(
                        "nested {} archive not entered: nesting depth limit reached (max_depth = {})",
                        kind.name(),
                        limits.max_depth
                    ),
                    meta: Some(meta),
                });
                return Outcome { pulled, decode_error: None };
            }
            let mut buf = Vec::new();
            let res = guard.read_to_end(&mut buf);
            let pulled = guard.pulled;
            let failure = guard.failure.take();
            drop(guard);
            if let Err(e) = res {
                let (message, decode_error) = match failure {
                    Some(f) => {
                        let d = (f.kind == FailKind::Decode).then(|| f.message.clone());
                        (f.message, d)
                    }
                    None => (format!("cannot read: {e}"), None),
                };
                sink(Ev::Error {
                    path,
                    message: format!("nested {} archive not read: {message}", kind.name()),
                    meta: Some(meta),
                });
                return Outcome { pulled, decode_error };
            }
            walk_archive(ctx, path, &mut Cursor::new(buf), depth + 1, Some(meta), sink);
            Outcome { pulled, decode_error: None }
        }
        None => {
            sink(Ev::File { path, meta, reader: &mut guard });
            let pulled = guard.pulled;
            match guard.failure.take() {
                Some(f) => {
                    let decode_error = (f.kind == FailKind::Decode).then(|| f.message.clone());
                    sink(Ev::Error { path, message: f.message, meta: None });
                    Outcome { pulled, decode_error }
                }
                None => Outcome { pulled, decode_error: None },
            }
        }
    }
}

pub(super) fn members_limit_message(limits: &Limits, total: usize) -> String {
    format!(
        "member count limit exceeded (max_members = {}): the archive lists {} members; the last {} were not read",
        limits.max_members,
        total,
        total - limits.max_members
    )
}

pub(super) fn stopped_message(ctx: &Ctx, left: usize) -> String {
    format!("stopped: {}; {left} member(s) not read", ctx.total_message())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(g: &mut Guard<'_>) -> (u64, Option<String>) {
        let mut buf = [0u8; 7000];
        let mut n = 0u64;
        loop {
            match g.read(&mut buf) {
                Ok(0) => return (n, None),
                Ok(k) => n += k as u64,
                Err(e) => return (n, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn member_size_limit_is_exact() {
        let mut ctx = Ctx::new(Limits { max_member_bytes: 10_000, ..Limits::default() });
        let consumed = Cell::new(u64::MAX / 2);
        let mut src = io::repeat(b'a').take(10_000);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, None);
        assert_eq!(drain(&mut g), (10_000, None));
        assert_eq!(ctx.total, 10_000);

        let mut src = io::repeat(b'a').take(10_001);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, None);
        let (n, err) = drain(&mut g);
        assert_eq!(n, 10_000);
        assert!(err.unwrap().contains("max_member_bytes"));
        assert!(!ctx.exhausted);
    }

    #[test]
    fn total_limit_spans_members() {
        let mut ctx = Ctx::new(Limits { max_total_bytes: 25_000, ..Limits::default() });
        let consumed = Cell::new(u64::MAX / 2);
        for _ in 0..2 {
            let mut src = io::repeat(0).take(10_000);
            let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(10_000));
            assert_eq!(drain(&mut g), (10_000, None));
        }
        let mut src = io::repeat(0).take(10_000);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(10_000));
        let (n, err) = drain(&mut g);
        assert_eq!(n, 5_000);
        assert!(err.unwrap().contains("max_total_bytes"));
        assert!(ctx.exhausted);
        assert_eq!(ctx.total, 25_000);
    }

    /// A reader that "consumes" one compressed byte per `ratio` bytes out.
    struct Expanding<'c> {
        counter: &'c Cell<u64>,
        ratio: u64,
        left: u64,
    }

    impl Read for Expanding<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (buf.len() as u64).min(self.left).min(4096) as usize;
            buf[..n].fill(0);
            self.left -= n as u64;
            self.counter.set(self.counter.get() + (n as u64).div_ceil(self.ratio));
            Ok(n)
        }
    }

    #[test]
    fn ratio_only_after_floor() {
        let counter = Cell::new(0);
        let mut ctx = Ctx::new(Limits::default());
        // 4000:1 but under 1 MiB: fine.
        let mut src = Expanding { counter: &counter, ratio: 4000, left: RATIO_FLOOR };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        assert_eq!(drain(&mut g), (RATIO_FLOOR, None));

        // 4000:1 past 1 MiB: stopped just past the floor.
        let mut src = Expanding { counter: &counter, ratio: 4000, left: 8 * RATIO_FLOOR };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        let (n, err) = drain(&mut g);
        assert!(n <= RATIO_FLOOR + 8192, "{n}");
        assert!(err.unwrap().contains("max_ratio"));

        // 100:1 is fine at any size.
        let mut src = Expanding { counter: &counter, ratio: 100, left: 8 * RATIO_FLOOR };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        assert_eq!(drain(&mut g), (8 * RATIO_FLOOR, None));
    }

    #[test]
    fn ratio_holds_over_the_whole_archive() {
        // A 10,000-byte archive at 200:1 may give 2,000,000 bytes in all,
        // however the members share them out (each member's own ratio is 1).
        let limits = Limits { max_ratio: 200, ..Limits::default() };
        let mut ctx = Ctx { archive_len: 10_000, ..Ctx::new(limits) };
        let counter = Cell::new(0);
        let mut src = Expanding { counter: &counter, ratio: 1, left: 1_500_000 };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        assert_eq!(drain(&mut g), (1_500_000, None));
        let mut src = Expanding { counter: &counter, ratio: 1, left: 1_500_000 };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        let (n, err) = drain(&mut g);
        assert_eq!(n, 500_000);
        assert!(err.unwrap().contains("max_ratio = 200:1 over the whole archive"));
        assert!(ctx.exhausted);
        assert_eq!(ctx.total, 2_000_000);
        // Under the floor, a tiny archive still gives 1 MiB.
        let ctx = Ctx { archive_len: 10, ..Ctx::new(limits) };
        assert_eq!(ctx.budget(), RATIO_FLOOR);
    }

    #[test]
    fn ranges_refuse_overlaps_only() {
        let mut r = Ranges::default();
        assert_eq!(r.claim(100, 200, 0), Ok(()));
        assert_eq!(r.claim(200, 300, 1), Ok(()));
        assert_eq!(r.claim(0, 100, 2), Ok(()));
        assert_eq!(r.claim(150, 160, 3), Err(0));
        assert_eq!(r.claim(50, 101, 4), Err(2));
        assert_eq!(r.claim(299, 400, 5), Err(1));
        assert_eq!(r.claim(0, 1000, 6), Err(2));
        assert_eq!(r.claim(5, 5, 7), Ok(()), "an empty range overlaps nothing");
        assert_eq!(r.claim(300, 301, 8), Ok(()));
    }

    #[test]
    fn truncated_and_overlong_members() {
        let mut ctx = Ctx::new(Limits::default());
        let consumed = Cell::new(0);
        let mut src = io::repeat(1).take(10);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(20));
        let (n, err) = drain(&mut g);
        assert_eq!(n, 10);
        assert!(err.unwrap().contains("ends early"));
        assert_eq!(g.failure.as_ref().unwrap().kind, FailKind::Decode);

        let mut src = io::repeat(1).take(30);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(20));
        let (_, err) = drain(&mut g);
        assert!(err.unwrap().contains("longer than its declared size"));
    }

    struct Panicky;
    impl Read for Panicky {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("index out of bounds");
        }
    }

    #[test]
    fn decoder_panic_becomes_error() {
        let mut ctx = Ctx::new(Limits::default());
        let consumed = Cell::new(0);
        let mut src = Panicky;
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, None);
        let (_, err) = drain(&mut g);
        assert!(err.unwrap().contains("decoder crashed"));
        // Later reads keep failing the same way.
        assert!(g.read(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn peeked_head_is_replayed() {
        let mut ctx = Ctx::new(Limits::default());
        let consumed = Cell::new(0);
        let mut src: &[u8] = b"MSCF and more bytes";
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(19));
        assert_eq!(sniff(g.peek().unwrap()), Some(ArchiveKind::Cab));
        let mut out = Vec::new();
        g.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"MSCF and more bytes");
        assert_eq!(ctx.total, 19);
    }

    #[test]
    fn display_paths() {
        assert_eq!(join("bundle.zip", "Windows\\Logs\\CBS\\x.cab"), "bundle.zip!Windows/Logs/CBS/x.cab");
        assert_eq!(join("a", "../../etc/passwd"), "a!../../etc/passwd");
        assert_eq!(join("a", "bad\u{1b}[31mname\n"), "a!bad\\u{1b}[31mname\\n");
    }
}
