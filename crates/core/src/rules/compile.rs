//! Rule documents → a validated, compiled [`RuleSet`].

use super::budget::Budget;
use super::model::{CaseDoc, Emit, FactDoc, RemediationRef, RuleDoc, Severity};
use super::placeholder::{placeholders, SYSTEM};
use super::remediation::{compile_remediation, embedded_remediations, Remediation};
use super::signal::{self, duration, Shared, Signal};
use crate::hresult;
use crate::kind::LogKind;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_saphyr::Spanned;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// Rule files larger than this are refused (they are input too).
const MAX_RULE_FILE: u64 = 1 << 20;
/// All the rule files of one `--rules` folder together (parsing is linear,
/// but a folder can hold any number of files).
const MAX_RULES_DIR: u64 = 16 << 20;
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

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    /// Where the rule came from (`rules/x.yaml` or a user path).
    pub origin: String,
    /// The line of its `id` there.
    pub line: u64,
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
    /// Facts that list every distinct value (`many: true`).
    pub many_facts: HashSet<String>,
    /// Labels of facts, for people.
    pub fact_labels: HashMap<String, String>,
    /// The fact that names what is broken.
    pub subject: Option<String>,
    /// The fact whose value is the finding's code.
    pub code_from: Option<String>,
    /// A generic failure finding that folds into a specific one.
    pub fallback: bool,
    /// Codes whose findings are not reported.
    pub quiet_codes: Vec<u32>,
    /// `{system.x}` names its remediation uses (checked when all rules are loaded).
    pub system_placeholders: Vec<String>,
    /// Facts read only from lines at or before the trigger.
    pub before_facts: HashSet<String>,
    pub remediation: Remediation,
    pub tests: Vec<CaseDoc>,
}

impl Rule {
    /// A fact's label, or its name said as words ("computer_name" → "Computer name").
    pub fn fact_label(&self, name: &str) -> String {
        if let Some(l) = self.fact_labels.get(name) {
            return l.clone();
        }
        let words = name.replace('_', " ");
        let mut c = words.chars();
        match c.next() {
            Some(first) => first.to_uppercase().chain(c).collect(),
            None => words,
        }
    }
}

/// Which (rule, signal) pairs a prefilter pattern stands for.
type Targets = Vec<(usize, usize)>;

/// All rules, compiled for scanning.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Leftmost-first automata find candidate positions fast: SIMD
    /// prefilters need leftmost semantics, and the Teddy one takes at most
    /// [`FIND_CHUNK`] patterns, so the anchors are split into chunks of
    /// that many (past it, one automaton would fall back to a scan twice as
    /// slow). The standard automata list every anchor in a candidate line
    /// (overlapping search needs standard).
    find: Vec<AhoCorasick>,
    exact: Option<AhoCorasick>,
    exact_targets: Vec<Targets>,
    folded: Option<AhoCorasick>,
    folded_targets: Vec<Targets>,
}

/// Anchors per leftmost-first automaton (the Teddy prefilter's limit).
const FIND_CHUNK: usize = 64;

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
        let (remediations, mut errors) = embedded_remediations();
        let mut budget = Budget::new();
        let (shared, mut es) = signal::embedded_shared(&mut budget);
        errors.append(&mut es);
        let mut rules: Vec<Rule> = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (origin, text) in docs {
            budget.file = super::budget::FILE_REGEX_BUDGET;
            match serde_saphyr::from_str::<RuleDoc>(text) {
                Err(e) => errors.push(yaml_error(origin, &e.to_string())),
                Ok(doc) => match compile_rule(origin, doc, &mut budget, &remediations, &shared) {
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
        // `{system.x}`: a key the checks write or an `emit: system` rule extracts.
        let system_keys: HashSet<&str> = crate::checks::SYSTEM_KEYS
            .iter()
            .copied()
            .chain(
                rules.iter().filter(|r| r.emit == Emit::System).flat_map(|r| r.facts.iter().map(|(n, _)| n.as_str())),
            )
            .collect();
        for rule in &rules {
            for key in rule.system_placeholders.iter().filter(|k| !system_keys.contains(k.as_str())) {
                let mut known: Vec<&str> = system_keys.iter().copied().collect();
                known.sort_unstable();
                errors.push(RuleError {
                    file: rule.origin.clone(),
                    line: Some(rule.line).filter(|l| *l > 0),
                    message: format!(
                        "remediation `{}` ({}) uses `{{system.{key}}}`, which is no system fact; known: {}",
                        rule.remediation.id,
                        rule.remediation.origin,
                        known.join(", ")
                    ),
                });
            }
            for case in &rule.tests {
                for other in case.also_fires.iter().filter(|o| !seen.contains_key(*o)) {
                    errors.push(RuleError {
                        file: rule.origin.clone(),
                        line: None,
                        message: format!("test `{}`: also_fires names `{other}`, which is no rule", case.name.value),
                    });
                }
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
        let one =
            |pats: &[String], fold: bool, kind: MatchKind| {
                AhoCorasickBuilder::new().match_kind(kind).ascii_case_insensitive(fold).build(pats).map_err(|e| {
                    RuleError { file: "<rules>".into(), line: None, message: format!("anchors do not compile: {e}") }
                })
            };
        let standard = |pats: &[String], fold: bool| -> Result<Option<AhoCorasick>, RuleError> {
            if pats.is_empty() {
                return Ok(None);
            }
            one(pats, fold, MatchKind::Standard).map(Some)
        };
        let mut find = Vec::new();
        for (pats, fold) in [(&exact_pats, false), (&folded_pats, true)] {
            for chunk in pats.chunks(FIND_CHUNK) {
                find.push(one(chunk, fold, MatchKind::LeftmostFirst)?);
            }
        }
        Ok(RuleSet {
            find,
            exact: standard(&exact_pats, false)?,
            folded: standard(&folded_pats, true)?,
            exact_targets,
            folded_targets,
            rules,
        })
    }

    /// A cursor over the anchor hits of one haystack.
    pub fn candidates<'a>(&'a self, hay: &'a [u8]) -> Candidates<'a> {
        Candidates { set: self, hay, next: vec![None; self.find.len()] }
    }

    /// Every (rule, signal) whose anchor occurs in `line`, deduplicated.
    pub fn signals_in(&self, line: &[u8], out: &mut Vec<(usize, usize)>) {
        out.clear();
        for (ac, targets) in [(&self.exact, &self.exact_targets), (&self.folded, &self.folded_targets)] {
            if let Some(ac) = ac {
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
    next: Vec<Option<Option<usize>>>,
}

impl Candidates<'_> {
    /// The first offset at or after `from` where an anchor starts.
    pub fn next_from(&mut self, from: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, ac) in self.set.find.iter().enumerate() {
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
    let mut total = 0u64;
    for p in paths {
        match crate::sources::open::read_regular(&p, MAX_RULE_FILE) {
            Ok(bytes) if total + bytes.len() as u64 > MAX_RULES_DIR => {
                errors.push(err(
                    &p,
                    format!("not read: the rule files of this folder hold more than {} MiB", MAX_RULES_DIR >> 20),
                ));
                break;
            }
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => {
                    total += t.len() as u64;
                    docs.push((p.display().to_string(), t))
                }
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
pub(super) fn yaml_error(origin: &str, msg: &str) -> RuleError {
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

fn compile_rule(
    origin: &str,
    doc: RuleDoc,
    budget: &mut Budget,
    remediations: &HashMap<String, Remediation>,
    shared: &Shared,
) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut signal_errors = Vec::new();
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
    let quiet_codes: Vec<u32> = doc
        .quiet_codes
        .iter()
        .filter_map(|c| {
            let v = hresult::parse_code(&c.value);
            if v.is_none() {
                err(c, format!("quiet code `{}` is not an error code", c.value));
            }
            v
        })
        .collect();
    let mut signals = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for doc_sig in doc.signals {
        let sid = doc_sig.id.value.clone();
        if names.insert(sid.clone(), signals.len()).is_some() {
            err(&doc_sig.id, format!("signal `{sid}` is defined twice"));
        }
        match signal::compile_in_rule(origin, doc_sig, window, budget, shared) {
            Ok(sig) => signals.push(sig),
            Err(mut es) => {
                signal_errors.append(&mut es);
                // A placeholder keeps the other signals' indexes right.
                signals.push(signal::Signal::placeholder(sid));
            }
        }
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
    let mut many_facts = HashSet::new();
    let mut fact_labels = HashMap::new();
    let mut before_facts = HashSet::new();
    for (name, fact) in doc.facts {
        let sources = match fact {
            FactDoc::From(sources) => sources,
            FactDoc::Declared(d) => {
                if d.many {
                    many_facts.insert(name.clone());
                }
                if let Some(l) = d.label {
                    fact_labels.insert(name.clone(), l);
                }
                if d.before {
                    before_facts.insert(name.clone());
                }
                d.from
            }
        };
        let mut cands = Vec::new();
        for src in &sources {
            let Some((sig, cap)) = src.value.split_once('.') else {
                err(src, format!("fact source `{}` must be `signal.capture`", src.value));
                continue;
            };
            match names.get(sig) {
                None => err(src, format!("fact `{name}` reads unknown signal `{sig}`")),
                Some(&si) => {
                    if !signals[si].has_capture(cap) {
                        let what = if signals[si].checks.is_empty() {
                            format!("has no capture group named `{cap}`")
                        } else {
                            format!("matches checks: its captures are {}", super::check_hits::CAPTURES.join(", "))
                        };
                        err(src, format!("signal `{sig}` {what}"));
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
    let code_from = doc.code_from.as_ref().map(|c| {
        if !fact_names.contains(&c.value) {
            err(c, format!("code_from `{}` is not a fact of this rule", c.value));
        }
        c.value.clone()
    });
    let subject = doc.subject.as_ref().map(|sub| {
        if !fact_names.contains(&sub.value) {
            err(sub, format!("subject `{}` is not a fact of this rule", sub.value));
        }
        sub.value.clone()
    });
    for case in &doc.tests {
        for c in &case.checks {
            if !crate::checks::CHECK_IDS.contains(&c.check.as_str()) {
                errors.push(RuleError {
                    file: origin.to_string(),
                    line: Some(doc.id.referenced.line()),
                    message: format!("test `{}` names unknown check `{}`", case.name.value, c.check),
                });
            }
        }
        for log in &case.logs {
            if LogKind::from_name(&log.kind).is_none_or(|k| !k.is_log()) {
                errors.push(RuleError {
                    file: origin.to_string(),
                    line: Some(doc.id.referenced.line()),
                    message: format!("test `{}` uses unknown log kind `{}`", case.name.value, log.kind),
                });
            }
        }
        for f in case.facts.keys() {
            if !fact_names.contains(f) {
                errors.push(RuleError {
                    file: origin.to_string(),
                    line: Some(doc.id.referenced.line()),
                    message: format!("test `{}` expects fact `{f}` that the rule never extracts", case.name.value),
                });
            }
        }
    }
    let remediation = match doc.remediation {
        RemediationRef::Inline(r) => match compile_remediation(origin, doc.id.referenced.line(), r) {
            Ok(r) => Some(r),
            Err(mut es) => {
                errors.append(&mut es);
                None
            }
        },
        RemediationRef::Id(id) => match remediations.get(&id.value) {
            Some(r) => Some(r.clone()),
            None => {
                errors.push(RuleError {
                    file: origin.to_string(),
                    // An untagged value loses its position: then the rule's id line.
                    line: Some(Some(id.referenced.line()).filter(|l| *l > 0).unwrap_or(doc.id.referenced.line())),
                    message: format!("remediation `{}` is not a remediation file (remediations/<id>.yaml)", id.value),
                });
                None
            }
        },
    };
    // Every `{fact}` a step names, and every fact an action reads, is one
    // the rule extracts: a typo is an error here, not "(not named in the logs)".
    // `{system.x}` names are checked once every rule is loaded.
    let mut system_placeholders = Vec::new();
    if let Some(r) = &remediation {
        let mut used: Vec<String> = r.steps.iter().flat_map(|st| placeholders(&st.text)).collect();
        used.extend(r.plan.iter().flat_map(|a| a.facts()).map(str::to_string));
        for name in used {
            if let Some(key) = name.strip_prefix(SYSTEM) {
                system_placeholders.push(key.to_string());
            } else if !fact_names.contains(&name) {
                errors.push(RuleError {
                    file: origin.to_string(),
                    line: Some(doc.id.referenced.line()),
                    message: format!(
                        "remediation `{}` ({}) uses the fact `{name}`, which rule `{}` does not extract",
                        r.id, r.origin, id
                    ),
                });
            }
        }
    }
    errors.append(&mut signal_errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Rule {
        line: doc.id.referenced.line(),
        id,
        subject,
        code_from,
        fallback: doc.fallback,
        quiet_codes,
        system_placeholders,
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
        many_facts,
        fact_labels,
        before_facts,
        remediation: remediation.expect("no errors: the remediation is resolved"),
        tests: doc.tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule with one signal per regex, each on its own line.
    fn rule_with(id: &str, regexes: &[&str]) -> String {
        let mut y = format!("id: {id}\ntitle: t\nseverity: info\nsummary: s\nsignals:\n");
        for (i, r) in regexes.iter().enumerate() {
            y += &format!("  - id: s{i}\n    kinds: [cbs]\n    anchor: anchor{i}\n    regex: '{r}'\n");
        }
        y + "remediation:\n  id: x\n  steps: [s]\n"
    }

    #[test]
    fn commands_are_single_lines_without_facts() {
        let with = |step: &str| {
            let y = rule_with("c", &["x"]).replace("  steps: [s]\n", &format!("  steps:\n{step}"));
            RuleSet::from_sources(&[("c.yaml".to_string(), y)])
        };
        let ok =
            with("    - text: \"Run:\"\n      shell: cmd\n      run: ['dir \"C:\\x\"', 'Get-Item x | % { $_ }']\n")
                .unwrap();
        let step = &ok.rules[0].remediation.steps[0];
        assert_eq!(step.commands, ["dir \"C:\\x\"", "Get-Item x | % { $_ }"]);
        assert_eq!(step.shell.map(|s| s.as_str()), Some("cmd"));
        let e = with("    - { text: t, shell: cmd, run: ['del {missing}'] }\n").unwrap_err();
        assert!(e[0].to_string().contains("names a fact: facts go in the step's text, never in a command"), "{e:?}");
        let e = with("    - { text: t, shell: cmd, run: [\"a\\nb\"] }\n").unwrap_err();
        assert!(e[0].to_string().contains("must be one non-empty line"), "{e:?}");
        let e = with("    - { text: t, shell: cmd, run: [\"a\u{2028}b\"] }\n").unwrap_err();
        assert!(e[0].to_string().contains("must be one non-empty line"), "{e:?}");
        // `{0}` is PowerShell's format item, not a fact.
        assert!(with("    - { text: t, shell: powershell, run: [\"'{0}' -f $x\"] }\n").is_ok());
        let e = with("    - { text: t, shell: cmd, run: [] }\n").unwrap_err();
        assert!(e[0].to_string().contains("`run` needs at least one command"), "{e:?}");
        assert!(with("    - { text: t, shell: bash, run: [ls] }\n").is_err(), "cmd or powershell only");
        // A fact the rule does not extract: an error when rules load, naming the file and line.
        let e = with("    - \"Look at {misssing}.\"\n").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "c.yaml:1: remediation `x` (c.yaml) uses the fact `misssing`, which rule `c` does not extract"
        );
    }

    /// More anchors than one SIMD automaton takes: split into chunks, and
    /// every anchor is still found, in order.
    #[test]
    fn anchors_past_the_teddy_limit_are_chunked_and_all_found() {
        let regexes: Vec<String> = (0..150).map(|i| format!("anchor{i}")).collect();
        let refs: Vec<&str> = regexes.iter().map(String::as_str).collect();
        let set = RuleSet::from_sources(&[("c.yaml".to_string(), rule_with("c", &refs))]).unwrap();
        assert_eq!(set.find.len(), 3, "150 anchors in chunks of {FIND_CHUNK}");
        let hay = b"x anchor149 y anchor0 z anchor77";
        let mut c = set.candidates(hay);
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(p) = c.next_from(from) {
            found.push(p);
            from = p + 1;
        }
        assert_eq!(found, [2, 14, 24]);
    }

    #[test]
    fn also_fires_names_rules() {
        let y =
            rule_with("c", &["x"]) + "tests:\n  - { name: t, fires: false, also_fires: [no-such-rule], logs: [] }\n";
        let e = RuleSet::from_sources(&[("c.yaml".to_string(), y)]).unwrap_err();
        assert_eq!(e[0].to_string(), "c.yaml: test `t`: also_fires names `no-such-rule`, which is no rule");
    }

    #[test]
    fn remediations_are_files_shared_by_rules() {
        let y = |r: &str| {
            rule_with("c", &["x"]).replace("remediation:\n  id: x\n  steps: [s]\n", &format!("remediation: {r}\n"))
        };
        let set = RuleSet::from_sources(&[("c.yaml".to_string(), y("in-place-upgrade"))]);
        // in-place-upgrade's steps name {missing}, which this rule does not extract.
        let e = set.unwrap_err();
        assert!(e[0].to_string().contains("uses the fact `missing`"), "{e:?}");
        let e = RuleSet::from_sources(&[("c.yaml".to_string(), y("no-such-remediation"))]).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "c.yaml:1: remediation `no-such-remediation` is not a remediation file (remediations/<id>.yaml)"
        );
        let set = RuleSet::embedded().unwrap();
        let shared: Vec<&Rule> =
            set.rules.iter().filter(|r| r.remediation.id == "restore-servicing-stack-from-ssu").collect();
        assert_eq!(shared.len(), 2, "one remediation, two rules");
        assert_eq!(shared[0].remediation.steps, shared[1].remediation.steps);
        assert_eq!(shared[0].remediation.plan, [crate::plan::Action::RestoreServicingStackFromSsu]);
    }

    #[test]
    fn the_built_in_rules_use_a_small_part_of_the_regex_budget() {
        use super::super::budget::{FILE_REGEX_BUDGET, TOTAL_REGEX_BUDGET};
        let mut budget = Budget::new();
        let shared = signal::embedded_shared(&mut budget).0;
        for (name, text) in super::super::EMBEDDED {
            budget.file = FILE_REGEX_BUDGET;
            let doc = serde_saphyr::from_str::<RuleDoc>(text).unwrap();
            compile_rule(name, doc, &mut budget, &embedded_remediations().0, &shared).unwrap();
            assert!(budget.file > FILE_REGEX_BUDGET / 2, "{name} uses half its budget");
        }
        let used = TOTAL_REGEX_BUDGET - budget.total;
        assert!(used < TOTAL_REGEX_BUDGET / 4, "the built-in rules use {used} bytes");
    }

    /// 2,000 regexes that each compile to more than the limit: refused,
    /// each named by file and line, without compiling them all.
    #[test]
    fn a_file_of_huge_regexes_is_refused_by_file_and_line() {
        let regexes = vec![r"\w{1500}"; 2_000];
        let docs = [("big.yaml".to_string(), rule_with("big", &regexes))];
        let errors = RuleSet::from_sources(&docs).unwrap_err();
        assert_eq!(errors.len(), 2_000);
        assert_eq!(
            errors[0].to_string(),
            "big.yaml:9: regex of signal `s0` compiles to more than 1024 KiB (the size limit for one regex)"
        );
        // The first two use up the file's budget; the others are not compiled.
        assert!(
            errors[2].to_string().starts_with("big.yaml:17: regex of signal `s2` does not fit: this file's regexes"),
            "{}",
            errors[2]
        );
        assert!(
            errors[1999].to_string().contains("this file's regexes would compile to more than 2048 KiB"),
            "{}",
            errors[1999]
        );
    }

    /// Regexes that fit one by one and file by file, but not all together.
    #[test]
    fn many_files_of_big_regexes_meet_the_total_budget() {
        let medium = r"\w{20}";
        let docs: Vec<(String, String)> =
            (0..40).map(|i| (format!("r{i}.yaml"), rule_with(&format!("r{i}"), &[medium; 3]))).collect();
        let errors = RuleSet::from_sources(&docs).unwrap_err();
        assert!(!errors.is_empty());
        assert!(
            errors.iter().all(|e| e.message.contains("the loaded rules' regexes would compile to more than 8192 KiB")),
            "{errors:?}"
        );
        // The first files fit.
        assert!(errors.iter().all(|e| e.file != "r0.yaml"));
        // Each alone loads.
        RuleSet::from_sources(&docs[39..]).unwrap();
    }

    #[test]
    fn a_rules_folder_holds_at_most_16_mib() {
        let dir = tempfile::tempdir().unwrap();
        let big = format!("# {}\n{}", "x".repeat(900 << 10), rule_with("a", &["x"]));
        for i in 0..20 {
            std::fs::write(dir.path().join(format!("r{i:02}.yaml")), big.replace("id: a", &format!("id: a{i}")))
                .unwrap();
        }
        let errors = read_dir(dir.path()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("r18.yaml"), "{}", errors[0]);
        assert!(errors[0].message.contains("more than 16 MiB"), "{}", errors[0]);
        std::fs::remove_file(dir.path().join("r19.yaml")).unwrap();
        std::fs::remove_file(dir.path().join("r18.yaml")).unwrap();
        assert_eq!(read_dir(dir.path()).unwrap().len(), 18);
    }

    #[test]
    fn a_bad_regex_keeps_the_regex_crates_message() {
        let docs = [("bad.yaml".to_string(), rule_with("bad", &["(unclosed"]))];
        let errors = RuleSet::from_sources(&docs).unwrap_err();
        assert!(
            errors[0].to_string().starts_with("bad.yaml:9: regex of signal `s0` does not compile: regex parse error"),
            "{}",
            errors[0]
        );
    }
}
