//! Signal hits → findings. An incident starts at a trigger hit; hits of
//! the rule's other signals join it when they fall inside the window
//! around the trigger's time (any file, unless the rule says `same_file`).
//! Across files, a hit joins only from a log of another kind in the same
//! bundle (input path): two CBS logs are two timelines (a copy, or another
//! machine), never one incident.
//! The most recent incidents are formed first, so a trigger already used
//! as evidence does not start a second, older copy of the same incident.

use super::model::Emit;
use super::scan::Hit;
use super::{Rule, RuleSet};
use crate::hresult;
use crate::kind::LogKind;
use crate::report::{Evidence, Finding, RemediationOut};
use jiff::civil::DateTime;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

/// Lines without a time join a trigger in the same file this close.
const LINE_PROXIMITY: u64 = 200;
/// Evidence lines kept per finding.
pub const MAX_EVIDENCE: usize = 200;
/// Findings kept per rule (the most recent incidents).
pub const MAX_INCIDENTS: usize = 100;

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

fn joins(rule: &Rule, trigger: &Hit, h: &Hit, sources: &[SourceInfo]) -> bool {
    if h.source != trigger.source {
        let (a, b) = (&sources[trigger.source], &sources[h.source]);
        if rule.same_file || a.kind == b.kind || a.group != b.group {
            return false;
        }
    }
    let sig = &rule.signals[h.signal];
    let near_line = h.source == trigger.source && h.line.abs_diff(trigger.line) <= LINE_PROXIMITY;
    match (trigger.time, h.time) {
        (Some(a), Some(b)) => (secs(a) - secs(b)).abs() <= sig.window.unwrap_or(rule.window),
        (_, None) if sig.anytime => true,
        _ => near_line,
    }
}

/// A rule's hits, indexed for window queries: timed hits by time,
/// untimed ones by (source, line).
struct Index<'h> {
    timed: Vec<(i64, &'h Hit)>,
    untimed: Vec<&'h Hit>,
}

impl<'h> Index<'h> {
    fn new(hits: &[&'h Hit]) -> Self {
        let mut timed: Vec<(i64, &Hit)> = hits.iter().filter_map(|h| h.time.map(|t| (secs(t), *h))).collect();
        timed.sort_by_key(|(t, h)| (*t, h.source, h.line));
        let mut untimed: Vec<&Hit> = hits.iter().copied().filter(|h| h.time.is_none()).collect();
        untimed.sort_by_key(|h| (h.source, h.line));
        Index { timed, untimed }
    }

    /// Hits that may join an incident started by `t`: timed ones within the
    /// widest window, untimed ones near it in its file or marked anytime.
    fn around(&self, rule: &Rule, t: &Hit, widest: i64) -> Vec<&'h Hit> {
        let mut out = Vec::new();
        match t.time {
            Some(tt) => {
                let s = secs(tt);
                let lo = self.timed.partition_point(|(x, _)| *x < s - widest);
                let hi = self.timed.partition_point(|(x, _)| *x <= s + widest);
                out.extend(self.timed[lo..hi].iter().map(|(_, h)| *h));
            }
            None => {
                // An untimed trigger: timed lines of its own file near it.
                out.extend(
                    self.timed
                        .iter()
                        .map(|(_, h)| *h)
                        .filter(|h| h.source == t.source && h.line.abs_diff(t.line) <= LINE_PROXIMITY),
                );
            }
        }
        let lo =
            self.untimed.partition_point(|h| (h.source, h.line) < (t.source, t.line.saturating_sub(LINE_PROXIMITY)));
        let hi = self.untimed.partition_point(|h| (h.source, h.line) <= (t.source, t.line + LINE_PROXIMITY));
        out.extend_from_slice(&self.untimed[lo..hi]);
        out.extend(self.untimed.iter().copied().filter(|h| h.source != t.source && rule.signals[h.signal].anytime));
        out
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
    let mut system: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut by_rule: BTreeMap<usize, Vec<&Hit>> = BTreeMap::new();
    for h in hits {
        by_rule.entry(h.rule).or_default().push(h);
    }
    let mut findings = Vec::new();
    for (ri, rule_hits) in by_rule {
        let rule = &rules.rules[ri];
        let widest = rule.signals.iter().filter_map(|s| s.window).chain([rule.window]).max().unwrap_or(0);
        let index = Index::new(&rule_hits);
        let mut triggers: Vec<&Hit> = rule_hits.iter().copied().filter(|h| rule.triggers.contains(&h.signal)).collect();
        // Most recent first; untimed ones last, in file order.
        triggers.sort_by_key(|h| (Reverse(h.time.map(secs)), h.source, Reverse(h.line)));
        let mut used: HashSet<(usize, u64, usize)> = HashSet::new();
        let mut incidents = 0usize;
        for t in triggers {
            if used.contains(&(t.source, t.line, t.signal)) {
                continue;
            }
            let mut members: Vec<&Hit> =
                index.around(rule, t, widest).into_iter().filter(|h| joins(rule, t, h, sources)).collect();
            members.sort_by_key(|h| (h.source, h.line, h.signal));
            members.dedup_by_key(|h| (h.source, h.line, h.signal));
            let distinct: HashSet<usize> = members.iter().map(|h| h.signal).collect();
            if distinct.len() < rule.min_signals {
                continue;
            }
            for m in &members {
                used.insert((m.source, m.line, m.signal));
            }
            if rule.emit == Emit::System {
                let machine: &mut BTreeMap<String, String> = system.entry(sources[t.source].group).or_default();
                for (k, v) in finding(rule, t, &members, sources).facts {
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
            findings.push(finding(rule, t, &members, sources));
        }
    }
    findings.sort_by_key(|f| (f.severity, Reverse(f.time.map(secs)), f.rule.clone()));
    Correlated { findings, system }
}

fn finding(rule: &Rule, trigger: &Hit, members: &[&Hit], sources: &[SourceInfo]) -> Finding {
    let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
    let distance = |h: &Hit| match (trigger.time, h.time) {
        (Some(a), Some(b)) => ((secs(a) - secs(b)).unsigned_abs(), h.line.abs_diff(trigger.line)),
        _ => (u64::MAX, h.line.abs_diff(trigger.line)),
    };
    let mut facts = BTreeMap::new();
    for (name, cands) in &rule.facts {
        let value = cands.iter().find_map(|(si, cap)| {
            members
                .iter()
                .filter(|h| h.signal == *si)
                .filter_map(|h| h.captures.iter().find(|(n, v)| n == cap && !v.is_empty()).map(|(_, v)| (h, v)))
                .min_by_key(|(h, _)| distance(h))
                .map(|(_, v)| v.clone())
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
    let decoded = rule.code.map(hresult::decode);
    let steps = rule.remediation.steps.iter().map(|s| fill(s, &facts)).collect();
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
        facts,
        evidence,
        remediation: RemediationOut { id: rule.remediation.id.clone(), steps },
        references: rule.references.clone(),
    }
}

/// Replace `{fact}` in a remediation step with the fact's value.
fn fill(step: &str, facts: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(step.len());
    let mut rest = step;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') && close > 0 => {
                let name = &after[..close];
                match facts.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str("(not named in the logs)"),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{fill, merge_machines, secs};
    use std::collections::BTreeMap;

    #[test]
    fn fills_facts_and_leaves_script_braces() {
        let mut f = BTreeMap::new();
        f.insert("missing".to_string(), "C:\\x.inf".to_string());
        assert_eq!(fill("list {missing}.", &f), "list C:\\x.inf.");
        assert_eq!(fill("{inf}", &f), "(not named in the logs)");
        assert_eq!(fill("% { & robocopy $_.FullName }", &f), "% { & robocopy $_.FullName }");
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
