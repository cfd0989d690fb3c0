//! The hot path: run the anchor prefilter over a text, and turn only the
//! lines it hits into signal hits. Works on a whole text or on one chunk
//! of a stream: candidate lines whose entry starts in an earlier chunk are
//! handed back as `pending`, to be resolved once that entry is known.

use super::RuleSet;
use crate::kind::LogKind;
use crate::records::panther;
use crate::records::Record;
use jiff::civil::DateTime;

/// Evidence text longer than this is cut (a 100 MB line stays usable).
pub const MAX_EVIDENCE_CHARS: usize = 2000;
/// Hits kept per (rule, signal) in one source: a flood of matching lines
/// keeps the most recent ones (the failure that matters is the last).
pub const MAX_HITS_PER_SIGNAL: usize = 5_000;

/// A line that satisfied one signal of one rule.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: usize,
    pub signal: usize,
    pub source: usize,
    pub line: u64,
    pub time: Option<DateTime>,
    pub text: String,
    pub captures: Vec<(String, String)>,
}

/// What the scanner knows about the entry that owns a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub time: Option<DateTime>,
    pub level: Option<String>,
    pub component: Option<String>,
    pub section: Option<std::sync::Arc<str>>,
}

impl Entry {
    fn from_panther(p: panther::PantherLine<'_>) -> Entry {
        Entry {
            time: p.time,
            level: Some(p.level.to_string()),
            component: p.component.map(str::to_string),
            section: None,
        }
    }
}

/// A candidate line whose owning entry lies before the scanned text.
#[derive(Debug, Clone)]
pub struct Pending {
    /// 1-based line number within the scanned text.
    pub line: u64,
    pub text: String,
}

/// The result of scanning one text.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Hits with line numbers relative to the text (1-based).
    pub hits: Vec<Hit>,
    pub pending: Vec<Pending>,
    /// Hits dropped by the flood cap, per (rule, signal).
    pub dropped: Vec<((usize, usize), usize)>,
}

/// Keep at most [`MAX_HITS_PER_SIGNAL`] hits per (rule, signal), the
/// latest ones (hits must be in line order); returns how many were dropped
/// per (rule, signal).
pub fn cap_hits(hits: &mut Vec<Hit>) -> Vec<((usize, usize), usize)> {
    let mut counts: std::collections::HashMap<(usize, usize), usize> = std::collections::HashMap::new();
    for h in hits.iter() {
        *counts.entry((h.rule, h.signal)).or_default() += 1;
    }
    let mut over: Vec<((usize, usize), usize)> = counts
        .into_iter()
        .filter(|(_, n)| *n > MAX_HITS_PER_SIGNAL)
        .map(|(k, n)| (k, n - MAX_HITS_PER_SIGNAL))
        .collect();
    if over.is_empty() {
        return over;
    }
    over.sort_unstable();
    let mut skip: std::collections::HashMap<(usize, usize), usize> = over.iter().copied().collect();
    hits.retain(|h| match skip.get_mut(&(h.rule, h.signal)) {
        Some(n) if *n > 0 => {
            *n -= 1;
            false
        }
        _ => true,
    });
    over
}

/// Hits kept per (rule, signal) across all the sources of one run.
pub const MAX_HITS_PER_SIGNAL_RUN: usize = 4 * MAX_HITS_PER_SIGNAL;
/// Bytes of hit text (line and captures) kept per (rule, signal) in a run.
pub const MAX_HIT_BYTES_PER_SIGNAL_RUN: usize = 8 << 20;

/// Where a source stands in a run: (file, source within that file). Keys
/// order the sources as the report lists them.
pub type SourceKey = (usize, usize);

/// The run-wide hit cap: sources hand in their hits as they finish (in any
/// order, from any thread), and per (rule, signal) only the latest
/// [`MAX_HITS_PER_SIGNAL_RUN`] hits, within [`MAX_HIT_BYTES_PER_SIGNAL_RUN`]
/// bytes of text, are kept in source order, so memory stays bounded however
/// many sources match. What is kept depends only on the keys, not on the
/// order the sources finish in.
#[derive(Default)]
pub struct HitBudget {
    inner: std::sync::Mutex<BudgetInner>,
}

#[derive(Default)]
struct BudgetInner {
    per_signal: std::collections::HashMap<(usize, usize), SignalPool>,
    /// Hits dropped, per source and (rule, signal).
    dropped: std::collections::BTreeMap<(SourceKey, (usize, usize)), usize>,
}

/// One source's hits of one (rule, signal), each with its place in the source.
type SourceHits = std::collections::VecDeque<(usize, Hit)>;

/// One (rule, signal)'s hits: per source, with each hit's place in its
/// source's own order.
#[derive(Default)]
struct SignalPool {
    by_source: std::collections::BTreeMap<SourceKey, SourceHits>,
    count: usize,
    bytes: usize,
}

fn hit_bytes(h: &Hit) -> usize {
    std::mem::size_of::<Hit>() + h.text.len() + h.captures.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
}

impl HitBudget {
    /// Hand in one source's hits (in its own order).
    pub fn add(&self, key: SourceKey, hits: Vec<Hit>) {
        if hits.is_empty() {
            return;
        }
        // Grouped per (rule, signal) first, outside the lock: one map
        // lookup per group, not per hit.
        let mut groups: Vec<((usize, usize), SourceHits, usize)> = Vec::new();
        for (seq, h) in hits.into_iter().enumerate() {
            let rs = (h.rule, h.signal);
            let at = match groups.iter().rposition(|g| g.0 == rs) {
                Some(i) => i,
                None => {
                    groups.push((rs, Default::default(), 0));
                    groups.len() - 1
                }
            };
            groups[at].2 += hit_bytes(&h);
            groups[at].1.push_back((seq, h));
        }
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let BudgetInner { per_signal, dropped } = &mut *inner;
        for (rs, group, bytes) in groups {
            let pool = per_signal.entry(rs).or_default();
            pool.count += group.len();
            pool.bytes += bytes;
            pool.by_source.entry(key).or_default().extend(group);
            let over = |p: &SignalPool| p.count > MAX_HITS_PER_SIGNAL_RUN || p.bytes > MAX_HIT_BYTES_PER_SIGNAL_RUN;
            // Drop from the earliest source, earliest hits first.
            while over(pool) {
                let Some(mut first) = pool.by_source.first_entry() else { break };
                let mut n = 0;
                while pool.count > MAX_HITS_PER_SIGNAL_RUN || pool.bytes > MAX_HIT_BYTES_PER_SIGNAL_RUN {
                    let Some((_, h)) = first.get_mut().pop_front() else { break };
                    pool.count -= 1;
                    pool.bytes -= hit_bytes(&h);
                    n += 1;
                }
                if n > 0 {
                    *dropped.entry((*first.key(), rs)).or_default() += n;
                }
                if first.get().is_empty() {
                    first.remove();
                }
            }
        }
    }

    /// The hits kept, per source in key order (each in its own order), and
    /// what was dropped per source: ((rule, signal), count).
    #[allow(clippy::type_complexity)]
    pub fn finish(self) -> (Vec<(SourceKey, Vec<Hit>)>, Vec<(SourceKey, Vec<((usize, usize), usize)>)>) {
        let inner = self.inner.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut by_source: std::collections::BTreeMap<SourceKey, Vec<(usize, Hit)>> = Default::default();
        for pool in inner.per_signal.into_values() {
            for (key, hits) in pool.by_source {
                by_source.entry(key).or_default().extend(hits);
            }
        }
        let kept = by_source
            .into_iter()
            .map(|(key, mut hits)| {
                hits.sort_by_key(|(seq, _)| *seq);
                (key, hits.into_iter().map(|(_, h)| h).collect())
            })
            .collect();
        let mut dropped: Vec<(SourceKey, Vec<((usize, usize), usize)>)> = Vec::new();
        for ((key, rs), n) in inner.dropped {
            match dropped.last_mut() {
                Some((k, list)) if *k == key => list.push((rs, n)),
                _ => dropped.push((key, vec![(rs, n)])),
            }
        }
        (kept, dropped)
    }
}

/// Scan one source text. `records` is given for kinds parsed up front
/// (setupapi, SetupDiag, WindowsUpdate.log) and must be sorted by line.
pub fn scan(
    rules: &RuleSet,
    kind: LogKind,
    text: &str,
    source: usize,
    records: Option<&[Record]>,
    hits: &mut Vec<Hit>,
) {
    let mut s = scan_text(rules, kind, text, source, records);
    resolve(rules, kind, &s.pending, None, 0, source, &mut s.hits);
    s.hits.sort_by_key(|h| h.line);
    cap_hits(&mut s.hits);
    hits.append(&mut s.hits);
}

/// Scan a text (a whole source or one chunk of it).
pub fn scan_text(rules: &RuleSet, kind: LogKind, text: &str, source: usize, records: Option<&[Record]>) -> Scanned {
    let mut out = Scanned::default();
    let hay = text.as_bytes();
    let mut pos = 0;
    let mut line_no: u64 = 1;
    let mut counted_to = 0;
    let mut cands = Vec::new();
    // The owner of the last candidate line: (its start, its entry).
    let mut known: Option<(usize, Option<Entry>)> = None;
    let mut cursor = rules.candidates(hay);
    while pos < hay.len() {
        let Some(at) = cursor.next_from(pos) else { break };
        let ls = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
        let le = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |i| at + i);
        line_no += memchr::memchr_iter(b'\n', &hay[counted_to..ls]).count() as u64;
        counted_to = ls;
        pos = le + 1;
        let line = text[ls..le].strip_suffix('\r').unwrap_or(&text[ls..le]);
        if !candidates_for(rules, kind, line, &mut cands) {
            continue;
        }
        let from_records;
        let entry = match records {
            Some(recs) => {
                from_records = record_entry(recs, line_no);
                Some(&from_records)
            }
            None => panther_entry(text, ls, line, &mut known),
        };
        match entry {
            Some(e) => eval_line(rules, line, line_no, e, &cands, source, &mut out.hits),
            None => out.pending.push(Pending { line: line_no, text: line.to_string() }),
        }
        // A flood of matching lines: keep memory bounded as we go.
        if out.hits.len() >= 2 * MAX_HITS_PER_SIGNAL {
            let d = cap_hits(&mut out.hits);
            out.dropped.extend(d);
        }
    }
    out
}

/// Evaluate pending lines now that the entry before the text is known.
/// `line_base` is added to their line numbers.
pub fn resolve(
    rules: &RuleSet,
    kind: LogKind,
    pending: &[Pending],
    entry: Option<&Entry>,
    line_base: u64,
    source: usize,
    hits: &mut Vec<Hit>,
) {
    let none = Entry::default();
    let entry = entry.unwrap_or(&none);
    let mut cands = Vec::new();
    for p in pending {
        if candidates_for(rules, kind, &p.text, &mut cands) {
            eval_line(rules, &p.text, line_base + p.line, entry, &cands, source, hits);
        }
    }
}

/// The (rule, signal) pairs whose anchors are in `line` and that read `kind`.
fn candidates_for(rules: &RuleSet, kind: LogKind, line: &str, cands: &mut Vec<(usize, usize)>) -> bool {
    rules.signals_in(line.as_bytes(), cands);
    cands.retain(|&(r, s)| rules.rules[r].signals[s].kinds.contains(&kind));
    !cands.is_empty()
}

fn eval_line(
    rules: &RuleSet,
    line: &str,
    line_no: u64,
    entry: &Entry,
    cands: &[(usize, usize)],
    source: usize,
    hits: &mut Vec<Hit>,
) {
    // A shared signal used by several rules has one pattern: run it once per
    // line (a line with one candidate, the usual case, needs no memo).
    type Memo<'r> = (&'r str, Option<Vec<(String, String)>>);
    let mut memo: Vec<Memo<'_>> = Vec::new();
    for &(r, s) in cands {
        let sig = &rules.rules[r].signals[s];
        if !sig.levels.is_empty() && !entry.level.as_ref().is_some_and(|l| sig.levels.iter().any(|x| x == l)) {
            continue;
        }
        if sig.component.is_some() && sig.component != entry.component {
            continue;
        }
        if let Some(want) = &sig.section {
            if !entry.section.as_ref().is_some_and(|s| s.starts_with(want.as_str())) {
                continue;
            }
        }
        let mut captures = match &sig.regex {
            None => Vec::new(),
            Some(re) => {
                let run = || {
                    re.captures(line).map(|c| {
                        re.capture_names()
                            .flatten()
                            .filter_map(|n| c.name(n).map(|m| (n.to_string(), m.as_str().trim().to_string())))
                            .collect::<Vec<_>>()
                    })
                };
                let found = if cands.len() == 1 {
                    run()
                } else if let Some((_, found)) = memo.iter().find(|(p, _)| *p == re.as_str()) {
                    found.clone()
                } else {
                    let found = run();
                    memo.push((re.as_str(), found.clone()));
                    found
                };
                match found {
                    None => continue,
                    Some(c) => c,
                }
            }
        };
        // setupapi: the section the line is in (`Device Install ...`), as a capture.
        if let Some(section) = &entry.section {
            captures.push(("section".to_string(), clip(section)));
        }
        hits.push(Hit {
            rule: r,
            signal: s,
            source,
            line: line_no,
            time: entry.time,
            text: clip(line.trim()),
            captures,
        });
    }
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_EVIDENCE_CHARS) {
        None => s.to_string(),
        Some((i, _)) => format!("{}… [line cut at {MAX_EVIDENCE_CHARS} characters]", &s[..i]),
    }
}

fn record_entry(recs: &[Record], line: u64) -> Entry {
    let i = recs.partition_point(|r| r.line <= line);
    match i.checked_sub(1).map(|i| &recs[i]) {
        Some(r) => {
            Entry { time: r.time, level: r.level.clone(), component: r.component.clone(), section: r.section.clone() }
        }
        None => Entry::default(),
    }
}

/// The entry owning a line: the line itself, or the nearest entry start
/// above it; `None` when none is in the text (it lies in an earlier chunk).
/// `known` carries the owner of the previous candidate line, so the walk
/// back stops there: every line of the text is looked at once, however
/// many hits follow one entry (walking back to the top of the text for
/// each hit was quadratic in a flood of continuation lines).
fn panther_entry<'k>(
    text: &str,
    line_start: usize,
    line: &str,
    known: &'k mut Option<(usize, Option<Entry>)>,
) -> Option<&'k Entry> {
    let floor = known.as_ref().map_or(0, |(at, _)| *at);
    let found = match panther::parse_line(line) {
        Some(p) => Some(Entry::from_panther(p)),
        None => entry_above(text, line_start, floor),
    };
    // Kept in `known` and lent out: no copy per candidate line.
    let k = known.get_or_insert_with(|| (line_start, None));
    k.0 = line_start;
    if found.is_some() {
        k.1 = found;
    }
    k.1.as_ref()
}

/// The nearest line that starts an entry among the lines from `floor` (a
/// line start) up to the line starting at `line_start`.
fn entry_above(text: &str, line_start: usize, floor: usize) -> Option<Entry> {
    let hay = text.as_bytes();
    let mut end = line_start;
    while end > floor {
        let prev_end = end - 1; // the '\n' ending the previous line
        let start = memchr::memrchr(b'\n', &hay[floor..prev_end]).map_or(floor, |i| floor + i + 1);
        let prev = &text[start..prev_end];
        if let Some(p) = panther::parse_line(prev.strip_suffix('\r').unwrap_or(prev)) {
            return Some(Entry::from_panther(p));
        }
        end = start;
    }
    None
}

/// The last entry that starts in `text` (what a following chunk's
/// continuation lines belong to). Walks back over the whole text at most
/// once (once per chunk).
pub fn last_entry(text: &str) -> Option<Entry> {
    let last = text.strip_suffix('\n').unwrap_or(text);
    let start = memchr::memrchr(b'\n', last.as_bytes()).map_or(0, |i| i + 1);
    let line = &last[start..];
    match panther::parse_line(line.strip_suffix('\r').unwrap_or(line)) {
        Some(p) => Some(Entry::from_panther(p)),
        None => entry_above(text, start, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn hit(rule: usize, signal: usize, line: u64, text: &str) -> Hit {
        Hit { rule, signal, source: 0, line, time: None, text: text.into(), captures: Vec::new() }
    }

    #[test]
    fn budget_keeps_the_latest_hits_across_sources_whatever_the_order() {
        let per = MAX_HITS_PER_SIGNAL_RUN / 4 + 10;
        let source = |k: usize| -> Vec<Hit> {
            // Signal 0 floods; signal 1 has one hit per source.
            let mut v: Vec<Hit> = (0..per as u64).map(|l| hit(0, 0, l + 1, "x")).collect();
            v.push(hit(0, 1, per as u64 + 1, &format!("s{k}")));
            v
        };
        let run = |order: &[usize]| {
            let b = HitBudget::default();
            for &k in order {
                b.add((k, 0), source(k));
            }
            b.finish()
        };
        let (kept, dropped) = run(&[0, 1, 2, 3, 4]);
        let flood: usize = kept.iter().map(|(_, h)| h.iter().filter(|h| h.signal == 0).count()).sum();
        assert_eq!(flood, MAX_HITS_PER_SIGNAL_RUN);
        // The earliest source lost its flood hits first, all of them.
        assert_eq!(dropped[0], ((0, 0), vec![((0, 0), per)]));
        assert_eq!(dropped[1], ((1, 0), vec![((0, 0), 5 * per - MAX_HITS_PER_SIGNAL_RUN - per)]));
        assert_eq!(dropped.len(), 2);
        // Signal 1 is under its cap: kept in every source, in line order.
        for (k, (key, hits)) in kept.iter().enumerate() {
            assert_eq!(*key, (k, 0));
            assert_eq!(hits.last().unwrap().text, format!("s{k}"));
            assert!(hits.windows(2).all(|w| w[0].line < w[1].line));
        }
        // Sources finishing in another order keep the same hits.
        let (kept2, dropped2) = run(&[4, 2, 0, 3, 1]);
        let lines = |k: &[(SourceKey, Vec<Hit>)]| -> Vec<(SourceKey, Vec<(u64, usize)>)> {
            k.iter().map(|(key, h)| (*key, h.iter().map(|h| (h.line, h.signal)).collect())).collect()
        };
        assert_eq!(lines(&kept), lines(&kept2));
        assert_eq!(dropped, dropped2);
    }

    #[test]
    fn budget_bounds_the_bytes_of_text() {
        let long = "y".repeat(MAX_EVIDENCE_CHARS);
        let b = HitBudget::default();
        for k in 0..10 {
            b.add((k, 0), (0..1000).map(|l| hit(3, 1, l + 1, &long)).collect());
        }
        let (kept, dropped) = b.finish();
        let bytes: usize = kept.iter().flat_map(|(_, h)| h).map(hit_bytes).sum();
        assert!(bytes <= MAX_HIT_BYTES_PER_SIGNAL_RUN, "{bytes}");
        assert!(bytes > MAX_HIT_BYTES_PER_SIGNAL_RUN - 2 * hit_bytes(&hit(3, 1, 1, &long)));
        assert_eq!(kept.last().unwrap().0, (9, 0), "the last source keeps its hits");
        assert!(!dropped.is_empty());
    }

    #[test]
    fn last_entry_skips_continuations() {
        let t = "2020-01-01 00:00:00, Info CBS a\n2020-01-01 00:00:05, Error CSI b\n  cont\n  more\n";
        let e = last_entry(t).unwrap();
        assert_eq!(e.level.as_deref(), Some("Error"));
        assert_eq!(e.time.unwrap().second(), 5);
        assert!(last_entry("  only\n  continuations\n").is_none());
        assert!(last_entry("").is_none());
        assert_eq!(last_entry("2020-01-01 00:00:07, Warning CBS c\n\n").unwrap().time.unwrap().second(), 7);
    }

    /// Thousands of continuation lines with hits after one entry, further
    /// from it than a chunk: each takes the entry's time (the walk back
    /// stops at the previous hit, so this is linear).
    #[test]
    fn continuation_hits_take_their_entry_however_many_and_however_far() {
        let rules = RuleSet::embedded().unwrap();
        let cont = "    Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n";
        let mut t = String::from(cont);
        t.push_str("2017-12-06 15:30:46, Error   CBS   Begin\n");
        while t.len() < 5 << 20 {
            t.push_str("    filler\n");
        }
        let first = t.matches('\n').count() as u64 + 1;
        for _ in 0..3_000 {
            t.push_str(cont);
        }
        t.push_str("2017-12-06 15:30:50, Info    CBS   next\n");
        t.push_str(cont);
        let s = scan_text(&rules, LogKind::Cbs, &t, 0, None);
        // The first line's entry lies before the text.
        assert_eq!(s.pending.iter().map(|p| p.line).collect::<Vec<_>>(), [1]);
        let times: Vec<(u64, u32)> =
            s.hits.iter().map(|h| (h.line, h.time.map_or(99, |t| t.second() as u32))).collect();
        assert_eq!(times.len(), 3_001);
        assert!(
            times[..3_000].iter().enumerate().all(|(i, &(l, sec))| l == first + i as u64 && sec == 46),
            "{:?}",
            &times[..3]
        );
        assert_eq!(times[3_000], (first + 3_001, 50));
        // A text of lines without any entry: every hit waits for the entry before it.
        let flat = "Failed to create worker session [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n".repeat(2_000);
        let s = scan_text(&rules, LogKind::Cbs, &flat, 0, None);
        assert_eq!((s.hits.len(), s.pending.len()), (0, 2_000));
    }
}
