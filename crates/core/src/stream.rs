//! Reading a large log as a stream: line-aligned chunks, decoded and
//! scanned in parallel, merged in order. A stream holds at most two batches
//! of chunks, and the streams of one run share the pool's threads between
//! their batches, so memory stays in proportion to the thread count;
//! results are the same whatever the thread count.

use crate::decode::{self, Encoding};
use crate::kind::LogKind;
use crate::records::panther;
use crate::rules::scan::{cap_hits, last_entry, resolve, scan_text, Entry, Hit, Pending, MAX_HITS_PER_SIGNAL};
use crate::rules::RuleSet;
use rayon::prelude::*;
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of text per chunk: small enough that the decode, line-count and
/// scan passes over a chunk hit the core's L2 cache (4 MiB chunks made the
/// two-thread folder run about 15% slower and used three times the memory).
pub const CHUNK: usize = 1 << 20;
/// A line longer than this is scanned in pieces (and said so).
pub const MAX_LINE: usize = 8 << 20;

/// Called with the number of input bytes consumed so far (for progress bars).
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// What one stream shares with the run it belongs to.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    pub progress: Option<Progress<'a>>,
    /// The run's other streams; without it a stream reads ahead as if alone.
    pub streams: Option<&'a Streams>,
}

/// Counts the streams running at once in one thread pool.
///
/// While they occupy every thread, each stream reads and scans its chunks
/// one at a time on its own thread: the chunk just read is still in that
/// core's cache, and no thread waits on another. With threads to spare
/// (one huge file, or the last file of a folder) a stream reads ahead, two
/// chunks per spare thread, while the pool scans the chunks already read.
/// A stream waiting for its scans does not count: its thread may take up
/// another file meanwhile (rayon steals work while it waits), and that file
/// must see the thread as its own.
#[derive(Debug, Default)]
pub struct Streams {
    active: AtomicUsize,
}

impl Streams {
    pub(crate) fn enter(&self) -> Entered<'_> {
        self.active.fetch_add(1, Ordering::Relaxed);
        Entered(self)
    }

    /// Threads this stream may use: its own and the idle ones.
    pub(crate) fn threads_free(&self) -> usize {
        let active = self.active.load(Ordering::Relaxed).max(1);
        rayon::current_num_threads().saturating_sub(active) + 1
    }
}

/// Leaves the count when the stream ends (panics included), or for as long
/// as it waits.
pub(crate) struct Entered<'a>(&'a Streams);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What streaming one source produced.
#[derive(Debug, Default)]
pub struct Streamed {
    pub records: u64,
    pub hits: Vec<Hit>,
    pub warnings: Vec<String>,
    /// Bytes read from the input (after `head`).
    pub bytes: u64,
}

/// Turns a byte stream into UTF-8 chunks that end at a line break.
pub(crate) struct Chunker<R> {
    reader: R,
    encoding: Encoding,
    utf16: Option<encoding_rs::Decoder>,
    /// Undelivered text (UTF-8 bytes, maybe with invalid sequences).
    pending: Vec<u8>,
    raw: Vec<u8>,
    eof: bool,
    pub(crate) bytes_in: u64,
    pub(crate) utf16_errors: bool,
    /// Lines cut into pieces (counted once per line, not per piece).
    pub(crate) long_lines: u64,
    /// The last chunk ended inside a line.
    in_long_line: bool,
    /// `pending[..clean]` holds no line break (so a long line is not
    /// searched again on every read).
    clean: usize,
}

impl<R: Read> Chunker<R> {
    pub(crate) fn new(reader: R, encoding: Encoding, first: &[u8]) -> Self {
        let utf16 = match encoding {
            Encoding::Utf16Le => Some(encoding_rs::UTF_16LE.new_decoder_without_bom_handling()),
            Encoding::Utf16Be => Some(encoding_rs::UTF_16BE.new_decoder_without_bom_handling()),
            _ => None,
        };
        let mut c = Chunker {
            reader,
            encoding,
            utf16,
            pending: Vec::with_capacity(CHUNK * 2),
            raw: vec![0; CHUNK],
            eof: false,
            bytes_in: 0,
            utf16_errors: false,
            long_lines: 0,
            in_long_line: false,
            clean: 0,
        };
        c.push_raw(first, false);
        c
    }

    fn push_raw(&mut self, raw: &[u8], last: bool) {
        match &mut self.utf16 {
            None => self.pending.extend_from_slice(raw),
            Some(dec) => {
                let mut s = String::with_capacity(raw.len() + 16);
                let max = dec.max_utf8_buffer_length(raw.len()).unwrap_or(raw.len() * 3);
                s.reserve(max);
                let (_, _, had_errors) = dec.decode_to_string(raw, &mut s, last);
                self.utf16_errors |= had_errors;
                self.pending.extend_from_slice(s.as_bytes());
            }
        }
    }

    /// The next chunk, ending just after a '\n' unless at end of input or
    /// inside an over-long line.
    pub(crate) fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if self.pending.len() >= CHUNK || (self.eof && !self.pending.is_empty()) {
                let clean = self.clean.min(self.pending.len());
                let cut = match memchr::memrchr(b'\n', &self.pending[clean..]) {
                    Some(i) => {
                        self.in_long_line = false;
                        clean + i + 1
                    }
                    None if self.eof => self.pending.len(),
                    None if self.pending.len() >= MAX_LINE => {
                        if !self.in_long_line {
                            self.long_lines += 1;
                            self.in_long_line = true;
                        }
                        char_boundary(&self.pending, self.pending.len())
                    }
                    None => 0,
                };
                if cut > 0 {
                    // Hand the buffer over; the partial last line starts the next one.
                    let mut rest = Vec::with_capacity(CHUNK + CHUNK / 2);
                    rest.extend_from_slice(&self.pending[cut..]);
                    self.pending.truncate(cut);
                    self.clean = rest.len();
                    return Ok(Some(std::mem::replace(&mut self.pending, rest)));
                }
                self.clean = self.pending.len();
            }
            if self.eof {
                return Ok(None);
            }
            let n = if self.utf16.is_none() {
                // UTF-8: read straight into the pending text, no extra copy.
                // take + read_to_end fills spare capacity without zeroing it.
                let r = (&mut self.reader).take(CHUNK as u64 / 2).read_to_end(&mut self.pending);
                r?
            } else {
                let mut raw = std::mem::take(&mut self.raw);
                let r = read_some(&mut self.reader, &mut raw);
                if let Ok(n) = r {
                    self.push_raw(&raw[..n], n == 0);
                }
                self.raw = raw;
                r?
            };
            self.bytes_in += n as u64;
            if n == 0 {
                self.eof = true;
            }
        }
    }
}

impl<R: Read> Chunker<R> {
    /// Up to `n` chunks; once they hold `n` MiB, no more than `n / 2`
    /// (one per thread): pieces of an over-long line are 8 MiB each, and
    /// memory must follow bytes, not chunks.
    pub(crate) fn batch(&mut self, n: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut batch = Vec::with_capacity(n);
        let mut bytes = 0;
        while batch.len() < n && (bytes < n * CHUNK || batch.len() < n.div_ceil(2)) {
            match self.next()? {
                Some(c) => {
                    bytes += c.len();
                    batch.push(c);
                }
                None => break,
            }
        }
        Ok(batch)
    }
}

fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Back off from `at` to the start of a UTF-8 character.
fn char_boundary(b: &[u8], mut at: usize) -> usize {
    while at > 0 && at < b.len() && (b[at] & 0xC0) == 0x80 {
        at -= 1;
    }
    at
}

/// One chunk's results, with line numbers relative to the chunk.
struct ChunkOut {
    scanned_hits: Vec<Hit>,
    pending: Vec<Pending>,
    newlines: u64,
    entries: u64,
    last: Option<Entry>,
    cp1252: usize,
    nuls: usize,
    dropped: Vec<((usize, usize), usize)>,
}

fn do_chunk(rules: &RuleSet, kind: LogKind, bytes: &[u8], source: usize, scan: bool) -> ChunkOut {
    let (text, cp1252) = decode::utf8_chunk(bytes);
    let Lines { entries, newlines, nuls } = count_lines(&text);
    let (mut scanned_hits, pending, mut dropped) = if scan {
        let s = scan_text(rules, kind, &text, source, None);
        (s.hits, s.pending, s.dropped)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    // Cap already here, so a flooded chunk never holds more than the cap.
    dropped.extend(cap_hits(&mut scanned_hits));
    ChunkOut { scanned_hits, pending, newlines, entries, last: last_entry(&text), cp1252, nuls, dropped }
}

/// Entries in a Panther-grammar text (lines that start a new entry).
pub fn count_entries(text: &str) -> u64 {
    count_lines(text).entries
}

struct Lines {
    /// Lines that start a new entry.
    entries: u64,
    newlines: u64,
    /// NUL bytes: zero-filled runs are what a crash leaves in a log that was
    /// preallocated on disk. Counted in the same pass as the line breaks.
    nuls: usize,
}

fn count_lines(text: &str) -> Lines {
    let b = text.as_bytes();
    let first = b.strip_prefix("\u{feff}".as_bytes()).unwrap_or(b);
    let mut out = Lines { entries: u64::from(panther::starts_entry(first)), newlines: 0, nuls: 0 };
    let mut pos = 0;
    while let Some(at) = memchr::memchr2(b'\n', 0, &b[pos..]) {
        let i = pos + at;
        if b[i] == 0 {
            // Skip the whole run at once: a zero-filled tail can be gigabytes.
            let run = b[i..].iter().position(|&c| c != 0).unwrap_or(b.len() - i);
            out.nuls += run;
            pos = i + run;
            continue;
        }
        pos = i + 1;
        out.newlines += 1;
        let line = &b[i + 1..];
        // Cheap first-byte test before the full check: most lines are entries.
        if matches!(line.first(), Some(b'0'..=b'9' | b'I' | b'E' | b'W' | b'P' | b'D' | b'T'))
            && panther::starts_entry(line)
        {
            out.entries += 1;
        }
    }
    out
}

/// Stream a Panther-grammar source. `head` holds bytes already read (the
/// sniffed start, BOM removed); `reader` yields the rest.
#[allow(clippy::too_many_arguments)]
pub fn stream_panther<R: Read>(
    reader: R,
    head: &[u8],
    encoding: Encoding,
    kind: LogKind,
    rules: &RuleSet,
    source: usize,
    scan: bool,
    ctx: Context<'_>,
) -> io::Result<Streamed> {
    let mut chunker = Chunker::new(reader, encoding, head);
    let mut out = Streamed::default();
    let mut line_base = 0u64;
    let mut prev: Option<Entry> = None;
    let mut cp1252 = 0usize;
    let mut nuls = 0usize;
    let mut dropped: std::collections::BTreeMap<(usize, usize), usize> = std::collections::BTreeMap::new();
    let mut entered = ctx.streams.map(Streams::enter);
    // Without a run to share with, a stream has the whole pool.
    let threads_free = || ctx.streams.map_or(rayon::current_num_threads().max(1), Streams::threads_free);
    let read_batch = |chunker: &mut Chunker<R>, n: usize| chunker.batch(n);
    // Inline: one chunk at a time; reading ahead: two per free thread.
    let batch_len = |free: usize| if free > 1 { 2 * free } else { 1 };
    let mut batch = read_batch(&mut chunker, batch_len(threads_free()))?;
    while !batch.is_empty() {
        let mut results: Vec<ChunkOut> = Vec::new();
        let mut next = Ok(Vec::new());
        let free = threads_free();
        if free <= 1 {
            results = batch.iter().map(|c| do_chunk(rules, kind, c, source, scan)).collect();
            next = read_batch(&mut chunker, batch_len(free));
        } else {
            // Scan this batch on the pool while this thread reads the next
            // one (the reader itself never leaves this thread).
            rayon::in_place_scope(|s| {
                let (batch, results) = (&batch, &mut results);
                s.spawn(move |_| *results = batch.par_iter().map(|c| do_chunk(rules, kind, c, source, scan)).collect());
                next = read_batch(&mut chunker, batch_len(free));
                // Waiting for the scans from here on: not running.
                entered = None;
            });
            entered = ctx.streams.map(Streams::enter);
        }
        for mut r in results {
            resolve(rules, kind, &r.pending, prev.as_ref(), line_base, source, &mut out.hits);
            for h in &mut r.scanned_hits {
                h.line += line_base;
            }
            out.hits.append(&mut r.scanned_hits);
            line_base += r.newlines;
            out.records += r.entries;
            cp1252 += r.cp1252;
            nuls += r.nuls;
            for (k, n) in r.dropped {
                *dropped.entry(k).or_default() += n;
            }
            if r.last.is_some() {
                prev = r.last;
            }
        }
        // Bound memory under a flood of matching lines.
        for ((r, sig), n) in cap_hits(&mut out.hits) {
            *dropped.entry((r, sig)).or_default() += n;
        }
        if let Some(p) = ctx.progress {
            p(chunker.bytes_in);
        }
        batch = next?;
    }
    out.hits.sort_by_key(|h| (h.line, h.rule, h.signal));
    out.bytes = chunker.bytes_in;
    for ((r, sig), n) in dropped {
        let rule = &rules.rules[r];
        out.warnings.push(format!(
            "{n} earlier line(s) matching signal `{}` of rule {} were dropped: only the last {MAX_HITS_PER_SIGNAL} are kept",
            rule.signals[sig].id, rule.id
        ));
    }
    if cp1252 > 0 {
        out.warnings.push(format!("{cp1252} byte(s) not valid UTF-8 read as Windows-1252"));
    }
    if nuls > 0 {
        out.warnings.push(format!(
            "{nuls} NUL character(s): parts of this log are zero-filled (often left by a crash or power loss while it was written)"
        ));
    }
    if chunker.utf16_errors {
        out.warnings.push("invalid UTF-16 (odd length or unpaired surrogates) replaced with U+FFFD".into());
    }
    if chunker.long_lines > 0 {
        out.warnings.push(format!(
            "{} line(s) longer than {} MiB were scanned in pieces; an anchor split across a piece boundary can be missed",
            chunker.long_lines,
            MAX_LINE >> 20
        ));
    }
    let _ = chunker.encoding;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::embedded().unwrap()
    }

    fn whole(text: &str) -> Vec<(u64, usize, Option<String>)> {
        let mut hits = Vec::new();
        crate::rules::scan::scan(&rules(), LogKind::Cbs, text, 0, None, &mut hits);
        hits.iter().map(|h| (h.line, h.signal, h.time.map(|t| t.to_string()))).collect()
    }

    /// Stream `text` on a pool of `threads`; `others` streams of the same
    /// run are already busy (enough of them fill the pool: inline mode).
    fn streamed(text: &str, threads: usize, others: usize) -> (Vec<(u64, usize, Option<String>)>, u64) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let rules = rules();
        let streams = Streams::default();
        let _busy: Vec<_> = (0..others).map(|_| streams.enter()).collect();
        let ctx = Context { progress: None, streams: Some(&streams) };
        let out = pool
            .install(|| stream_panther(text.as_bytes(), &[], Encoding::Utf8, LogKind::Cbs, &rules, 0, true, ctx))
            .unwrap();
        assert_eq!(streams.active.load(Ordering::Relaxed), others, "the stream left the count");
        (out.hits.iter().map(|h| (h.line, h.signal, h.time.map(|t| t.to_string()))).collect(), out.records)
    }

    /// A log bigger than several chunks, with the failure chain (and a
    /// continuation line that owns a hit) straddling a chunk boundary.
    fn big_log() -> String {
        let filler = "2024-03-12 06:40:00, Info                  CBS    Appl: detect Parent, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.10, Parent: Microsoft-Windows-Client-Features-Package\n";
        let mut t = String::new();
        while t.len() < CHUNK * 3 - 300 {
            t.push_str(filler);
        }
        t.push_str(
            "2024-03-12 06:41:05, Info                  CSI    00000002 Begin executing advanced installer phase 38\n",
        );
        while t.len() < CHUNK * 3 + 10 {
            t.push_str("    continuation of the CSI entry above\n");
        }
        t.push_str("    DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n");
        t.push_str("2024-03-12 06:41:05, Error                 CBS    Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n");
        t.push_str(
            "2024-03-12 06:41:05, Info                  CBS    Startup: Rolling back KTM, because drivers failed.\n",
        );
        for _ in 0..1000 {
            t.push_str(filler);
        }
        t
    }

    #[test]
    fn streaming_equals_whole_text_whatever_the_threads() {
        let t = big_log();
        let want = whole(&t);
        assert_eq!(want.len(), 3, "{want:?}");
        assert_eq!(want[0].2.as_deref(), Some("2024-03-12T06:41:05"), "continuation hit takes its entry's time");
        let entries = count_entries(&t);
        // Inline (one thread, or other streams fill the pool), and reading
        // ahead (threads to spare).
        for (threads, others) in [(1, 0), (2, 0), (3, 0), (2, 1), (3, 5)] {
            let (got, records) = streamed(&t, threads, others);
            assert_eq!(got, want, "{threads} thread(s), {others} other stream(s)");
            assert_eq!(records, entries);
        }
    }

    #[test]
    fn switching_between_inline_and_read_ahead_mid_stream_changes_nothing() {
        let t = big_log();
        let want = whole(&t);
        let rules = rules();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        for start_full in [false, true] {
            let streams = Streams::default();
            let others = std::sync::Mutex::new(Vec::new());
            if start_full {
                others.lock().unwrap().extend((0..3).map(|_| streams.enter()));
            }
            // After every batch, other streams come (the pool fills) or go.
            let flip = |_bytes: u64| {
                let mut o = others.lock().unwrap();
                if o.is_empty() {
                    o.extend((0..3).map(|_| streams.enter()));
                } else {
                    o.clear();
                }
            };
            let ctx = Context { progress: Some(&flip), streams: Some(&streams) };
            let out = pool
                .install(|| stream_panther(t.as_bytes(), &[], Encoding::Utf8, LogKind::Cbs, &rules, 0, true, ctx))
                .unwrap();
            let got: Vec<_> = out.hits.iter().map(|h| (h.line, h.signal, h.time.map(|t| t.to_string()))).collect();
            assert_eq!(got, want, "starting with the pool full: {start_full}");
            assert_eq!(out.records, count_entries(&t));
            others.lock().unwrap().clear();
            assert_eq!(streams.active.load(Ordering::Relaxed), 0);
        }
    }

    #[test]
    fn utf16_streams_like_utf8() {
        let t = big_log();
        let mut raw: Vec<u8> = Vec::with_capacity(t.len() * 2);
        raw.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
        let rules = rules();
        let out = stream_panther(&raw[..], &[], Encoding::Utf16Le, LogKind::Cbs, &rules, 0, true, Context::default())
            .unwrap();
        let got: Vec<_> = out.hits.iter().map(|h| (h.line, h.signal, h.time.map(|t| t.to_string()))).collect();
        assert_eq!(got, whole(&t));
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn a_line_without_end_is_cut_into_pieces_not_buffered_whole() {
        let mut t = vec![b'x'; MAX_LINE * 2 + 100];
        t.extend_from_slice(b"\n2020-01-01 00:00:00, Info CBS after\n");
        let rules = rules();
        let out =
            stream_panther(&t[..], &[], Encoding::Utf8, LogKind::Cbs, &rules, 0, true, Context::default()).unwrap();
        assert_eq!(out.records, 1);
        assert!(out.warnings[0].starts_with("1 line(s) longer than 8 MiB"), "{:?}", out.warnings);
    }

    /// Lines are counted, not the pieces they are scanned in.
    #[test]
    fn long_lines_are_counted_once_each() {
        let mut t = b"2020-01-01 00:00:00, Info CBS ".to_vec();
        t.resize(MAX_LINE * 3 + 5, b'y');
        t.extend_from_slice(b"\n2020-01-01 00:00:01, Info CBS short\n");
        t.resize(t.len() + MAX_LINE * 2, b'z');
        t.extend_from_slice(b"\nend\n");
        let rules = rules();
        let out =
            stream_panther(&t[..], &[], Encoding::Utf8, LogKind::Cbs, &rules, 0, false, Context::default()).unwrap();
        assert!(out.warnings[0].starts_with("2 line(s) longer than 8 MiB"), "{:?}", out.warnings);
    }

    #[test]
    fn invalid_bytes_are_counted_across_chunks() {
        let mut t = Vec::new();
        for _ in 0..(CHUNK / 40 * 3) {
            t.extend_from_slice(b"2020-01-01 00:00:00, Info CBS caf\xE9 ok\n");
        }
        let rules = rules();
        let out =
            stream_panther(&t[..], &[], Encoding::Utf8, LogKind::Cbs, &rules, 0, false, Context::default()).unwrap();
        assert_eq!(out.records as usize, CHUNK / 40 * 3);
        assert!(out.warnings[0].starts_with(&format!("{} byte(s)", CHUNK / 40 * 3)), "{:?}", out.warnings);
    }
}
