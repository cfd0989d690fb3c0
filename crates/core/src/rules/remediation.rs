//! Remediation files (`remediations/<id>.yaml`): the steps people read and
//! the plan actions, checked when rules load and shared by the rules that
//! name them.

use super::compile::yaml_error;
use super::model::{RemediationDoc, StepDoc};
use super::placeholder::placeholders;
use super::RuleError;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Remediation {
    pub id: String,
    pub title: Option<String>,
    pub steps: Vec<Step>,
    pub plan: Vec<crate::plan::Action>,
    pub done: Option<String>,
    /// The file it was written in.
    pub origin: String,
}

/// A remediation step: prose (which may name facts) and the commands that
/// go with it (which never do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub text: String,
    pub shell: Option<super::model::Shell>,
    pub commands: Vec<String>,
}

/// The remediation files built into the binary, by id.
pub(super) fn embedded_remediations() -> (HashMap<String, Remediation>, Vec<RuleError>) {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for (origin, text) in super::EMBEDDED_REMEDIATIONS {
        match serde_saphyr::from_str::<RemediationDoc>(text) {
            Err(e) => errors.push(yaml_error(origin, &e.to_string())),
            Ok(doc) => match compile_remediation(origin, 1, doc) {
                Err(mut es) => errors.append(&mut es),
                Ok(r) => {
                    let stem = origin.rsplit('/').next().unwrap_or(origin).trim_end_matches(".yaml");
                    if r.id != stem {
                        errors.push(RuleError {
                            file: origin.to_string(),
                            line: Some(1),
                            message: format!("remediation id `{}` must be the file's name ({stem})", r.id),
                        });
                    }
                    out.insert(r.id.clone(), r);
                }
            },
        }
    }
    (out, errors)
}

/// Compile a remediation (a file, or written in a rule): its steps checked.
pub(crate) fn compile_remediation(origin: &str, line: u64, doc: RemediationDoc) -> Result<Remediation, Vec<RuleError>> {
    let mut errors = Vec::new();
    let err = |message: String| RuleError { file: origin.to_string(), line: Some(line), message };
    if doc.steps.is_empty() {
        errors.push(err("remediation needs at least one step".into()));
    }
    // A command is one line: no line break of any kind (U+0085, U+2028 and
    // U+2029 too) and no control character. (Prose is printed inert, like
    // titles; the plan refuses what it cannot quote.)
    let breaks = |t: &str| t.chars().any(|c| c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'));
    let mut steps = Vec::new();
    for (n, step) in doc.steps.into_iter().enumerate() {
        match step {
            StepDoc::Text(text) => steps.push(Step { text, shell: None, commands: Vec::new() }),
            StepDoc::Commands(c) => {
                let mut bad = |what: String| errors.push(err(format!("remediation step {}: {what}", n + 1)));
                if c.run.is_empty() {
                    bad("`run` needs at least one command".into());
                }
                for cmd in &c.run {
                    // A command is pasted as shown: one printable line, and no
                    // `{fact}`, so that no log text can end up in it.
                    if cmd.trim().is_empty() || breaks(cmd) {
                        bad(format!("command {cmd:?} must be one non-empty line without control characters"));
                    } else if !placeholders(cmd).is_empty() {
                        bad(format!("command {cmd:?} names a fact: facts go in the step's text, never in a command"));
                    }
                }
                steps.push(Step { text: c.text, shell: Some(c.shell), commands: c.run });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Remediation { id: doc.id, title: doc.title, steps, plan: doc.plan, done: doc.done, origin: origin.to_string() })
}
