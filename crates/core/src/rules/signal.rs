//! Signals: what a line (or a check's problem) must look like to count as
//! evidence for a rule. Written in the rule, or once in `signals/<name>.yaml`
//! and used by several rules (`- { id: folder, use: <name> }`).

use super::budget::Budget;
use super::check_hits;
use super::model::{parse_duration_secs, SignalDoc};
use super::RuleError;
use crate::checks::CHECK_IDS;
use crate::kind::LogKind;
use regex::Regex;
use serde_saphyr::Spanned;
use std::collections::HashMap;

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
    /// Check ids whose problems this signal matches (then no log kinds).
    pub checks: Vec<String>,
    /// The shared signal file it came from, if any.
    pub shared: Option<String>,
    /// The line of its `id` in the file it is written in (the shared file's, if shared).
    pub line: u64,
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

    /// Whether `capture` is a name this signal's hits can carry.
    pub fn has_capture(&self, capture: &str) -> bool {
        if !self.checks.is_empty() {
            return check_hits::CAPTURES.contains(&capture);
        }
        // The scanner adds the setupapi section the line is in.
        if capture == "section" && self.kinds.contains(&LogKind::Setupapi) {
            return true;
        }
        self.regex.as_ref().is_some_and(|r| r.capture_names().flatten().any(|n| n == capture))
    }

    /// Stands in for a signal that did not compile (the rule fails to load).
    pub(super) fn placeholder(id: String) -> Signal {
        Signal {
            id,
            kinds: Vec::new(),
            anchors: Vec::new(),
            ignore_case: false,
            regex: None,
            levels: Vec::new(),
            component: None,
            section: None,
            window: None,
            anytime: false,
            must_match: Vec::new(),
            no_match: Vec::new(),
            checks: Vec::new(),
            shared: None,
            line: 0,
        }
    }
}

/// The shared signals, by name (the file's stem), each with its file.
pub type Shared = HashMap<String, (String, SignalDoc)>;

/// The shared signal files built into the binary, each checked on its own
/// (errors name the shared file).
pub(super) fn embedded_shared(budget: &mut Budget) -> (Shared, Vec<RuleError>) {
    let mut out = Shared::new();
    let mut errors = Vec::new();
    for (origin, text) in super::EMBEDDED_SIGNALS {
        match serde_saphyr::from_str::<SignalDoc>(text) {
            Err(e) => errors.push(super::compile::yaml_error(origin, &e.to_string())),
            Ok(doc) => {
                let stem = origin.rsplit('/').next().unwrap_or(origin).trim_end_matches(".yaml");
                if doc.uses.is_some() {
                    errors.push(RuleError {
                        file: origin.to_string(),
                        line: Some(1),
                        message: "a shared signal cannot `use` another".into(),
                    });
                }
                if let Err(mut es) = compile(origin, doc.clone(), 0, budget) {
                    errors.append(&mut es);
                }
                out.insert(stem.to_string(), (origin.to_string(), doc));
            }
        }
    }
    (out, errors)
}

/// Compile a signal of a rule: its own, or a shared one under its id.
pub(super) fn compile_in_rule(
    origin: &str,
    doc: SignalDoc,
    rule_window: i64,
    budget: &mut Budget,
    shared: &Shared,
) -> Result<Signal, Vec<RuleError>> {
    let Some(name) = doc.uses.clone() else {
        return compile(origin, doc, rule_window, budget);
    };
    let at = |s: &Spanned<String>, message: String| RuleError {
        file: origin.to_string(),
        line: Some(s.referenced.line()).filter(|l| *l > 0),
        message,
    };
    let Some((file, base)) = shared.get(&name.value) else {
        let mut known: Vec<&str> = shared.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Err(vec![at(
            &name,
            format!("`use: {}` names no shared signal (signals/<name>.yaml); known: {}", name.value, known.join(", ")),
        )]);
    };
    let own_fields = !doc.kinds.is_empty()
        || doc.anchor.is_some()
        || !doc.check.is_empty()
        || doc.regex.is_some()
        || doc.ignore_case
        || !doc.levels.is_empty()
        || doc.component.is_some()
        || doc.section.is_some()
        || !doc.must_match.is_empty()
        || !doc.no_match.is_empty();
    if own_fields {
        return Err(vec![at(
            &doc.id,
            format!(
                "signal `{}` uses shared signal `{}`: only `window` and `anytime` may be given beside `use`",
                doc.id.value, name.value
            ),
        )]);
    }
    let mut merged = base.clone();
    // The rule's name for it; the shared file's line for its definition.
    merged.id = Spanned { value: doc.id.value.clone(), ..base.id.clone() };
    if doc.window.is_some() {
        merged.window = doc.window.clone();
    }
    merged.anytime |= doc.anytime;
    // The shared file was checked on its own; errors here would repeat it.
    let mut sig = compile(file, merged, rule_window, budget)?;
    sig.shared = Some(file.clone());
    Ok(sig)
}

/// Compile one signal written in `origin`.
pub(super) fn compile(
    origin: &str,
    s: SignalDoc,
    rule_window: i64,
    budget: &mut Budget,
) -> Result<Signal, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut err = |s: &Spanned<String>, message: String| {
        // Line 0: a value read through an untagged enum has lost its place.
        errors.push(RuleError { file: origin.to_string(), line: Some(s.referenced.line()).filter(|l| *l > 0), message })
    };
    let sid = s.id.value.clone();
    let line = s.id.referenced.line();
    let mut kinds = Vec::new();
    for k in &s.kinds {
        match LogKind::from_name(&k.value).filter(|k| k.is_log()) {
            None => err(
                k,
                format!(
                    "unknown log kind `{}`; expected one of {}{}",
                    k.value,
                    LogKind::ALL.iter().filter(|k| k.is_log()).map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
                    if k.value == "check" { " (system checks are matched with `check: [<check id>]`)" } else { "" }
                ),
            ),
            Some(kind) => kinds.push(kind),
        }
    }
    let mut checks = Vec::new();
    for c in &s.check {
        if CHECK_IDS.contains(&c.value.as_str()) {
            checks.push(c.value.clone());
        } else {
            err(c, format!("unknown check `{}`; expected one of {}", c.value, CHECK_IDS.join(", ")));
        }
    }
    let anchors: Vec<String> =
        s.anchor.as_ref().map(|a| a.items().iter().map(|a| a.value.clone()).collect()).unwrap_or_default();
    if !s.check.is_empty() {
        if !s.kinds.is_empty() || s.anchor.is_some() || s.regex.is_some() {
            err(&s.id, format!("signal `{sid}` matches checks: it takes no `kinds`, `anchor` or `regex`"));
        }
        if !s.must_match.is_empty() || !s.no_match.is_empty() {
            err(
                &s.id,
                format!(
                    "signal `{sid}` matches checks: `match`/`no_match` lines do not apply (use a test case's `checks`)"
                ),
            );
        }
        kinds.push(LogKind::Check);
    } else {
        if s.kinds.is_empty() {
            err(&s.id, format!("signal `{sid}` names no log kind (`kinds`) and no check (`check`)"));
        }
        match &s.anchor {
            None => err(&s.id, format!("signal `{sid}` needs an `anchor`: literal text every matching line holds")),
            Some(a) => {
                for item in a.items() {
                    if item.value.trim().len() < 3 {
                        // Anchors lose their line (untagged enum): point at the signal.
                        let at = if item.referenced.line() > 0 { item } else { &s.id };
                        err(
                            at,
                            format!(
                                "anchor `{}` is too short to be a useful literal (3 characters at least)",
                                item.value
                            ),
                        );
                    }
                }
            }
        }
    }
    let regex = s
        .regex
        .as_ref()
        .and_then(|r| budget.compile(&r.value).map_err(|e| err(r, format!("regex of signal `{sid}` {e}"))).ok());
    let window = s.window.as_ref().map(|_| duration(&s.window, rule_window, &mut err));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Signal {
        id: sid,
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
        checks,
        shared: None,
        line,
    })
}

/// A `window` in seconds, or `default` (with an error) when it does not parse.
pub(super) fn duration(
    w: &Option<Spanned<String>>,
    default: i64,
    err: &mut impl FnMut(&Spanned<String>, String),
) -> i64 {
    match w {
        None => default,
        Some(s) => parse_duration_secs(&s.value).unwrap_or_else(|| {
            err(s, format!("window `{}` must look like 0s, 30s, 5m or 1h (at most a week)", s.value));
            default
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::RuleSet;

    fn load(signals: &str, extra: &str) -> Result<RuleSet, String> {
        let y = format!(
            "id: t\ntitle: t\nseverity: error\nsummary: s\nsignals:\n{signals}{extra}remediation: {{ id: r, steps: [x] }}\n"
        );
        RuleSet::from_sources(&[("t.yaml".into(), y)])
            .map_err(|e| e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))
    }

    #[test]
    fn shared_signals_are_used_by_name_and_only_window_and_anytime_change() {
        let set = load("  - { id: folder, use: servicing-stack-folder-damaged, anytime: true }\n", "").unwrap();
        let sig = &set.rules.iter().find(|r| r.id == "t").unwrap().signals[0];
        assert_eq!(sig.id, "folder");
        assert!(sig.anytime && sig.checks.contains(&"servicing-stack-not-empty".to_string()));
        assert_eq!(sig.shared.as_deref(), Some("signals/servicing-stack-folder-damaged.yaml"));
        let e = load("  - { id: a, use: no-such-signal }\n", "").unwrap_err();
        assert!(e.starts_with("t.yaml:6: `use: no-such-signal` names no shared signal"), "{e}");
        let e = load("  - id: a\n    use: servicing-stack-folder-damaged\n    anchor: hello\n", "").unwrap_err();
        assert!(
            e.contains(
                "t.yaml:6: signal `a` uses shared signal `servicing-stack-folder-damaged`: only `window` and `anytime`"
            ),
            "{e}"
        );
    }

    #[test]
    fn check_signals_name_known_checks_and_have_fixed_captures() {
        let e = load("  - { id: a, check: [servicing-stack-typo] }\n", "").unwrap_err();
        assert!(e.contains("unknown check `servicing-stack-typo`; expected one of winsxs-present"), "{e}");
        let e = load("  - { id: a, kinds: [check], anchor: 'FAIL x' }\n", "").unwrap_err();
        assert!(e.contains("unknown log kind `check`") && e.contains("matched with `check: [<check id>]`"), "{e}");
        let e = load("  - { id: a, check: [winsxs-present], anchor: 'FAIL x' }\n", "").unwrap_err();
        assert!(e.contains("matches checks: it takes no `kinds`, `anchor` or `regex`"), "{e}");
        assert!(load("  - { id: a, check: [winsxs-present] }\n", "facts:\n  where: [a.path]\n").is_ok());
        let e = load("  - { id: a, check: [winsxs-present] }\n", "facts:\n  where: [a.folder]\n").unwrap_err();
        assert!(e.contains("signal `a` matches checks: its captures are check, path, problem"), "{e}");
    }

    #[test]
    fn subjects_and_system_placeholders_are_checked() {
        let sig = "  - { id: a, kinds: [cbs], anchor: hello, regex: 'hello (?P<who>\\w+)' }\n";
        let e = load(sig, "subject: whom\nfacts:\n  who: [a.who]\n").unwrap_err();
        assert!(e.contains("subject `whom` is not a fact of this rule"), "{e}");
        assert!(load(sig, "subject: who\nfacts:\n  who: [a.who]\n").is_ok());
        let with_step = |step: &str| {
            let y = format!(
                "id: t\ntitle: t\nseverity: error\nsummary: s\nsignals:\n{sig}remediation: {{ id: r, steps: ['{step}'] }}\n"
            );
            RuleSet::from_sources(&[("t.yaml".into(), y)])
        };
        if let Err(e) = with_step("On {system.os_build} and {system.time_zone}.") {
            panic!("{e:?}");
        }
        let e = with_step("On {system.os_bild}.").unwrap_err();
        assert!(
            e[0].to_string().starts_with(
                "t.yaml:1: remediation `r` (t.yaml) uses `{system.os_bild}`, which is no system fact; known: "
            ),
            "{}",
            e[0]
        );
    }
}
