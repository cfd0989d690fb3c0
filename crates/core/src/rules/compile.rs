//! Rule documents → a validated, compiled [`RuleSet`].

use super::model::{parse_duration_secs, CaseDoc, Emit, RuleDoc, Severity};
use crate::hresult;
use crate::kind::LogKind;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder};
use serde_saphyr::Spanned;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// Rule files larger than this are refused (they are input too).
const MAX_RULE_FILE: u64 = 1 << 20;
/// Compiled size limit for one rule regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A mistake in a rule file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

#[derive(Debug, Clone)]
pub struct Remediation {
    pub id: String,
    pub steps: Vec<String>,
}

#[derive(Debug)]
pub struct Signal {
    pub id: String,
    pub kinds: Vec<LogKind>,
    pub anchors: Vec<String>,
    pub ignore_case: bool,
    pub regex: Option<Regex>,
    pub levels: Vec<String>,
    pub component: Option<String>,
    pub section: Option<String>,
    /// Seconds either side of the trigger; `None` = the rule's window.
    pub window: Option<i64>,
    pub anytime: bool,
    pub must_match: Vec<String>,
    pub no_match: Vec<String>,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    /// Where the rule came from (`rules/x.yaml` or a user path).
    pub origin: String,
    pub title: String,
    pub severity: Severity,
    pub scenario: Option<String>,
    pub code: Option<u32>,
    pub summary: String,
    pub references: Vec<String>,
    pub window: i64,
    pub min_signals: usize,
    /// Indexes into `signals`.
    pub triggers: Vec<usize>,
    pub same_file: bool,
    pub emit: Emit,
    pub signals: Vec<Signal>,
    /// fact name → candidates (signal index, capture name), in order.
    pub facts: Vec<(String, Vec<(usize, String)>)>,
    pub remediation: Remediation,
    pub tests: Vec<CaseDoc>,
}

/// Which (rule, signal) pairs a prefilter pattern stands for.
type Targets = Vec<(usize, usize)>;

/// All rules, compiled for scanning.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Leftmost-first automata find candidate positions fast (SIMD
    /// prefilters need leftmost semantics); the standard ones list every
    /// anchor in a candidate line (overlapping search needs standard).
    exact: Option<(AhoCorasick, AhoCorasick)>,
    exact_targets: Vec<Targets>,
    folded: Option<(AhoCorasick, AhoCorasick)>,
    folded_targets: Vec<Targets>,
}

impl RuleSet {
    /// The rules built into the binary.
    pub fn embedded() -> Result<RuleSet, Vec<RuleError>> {
        let docs: Vec<(String, String)> = super::EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        RuleSet::from_sources(&docs)
    }

    /// The embedded rules plus every `*.yaml`/`*.yml` in `dir` (not recursive).
    pub fn with_dir(dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
        let mut docs: Vec<(String, String)> =
            super::EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        docs.extend(read_dir(dir)?);
        RuleSet::from_sources(&docs)
    }

    /// Compile rule documents given as (origin, YAML text).
    pub fn from_sources(docs: &[(String, String)]) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (origin, text) in docs {
            match serde_saphyr::from_str::<RuleDoc>(text) {
                Err(e) => errors.push(yaml_error(origin, &e.to_string())),
                Ok(doc) => match compile_rule(origin, doc) {
                    Err(mut es) => errors.append(&mut es),
                    Ok(rule) => {
                        if let Some(prev) = seen.insert(rule.id.clone(), origin.clone()) {
                            errors.push(RuleError {
                                file: origin.clone(),
                                line: None,
                                message: if super::EMBEDDED.iter().any(|(n, _)| *n == prev) {
                                    format!(
                                        "rule id `{}` is already a built-in rule (from {prev}); a --rules folder adds rules, it cannot redefine built-in ones",
                                        rule.id
                                    )
                                } else {
                                    format!("rule id `{}` is already defined in {prev}", rule.id)
                                },
                            });
                        } else {
                            rules.push(rule);
                        }
                    }
                },
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        RuleSet::build(rules).map_err(|e| vec![e])
    }

    fn build(rules: Vec<Rule>) -> Result<RuleSet, RuleError> {
        let mut exact_pats: Vec<String> = Vec::new();
        let mut exact_targets: Vec<Targets> = Vec::new();
        let mut folded_pats: Vec<String> = Vec::new();
        let mut folded_targets: Vec<Targets> = Vec::new();
        let mut index: HashMap<(bool, String), usize> = HashMap::new();
        for (ri, rule) in rules.iter().enumerate() {
            for (si, sig) in rule.signals.iter().enumerate() {
                for a in &sig.anchors {
                    let key = if sig.ignore_case { a.to_ascii_lowercase() } else { a.clone() };
                    let (pats, targets) = if sig.ignore_case {
                        (&mut folded_pats, &mut folded_targets)
                    } else {
                        (&mut exact_pats, &mut exact_targets)
                    };
                    let slot = *index.entry((sig.ignore_case, key.clone())).or_insert_with(|| {
                        pats.push(key);
                        targets.push(Vec::new());
                        targets.len() - 1
                    });
                    if !targets[slot].contains(&(ri, si)) {
                        targets[slot].push((ri, si));
                    }
                }
            }
        }
        let build = |pats: &[String], fold: bool| -> Result<Option<(AhoCorasick, AhoCorasick)>, RuleError> {
            if pats.is_empty() {
                return Ok(None);
            }
            let one = |kind: MatchKind| {
                AhoCorasickBuilder::new().match_kind(kind).ascii_case_insensitive(fold).build(pats).map_err(|e| {
                    RuleError { file: "<rules>".into(), line: None, message: format!("anchors do not compile: {e}") }
                })
            };
            Ok(Some((one(MatchKind::LeftmostFirst)?, one(MatchKind::Standard)?)))
        };
        Ok(RuleSet {
            exact: build(&exact_pats, false)?,
            folded: build(&folded_pats, true)?,
            exact_targets,
            folded_targets,
            rules,
        })
    }

    /// A cursor over the anchor hits of one haystack.
    pub fn candidates<'a>(&'a self, hay: &'a [u8]) -> Candidates<'a> {
        Candidates { set: self, hay, next: [None, None] }
    }

    /// Every (rule, signal) whose anchor occurs in `line`, deduplicated.
    pub fn signals_in(&self, line: &[u8], out: &mut Vec<(usize, usize)>) {
        out.clear();
        for (ac, targets) in [(&self.exact, &self.exact_targets), (&self.folded, &self.folded_targets)] {
            if let Some((_, ac)) = ac {
                for m in ac.find_overlapping_iter(line) {
                    for t in &targets[m.pattern().as_usize()] {
                        if !out.contains(t) {
                            out.push(*t);
                        }
                    }
                }
            }
        }
    }

    /// Does any rule read this kind of log?
    pub fn reads(&self, kind: LogKind) -> bool {
        self.rules.iter().any(|r| r.signals.iter().any(|s| s.kinds.contains(&kind)))
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Finds where anchors start, in order. Each automaton's next match is
/// remembered, so a rare pattern is not searched for again at every hit
/// of a frequent one (that would be quadratic).
pub struct Candidates<'a> {
    set: &'a RuleSet,
    hay: &'a [u8],
    /// Per automaton: `None` = not searched yet, `Some(None)` = no more hits.
    next: [Option<Option<usize>>; 2],
}

impl Candidates<'_> {
    /// The first offset at or after `from` where an anchor starts.
    pub fn next_from(&mut self, from: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, ac) in [&self.set.exact, &self.set.folded].into_iter().enumerate() {
            let Some((ac, _)) = ac else { continue };
            let stale = match self.next[i] {
                None => true,
                Some(Some(p)) => p < from,
                Some(None) => false,
            };
            if stale {
                let found = ac.find(aho_corasick::Input::new(self.hay).span(from..self.hay.len())).map(|m| m.start());
                self.next[i] = Some(found);
            }
            if let Some(Some(p)) = self.next[i] {
                best = Some(best.map_or(p, |b| b.min(p)));
            }
        }
        best
    }
}

impl Signal {
    /// Does `line` satisfy this signal's text conditions (anchor + regex)?
    /// Level, component and section are checked by the scanner.
    pub fn matches_text(&self, line: &str) -> bool {
        let anchored = if self.ignore_case {
            let l = line.to_ascii_lowercase();
            self.anchors.iter().any(|a| l.contains(&a.to_ascii_lowercase()))
        } else {
            self.anchors.iter().any(|a| line.contains(a.as_str()))
        };
        anchored && self.regex.as_ref().is_none_or(|r| r.is_match(line))
    }
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, Vec<RuleError>> {
    let err = |file: &Path, message: String| RuleError { file: file.display().to_string(), line: None, message };
    let rd = std::fs::read_dir(dir).map_err(|e| vec![err(dir, format!("cannot read rules folder: {e}"))])?;
    let mut paths: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    paths.sort();
    if paths.is_empty() {
        return Err(vec![err(dir, "no *.yaml rule files in this folder".into())]);
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match crate::sources::open::read_regular(&p, MAX_RULE_FILE) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => docs.push((p.display().to_string(), t)),
                Err(_) => errors.push(err(&p, "rule file is not UTF-8".into())),
            },
            Err(crate::sources::open::OpenError::TooLarge { len, max }) => {
                errors.push(err(&p, format!("rule file is {len} bytes; the limit is {max}")))
            }
            Err(e) => errors.push(err(&p, format!("cannot read: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(errors)
    }
}

/// serde-saphyr says "line L column C: message" first; keep that line.
fn yaml_error(origin: &str, msg: &str) -> RuleError {
    let first = msg.lines().next().unwrap_or(msg).trim_start_matches("error: ").to_string();
    let line = first
        .strip_prefix("line ")
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    let message = match first.find(": ") {
        Some(i) if line.is_some() => first[i + 2..].to_string(),
        _ => first.clone(),
    };
    RuleError { file: origin.to_string(), line, message }
}

fn compile_rule(origin: &str, doc: RuleDoc) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut err = |s: &Spanned<String>, message: String| {
        // Line 0: a value read through an untagged enum has lost its place.
        errors.push(RuleError { file: origin.to_string(), line: Some(s.referenced.line()).filter(|l| *l > 0), message })
    };
    let id = doc.id.value.clone();
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
        err(&doc.id, format!("rule id `{id}` must be lowercase letters, digits and '-'"));
    }
    let code = doc.code.as_ref().and_then(|c| {
        let v = hresult::parse_code(&c.value);
        if v.is_none() {
            err(c, format!("`{}` is not an error code", c.value));
        }
        v
    });
    let window = duration(&doc.window, 0, &mut err);
    let mut signals = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for s in doc.signals {
        let sid = s.id.value.clone();
        if names.insert(sid.clone(), signals.len()).is_some() {
            err(&s.id, format!("signal `{sid}` is defined twice"));
        }
        let mut kinds = Vec::new();
        for k in &s.kinds {
            match LogKind::from_name(&k.value).filter(|k| k.readable_by_rules()) {
                None => err(
                    k,
                    format!(
                        "unknown log kind `{}`; expected one of {}",
                        k.value,
                        LogKind::ALL
                            .iter()
                            .filter(|k| **k != LogKind::Unknown)
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                Some(kind) => kinds.push(kind),
            }
        }
        if kinds.is_empty() {
            err(&s.id, format!("signal `{sid}` names no log kind"));
        }
        let anchors: Vec<String> = s.anchor.items().iter().map(|a| a.value.clone()).collect();
        for a in s.anchor.items() {
            if a.value.trim().len() < 3 {
                // Anchors lose their line (untagged enum): point at the signal.
                let at = if a.referenced.line() > 0 { a } else { &s.id };
                err(at, format!("anchor `{}` is too short to be a useful literal (3 characters at least)", a.value));
            }
        }
        let regex = s.regex.as_ref().and_then(|r| {
            RegexBuilder::new(&r.value)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| err(r, format!("regex of signal `{sid}` does not compile: {e}")))
                .ok()
        });
        let window = s.window.as_ref().map(|_| duration(&s.window, window, &mut err));
        let signal = Signal {
            id: sid.clone(),
            kinds,
            anchors,
            ignore_case: s.ignore_case,
            regex,
            levels: s.levels,
            component: s.component,
            section: s.section,
            window,
            anytime: s.anytime,
            must_match: s.must_match,
            no_match: s.no_match,
        };
        signals.push(signal);
    }
    if signals.is_empty() {
        err(&doc.id, "a rule needs at least one signal".into());
    }
    let triggers: Vec<usize> = if doc.triggers.is_empty() {
        (0..signals.len()).collect()
    } else {
        doc.triggers
            .iter()
            .filter_map(|t| {
                let i = names.get(&t.value).copied();
                if i.is_none() {
                    err(t, format!("trigger `{}` is not a signal of this rule", t.value));
                }
                i
            })
            .collect()
    };
    if doc.min_signals == 0 || doc.min_signals > signals.len().max(1) {
        err(&doc.id, format!("min_signals is {} but the rule has {} signal(s)", doc.min_signals, signals.len()));
    }
    let mut facts = Vec::new();
    for (name, sources) in doc.facts {
        let mut cands = Vec::new();
        for src in &sources {
            let Some((sig, cap)) = src.value.split_once('.') else {
                err(src, format!("fact source `{}` must be `signal.capture`", src.value));
                continue;
            };
            match names.get(sig) {
                None => err(src, format!("fact `{name}` reads unknown signal `{sig}`")),
                Some(&si) => {
                    let has = signals[si].regex.as_ref().is_some_and(|r| r.capture_names().flatten().any(|n| n == cap));
                    if !has {
                        err(src, format!("signal `{sig}` has no capture group named `{cap}`"));
                    }
                    cands.push((si, cap.to_string()));
                }
            }
        }
        facts.push((name, cands));
    }
    let mut fact_names = HashSet::new();
    for (n, _) in &facts {
        fact_names.insert(n.clone());
    }
    for case in &doc.tests {
        for log in &case.logs {
            if LogKind::from_name(&log.kind).is_none_or(|k| !k.readable_by_rules()) {
                errors.push(RuleError {
                    file: origin.to_string(),
                    line: Some(doc.id.referenced.line()),
                    message: format!("test `{}` uses unknown log kind `{}`", case.name, log.kind),
                });
            }
        }
        for f in case.facts.keys() {
            if !fact_names.contains(f) {
                errors.push(RuleError {
                    file: origin.to_string(),
                    line: Some(doc.id.referenced.line()),
                    message: format!("test `{}` expects fact `{f}` that the rule never extracts", case.name),
                });
            }
        }
    }
    if doc.remediation.steps.is_empty() {
        errors.push(RuleError {
            file: origin.to_string(),
            line: Some(doc.id.referenced.line()),
            message: "remediation needs at least one step".into(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Rule {
        id,
        origin: origin.to_string(),
        title: doc.title,
        severity: doc.severity,
        scenario: doc.scenario,
        code,
        summary: doc.summary.trim().to_string(),
        references: doc.references,
        window,
        min_signals: doc.min_signals,
        triggers,
        same_file: doc.same_file,
        emit: doc.emit,
        signals,
        facts,
        remediation: Remediation { id: doc.remediation.id, steps: doc.remediation.steps },
        tests: doc.tests,
    })
}

fn duration(w: &Option<Spanned<String>>, default: i64, err: &mut impl FnMut(&Spanned<String>, String)) -> i64 {
    match w {
        None => default,
        Some(s) => parse_duration_secs(&s.value).unwrap_or_else(|| {
            err(s, format!("window `{}` must look like 0s, 30s, 5m or 1h (at most a week)", s.value));
            default
        }),
    }
}
