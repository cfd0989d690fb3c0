//! Signal hits → findings. An incident starts at a trigger hit; hits of
//! the rule's other signals join it when they fall inside the window
//! around the trigger's time (any file, unless the rule says `same_file`).
//! Across files, a hit joins only from a log of another kind in the same
//! bundle (input path): two CBS logs are two timelines (a copy, or another
//! machine), never one incident.
//! The most recent incidents are formed first, so a trigger already used
//! as evidence does not start a second, older copy of the same incident.

use super::model::Emit;
use super::placeholder::fill_facts;
use super::scan::Hit;
use super::{Rule, RuleSet};
use crate::hresult;
use crate::kind::LogKind;
use crate::report::{Action, Evidence, FactOut, Finding, RemediationOut};
use jiff::civil::DateTime;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Lines without a time join a trigger in the same file this close.
const LINE_PROXIMITY: u64 = 200;
/// Evidence lines kept per finding.
pub const MAX_EVIDENCE: usize = 200;
/// Findings kept per rule (the most recent incidents); also the incidents
/// an `emit: system` rule reads per source of its triggers.
pub const MAX_INCIDENTS: usize = 100;
/// Incidents an `emit: system` rule reads per machine, whatever the number
/// of its logs (a fact no log states would otherwise make it read them all).
pub const MAX_SYSTEM_INCIDENTS: usize = 10_000;

/// What correlation needs to know of each source.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub path: String,
    pub kind: LogKind,
    /// Sources of one bundle (one input path) share a group.
    pub group: usize,
}

/// Whole seconds since 1970-01-01 of a civil time (no time zone involved).
fn secs(t: DateTime) -> i64 {
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, d) = (i64::from(t.year()), i64::from(t.month()), i64::from(t.day()));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
}

/// One signal's hits in one source, sorted for range queries.
#[derive(Default)]
struct Own<'h> {
    /// Timed hits by (time, line).
    timed: Vec<(i64, &'h Hit)>,
    /// The same hits by line (an untimed trigger looks for them by line).
    timed_lines: Vec<(u64, &'h Hit)>,
    /// Untimed hits by line.
    untimed: Vec<(u64, &'h Hit)>,
}

/// One signal's hits in the sources of one kind in one group: what may
/// join a trigger from a log of another kind in that group.
struct Cross<'h> {
    kind: LogKind,
    /// Timed hits by time.
    timed: Vec<(i64, &'h Hit)>,
    /// Untimed hits of an `anytime` signal (they join any incident).
    anytime: Vec<((), &'h Hit)>,
}

/// A rule's hits indexed per signal, so that whether a trigger's window
/// holds a signal is a few binary searches (O(signals × kinds × log n) per
/// trigger) and collecting an incident costs only its members: a flood of
/// triggers sharing one second never compares every hit with every other.
///
/// Who may join a trigger `t` (the rules of the module comment):
/// - a hit of `t`'s own file: both timed, within the signal's window;
///   otherwise within [`LINE_PROXIMITY`] lines;
/// - a hit of another file (only without `same_file`, from a log of
///   another kind in `t`'s group): timed, when `t` is timed and it falls
///   in the signal's window; untimed, when its signal is `anytime`.
struct Index<'h> {
    /// Per signal: source → its hits.
    own: Vec<HashMap<usize, Own<'h>>>,
    /// Per signal: group → its hits per kind.
    cross: Vec<HashMap<usize, Vec<Cross<'h>>>>,
}

/// The entries of a sorted list whose key lies in `lo..=hi`.
fn range<K: Ord + Copy, T>(v: &[(K, T)], lo: K, hi: K) -> &[(K, T)] {
    let a = v.partition_point(|(k, _)| *k < lo);
    let b = a + v[a..].partition_point(|(k, _)| *k <= hi);
    &v[a..b]
}

/// Add the hits of `found` to `out` (when collecting); whether there were any.
fn take<'h, K>(found: &[(K, &'h Hit)], out: &mut Option<&mut Vec<&'h Hit>>) -> bool {
    if let Some(out) = out {
        out.extend(found.iter().map(|(_, h)| *h));
    }
    !found.is_empty()
}

impl<'h> Index<'h> {
    fn new(rule: &Rule, hits: &[&'h Hit], sources: &[SourceInfo]) -> Self {
        let n = rule.signals.len();
        let mut own: Vec<HashMap<usize, Own<'h>>> = (0..n).map(|_| HashMap::new()).collect();
        let mut cross: Vec<HashMap<usize, Vec<Cross<'h>>>> = (0..n).map(|_| HashMap::new()).collect();
        for &h in hits {
            let o = own[h.signal].entry(h.source).or_default();
            let info = &sources[h.source];
            let kinds = cross[h.signal].entry(info.group).or_default();
            let c = match kinds.iter().position(|c| c.kind == info.kind) {
                Some(i) => &mut kinds[i],
                None => {
                    kinds.push(Cross { kind: info.kind, timed: Vec::new(), anytime: Vec::new() });
                    kinds.last_mut().expect("just pushed")
                }
            };
            match h.time {
                Some(t) => {
                    o.timed.push((secs(t), h));
                    o.timed_lines.push((h.line, h));
                    c.timed.push((secs(t), h));
                }
                None => {
                    o.untimed.push((h.line, h));
                    if rule.signals[h.signal].anytime {
                        c.anytime.push(((), h));
                    }
                }
            }
        }
        for o in own.iter_mut().flat_map(HashMap::values_mut) {
            o.timed.sort_by_key(|(t, h)| (*t, h.line));
            o.timed_lines.sort_by_key(|(l, _)| *l);
            o.untimed.sort_by_key(|(l, _)| *l);
        }
        for c in cross.iter_mut().flat_map(HashMap::values_mut).flatten() {
            c.timed.sort_by_key(|(t, h)| (*t, h.source, h.line));
        }
        Index { own, cross }
    }

    /// Whether hits of signal `s` may join an incident started by `t`;
    /// with `out`, they are all added to it.
    fn members(
        &self,
        rule: &Rule,
        t: &Hit,
        s: usize,
        sources: &[SourceInfo],
        mut out: Option<&mut Vec<&'h Hit>>,
    ) -> bool {
        let w = rule.signals[s].window.unwrap_or(rule.window);
        let at = t.time.map(secs);
        let (lo, hi) = (t.line.saturating_sub(LINE_PROXIMITY), t.line.saturating_add(LINE_PROXIMITY));
        let mut any = false;
        if let Some(o) = self.own[s].get(&t.source) {
            any |= match at {
                Some(x) => take(range(&o.timed, x - w, x + w), &mut out),
                None => take(range(&o.timed_lines, lo, hi), &mut out),
            };
            any |= take(range(&o.untimed, lo, hi), &mut out);
        }
        if rule.same_file || (any && out.is_none()) {
            return any;
        }
        let me = &sources[t.source];
        for c in self.cross[s].get(&me.group).into_iter().flatten().filter(|c| c.kind != me.kind) {
            if let Some(x) = at {
                any |= take(range(&c.timed, x - w, x + w), &mut out);
            }
            any |= take(&c.anytime, &mut out);
            if any && out.is_none() {
                break;
            }
        }
        any
    }

    /// Whether an incident started by `t` would hold `min` distinct signals.
    fn reaches(&self, rule: &Rule, t: &Hit, min: usize, sources: &[SourceInfo]) -> bool {
        let n = rule.signals.len();
        let mut found = 0;
        for s in 0..n {
            if found + (n - s) < min {
                return false;
            }
            if self.members(rule, t, s, sources, None) {
                found += 1;
                if found >= min {
                    return true;
                }
            }
        }
        found >= min
    }
}

/// What correlation produces: findings, and facts about each machine
/// (correlation group) from `emit: system` rules (most recent first wins).
#[derive(Debug, Default)]
pub struct Correlated {
    pub findings: Vec<Finding>,
    pub system: BTreeMap<usize, BTreeMap<String, String>>,
}

/// One `system{}` for a report that may cover several machines
/// (`machines` counts them): a fact is kept only when every machine states
/// it with the same value, so a report never shows one machine's version
/// beside another machine's finding.
pub fn merge_machines(facts: &BTreeMap<usize, BTreeMap<String, String>>, machines: usize) -> BTreeMap<String, String> {
    let mut stated: BTreeMap<&str, (Option<&str>, usize)> = BTreeMap::new();
    for machine in facts.values() {
        for (k, v) in machine {
            let e = stated.entry(k).or_insert((Some(v), 0));
            if e.0 != Some(v.as_str()) {
                e.0 = None;
            }
            e.1 += 1;
        }
    }
    stated
        .into_iter()
        .filter_map(|(k, (v, n))| v.filter(|_| n >= machines.max(1)).map(|v| (k.to_string(), v.to_string())))
        .collect()
}

/// Correlate every rule's hits. `sources[hit.source]` describes each source.
pub fn correlate(rules: &RuleSet, hits: &[Hit], sources: &[SourceInfo]) -> Correlated {
    let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
    let mut system: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut by_rule: BTreeMap<usize, Vec<&Hit>> = BTreeMap::new();
    for h in hits {
        by_rule.entry(h.rule).or_default().push(h);
    }
    let mut findings = Vec::new();
    for (ri, rule_hits) in by_rule {
        let rule = &rules.rules[ri];
        let index = Index::new(rule, &rule_hits, sources);
        let mut triggers: Vec<&Hit> = rule_hits.iter().copied().filter(|h| rule.triggers.contains(&h.signal)).collect();
        // Most recent first; untimed ones last, in file order.
        triggers.sort_by_key(|h| (Reverse(h.time.map(secs)), h.source, Reverse(h.line)));
        let mut used: HashSet<(usize, u64, usize)> = HashSet::new();
        let mut incidents = 0usize;
        // `emit: system` incidents per source of their trigger, and per machine.
        let mut source_incidents: HashMap<usize, usize> = HashMap::new();
        let mut machine_incidents: HashMap<usize, usize> = HashMap::new();
        for t in triggers {
            if used.contains(&(t.source, t.line, t.signal)) {
                continue;
            }
            let group = sources[t.source].group;
            if rule.emit == Emit::System {
                // Nothing left to learn for this machine: every fact of the
                // rule is already stated (the most recent incident wins).
                let known = system.get(&group).is_some_and(|m| rule.facts.iter().all(|(k, _)| m.contains_key(k)));
                if known
                    || source_incidents.get(&t.source).is_some_and(|n| *n >= MAX_INCIDENTS)
                    || machine_incidents.get(&group).is_some_and(|n| *n >= MAX_SYSTEM_INCIDENTS)
                {
                    continue;
                }
            }
            if !index.reaches(rule, t, rule.min_signals, sources) {
                continue;
            }
            let mut members: Vec<&Hit> = Vec::new();
            for s in 0..rule.signals.len() {
                index.members(rule, t, s, sources, Some(&mut members));
            }
            members.sort_by_key(|h| (h.source, h.line, h.signal));
            members.dedup_by_key(|h| (h.source, h.line, h.signal));
            for m in &members {
                used.insert((m.source, m.line, m.signal));
            }
            if rule.emit == Emit::System {
                *source_incidents.entry(t.source).or_default() += 1;
                *machine_incidents.entry(group).or_default() += 1;
                let machine: &mut BTreeMap<String, String> = system.entry(group).or_default();
                for (k, v) in finding(rule, t, &members, &paths).facts {
                    machine.entry(k).or_insert(v);
                }
                continue;
            }
            incidents += 1;
            if incidents > MAX_INCIDENTS {
                if let Some(last) = findings.last_mut() {
                    let f: &mut Finding = last;
                    f.facts.insert(
                        "more_incidents".into(),
                        format!("more than {MAX_INCIDENTS} incidents of this rule; older ones are not listed"),
                    );
                }
                break;
            }
            findings.push(finding(rule, t, &members, &paths));
        }
    }
    fold_fallbacks(rules, &mut findings);
    findings.sort_by_key(|f| (f.severity, Reverse(f.time.map(secs)), f.rule.clone()));
    Correlated { findings, system }
}

/// Drop what is not a failure of its own: a finding with one of its rule's
/// quiet codes; a `fallback` rule's finding when a specific error finding
/// explains the same failure (it cites one of the same lines, or states the
/// same code within the fallback rule's window); and of two fallback
/// findings of one failure (the same code within the window, from two
/// rules: a CBS log and WindowsUpdate.log telling the same story), the one
/// with less evidence. One failure, one finding.
fn fold_fallbacks(rules: &RuleSet, findings: &mut Vec<Finding>) {
    let quiet = |f: &Finding| {
        rules.get(&f.rule).is_some_and(|r| {
            !r.quiet_codes.is_empty()
                && f.code.as_deref().and_then(hresult::parse_code).is_some_and(|c| r.quiet_codes.contains(&c))
        })
    };
    findings.retain(|f| !quiet(f));
    // Looked up once per finding, not once per pair.
    let rule_of: Vec<Option<&Rule>> = findings.iter().map(|f| rules.get(&f.rule)).collect();
    let fallback = |i: usize| rule_of[i].is_some_and(|r| r.fallback);
    if !(0..findings.len()).any(fallback) {
        return;
    }
    // Each finding's evidence span of time.
    let spans: Vec<Option<(i64, i64)>> = findings
        .iter()
        .map(|g| {
            let times = g.evidence.iter().filter_map(|e| e.time.map(secs));
            times.clone().min().zip(times.max())
        })
        .collect();
    let near = |a: &Finding, b: &Finding, window: i64| match (a.time, b.time) {
        (Some(x), Some(y)) => (secs(x) - secs(y)).abs() <= window,
        _ => false,
    };
    let same_code = |a: &Finding, b: &Finding| a.code.is_some() && a.code == b.code;
    let folded: Vec<bool> = findings
        .iter()
        .enumerate()
        .map(|(fi, f)| {
            let Some(rule) = rule_of[fi].filter(|r| r.fallback) else { return false };
            // The line that ended the operation (context lines, a command line, do not count).
            let terminal = f.trigger.and_then(|i| f.evidence.get(i)).map(|e| (e.path.as_str(), e.line));
            findings.iter().enumerate().any(|(gi, g)| {
                if g.severity != super::Severity::Error || g.rule == f.rule {
                    return false;
                }
                if !fallback(gi) {
                    let shares_line =
                        terminal.is_some_and(|t| g.evidence.iter().any(|e| (e.path.as_str(), e.line) == t));
                    // Within the specific incident's span of time (its evidence), give or take the window.
                    let within = match (f.time.map(secs), spans[gi]) {
                        (Some(t), Some((a, b))) => a - rule.window <= t && t <= b + rule.window,
                        // An untimed report (SetupDiag's): the specific finding cites its file.
                        (None, _) => terminal.is_some_and(|(p, _)| g.evidence.iter().any(|e| e.path == p)),
                        _ => near(f, g, rule.window),
                    };
                    return shares_line || (same_code(f, g) && within);
                }
                // Two fallbacks: the one with more evidence stays (then the first rule by id).
                same_code(f, g)
                    && near(f, g, rule.window)
                    && (g.evidence.len(), std::cmp::Reverse(&g.rule)) > (f.evidence.len(), std::cmp::Reverse(&f.rule))
            })
        })
        .collect();
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !folded[i - 1]
    });
}

fn finding(rule: &Rule, trigger: &Hit, members: &[&Hit], paths: &[&str]) -> Finding {
    let distance = |h: &Hit| match (trigger.time, h.time) {
        (Some(a), Some(b)) => ((secs(a) - secs(b)).unsigned_abs(), h.line.abs_diff(trigger.line)),
        _ => (u64::MAX, h.line.abs_diff(trigger.line)),
    };
    let mut facts = BTreeMap::new();
    let mut lists: BTreeMap<&str, (Vec<String>, usize)> = BTreeMap::new();
    for (name, cands) in &rule.facts {
        if rule.many_facts.contains(name) {
            let (values, more) = every_value(cands, members, paths);
            if !values.is_empty() {
                let mut joined = values.join("; ");
                if more > 0 {
                    joined.push_str(&format!("; and {more} more"));
                }
                facts.insert(name.clone(), joined);
                lists.insert(name, (values, more));
            }
            continue;
        }
        let before = rule.before_facts.contains(name);
        // At or before the trigger: by time, or by line in the trigger's file.
        let not_after = |h: &Hit| match (trigger.time, h.time) {
            (Some(t), Some(x)) => x <= t,
            _ => h.source != trigger.source || h.line <= trigger.line,
        };
        let capture =
            |h: &Hit, cap: &str| h.captures.iter().find(|(n, v)| n == cap && !v.is_empty()).map(|(_, v)| v.clone());
        let value = cands.iter().find_map(|(si, cap)| {
            let lines = members.iter().filter(|h| h.signal == *si);
            if before {
                // The last such line before the failure, and what it says (or
                // not): facts of one signal then come from one line.
                lines.filter(|h| not_after(h)).min_by_key(|h| distance(h)).and_then(|h| capture(h, cap))
            } else {
                lines.filter_map(|h| capture(h, cap).map(|v| (h, v))).min_by_key(|(h, _)| distance(h)).map(|(_, v)| v)
            }
        });
        if let Some(v) = value {
            facts.insert(name.clone(), v);
        }
    }
    let mut ordered: Vec<&Hit> = members.to_vec();
    // By time, untimed lines (SetupDiag summaries) last.
    ordered.sort_by(|a, b| {
        (a.time.is_none(), a.time, &paths[a.source], a.line).cmp(&(b.time.is_none(), b.time, &paths[b.source], b.line))
    });
    let mut seen = HashSet::new();
    let mut evidence = Vec::new();
    for h in ordered {
        if !seen.insert((h.source, h.line)) {
            continue;
        }
        if evidence.len() == MAX_EVIDENCE {
            facts.insert("evidence_truncated".into(), format!("only the first {MAX_EVIDENCE} lines are listed"));
            break;
        }
        evidence.push(Evidence {
            path: paths[h.source].to_string(),
            line: h.line,
            time: h.time,
            text: h.text.clone(),
            signal: rule.signals[h.signal].id.clone(),
        });
    }
    // The code the log states (`code_from`), else the rule's own.
    let stated = rule.code_from.as_ref().and_then(|n| facts.get(n)).and_then(|v| hresult::parse_code(v));
    let decoded = stated.or(rule.code).map(hresult::decode);
    let actions = rule
        .remediation
        .steps
        .iter()
        .map(|s| Action { text: fill_facts(&s.text, &facts), shell: s.shell, commands: s.commands.clone() })
        .collect();
    // The declared facts for people: the subject first, then by name; a
    // list keeps its values apart.
    let mut fact_list: Vec<FactOut> = facts
        .iter()
        .map(|(name, v)| {
            let (values, more) = lists.remove(name.as_str()).unwrap_or_else(|| (vec![v.clone()], 0));
            FactOut { name: name.clone(), label: rule.fact_label(name), values, more }
        })
        .collect();
    // A subject the logs do not state is listed without values: what is
    // broken is then said to be unknown, not left out.
    if let Some(sub) = rule.subject.as_ref().filter(|s| !facts.contains_key(*s)) {
        fact_list.push(FactOut { name: sub.clone(), label: rule.fact_label(sub), values: Vec::new(), more: 0 });
    }
    fact_list.sort_by_key(|f| rule.subject.as_deref() != Some(f.name.as_str()));
    Finding {
        rule: rule.id.clone(),
        title: rule.title.clone(),
        severity: rule.severity,
        code: decoded.as_ref().map(|d| d.hex.clone()),
        code_name: decoded.as_ref().and_then(|d| d.name.map(str::to_string)),
        code_message: decoded.as_ref().and_then(|d| d.message.map(str::to_string)),
        scenario: rule.scenario.clone(),
        time: trigger.time,
        summary: rule.summary.clone(),
        subject: rule.subject.clone(),
        facts,
        fact_list,
        trigger: evidence.iter().position(|e| paths[trigger.source] == e.path && e.line == trigger.line),
        evidence,
        remediation: RemediationOut::new(
            rule.remediation.id.clone(),
            actions,
            rule.remediation.plan.clone(),
            rule.remediation.done.clone(),
        ),
        references: rule.references.clone(),
    }
}

/// A `many` fact: every distinct value its sources give in the incident, in
/// log order; past [`MAX_FACT_VALUES`] the rest is counted.
fn every_value(cands: &[(usize, String)], members: &[&Hit], paths: &[&str]) -> (Vec<String>, usize) {
    let mut hits: Vec<&&Hit> = members.iter().filter(|h| cands.iter().any(|(si, _)| h.signal == *si)).collect();
    hits.sort_by(|a, b| (paths[a.source], a.line).cmp(&(paths[b.source], b.line)));
    let mut values: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut cut = 0usize;
    for h in hits {
        for (si, cap) in cands {
            if h.signal != *si {
                continue;
            }
            if let Some((_, v)) = h.captures.iter().find(|(n, v)| n == cap && !v.is_empty()) {
                if !seen.insert(v.as_str()) {
                    continue;
                }
                if values.len() < MAX_FACT_VALUES {
                    values.push(v);
                } else {
                    cut += 1;
                }
            }
        }
    }
    (values.into_iter().map(str::to_string).collect(), cut)
}

/// Values a `many` fact lists; more are counted.
const MAX_FACT_VALUES: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    /// The straightforward correlation: every trigger compared with every
    /// hit (what the index must reproduce).
    fn reference(rules: &RuleSet, hits: &[Hit], sources: &[SourceInfo]) -> Correlated {
        let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
        let joins = |rule: &Rule, t: &Hit, h: &Hit| {
            let near = h.source == t.source && h.line.abs_diff(t.line) <= LINE_PROXIMITY;
            if h.source != t.source {
                let (a, b) = (&sources[t.source], &sources[h.source]);
                if rule.same_file || a.kind == b.kind || a.group != b.group {
                    return false;
                }
            }
            let sig = &rule.signals[h.signal];
            match (t.time, h.time) {
                (Some(a), Some(b)) => (secs(a) - secs(b)).abs() <= sig.window.unwrap_or(rule.window),
                (_, None) if sig.anytime => h.source != t.source || near,
                _ => near,
            }
        };
        let mut out = Correlated::default();
        for (ri, rule) in rules.rules.iter().enumerate() {
            let rule_hits: Vec<&Hit> = hits.iter().filter(|h| h.rule == ri).collect();
            let mut triggers: Vec<&Hit> =
                rule_hits.iter().copied().filter(|h| rule.triggers.contains(&h.signal)).collect();
            triggers.sort_by_key(|h| (Reverse(h.time.map(secs)), h.source, Reverse(h.line)));
            let mut used = HashSet::new();
            let mut incidents = 0;
            for t in triggers {
                if used.contains(&(t.source, t.line, t.signal)) {
                    continue;
                }
                let mut members: Vec<&Hit> = rule_hits.iter().copied().filter(|h| joins(rule, t, h)).collect();
                members.sort_by_key(|h| (h.source, h.line, h.signal));
                members.dedup_by_key(|h| (h.source, h.line, h.signal));
                if members.iter().map(|h| h.signal).collect::<HashSet<_>>().len() < rule.min_signals {
                    continue;
                }
                used.extend(members.iter().map(|m| (m.source, m.line, m.signal)));
                let f = finding(rule, t, &members, &paths);
                if rule.emit == Emit::System {
                    let machine = out.system.entry(sources[t.source].group).or_default();
                    for (k, v) in f.facts {
                        machine.entry(k).or_insert(v);
                    }
                    continue;
                }
                incidents += 1;
                if incidents > MAX_INCIDENTS {
                    out.findings.last_mut().unwrap().facts.insert("more_incidents".into(), String::new());
                    break;
                }
                out.findings.push(f);
            }
        }
        fold_fallbacks(rules, &mut out.findings);
        out.findings.sort_by_key(|f| (f.severity, Reverse(f.time.map(secs)), f.rule.clone()));
        out
    }

    /// A deterministic xorshift generator.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    const KINDS: [&str; 3] = ["cbs", "dism", "setupact"];

    fn random_rule(g: &mut Gen, id: usize) -> String {
        let n = 1 + g.next(4) as usize;
        let windows = ["0s", "1s", "2s", "5s"];
        let mut y = format!(
            "id: r{id}\ntitle: t\nseverity: {}\nsummary: s\nwindow: {}\nmin_signals: {}\nsame_file: {}\nemit: {}\n",
            ["error", "warning", "info"][g.next(3) as usize],
            windows[g.next(4) as usize],
            1 + g.next(n as u64),
            g.next(4) == 0,
            if g.next(3) == 0 { "system" } else { "finding" },
        );
        let triggers: Vec<String> = (0..n).filter(|_| g.next(2) == 0).map(|i| format!("s{i}")).collect();
        if !triggers.is_empty() {
            y += &format!("triggers: [{}]\n", triggers.join(", "));
        }
        y += "signals:\n";
        for i in 0..n {
            y += &format!(
                "  - id: s{i}\n    kinds: [{}]\n    anchor: anchor{i}\n    regex: '(?P<v>\\w*)'\n    anytime: {}\n",
                KINDS[g.next(3) as usize],
                g.next(3) == 0
            );
            if g.next(3) == 0 {
                y += &format!("    window: {}\n", windows[g.next(4) as usize]);
            }
        }
        y += "facts:\n";
        for f in 0..2 {
            let from: Vec<String> = (0..1 + g.next(2)).map(|_| format!("s{}.v", g.next(n as u64))).collect();
            y += &format!("  f{f}: [{}]\n", from.join(", "));
        }
        y + "remediation:\n  id: x\n  steps: [\"{f0} {f1}\"]\n"
    }

    #[test]
    fn indexed_correlation_equals_the_straightforward_one() {
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        let mut fired = 0;
        for round in 0..400 {
            let docs: Vec<(String, String)> =
                (0..1 + g.next(3) as usize).map(|i| (format!("r{i}.yaml"), random_rule(&mut g, i))).collect();
            let rules = RuleSet::from_sources(&docs).unwrap_or_else(|e| panic!("{e:?}\n{docs:?}"));
            let sources: Vec<SourceInfo> = (0..1 + g.next(5) as usize)
                .map(|i| SourceInfo {
                    path: format!("s{}", g.next(3)) + &i.to_string(),
                    kind: LogKind::from_name(KINDS[g.next(3) as usize]).unwrap(),
                    group: g.next(2) as usize,
                })
                .collect();
            let base: DateTime = "2024-03-12T06:41:00".parse().unwrap();
            // As in a log: one time per line, one hit per (line, signal).
            let mut times: HashMap<(usize, u64), Option<DateTime>> = HashMap::new();
            let mut seen = HashSet::new();
            let mut hits = Vec::new();
            for _ in 0..g.next(80) {
                let rule = g.next(rules.rules.len() as u64) as usize;
                let signal = g.next(rules.rules[rule].signals.len() as u64) as usize;
                let source = g.next(sources.len() as u64) as usize;
                let line = 1 + g.next(if round % 2 == 0 { 40 } else { 900 });
                let secs = g.next(12) as i64;
                let timed = g.next(4) != 0;
                let time = *times
                    .entry((source, line))
                    .or_insert_with(|| timed.then(|| base + jiff::Span::new().seconds(secs)));
                if seen.insert((rule, signal, source, line)) {
                    hits.push(Hit {
                        rule,
                        signal,
                        source,
                        line,
                        time,
                        text: format!("line {}", g.next(1000)),
                        captures: vec![("v".into(), ["", "a", "b", "c"][g.next(4) as usize].into())],
                    });
                }
            }
            let (got, want) = (correlate(&rules, &hits, &sources), reference(&rules, &hits, &sources));
            let show = |c: &Correlated| format!("{}\n{:?}", serde_json::to_string(&c.findings).unwrap(), c.system);
            assert_eq!(show(&got), show(&want), "round {round}\n{docs:?}\n{sources:?}\n{hits:#?}");
            fired += got.findings.len() + got.system.len();
        }
        assert!(fired > 400, "the generator makes incidents ({fired})");
    }

    /// An `emit: system` rule whose fact only the oldest log states reads
    /// at most [`MAX_INCIDENTS`] incidents per log and
    /// [`MAX_SYSTEM_INCIDENTS`] per machine.
    #[test]
    fn system_incidents_are_bounded_per_log_and_per_machine() {
        let rule = "id: facts\ntitle: t\nseverity: info\nsummary: s\nemit: system\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: anchor\n    regex: '(?P<v>\\w*)'\nfacts:\n  v: [a.v]\nremediation:\n  id: x\n  steps: [s]\n";
        let rules = RuleSet::from_sources(&[("facts.yaml".into(), rule.into())]).unwrap();
        let base: DateTime = "2024-03-12T06:41:00".parse().unwrap();
        // `logs` logs of `per_log` incidents each (one a second, newest
        // first), then the oldest log, which states the fact.
        let run = |logs: usize, per_log: usize| {
            let sources: Vec<SourceInfo> =
                (0..=logs).map(|i| SourceInfo { path: format!("{i}/CBS.log"), kind: LogKind::Cbs, group: 0 }).collect();
            let mut hits = Vec::new();
            let mut ago = 0i64;
            for source in 0..=logs {
                let n = if source == logs { 1 } else { per_log };
                for line in 1..=n as u64 {
                    ago += 1;
                    let v = if source == logs { "stated" } else { "" };
                    hits.push(Hit {
                        rule: 0,
                        signal: 0,
                        source,
                        line,
                        time: Some(base - jiff::Span::new().seconds(ago)),
                        text: String::new(),
                        captures: vec![("v".into(), v.into())],
                    });
                }
            }
            correlate(&rules, &hits, &sources).system.get(&0).and_then(|m| m.get("v").cloned())
        };
        assert_eq!(run(3, 50).as_deref(), Some("stated"));
        // Past 100 a log: its older incidents are not read, the next log's are.
        assert_eq!(run(3, 500).as_deref(), Some("stated"));
        assert_eq!(run(99, 100).as_deref(), Some("stated"));
        // 101 logs of 100 incidents: the machine's bound is met first.
        assert_eq!(run(101, 100), None);
    }

    /// Thousands of triggers in one second in many files that never reach
    /// `min_signals`: each is decided by a few binary searches.
    #[test]
    fn triggers_that_never_reach_min_signals_are_cheap() {
        let rules = RuleSet::embedded().unwrap();
        let ri = rules.rules.iter().position(|r| r.id == "wu-0x80070003-driver-files-missing").unwrap();
        let queue = rules.rules[ri].signals.iter().position(|s| s.id == "queue_failed").unwrap();
        let t: DateTime = "2017-12-06T15:30:46".parse().unwrap();
        let files = 40;
        let sources: Vec<SourceInfo> =
            (0..files).map(|i| SourceInfo { path: format!("{i}/CBS.log"), kind: LogKind::Cbs, group: 0 }).collect();
        let mut hits = Vec::new();
        for source in 0..files {
            for line in 1..=5_000 {
                hits.push(Hit {
                    rule: ri,
                    signal: queue,
                    source,
                    line,
                    time: Some(t),
                    text: String::new(),
                    captures: Vec::new(),
                });
            }
        }
        // 200,000 triggers; comparing each with every hit would take hours.
        let c = correlate(&rules, &hits, &sources);
        assert!(c.findings.is_empty());
        // One more file holds the rollback: that one incident is found.
        let ktm = rules.rules[ri].signals.iter().position(|s| s.id == "ktm_rollback").unwrap();
        hits.push(Hit { signal: ktm, line: 5_001, ..hits[0].clone() });
        let c = correlate(&rules, &hits, &sources);
        assert_eq!(c.findings.len(), 1);
        assert_eq!(c.findings[0].evidence.len(), MAX_EVIDENCE);
    }

    #[test]
    fn seconds_since_epoch() {
        assert_eq!(secs("1970-01-01T00:00:00".parse().unwrap()), 0);
        assert_eq!(secs("2000-03-01T00:00:01".parse().unwrap()), 951_868_801);
        assert_eq!(secs("2017-12-06T15:30:46.9".parse().unwrap()), 1_512_574_246);
    }

    #[test]
    fn system_facts_of_several_machines_are_kept_only_when_all_agree() {
        let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let facts: BTreeMap<usize, BTreeMap<String, String>> = [
            (0, m(&[("arch", "amd64"), ("build", "19045"), ("only_a", "x")])),
            (1, m(&[("arch", "amd64"), ("build", "22631")])),
        ]
        .into();
        assert_eq!(merge_machines(&facts, 2), m(&[("arch", "amd64")]));
        assert!(merge_machines(&facts, 3).is_empty(), "a third machine states nothing");
        let one: BTreeMap<usize, BTreeMap<String, String>> = [(0, m(&[("arch", "x86")]))].into();
        assert_eq!(merge_machines(&one, 1), m(&[("arch", "x86")]));
    }
}
