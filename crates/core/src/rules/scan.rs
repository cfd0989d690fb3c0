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
        let entry = match records {
            Some(recs) => Some(record_entry(recs, line_no)),
            None => panther_entry(text, ls, line, &mut known),
        };
        match entry {
            Some(e) => eval_line(rules, line, line_no, &e, &cands, source, &mut out.hits),
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
        let captures = match &sig.regex {
            None => Vec::new(),
            Some(re) => match re.captures(line) {
                None => continue,
                Some(c) => re
                    .capture_names()
                    .flatten()
                    .filter_map(|n| c.name(n).map(|m| (n.to_string(), m.as_str().trim().to_string())))
                    .collect(),
            },
        };
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
fn panther_entry(
    text: &str,
    line_start: usize,
    line: &str,
    known: &mut Option<(usize, Option<Entry>)>,
) -> Option<Entry> {
    let floor = known.as_ref().map_or(0, |(at, _)| *at);
    let entry = match panther::parse_line(line) {
        Some(p) => Some(Entry::from_panther(p)),
        None => entry_above(text, line_start, floor).or_else(|| known.as_ref().and_then(|(_, e)| e.clone())),
    };
    *known = Some((line_start, entry.clone()));
    entry
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
        let flat = "FAIL servicing-stack-not-empty: x is empty\n".repeat(2_000);
        let s = scan_text(&rules, LogKind::Check, &flat, 0, None);
        assert_eq!((s.hits.len(), s.pending.len()), (0, 2_000));
    }
}
