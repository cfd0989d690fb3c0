//! The line-oriented logs that are parsed into records before they are
//! scanned (setupapi, WindowsUpdate.log), read in line-aligned chunks so
//! memory stays bounded at any size: a 1 GiB log costs one chunk's text and
//! records at a time, not the whole file decoded and copied per record.
//!
//! Each chunk is parsed on its own, preceded by the few lines of earlier
//! chunks that set the parser's state (setupapi: the boot session and the
//! open section's header; WindowsUpdate.log: the last entry, which owns a
//! leading continuation line). Records and hits of those lines are not
//! counted again.

use crate::decode::{self, Encoding};
use crate::kind::LogKind;
use crate::records::{setupapi, wulog};
use crate::rules::scan::{cap_hits, scan, Hit, MAX_HITS_PER_SIGNAL};
use crate::rules::RuleSet;
use crate::stream::{Chunker, Context, Streams, MAX_LINE};
use rayon::prelude::*;
use std::borrow::Cow;
use std::io::{self, Read};

/// What reading one such log produced.
#[derive(Debug, Default)]
pub(super) struct WholeOut {
    pub records: u64,
    pub hits: Vec<Hit>,
    pub warnings: Vec<String>,
    /// Bytes read (after `head`).
    pub bytes: u64,
    /// Some bytes were not UTF-8 and were read as Windows-1252.
    pub cp1252: bool,
}

/// What one chunk gave, its lines numbered from the chunk's first line.
struct ChunkOut {
    records: u64,
    hits: Vec<Hit>,
    dropped: Vec<((usize, usize), usize)>,
    newlines: u64,
    cp1252: usize,
}

/// Read, parse and scan a setupapi log or WindowsUpdate.log. `head` holds
/// the bytes already read (BOM removed).
///
/// Chunks go in batches, as in [`crate::stream`]: while the stream has the
/// pool's threads to itself, a batch is decoded, parsed and scanned on the
/// pool while this thread reads the next one. Only the carry (a few lines
/// of parser state) is followed chunk by chunk, between the decode and
/// the parse.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_chunked<R: Read>(
    reader: R,
    head: &[u8],
    encoding: Encoding,
    kind: LogKind,
    rules: &RuleSet,
    idx: usize,
    scan_it: bool,
    ctx: Context<'_>,
) -> io::Result<WholeOut> {
    let mut chunker = Chunker::new(reader, encoding, head);
    let mut out = WholeOut::default();
    let mut carry = Carry::default();
    let mut line_base = 0u64;
    let mut cp1252 = 0usize;
    let mut dropped: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
    let mut entered = ctx.streams.map(Streams::enter);
    let threads_free = || ctx.streams.map_or(rayon::current_num_threads().max(1), Streams::threads_free);
    let batch_len = |free: usize| if free > 1 { 2 * free } else { 1 };
    let mut batch = chunker.batch(batch_len(threads_free()))?;
    while !batch.is_empty() {
        let mut results: Vec<ChunkOut> = Vec::new();
        let mut next = Ok(Vec::new());
        let free = threads_free();
        if free <= 1 {
            results = do_batch(&batch, &mut carry, kind, rules, idx, scan_it, false);
            next = chunker.batch(batch_len(free));
        } else {
            rayon::in_place_scope(|s| {
                let (batch, results, carry) = (&batch, &mut results, &mut carry);
                s.spawn(move |_| *results = do_batch(batch, carry, kind, rules, idx, scan_it, true));
                next = chunker.batch(batch_len(free));
                // Waiting for the batch from here on: not running.
                entered = None;
            });
            entered = ctx.streams.map(Streams::enter);
        }
        for r in results {
            out.records += r.records;
            out.hits.extend(r.hits.into_iter().map(|mut h| {
                h.line += line_base;
                h
            }));
            line_base += r.newlines;
            cp1252 += r.cp1252;
            for (k, n) in r.dropped {
                *dropped.entry(k).or_default() += n;
            }
        }
        for (k, n) in cap_hits(&mut out.hits) {
            *dropped.entry(k).or_default() += n;
        }
        if let Some(p) = ctx.progress {
            p(chunker.bytes_in);
        }
        batch = next?;
    }
    drop(entered);
    out.bytes = chunker.bytes_in;
    for ((r, sig), n) in dropped {
        let rule = &rules.rules[r];
        out.warnings.push(format!(
            "{n} earlier line(s) matching signal `{}` of rule {} were dropped: only the last {MAX_HITS_PER_SIGNAL} are kept",
            rule.signals[sig].id, rule.id
        ));
    }
    if cp1252 > 0 {
        out.cp1252 = true;
        out.warnings.push(format!("{cp1252} byte(s) not valid UTF-8 read as Windows-1252"));
    }
    if chunker.utf16_errors {
        out.warnings.push("invalid UTF-16 (odd length or unpaired surrogates) replaced with U+FFFD".into());
    }
    if chunker.long_lines > 0 {
        out.warnings.push(format!(
            "{} line(s) longer than {} MiB were read in pieces; an anchor split across a piece boundary can be missed",
            chunker.long_lines,
            MAX_LINE >> 20
        ));
    }
    Ok(out)
}

/// Decode a batch, follow the carry through it in order, then parse and
/// scan each chunk after its carry lines (on the pool when `parallel`).
#[allow(clippy::too_many_arguments)]
fn do_batch(
    batch: &[Vec<u8>],
    carry: &mut Carry,
    kind: LogKind,
    rules: &RuleSet,
    idx: usize,
    scan_it: bool,
    parallel: bool,
) -> Vec<ChunkOut> {
    let texts: Vec<(Cow<'_, str>, usize)> = if parallel {
        batch.par_iter().map(|b| decode::utf8_chunk(b)).collect()
    } else {
        batch.iter().map(|b| decode::utf8_chunk(b)).collect()
    };
    let mut before = Vec::with_capacity(texts.len());
    for (text, _) in &texts {
        before.push(carry.text());
        carry.update(kind, text);
    }
    let work = |((text, bad), pre): (&(Cow<'_, str>, usize), String)| {
        let lines = pre.matches('\n').count() as u64;
        let joined: Cow<'_, str> = if pre.is_empty() { Cow::Borrowed(text) } else { Cow::Owned(pre + text) };
        parse_and_scan(&joined, lines, kind, rules, idx, scan_it, *bad)
    };
    if parallel {
        texts.par_iter().zip(before).map(work).collect()
    } else {
        texts.iter().zip(before).map(work).collect()
    }
}

/// Parse and scan `text`, whose first `pre` lines are carried from earlier
/// chunks (their records and hits are not counted again).
#[allow(clippy::too_many_arguments)]
fn parse_and_scan(
    text: &str,
    pre: u64,
    kind: LogKind,
    rules: &RuleSet,
    idx: usize,
    scan_it: bool,
    cp1252: usize,
) -> ChunkOut {
    let records = match kind {
        LogKind::Setupapi => setupapi::parse(text),
        _ => wulog::parse(text),
    };
    let mut out = ChunkOut {
        records: records.iter().filter(|r| r.line > pre).count() as u64,
        hits: Vec::new(),
        dropped: Vec::new(),
        newlines: memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64 - pre,
        cp1252,
    };
    if scan_it {
        let mut hits = Vec::new();
        scan(rules, kind, text, idx, Some(&records), &mut hits);
        out.hits = hits
            .into_iter()
            .filter(|h| h.line > pre)
            .map(|mut h| {
                h.line -= pre;
                h
            })
            .collect();
        out.dropped = cap_hits(&mut out.hits);
    }
    out
}

/// Lines of earlier chunks that the next chunk's parse must see first.
#[derive(Debug, Default)]
struct Carry {
    /// setupapi: the last `[Boot Session:` (or legacy header) line.
    boot: Option<String>,
    /// setupapi: the open section's `>>>  [title]` line, its latest `>>>`
    /// start line and a `<<<  Section end` line that has not closed it yet.
    /// WindowsUpdate.log: `header` holds the last entry line.
    header: Option<String>,
    start: Option<String>,
    ending: Option<String>,
}

impl Carry {
    fn parts(&self) -> impl Iterator<Item = &String> {
        [&self.boot, &self.header, &self.start, &self.ending].into_iter().flatten()
    }

    fn text(&self) -> String {
        let mut s = String::new();
        for p in self.parts() {
            s.push_str(p);
            s.push('\n');
        }
        s
    }

    /// Follow the parser's state through one chunk's own `text`.
    fn update(&mut self, kind: LogKind, text: &str) {
        if kind != LogKind::Setupapi {
            // The entry that owns a continuation line at the next chunk's top.
            let last = text.rsplit('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).find(|l| wulog::starts_entry(l));
            if let Some(line) = last {
                self.header = Some(line.to_string());
            }
            return;
        }
        for raw in text.split('\n') {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let t = trim(line);
            if t.is_empty() {
                continue;
            }
            if let Some(rest) = t.strip_prefix(">>>") {
                if trim(rest).starts_with('[') {
                    self.header = Some(line.to_string());
                    self.start = None;
                    self.ending = None;
                } else if self.header.is_some() {
                    self.start = Some(line.to_string());
                }
                continue;
            }
            if let Some(rest) = t.strip_prefix("<<<") {
                let rest = trim(rest);
                if rest.starts_with("Section end") {
                    self.ending = Some(line.to_string());
                } else if rest.starts_with("[Exit status") {
                    self.close();
                }
                continue;
            }
            if self.ending.is_some() {
                self.close();
            }
            if t.starts_with("[Boot Session:") {
                self.boot = Some(line.to_string());
                self.close();
            } else if t.starts_with('[') && t.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
                // A legacy `[YYYY/MM/DD ...]` header: sets the time only.
                self.boot = Some(line.to_string());
            }
        }
    }

    fn close(&mut self) {
        self.header = None;
        self.start = None;
        self.ending = None;
    }
}

/// As the setupapi parser trims: whitespace and NUL padding.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::CHUNK;

    /// Records, and hits as (line, rule, signal, time).
    type Seen = (u64, Vec<(u64, usize, usize, Option<String>)>);

    fn whole(kind: LogKind, text: &str) -> Seen {
        let rules = RuleSet::embedded().unwrap();
        let records = match kind {
            LogKind::Setupapi => setupapi::parse(text),
            _ => wulog::parse(text),
        };
        let mut hits = Vec::new();
        scan(&rules, kind, text, 0, Some(&records), &mut hits);
        (records.len() as u64, hits.iter().map(|h| (h.line, h.rule, h.signal, h.time.map(|t| t.to_string()))).collect())
    }

    /// Read in chunks on one thread (chunk by chunk) and on three (batches
    /// on the pool); both must give the same.
    fn chunked(kind: LogKind, text: &str) -> Seen {
        let rules = RuleSet::embedded().unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let out = pool
                .install(|| {
                    read_chunked(text.as_bytes(), &[], Encoding::Utf8, kind, &rules, 0, true, Context::default())
                })
                .unwrap();
            assert_eq!(out.bytes, text.len() as u64);
            let mut hits: Vec<_> =
                out.hits.iter().map(|h| (h.line, h.rule, h.signal, h.time.map(|t| t.to_string()))).collect();
            hits.sort();
            (out.records, hits)
        };
        let one = run(1);
        assert_eq!(run(3), one, "one thread and three differ");
        one
    }

    fn sorted(mut v: Seen) -> Seen {
        v.1.sort();
        v
    }

    /// A setupapi log of several chunks whose failing section straddles a
    /// chunk boundary, its header in one chunk and its error in the next.
    #[test]
    fn setupapi_in_chunks_equals_whole() {
        let mut t = String::from(
            "[Device Install Log]\n     OS Version = 10.0.19045\n[Boot Session: 2024/04/09 08:00:00.000]\n\n",
        );
        let filler = "     sto: {Setup Import Driver Package: C:\\Windows\\INF\\x.inf} 23:20:50.400\n";
        for round in 0..3 {
            t.push_str(&format!(
                ">>>  [Install Driver Updates {round}]\n>>>  Section start 2024/04/09 23:2{round}:50.348\n"
            ));
            while t.len() < (round + 1) * CHUNK + CHUNK / 2 {
                t.push_str(filler);
            }
            t.push_str("!!!  sto:      Unable to load INF: 'C:\\Windows\\System32\\DriverStore\\FileRepository\\prnms001.inf_amd64\\prnms001.inf'(00000003)\n");
            t.push_str("!!!  sto:      Failed to import driver package. Error = 0x80070003\n");
            t.push_str("<<<  Section end 2024/04/09 23:21:10.915\n<<<  [Exit status: FAILURE(0x80070003)]\n\n");
        }
        t.push_str("     after the sections\n");
        let want = sorted(whole(LogKind::Setupapi, &t));
        assert!(!want.1.is_empty(), "the test log must hit some signal");
        assert!(want.1.iter().all(|h| h.3.is_some()), "every hit has its section's time: {want:?}");
        assert_eq!(chunked(LogKind::Setupapi, &t), want);
    }

    #[test]
    fn windowsupdate_in_chunks_equals_whole() {
        let entry = "2016-10-19\t11:23:47:375\t1532\t1f40\tAgent\t  * Found 0 updates and 70 categories in search; evaluated appl. rules of 1734 out of 3312 deployed entities\n";
        let mut t = String::new();
        while t.len() < 2 * CHUNK - 100 {
            t.push_str(entry);
        }
        t.push_str("2016-10-19\t11:23:48:375\t1532\t1f40\tHandler\tFATAL: UH: 0x80070003: Failed to install\n");
        while t.len() < 3 * CHUNK + 50 {
            t.push_str("    a continuation line\n");
        }
        // Owned by the entry two chunks up: takes its time.
        t.push_str("    WU client version 7.6.7600.256\n");
        t.push_str("2016-10-19\t11:23:49:375\t1532\t1f40\tAgent\tWU client version 7.6.7600.320\n");
        let want = sorted(whole(LogKind::Windowsupdate, &t));
        assert_eq!(want.1.len(), 2, "{want:?}");
        assert_eq!(want.1[0].3.as_deref(), Some("2016-10-19T11:23:48.375"));
        assert_eq!(chunked(LogKind::Windowsupdate, &t), want);
    }

    #[test]
    fn a_huge_log_of_one_byte_costs_one_chunk_at_a_time() {
        // 0x80 is not UTF-8: every byte becomes a three-byte character.
        let rules = RuleSet::embedded().unwrap();
        let raw = vec![0x80u8; 3 * MAX_LINE + 10];
        let out = read_chunked(&raw[..], &[], Encoding::Utf8, LogKind::Setupapi, &rules, 0, true, Context::default())
            .unwrap();
        assert_eq!(out.bytes, raw.len() as u64);
        assert!(out.cp1252);
        assert!(out.warnings.iter().any(|w| w.contains("read in pieces")), "{:?}", out.warnings);
    }
}
