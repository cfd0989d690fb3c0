//! The hot path: run the anchor prefilter over a source's text, and turn
//! only the lines it hits into signal hits.

use super::RuleSet;
use crate::kind::LogKind;
use crate::records::panther;
use crate::records::Record;
use jiff::civil::DateTime;

/// Evidence text longer than this is cut (a 100 MB line stays usable).
pub const MAX_EVIDENCE_CHARS: usize = 2000;
/// How far back a continuation line looks for the entry that owns it.
const MAX_BACKTRACK_BYTES: usize = 4 << 20;

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

/// What the scanner knows about the entry that owns a hit line.
struct Entry {
    time: Option<DateTime>,
    level: Option<String>,
    component: Option<String>,
    section: Option<String>,
}

/// Scan one source. `records` is given for kinds parsed up front
/// (setupapi, SetupDiag, WindowsUpdate.log) and must be sorted by line.
pub fn scan(
    rules: &RuleSet,
    kind: LogKind,
    text: &str,
    source: usize,
    records: Option<&[Record]>,
    hits: &mut Vec<Hit>,
) {
    let hay = text.as_bytes();
    let mut pos = 0;
    let mut line_no: u64 = 1;
    let mut counted_to = 0;
    let mut cands = Vec::new();
    let mut cursor = rules.candidates(hay);
    while pos < hay.len() {
        let Some(at) = cursor.next_from(pos) else {
            break;
        };
        let ls = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
        let le = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |i| at + i);
        line_no += memchr::memchr_iter(b'\n', &hay[counted_to..ls]).count() as u64;
        counted_to = ls;
        let line = text[ls..le].strip_suffix('\r').unwrap_or(&text[ls..le]);
        rules.signals_in(line.as_bytes(), &mut cands);
        cands.retain(|&(r, s)| rules.rules[r].signals[s].kinds.contains(&kind));
        if !cands.is_empty() {
            let entry = match records {
                Some(recs) => record_entry(recs, line_no),
                None => panther_entry(text, ls, line),
            };
            for &(r, s) in &cands {
                let sig = &rules.rules[r].signals[s];
                if !sig.levels.is_empty()
                    && !entry
                        .level
                        .as_ref()
                        .is_some_and(|l| sig.levels.iter().any(|x| x == l))
                {
                    continue;
                }
                if sig.component.is_some() && sig.component != entry.component {
                    continue;
                }
                if let Some(want) = &sig.section {
                    if !entry
                        .section
                        .as_ref()
                        .is_some_and(|s| s.starts_with(want.as_str()))
                    {
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
                            .filter_map(|n| {
                                c.name(n)
                                    .map(|m| (n.to_string(), m.as_str().trim().to_string()))
                            })
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
        pos = le + 1;
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
        Some(r) => Entry {
            time: r.time,
            level: r.level.clone(),
            component: r.component.clone(),
            section: r.section.clone(),
        },
        None => Entry {
            time: None,
            level: None,
            component: None,
            section: None,
        },
    }
}

/// The entry owning a line: the line itself, or the nearest entry start above it.
fn panther_entry(text: &str, line_start: usize, line: &str) -> Entry {
    let from = |p: panther::PantherLine<'_>| Entry {
        time: p.time,
        level: Some(p.level.to_string()),
        component: p.component.map(str::to_string),
        section: None,
    };
    if let Some(p) = panther::parse_line(line) {
        return from(p);
    }
    let hay = text.as_bytes();
    let floor = line_start.saturating_sub(MAX_BACKTRACK_BYTES);
    let mut end = line_start;
    while end > floor {
        let prev_end = end - 1; // the '\n' ending the previous line
                                // `floor` may split a character: only slice at a newline or at 0.
        let start = match memchr::memrchr(b'\n', &hay[floor..prev_end]) {
            Some(i) => floor + i + 1,
            None if floor == 0 => 0,
            None => break,
        };
        let prev = &text[start..prev_end];
        if let Some(p) = panther::parse_line(prev.strip_suffix('\r').unwrap_or(prev)) {
            return from(p);
        }
        end = start;
    }
    Entry {
        time: None,
        level: None,
        component: None,
        section: None,
    }
}
