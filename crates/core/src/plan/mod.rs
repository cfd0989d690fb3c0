//! Repair plans: a PowerShell script, tailored to the diagnosis, for a
//! person to read, run in preview, then run with `-Apply`.
//!
//! Safety: every string that comes from a log, a folder name, the registry
//! or a package enters the script only through [`ps_literal`]; control
//! characters are refused with an error naming where the text came from.
//! The script is a UTF-8 byte order mark followed by ASCII only: Windows
//! PowerShell 5.1 reads a script without a BOM in the ANSI code page, where
//! the bytes of a non-ASCII character can decode to a quote (U+0452 is
//! `D1 92`, `Ñ’` in Windows-1252) and close a literal. ASCII means the same
//! in every code page, so the script means the same to 5.1 and 7 even if the
//! BOM is lost. The script is deterministic: the same report gives the same
//! bytes (a time stamp only when asked for).
//!
//! A plan is made of the vetted [`actions`] the finding's remediation file
//! names: each declares its parameters and writes its preview, its changes
//! (only with `-Apply`) and its verification. A remediation without actions
//! gets an honest script: its steps, no `-Apply`, nothing changed.

pub mod actions;
mod literal;
mod restore_stack;
mod ssu;

pub use actions::Action;
pub use literal::{ps_literal, UnsafeText, BOM};
pub use ssu::{ssu_fit, stack_selection, Fit, SsuPackage, StackSelection, Verdict};

use crate::report::{Finding, Report};
use literal::{lit, write_list};
use std::fmt::Write as _;

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub ssu: Option<SsuPackage>,
    /// Generation time to print in the header (only when asked for).
    pub stamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Unsafe(#[from] UnsafeText),
    #[error("no error-severity finding: nothing to repair")]
    NothingToRepair,
}

/// What the actions share while the script is written: the diagnosis, the
/// options, and the step counter.
pub(crate) struct Ctx<'a> {
    pub report: &'a Report,
    pub top: &'a Finding,
    pub opts: &'a PlanOptions,
    step: usize,
}

impl Ctx<'_> {
    /// `Step N` for the next `Write-Step`.
    fn next_step(&mut self) -> String {
        self.step += 1;
        format!("Step {}", self.step)
    }

    /// Write a static template, numbering each `@STEP@` in turn.
    fn emit(&mut self, s: &mut String, template: &str) {
        let mut rest = template;
        while let Some(i) = rest.find("@STEP@") {
            s.push_str(&rest[..i]);
            let step = self.next_step();
            s.push_str(&step);
            rest = &rest[i + "@STEP@".len()..];
        }
        s.push_str(rest);
    }
}

/// Write the PowerShell plan for the report's most important finding.
pub fn powershell(report: &Report, opts: &PlanOptions) -> Result<String, PlanError> {
    let top = crate::view::View::new(report).top_error().ok_or(PlanError::NothingToRepair)?;
    let mut ctx = Ctx { report, top, opts, step: 0 };
    let actions = &top.remediation.plan;
    let changes = actions.iter().any(Action::changes);
    let mut params: Vec<actions::Param> = Vec::new();
    for a in actions {
        for p in a.params(&ctx)? {
            if !params.iter().any(|q| q.name == p.name) {
                params.push(p);
            }
        }
    }
    let mut s = String::new();
    s.push(BOM);
    header(&mut s, report, top, opts, &params, changes)?;
    remediation_steps(&mut s, top)?;
    if changes {
        let _ = writeln!(s);
        let _ = writeln!(s, "Write-Step '{}: back up'", ctx.next_step());
        let _ = writeln!(s, "Write-Host 'Back up the system (on a VM: the OS disk) before any repair. Continue only when you have a backup.'");
    }
    for a in actions {
        a.preview(&mut s, &mut ctx)?;
    }
    if actions.is_empty() {
        steps_as_text(&mut s, top, &mut ctx)?;
    }
    if changes {
        let _ = writeln!(s);
        let _ = writeln!(s, "if (-not $Apply) {{");
        let _ = writeln!(s, "    Write-Host ''");
        let _ = writeln!(s, "    Write-Host 'Preview done: nothing was changed. Review what is listed above, then run this script again with -Apply.'");
        let _ = writeln!(s, "    exit 0");
        let _ = writeln!(s, "}}");
        for a in actions {
            a.apply(&mut s, &mut ctx);
        }
        for a in actions {
            a.verify(&mut s, &mut ctx);
        }
    }
    if let Some(done) = &top.remediation.done {
        let _ = writeln!(s);
        let _ = writeln!(s, "Write-Step '{}: then'", ctx.next_step());
        let _ = writeln!(s, "Write-Host {}", lit(done, &format!("done text of remediation {}", top.remediation.id))?);
    }
    // The template's own text must be ASCII too (see the module comment): a
    // character that slipped in is refused, not written.
    if let Some((line, c)) =
        s[BOM.len_utf8()..].lines().enumerate().find_map(|(n, l)| l.chars().find(|c| !c.is_ascii()).map(|c| (n + 1, c)))
    {
        let origin = format!("line {line} of the plan template");
        return Err(UnsafeText { origin, what: "a non-ASCII character", code: c as u32 }.into());
    }
    Ok(s)
}

/// Where a fact's text came from: the first evidence line holding it.
fn fact_origin(top: &Finding, value: &str, fallback: &str) -> String {
    top.evidence
        .iter()
        .find(|e| !value.is_empty() && e.text.contains(value))
        .map(|e| format!("{}:{}", e.path, e.line))
        .unwrap_or_else(|| fallback.to_string())
}

fn header(
    s: &mut String,
    report: &Report,
    top: &Finding,
    opts: &PlanOptions,
    params: &[actions::Param],
    changes: bool,
) -> Result<(), PlanError> {
    let restores = top.remediation.plan.contains(&Action::RestoreServicingStackFromSsu);
    let _ = writeln!(s, "<#");
    let _ = writeln!(s, ".SYNOPSIS");
    let _ = writeln!(s, "    Repair plan written by servicing-doctor {} for rule {}.", crate::VERSION, top.rule);
    let _ = writeln!(s, ".DESCRIPTION");
    if changes {
        let _ = writeln!(s, "    Read every step before you run it. Run it once as is: it only checks and");
        let _ = writeln!(s, "    previews. Run it again with -Apply to make the changes. It never takes");
        if restores {
            let _ = writeln!(s, "    ownership of files and never changes permissions: what it restores");
            let _ = writeln!(s, "    inherits the permissions of WinSxS and goes back to its owner there,");
            let _ = writeln!(s, "    TrustedInstaller. It stops with a message and a non-zero exit code at the");
            let _ = writeln!(s, "    first step that fails.");
        } else {
            let _ = writeln!(s, "    ownership of files and never changes permissions. It stops with a message");
            let _ = writeln!(s, "    and a non-zero exit code at the first step that fails.");
        }
    } else {
        let _ = writeln!(s, "    This script changes nothing: it checks what it can and shows what to do.");
        let _ = writeln!(s, "    Read every step before you follow it.");
    }
    let _ = writeln!(s, "    The evidence it was made from is in $Evidence below.");
    if let Some(t) = &opts.stamp {
        // The stamp comes from our own clock; still keep it to safe characters.
        let clean: String = t.chars().filter(|c| c.is_ascii_alphanumeric() || " :-+TZ.".contains(*c)).collect();
        let _ = writeln!(s, "    Generated: {clean}");
    }
    let _ = writeln!(s, "#>");
    let _ = writeln!(s, "#Requires -RunAsAdministrator");
    let _ = writeln!(s, "[CmdletBinding()]");
    let _ = writeln!(s, "param(");
    let mut decls: Vec<(&str, String)> = Vec::new();
    if changes {
        decls.push(("Make the changes; without it the script only checks and previews.", "[switch]$Apply".into()));
    }
    decls.extend(params.iter().map(|p| (p.comment, p.decl.clone())));
    for (i, (comment, decl)) in decls.iter().enumerate() {
        let comma = if i + 1 < decls.len() { "," } else { "" };
        let _ = writeln!(s, "    # {comment}");
        let _ = writeln!(s, "    {decl}{comma}");
    }
    let _ = writeln!(s, ")");
    let _ = writeln!(s, "$ErrorActionPreference = 'Stop'");
    let _ = writeln!(s, "Set-StrictMode -Version 2.0");
    let _ = writeln!(s);
    let _ = writeln!(s, "function Stop-Plan([string]$Message) {{");
    let _ = writeln!(s, "    [Console]::Error.WriteLine('servicing-doctor plan: ' + $Message)");
    let _ = writeln!(s, "    exit 1");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "function Write-Step([string]$Text) {{ Write-Host ''; Write-Host ('== ' + $Text) }}");
    let _ = writeln!(s);
    let _ = writeln!(s, "# What servicing-doctor found (all text from the logs is quoted data).");
    let _ = writeln!(s, "$Finding = @{{");
    let _ = writeln!(s, "    Rule    = {}", lit(&top.rule, "rule id")?);
    let _ = writeln!(s, "    Title   = {}", lit(&top.title, &format!("title of rule {}", top.rule))?);
    let _ = writeln!(s, "    Code    = {}", lit(top.code.as_deref().unwrap_or(""), "code")?);
    let time = top.time.map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default();
    let _ = writeln!(s, "    Time    = {}", lit(&time, "time")?);
    // What is broken: the rule's subject fact, every value of it.
    if let Some(sub) = top.subject_fact() {
        let _ = writeln!(
            s,
            "    SubjectLabel = {}",
            lit(&sub.label, &format!("label of fact {} of rule {}", sub.name, top.rule))?
        );
        let mut values = Vec::new();
        for v in &sub.values {
            let origin = fact_origin(top, v, &format!("fact {} of rule {}", sub.name, top.rule));
            values.push(lit(v, &origin)?);
        }
        let _ = writeln!(s, "    Subject = @({})", values.join(", "));
    }
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "$System = @{{");
    for (k, v) in &report.system {
        let key: String = k.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let _ = writeln!(s, "    {key} = {}", lit(v, &format!("system {k}"))?);
    }
    let _ = writeln!(s, "}}");
    let mut evidence = Vec::new();
    for e in &top.evidence {
        let origin = format!("{}:{}", e.path, e.line);
        evidence.push(lit(&format!("{origin}: {}", e.text), &origin)?);
    }
    write_list(s, "$Evidence", &evidence);
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Host ('servicing-doctor repair plan for: ' + $Finding.Title)");
    if top.subject_fact().is_some() {
        let _ = writeln!(s, "if ($Finding.Subject.Count -gt 0) {{ Write-Host ($Finding.SubjectLabel + ': ' + ($Finding.Subject -join '; ')) }}");
    }
    if changes {
        let _ = writeln!(s, "if (-not $Apply) {{ Write-Host 'Preview mode: nothing will be changed. Run again with -Apply to make the changes.' }}");
    }
    Ok(())
}

/// The remediation's steps, as the reports show them, as data in the
/// script (`-Verbose` prints them): the script and the reports come from
/// the same steps, and text from rule files and logs stays in literals.
fn remediation_steps(s: &mut String, top: &Finding) -> Result<(), PlanError> {
    let _ = writeln!(s);
    let _ =
        writeln!(s, "# The steps of the remediation, as servicing-doctor's reports show them (shown with -Verbose).");
    let mut lines = Vec::new();
    for (i, step) in top.remediation.actions.iter().enumerate() {
        let origin = format!("remediation step {} of {}", i + 1, top.remediation.id);
        lines.push(lit(&format!("{}. {}", i + 1, step.text), &origin)?);
        for c in &step.commands {
            lines.push(lit(&format!("      {c}"), &origin)?);
        }
    }
    write_list(s, "$RemediationSteps", &lines);
    let _ = writeln!(s, "$RemediationSteps | ForEach-Object {{ Write-Verbose $_ }}");
    Ok(())
}

/// A remediation without plan actions: its steps, shown, nothing run.
fn steps_as_text(s: &mut String, top: &Finding, ctx: &mut Ctx<'_>) -> Result<(), PlanError> {
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step '{}: what to do (nothing here runs automatically)'", ctx.next_step());
    for (i, step) in top.remediation.actions.iter().enumerate() {
        let origin = format!("remediation step {} of rule {}", i + 1, top.rule);
        let _ = writeln!(s, "Write-Host {}", lit(&format!("{}. {}", i + 1, step.text), &origin)?);
        for c in &step.commands {
            let _ = writeln!(s, "Write-Host {}", lit(&format!("      {c}"), &origin)?);
        }
    }
    Ok(())
}
