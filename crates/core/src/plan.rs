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

use crate::report::{Finding, Report};
use crate::rules::Severity;
use crate::sources::archive::PackageFolder;
use std::fmt::Write as _;

/// The UTF-8 byte order mark every script starts with.
pub const BOM: char = '\u{feff}';

/// Text that may not enter a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: refusing to put this text into a script: it contains {what} (U+{code:04X})")]
pub struct UnsafeText {
    /// Where the text came from: `path:line`, `fact missing of rule X`, ...
    pub origin: String,
    pub what: &'static str,
    pub code: u32,
}

/// A PowerShell expression, in ASCII only, whose value is `s`, or why there
/// cannot be one.
///
/// ASCII text is one single-quoted literal: inside `'...'` nothing is
/// expanded and the only special character is `'`, doubled. Text with other
/// characters is a parenthesised concatenation that starts with a literal
/// (so `+` joins strings, never adds char codes) and spells each non-ASCII
/// UTF-16 unit as `[char]0xNNNN`: `('C:\x ' + [char]0x0452 + ' y')`. Quote
/// look-alikes (U+2019 ...), bidirectional and other invisible format
/// controls (U+202E ...) thus never enter a script raw. Line breaks and other
/// control characters are refused rather than encoded: no log line holds one
/// legitimately.
pub fn ps_literal(s: &str, origin: &str) -> Result<String, UnsafeText> {
    for c in s.chars() {
        let what = match c {
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => "a line break",
            '\t' => continue,
            c if c.is_control() => "a control character",
            _ => continue,
        };
        return Err(UnsafeText { origin: origin.to_string(), what, code: c as u32 });
    }
    if s.is_ascii() {
        return Ok(quoted_ascii(s));
    }
    let mut out = String::with_capacity(s.len() * 4 + 4);
    out.push('(');
    let mut run_start = 0;
    let mut first = true;
    for (i, c) in s.char_indices() {
        if c.is_ascii() {
            continue;
        }
        if first || run_start < i {
            if !first {
                out.push_str(" + ");
            }
            out.push_str(&quoted_ascii(&s[run_start..i]));
            first = false;
        }
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            let _ = write!(out, " + [char]0x{u:04X}");
        }
        run_start = i + c.len_utf8();
    }
    if run_start < s.len() {
        out.push_str(" + ");
        out.push_str(&quoted_ascii(&s[run_start..]));
    }
    out.push(')');
    Ok(out)
}

/// `'s'` with each `'` doubled; `s` must be ASCII without control characters.
fn quoted_ascii(s: &str) -> String {
    debug_assert!(s.is_ascii());
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        out.push(c);
        if c == '\'' {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A servicing stack update package the user supplied with `--ssu`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsuPackage {
    pub path: String,
    /// (name, version, arch, is_servicing_stack) of each package inside.
    pub packages: Vec<(String, String, String, bool)>,
    /// Why it could not be inspected, if it could not.
    pub error: Option<String>,
    /// The servicing stack component folders inside.
    pub stack_folders: Vec<PackageFolder>,
    /// Other component folders inside (a combined package's cumulative update).
    pub other_folders: u64,
}

/// The folders a servicing stack restore copies from a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSelection {
    /// The package's servicing stack version (a component version).
    pub version: String,
    /// Folder names to copy: every stack folder of that version.
    pub copy: Vec<String>,
    /// (folder name or what, why) of what is not copied.
    pub skipped: Vec<(String, String)>,
}

/// Choose the servicing stack folders of the package for a machine of
/// `arch` (the package's own architecture when unknown): every stack folder
/// whose version is that of the package's main stack folder for the
/// architecture. `Err` says why there is none.
pub fn stack_selection(ssu: &SsuPackage, arch: Option<&str>) -> Result<StackSelection, String> {
    let package_arch = ssu.packages.iter().find(|p| p.3).or(ssu.packages.first()).map(|p| p.2.as_str());
    let arch = arch.or(package_arch).unwrap_or("").to_ascii_lowercase();
    let mut mains: Vec<&str> = ssu
        .stack_folders
        .iter()
        .filter(|f| f.family == "servicingstack" && f.arch == arch)
        .map(|f| f.version.as_str())
        .collect();
    // Highest first; an older stack beside it is not the package's.
    mains.sort_by(|a, b| crate::checks::winsxs::compare_versions(b, a));
    let Some(version) = mains.first().map(|v| v.to_string()) else {
        return Err(if ssu.stack_folders.is_empty() {
            "the package holds no servicing stack folder".to_string()
        } else {
            format!("the package holds no servicing stack folder for {arch}")
        });
    };
    let mut copy = Vec::new();
    let mut skipped = Vec::new();
    for f in &ssu.stack_folders {
        if f.version == version {
            if !copy.contains(&f.name) {
                copy.push(f.name.clone());
            }
        } else {
            skipped.push((f.name.clone(), format!("servicing stack {}, not the package's {version}", f.version)));
        }
    }
    if ssu.other_folders > 0 {
        skipped.push((
            format!("{} other component folder(s)", ssu.other_folders),
            "not the servicing stack (in a combined package, the cumulative update's components)".to_string(),
        ));
    }
    Ok(StackSelection { version, copy, skipped })
}

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

/// How the SSU on hand fits the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    pub verdict: &'static str,
    pub reasons: Vec<String>,
}

/// Compare the supplied SSU with what the diagnosis knows of the machine.
pub fn ssu_fit(report: &Report, ssu: &SsuPackage) -> Fit {
    let mut reasons = Vec::new();
    if let Some(e) = &ssu.error {
        return Fit { verdict: "unknown", reasons: vec![format!("the package could not be inspected: {e}")] };
    }
    let Some((name, version, arch, is_ssu)) = ssu.packages.iter().find(|p| p.3).or(ssu.packages.first()).cloned()
    else {
        return Fit { verdict: "unknown", reasons: vec!["no package identity found inside".into()] };
    };
    let mut ok = true;
    if !is_ssu {
        ok = false;
        reasons.push(format!("{name} {version} does not say it is a servicing stack update"));
    } else if let Err(e) = stack_selection(ssu, report.system.get("arch").map(String::as_str)) {
        ok = false;
        reasons.push(e);
    }
    if let Some(m) = report.system.get("arch") {
        if !arch.eq_ignore_ascii_case(m) && !arch.eq_ignore_ascii_case("neutral") {
            ok = false;
            reasons.push(format!("package architecture {arch} does not match the machine's {m}"));
        }
    }
    // The registry's build, else the one the logs state (10.0.BUILD).
    let build = report
        .system
        .get("os_build")
        .and_then(|b| b.split('.').next())
        .or_else(|| report.system.get("os_version_in_logs").and_then(|v| v.split('.').nth(2)))
        .map(str::to_string);
    // Windows 10 and later packages name the build first (19041.4163.1.3);
    // component-style versions read 10.0.BUILD.REVISION; packages before
    // Windows 10 carry the NT version (6.1.x.y), no build.
    let parts: Vec<&str> = version.split('.').collect();
    let number = |i: usize| parts.get(i).and_then(|p| p.parse::<u32>().ok());
    let (pkg_nt, pkg_build) = match number(0) {
        Some(b) if b >= 7600 => (nt_of_build(b).to_string(), Some(b.to_string())),
        Some(10) if number(1) == Some(0) && number(2).is_some_and(|b| b >= 10240) => {
            ("10.0".to_string(), number(2).map(|b| b.to_string()))
        }
        _ => (parts.iter().take(2).copied().collect::<Vec<_>>().join("."), None),
    };
    let machine_nt = build.as_deref().and_then(|b| b.parse::<u32>().ok()).map(nt_of_build);
    match (&build, &pkg_build) {
        (Some(b), _) if machine_nt.is_some_and(|m| m != pkg_nt) => {
            ok = false;
            reasons.push(format!(
                "package is for Windows NT {pkg_nt}, the machine runs Windows NT {} (build {b})",
                machine_nt.unwrap_or("?")
            ));
        }
        (Some(b), Some(p)) if b != p && !same_servicing_branch(b, p) => {
            ok = false;
            reasons.push(format!("package is for build {p}, the machine runs build {b}"));
        }
        (None, _) => reasons.push("the machine's build is unknown (no SOFTWARE hive was read)".into()),
        _ => {}
    }
    // WinSxS folders are named by version: only a package of the damaged
    // stack's version puts its folders back.
    if let (true, Ok(sel), Some(want)) =
        (is_ssu, stack_selection(ssu, report.system.get("arch").map(String::as_str)), machine_stack(report))
    {
        if sel.version != want {
            ok = false;
            reasons.push(format!(
                "the package holds servicing stack {}, the machine's is {want}: WinSxS folders are named by version, so only the servicing stack update of version {want} puts them back",
                sel.version
            ));
        }
    }
    let verdict = if ok && build.is_some() {
        "fits"
    } else if ok {
        "probably fits"
    } else {
        "does not fit"
    };
    Fit { verdict, reasons }
}

/// The NT version of a build (7601 is 6.1, 9600 is 6.3, 10240 on 10.0).
fn nt_of_build(b: u32) -> &'static str {
    match b {
        0..=7601 => "6.1",
        7602..=9200 => "6.2",
        9201..=9600 => "6.3",
        _ => "10.0",
    }
}

/// The servicing stack version the machine needs back: that of the damaged
/// folder a finding names, else the newest registered one.
fn machine_stack(report: &Report) -> Option<String> {
    let named = report.findings.iter().filter(|f| f.severity == Severity::Error).find_map(|f| {
        let path = f.facts.get("missing")?;
        let leaf = path.rsplit(['\\', '/']).find(|p| !p.is_empty())?;
        crate::checks::winsxs::parse_component_name(leaf).map(|c| c.version)
    });
    named.or_else(|| {
        let reg = report.system.get("servicing_stack_registered")?;
        reg.split(", ").max_by(|a, b| crate::checks::winsxs::compare_versions(a, b)).map(str::to_string)
    })
}

impl Fit {
    /// The verdict as the end of a sentence about the package.
    pub fn sentence(&self) -> &'static str {
        match self.verdict {
            "fits" => "fits this computer",
            "probably fits" => "probably fits this computer",
            "does not fit" => "does not fit this computer",
            _ => "could not be checked against this computer",
        }
    }
}

/// Where the script finds the package by default: the path given, when it
/// is a Windows path (a literal for the `-Msu` default); else the file's
/// name beside the script, set in the body because Windows PowerShell 5.1
/// leaves `$PSScriptRoot` empty in an advanced script's parameter defaults.
enum MsuDefault {
    Literal(String),
    BesideScript(String),
}

fn msu_default(path: &str) -> Result<MsuDefault, UnsafeText> {
    let b = path.as_bytes();
    let windows_path = (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/'))
        || path.starts_with("\\\\");
    if windows_path {
        return Ok(MsuDefault::Literal(lit(path, "--ssu path")?));
    }
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    Ok(MsuDefault::BesideScript(lit(name, "--ssu path")?))
}

/// Windows 10 19041-19045 share one servicing branch, as do 22621/22631.
fn same_servicing_branch(a: &str, b: &str) -> bool {
    let group = |x: &str| {
        match x {
            "19041" | "19042" | "19043" | "19044" | "19045" => "19041",
            "22621" | "22631" => "22621",
            "26100" | "26200" => "26100",
            other => other,
        }
        .to_string()
    };
    group(a) == group(b)
}

/// Write the PowerShell plan for the report's most important finding.
pub fn powershell(report: &Report, opts: &PlanOptions) -> Result<String, PlanError> {
    let top = report.findings.iter().find(|f| f.severity == Severity::Error).ok_or(PlanError::NothingToRepair)?;
    let mut s = String::new();
    s.push(BOM);
    // Only the servicing stack restore takes a package and writes a copy log.
    let restores_from_package = top.remediation.id == "restore-servicing-stack-from-ssu";
    header(&mut s, report, top, opts, restores_from_package)?;
    match top.remediation.id.as_str() {
        "restore-servicing-stack-from-ssu" => ssu_plan(&mut s, report, top, opts)?,
        "in-place-upgrade" => upgrade_plan(&mut s, top)?,
        _ => generic_plan(&mut s, top)?,
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

fn lit(s: &str, origin: &str) -> Result<String, UnsafeText> {
    ps_literal(s, origin)
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
    restores_from_package: bool,
) -> Result<(), PlanError> {
    let _ = writeln!(s, "<#");
    let _ = writeln!(s, ".SYNOPSIS");
    let _ = writeln!(s, "    Repair plan written by servicing-doctor {} for rule {}.", crate::VERSION, top.rule);
    let _ = writeln!(s, ".DESCRIPTION");
    let _ = writeln!(s, "    Read every step before you run it. Run it once as is: it only checks and");
    let _ = writeln!(s, "    previews. Run it again with -Apply to make the changes. It never takes");
    if restores_from_package {
        let _ = writeln!(s, "    ownership of files and never changes permissions: what it restores");
        let _ = writeln!(s, "    inherits the permissions of WinSxS and goes back to its owner there,");
        let _ = writeln!(s, "    TrustedInstaller. It stops with a message and a non-zero exit code at the");
        let _ = writeln!(s, "    first step that fails.");
    } else {
        let _ = writeln!(s, "    ownership of files and never changes permissions. It stops with a message");
        let _ = writeln!(s, "    and a non-zero exit code at the first step that fails.");
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
    let _ = writeln!(s, "    # Make the changes; without it the script only checks and previews.");
    let _ = writeln!(s, "    [switch]$Apply,");
    if restores_from_package {
        let ssu_default = match opts.ssu.as_ref().map(|p| msu_default(&p.path)).transpose()? {
            Some(MsuDefault::Literal(l)) => l,
            _ => "''".to_string(),
        };
        let _ = writeln!(s, "    # The servicing stack update (.msu) to restore from.");
        let _ = writeln!(s, "    [string]$Msu = {ssu_default},");
        let _ = writeln!(s, "    [string]$WorkDir = 'C:\\TemporaryFolder',");
        let _ = writeln!(s, "    [string]$LogFile = 'C:\\Repair\\WinSxS_Repair.log'");
    } else {
        let _ = writeln!(s, "    [string]$WorkDir = 'C:\\TemporaryFolder'");
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
    let missing = top.facts.get("missing").map(String::as_str).unwrap_or("");
    let origin = fact_origin(top, missing, &format!("fact missing of rule {}", top.rule));
    let _ = writeln!(s, "    Missing = {}", lit(missing, &origin)?);
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "$System = @{{");
    for (k, v) in &report.system {
        let key: String = k.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let _ = writeln!(s, "    {key} = {}", lit(v, &format!("system {k}"))?);
    }
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "$Evidence = @(");
    let n = top.evidence.len();
    for (i, e) in top.evidence.iter().enumerate() {
        let origin = format!("{}:{}", e.path, e.line);
        let text = format!("{origin}: {}", e.text);
        let comma = if i + 1 < n { "," } else { "" };
        let _ = writeln!(s, "    {}{comma}", lit(&text, &origin)?);
    }
    let _ = writeln!(s, ")");
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Host ('servicing-doctor repair plan for: ' + $Finding.Title)");
    let _ = writeln!(s, "if ($Finding.Missing) {{ Write-Host ('Missing or damaged: ' + $Finding.Missing) }}");
    let _ = writeln!(s, "if (-not $Apply) {{ Write-Host 'Preview mode: nothing will be changed. Run again with -Apply to make the changes.' }}");
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step 'Step 1: back up'");
    let _ = writeln!(s, "Write-Host 'Back up the system (on a VM: the OS disk) before any repair. Continue only when you have a backup.'");
    Ok(())
}

fn ssu_plan(s: &mut String, report: &Report, top: &Finding, opts: &PlanOptions) -> Result<(), PlanError> {
    let os = [
        report.system.get("os_product").cloned(),
        report.system.get("os_display_version").cloned(),
        report.system.get("os_build").map(|b| format!("build {b}")),
        match report.system.contains_key("os_build") {
            true => None,
            false => report.system.get("os_version_in_logs").map(|v| format!("Windows {v}")),
        },
        report.system.get("arch").cloned(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let need = if os.is_empty() {
        "the latest servicing stack update (SSU) for this Windows version".to_string()
    } else {
        format!("the latest servicing stack update (SSU) for {os}")
    };
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step 'Step 2: the servicing stack version registered on this computer'");
    let _ = writeln!(
        s,
        "& reg.exe query 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version'"
    );
    let _ = writeln!(s, "if ($LASTEXITCODE -ne 0) {{ Write-Warning 'The Component Based Servicing\\Version key could not be read; continuing.' }}");
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step 'Step 3: the servicing stack update to restore from'");
    let _ = writeln!(s, "$Needed = {}", lit(&need, "system")?);
    let _ = writeln!(s, "Write-Host ('Needed: ' + $Needed)");
    match &opts.ssu {
        Some(p) => {
            let fit = ssu_fit(report, p);
            if let MsuDefault::BesideScript(name) = msu_default(&p.path)? {
                let _ = writeln!(
                    s,
                    "if (-not $PSBoundParameters.ContainsKey('Msu')) {{ $Msu = Join-Path $PSScriptRoot {name} }}"
                );
            }
            let _ = writeln!(s, "Write-Host ('Package: ' + $Msu)");
            let _ = writeln!(s, "$Fit = {}", lit(fit.verdict, "--ssu")?);
            // The verdict is about the package servicing-doctor inspected,
            // not about another one passed with -Msu.
            let _ = writeln!(s, "if ($PSBoundParameters.ContainsKey('Msu')) {{");
            let _ = writeln!(s, "    Write-Host 'This package was not inspected by servicing-doctor: check that it is the servicing stack update for this build and architecture.'");
            let _ = writeln!(s, "}} else {{");
            let _ = writeln!(
                s,
                "    Write-Host {}",
                lit(&format!("servicing-doctor inspected it: it {}.", fit.sentence()), "--ssu")?
            );
            for r in &fit.reasons {
                let _ = writeln!(s, "    Write-Host ('  ' + {})", lit(r, "--ssu")?);
            }
            if fit.verdict == "does not fit" {
                let _ = writeln!(s, "    Stop-Plan 'The package does not fit this computer: download the matching SSU and pass it with -Msu.'");
            }
            let _ = writeln!(s, "}}");
        }
        None => {
            let _ = writeln!(
                s,
                "# No --ssu package was inspected: check by hand that the .msu matches the OS build and architecture."
            );
        }
    }
    let _ = writeln!(
        s,
        "if (-not $Msu) {{ Stop-Plan ('Download ' + $Needed + ' and run again with -Msu <path to the .msu>.') }}"
    );
    let _ =
        writeln!(s, "if (-not (Test-Path -LiteralPath $Msu -PathType Leaf)) {{ Stop-Plan ('Not found: ' + $Msu) }}");
    let _ = writeln!(s);
    // The stack version and folders servicing-doctor saw in the inspected
    // package: the script checks that the package it extracts is that one.
    let machine_arch = report.system.get("arch").map(String::as_str);
    let selection = opts.ssu.as_ref().and_then(|p| stack_selection(p, machine_arch).ok());
    let _ = writeln!(s, "# The servicing stack folders of the inspected package (empty: not inspected).");
    match &selection {
        Some(sel) => {
            let _ = writeln!(s, "$StackVersion = {}", lit(&sel.version, "--ssu")?);
            let _ = writeln!(s, "$Expected = @(");
            for (i, f) in sel.copy.iter().enumerate() {
                let comma = if i + 1 < sel.copy.len() { "," } else { "" };
                let _ = writeln!(s, "    {}{comma}", lit(f, "--ssu")?);
            }
            let _ = writeln!(s, ")");
        }
        None => {
            let _ = writeln!(s, "$StackVersion = ''");
            let _ = writeln!(s, "$Expected = @()");
        }
    }
    let arch = machine_arch.filter(|a| a.bytes().all(|b| b.is_ascii_alphanumeric()) && !a.is_empty());
    let _ = writeln!(s, "$Arch = {}", lit(arch.unwrap_or(""), "system arch")?);
    s.push_str(SSU_EXTRACT_AND_SELECT);
    rule_steps_as_comments(s, top);
    s.push_str(SSU_COPY_AND_VERIFY);
    let _ = writeln!(s, "Write-Step 'Step 9: retry'");
    let next = if top.rule.starts_with("upgrade-") {
        "Try the in-place upgrade again."
    } else {
        "Try the update (or the upgrade) again."
    };
    let _ = writeln!(s, "Write-Host {}", lit(next, "plan")?);
    Ok(())
}

/// Steps 4-6 of the servicing stack restore: extract, choose the stack
/// folders, preview. Static text: nothing from input is in it.
const SSU_EXTRACT_AND_SELECT: &str = r#"$Here = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
$Here = ([string]$Here).ToLowerInvariant()
if (-not $Arch) { $Arch = $Here }
elseif ($Arch -ne $Here) { Stop-Plan ('This plan was written for an ' + $Arch + ' computer; this one is ' + $Here + '.') }
if ($PSBoundParameters.ContainsKey('Msu')) { $StackVersion = ''; $Expected = @() }

Write-Step 'Step 4: extract the update into a new folder'
$Run = Join-Path $WorkDir ('ssu-' + (Get-Date -Format 'yyyyMMdd-HHmmss'))
New-Item -ItemType Directory -Force -Path $Run | Out-Null
New-Item -ItemType Directory -Force -Path (Split-Path -Parent $LogFile) | Out-Null
& expand.exe -F:* $Msu $Run
if ($LASTEXITCODE -ne 0) { Stop-Plan ('expand failed on ' + $Msu) }
# A .msu holds cabinets. WSUSSCAN.cab is metadata. A combined package holds the SSU
# as SSU-<build>-<arch>.cab beside the cumulative update's cabinet, which is not extracted.
$Skipped = @()
$Cabs = @(Get-ChildItem -LiteralPath $Run -Filter '*.cab' -File | Where-Object { $_.Name -ne 'WSUSSCAN.cab' })
$SsuCabs = @($Cabs | Where-Object { $_.Name -like 'SSU-*' } | ForEach-Object { $_.Name })
if ($SsuCabs.Count -gt 0) {
    foreach ($Cab in $Cabs) {
        if ($SsuCabs -notcontains $Cab.Name) { $Skipped += ($Cab.Name + ': not the servicing stack cabinet (not extracted)') }
    }
    $Cabs = @($Cabs | Where-Object { $SsuCabs -contains $_.Name })
}
$Src = Join-Path $Run 'expanded'
foreach ($Cab in $Cabs) {
    $Out = Join-Path $Src $Cab.BaseName
    New-Item -ItemType Directory -Force -Path $Out | Out-Null
    & expand.exe -F:* $Cab.FullName $Out
    if ($LASTEXITCODE -ne 0) { Stop-Plan ('expand failed on ' + $Cab.FullName) }
}
# A package given as a bare .cab has its component folders at the top.
$Roots = if ($Cabs.Count -gt 0) { @(Get-ChildItem -LiteralPath $Src -Directory -Force) } else { @(Get-Item -LiteralPath $Run) }
$All = @($Roots | ForEach-Object { Get-ChildItem -LiteralPath $_.FullName -Directory -Force })
if ($All.Count -eq 0) { Stop-Plan ('No component folders were extracted from ' + $Msu) }

Write-Step 'Step 5: choose the servicing stack folders'
# <arch>_microsoft-windows-servicingstack[-<part>]_31bf3856ad364e35_<version>_<culture>_<hash>
$Pattern = '^(?<arch>[a-z0-9]+)_microsoft-windows-servicingstack(-[a-z0-9.-]+)?_31bf3856ad364e35_(?<version>[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)_[a-z0-9-]+_[0-9a-f]{16}$'
function Split-StackName([string]$Name) {
    if ($Name -match $Pattern) {
        $Parts = @{ Arch = $Matches['arch'].ToLowerInvariant(); Version = $Matches['version'] }
        $Parts.Main = $Name -like '*_microsoft-windows-servicingstack_31bf3856ad364e35_*'
        return $Parts
    }
    return $null
}
if (-not $StackVersion) {
    # Not inspected: the version of the package's main stack folder for this computer.
    $Versions = @($All | ForEach-Object { Split-StackName $_.Name } | Where-Object { $_ -and $_.Main -and $_.Arch -eq $Arch } | ForEach-Object { $_.Version } | Sort-Object -Unique)
    if ($Versions.Count -eq 0) { Stop-Plan ('The package holds no servicing stack folder for ' + $Arch + ': it is not the servicing stack update for this computer.') }
    if ($Versions.Count -gt 1) { Stop-Plan ('The package holds servicing stacks ' + ($Versions -join ', ') + ' for ' + $Arch + ': run servicing-doctor plan --ssu on it and review that plan.') }
    $StackVersion = $Versions[0]
}
$Copy = @()
$NotStack = @()
$HasMain = $false
foreach ($F in $All) {
    $P = Split-StackName $F.Name
    if (-not $P) { $NotStack += $F.Name }
    elseif ($P.Version -ne $StackVersion) { $Skipped += ($F.Name + ': servicing stack ' + $P.Version + ', not the package''s ' + $StackVersion) }
    else {
        $Copy += $F
        if ($P.Main -and $P.Arch -eq $Arch) { $HasMain = $true }
    }
}
if ($NotStack.Count -gt 0) {
    Write-Host ('Skipped ' + $NotStack.Count + ' folder(s) that are not the servicing stack (in a combined package, the cumulative update''s components), for example:')
    $NotStack | Select-Object -First 10 | ForEach-Object { Write-Host ('  ' + $_) }
}
foreach ($Line in $Skipped) { Write-Host ('Skipped ' + $Line) }
if (-not $HasMain) { Stop-Plan ('The package holds no servicing stack ' + $StackVersion + ' folder for ' + $Arch + ': it is not the servicing stack update for this computer.') }
if ($Expected.Count -gt 0) {
    $Got = (@($Copy | ForEach-Object { $_.Name } | Sort-Object) -join '|')
    $Want = (@($Expected | Sort-Object) -join '|')
    if ($Got -ne $Want) { Stop-Plan 'These are not the servicing stack folders servicing-doctor found in the package it inspected: run servicing-doctor plan --ssu on this package and review that plan.' }
}
Write-Host ('Servicing stack ' + $StackVersion + ' for ' + $Arch + ': ' + $Copy.Count + ' folder(s) to restore:')
foreach ($F in $Copy) { Write-Host ('  ' + $F.Name) }

# Each chosen folder goes into the WinSxS folder of the same name. (The article's
# 'robocopy <folder> C:\Windows\WinSxS' would copy the folder's files loose into WinSxS.)
$Dst = Join-Path $env:SystemRoot 'WinSxS'
Write-Step 'Step 6: preview the copy (robocopy /L lists, changes nothing)'
Write-Host 'robocopy marks each file: New File is added; Newer, Older or Changed replaces the file in WinSxS. Identical files are neither listed nor copied.'
foreach ($F in $Copy) {
    $To = Join-Path $Dst $F.Name
    $Count = @(Get-ChildItem -LiteralPath $F.FullName -Recurse -Force -File).Count
    $State = if (Test-Path -LiteralPath $To) { 'exists: its files are replaced or added' } else { 'missing: created' }
    Write-Host ''
    Write-Host ($F.Name + ' (' + $Count + ' file(s)) -> ' + $To + ' (' + $State + ')')
    & robocopy.exe $F.FullName $To /E /COPY:DAT /DCOPY:T /B /R:0 /W:0 /L /NP /NJH /NJS
    if ($LASTEXITCODE -ge 8) { Stop-Plan ('robocopy preview failed for ' + $F.Name + ' (exit ' + $LASTEXITCODE + ')') }
}
if (-not $Apply) {
    Write-Host ''
    Write-Host 'Preview done. Review the folders and files listed above, then run this script again with -Apply.'
    exit 0
}
"#;

/// Steps 7-8 of the servicing stack restore: copy, owner, verify.
const SSU_COPY_AND_VERIFY: &str = r#"
# Permissions. Microsoft's article says not to take ownership of WinSxS or its folders
# and not to change their permissions, and copies with robocopy /COPYALL /B. /COPYALL
# (= /COPY:DATSOU) also writes the owner and access list of the extracted files, which
# come from this work folder (owner: Administrators), onto WinSxS. Windows gives WinSxS
# the owner NT SERVICE\TrustedInstaller and an access list that every folder and file
# below it inherits (TrustedInstaller: full control; Administrators, SYSTEM and Users:
# read and execute). So this plan copies data, attributes and time stamps only
# (/COPY:DAT /DCOPY:T): what it creates inherits WinSxS's own permissions. /B (backup
# mode) lets robocopy write where Administrators may only read. Created items are owned
# by Administrators, so icacls /setowner gives the restored folders, and nothing else,
# back to TrustedInstaller. Step 8 compares their owner and permissions with an intact
# folder. The same by hand: the rule's steps above.
Write-Step 'Step 7: copy the servicing stack folders (logged) and give them back to TrustedInstaller'
foreach ($F in $Copy) {
    $To = Join-Path $Dst $F.Name
    & robocopy.exe $F.FullName $To /E /COPY:DAT /DCOPY:T /B /R:0 /W:0 ('/LOG+:' + $LogFile)
    if ($LASTEXITCODE -ge 8) { Stop-Plan ('robocopy failed for ' + $F.Name + ' (exit ' + $LASTEXITCODE + '); see ' + $LogFile) }
    & icacls.exe $To /setowner 'NT SERVICE\TrustedInstaller' /T /C /Q
    if ($LASTEXITCODE -ne 0) { Stop-Plan ('icacls could not give ' + $To + ' back to TrustedInstaller (exit ' + $LASTEXITCODE + ')') }
}

Write-Step 'Step 8: verify every servicing stack folder, and the owner and permissions of the restored ones'
$Problems = @()
$Stack = @(Get-ChildItem -LiteralPath $Dst -Directory -Force -Filter '*_microsoft-windows-servicingstack*')
if ($Stack.Count -eq 0) { $Problems += 'no servicing stack folder in WinSxS' }
foreach ($D in $Stack) {
    if (-not (Get-ChildItem -LiteralPath $D.FullName -Force | Select-Object -First 1)) { $Problems += ($D.Name + ' is empty') }
    elseif ($D.Name -like '*_microsoft-windows-servicingstack_*' -and -not (Test-Path -LiteralPath (Join-Path $D.FullName 'cbscore.dll'))) { $Problems += ($D.Name + ' has no cbscore.dll') }
}
$Registered = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Version' -ErrorAction SilentlyContinue
if ($Registered) {
    foreach ($Name in $Registered.GetValueNames()) {
        $Path = [Environment]::ExpandEnvironmentVariables([string]$Registered.GetValue($Name, '', 'DoNotExpandEnvironmentNames'))
        if (-not (Test-Path -LiteralPath (Join-Path $Path 'cbscore.dll'))) { $Problems += ('registered version ' + $Name + ': no cbscore.dll in ' + $Path) }
    }
}
# An intact sibling: a component folder of this architecture that was not restored.
$Restored = @($Copy | ForEach-Object { $_.Name })
$Sibling = Get-ChildItem -LiteralPath $Dst -Directory -Force | Where-Object { $_.Name -like ($Arch + '_*_31bf3856ad364e35_*') -and $Restored -notcontains $_.Name } | Select-Object -First 1
if (-not $Sibling) { $Problems += 'no intact component folder in WinSxS to compare owner and permissions with' }
else {
    $Want = Get-Acl -LiteralPath $Sibling.FullName
    $WantAccess = $Want.GetSecurityDescriptorSddlForm('Access')
    foreach ($Name in $Restored) {
        $To = Join-Path $Dst $Name
        $Acl = Get-Acl -LiteralPath $To
        if ($Acl.Owner -ne $Want.Owner) { $Problems += ($Name + ': owner ' + $Acl.Owner + '; the intact ' + $Sibling.Name + ' has ' + $Want.Owner) }
        if ($Acl.GetSecurityDescriptorSddlForm('Access') -ne $WantAccess) { $Problems += ($Name + ': permissions differ from the intact ' + $Sibling.Name) }
        foreach ($File in @(Get-ChildItem -LiteralPath $To -Recurse -Force -File)) {
            $FileOwner = (Get-Acl -LiteralPath $File.FullName).Owner
            if ($FileOwner -ne $Want.Owner) { $Problems += ($File.FullName + ': owner ' + $FileOwner); break }
        }
    }
}
if ($Problems.Count -gt 0) { Stop-Plan ('still damaged: ' + ($Problems -join '; ')) }
Write-Host 'Every servicing stack folder is present and non-empty, the main ones hold cbscore.dll, and the restored ones have the owner and permissions of an intact WinSxS folder.'

"#;

/// The rule's steps, as the reports show them, as comments: the script and
/// the reports come from the same steps. Rule files are untrusted too: only
/// printable ASCII goes into a comment (anything else becomes `?`), so no
/// text can end the comment line.
fn rule_steps_as_comments(s: &mut String, top: &Finding) {
    let clean =
        |t: &str| -> String { t.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect() };
    let _ = writeln!(s);
    let _ = writeln!(s, "# The steps of rule {}, as servicing-doctor's reports show them:", clean(&top.rule));
    for (i, step) in top.remediation.actions.iter().enumerate() {
        let _ = writeln!(s, "# {}. {}", i + 1, clean(&step.text));
        for c in &step.commands {
            let _ = writeln!(s, "#      {}", clean(c));
        }
    }
}

fn upgrade_plan(s: &mut String, top: &Finding) -> Result<(), PlanError> {
    let _ = writeln!(s, "Write-Host 'On an Azure VM: back up the OS disk (Azure VM restore) and make sure the Azure Serial Console works, in case the VM cannot restart or be reached.'");
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step 'Step 2: collect the data Microsoft Support needs'");
    let _ = writeln!(s, "$Bundle = Join-Path $WorkDir 'support'");
    let _ = writeln!(s, "Write-Host ('Path or file that was not found (list it in the support request): ' + $(if ($Finding.Missing) {{ $Finding.Missing }} else {{ 'not named in the logs' }}))");
    let _ = writeln!(s, "$Collect = @(");
    let _ = writeln!(s, "    (Join-Path $env:SystemRoot 'Logs\\CBS'),");
    let _ = writeln!(s, "    (Join-Path $env:SystemRoot 'INF\\setupapi.dev.log'),");
    let _ = writeln!(s, "    (Join-Path $env:SystemRoot 'Logs\\DISM\\dism.log')");
    let _ = writeln!(s, ")");
    let _ = writeln!(s, "foreach ($P in $Collect) {{ Write-Host ('  will copy: ' + $P) }}");
    let _ = writeln!(s, "if ($Apply) {{");
    let _ = writeln!(s, "    New-Item -ItemType Directory -Force -Path $Bundle | Out-Null");
    let _ = writeln!(s, "    foreach ($P in $Collect) {{ if (Test-Path -LiteralPath $P) {{ Copy-Item -LiteralPath $P -Destination $Bundle -Recurse -Force }} }}");
    let _ = writeln!(
        s,
        "    $Evidence | Set-Content -LiteralPath (Join-Path $Bundle 'servicing-doctor-evidence.txt') -Encoding UTF8"
    );
    let _ = writeln!(s, "    Write-Host ('Support data copied to ' + $Bundle + ' (the logs were only read).')");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step 'Step 3: in-place upgrade'");
    let _ = writeln!(s, "Write-Host 'The most reliable fix is an in-place upgrade: run setup.exe from installation media of the same (or a newer) Windows version and edition, and keep apps and files.'");
    let _ = writeln!(s, "Write-Host 'For Azure VMs, follow \"In-place upgrade for VMs running Windows Server in Azure\" (or the Windows client article).'");
    let _ = writeln!(s, "Write-Host 'If the upgrade fails with 0x80070003 in \"Process Drivers for Migration\", run servicing-doctor on its logs: the servicing stack folders need restoring.'");
    for (i, step) in top.remediation.actions.iter().enumerate() {
        let origin = format!("remediation step {} of rule {}", i + 1, top.rule);
        let _ = writeln!(s, "# rule step {}:", i + 1);
        let _ = writeln!(s, "Write-Verbose {}", lit(&step.text, &origin)?);
        for c in &step.commands {
            let _ = writeln!(s, "Write-Verbose {}", lit(&format!("    {c}"), &origin)?);
        }
    }
    Ok(())
}

fn generic_plan(s: &mut String, top: &Finding) -> Result<(), PlanError> {
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step 'What to do (from the rule; nothing here runs automatically)'");
    for (i, step) in top.remediation.actions.iter().enumerate() {
        let origin = format!("remediation step {} of rule {}", i + 1, top.rule);
        let _ = writeln!(s, "Write-Host {}", lit(&format!("{}. {}", i + 1, step.text), &origin)?);
        for c in &step.commands {
            let _ = writeln!(s, "Write-Host {}", lit(&format!("      {c}"), &origin)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_literals_double_the_quote() {
        assert_eq!(ps_literal("a'b", "t").unwrap(), "'a''b'");
        assert_eq!(ps_literal("$(rm -r C:\\) `n \"x\" ;", "t").unwrap(), "'$(rm -r C:\\) `n \"x\" ;'");
        assert_eq!(ps_literal("", "t").unwrap(), "''");
        assert_eq!(ps_literal("tab\tok", "t").unwrap(), "'tab\tok'");
    }

    #[test]
    fn non_ascii_is_spelled_as_char_codes() {
        assert_eq!(ps_literal("C:\\x \u{452} + $(calc) #", "t").unwrap(), "('C:\\x ' + [char]0x0452 + ' + $(calc) #')");
        // Starts with a literal, so `+` joins strings; quote look-alikes and
        // bidi controls never appear raw; an emoji is its surrogate pair.
        assert_eq!(ps_literal("\u{2019}'", "t").unwrap(), "('' + [char]0x2019 + '''')");
        assert_eq!(
            ps_literal("a\u{202e}\u{1F600}", "t").unwrap(),
            "('a' + [char]0x202E + [char]0xD83D + [char]0xDE00)"
        );
        for s in ["\u{452}", "x\u{2018}\u{201A}\u{201B}y", "\u{4E2D}\u{6587}", "\u{61C}\u{2066}"] {
            assert!(ps_literal(s, "t").unwrap().is_ascii(), "{s:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_with_their_origin() {
        for bad in ["a\nb", "a\rb", "a\u{2028}b", "a\u{85}b", "a\u{1b}[31m", "a\0b"] {
            let e = ps_literal(bad, "CBS.log:12").unwrap_err();
            assert_eq!(e.origin, "CBS.log:12");
            assert!(e.to_string().starts_with("CBS.log:12: refusing"), "{e}");
        }
        for bad in ["\u{7f}", "\u{9b}31m", "\u{85}"] {
            assert!(ps_literal(bad, "t").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn msu_default_keeps_windows_paths_only() {
        let d = |p: &str| match msu_default(p).unwrap() {
            MsuDefault::Literal(l) => format!("literal {l}"),
            MsuDefault::BesideScript(n) => format!("beside {n}"),
        };
        assert_eq!(d(r"C:\Updates\ssu.msu"), r"literal 'C:\Updates\ssu.msu'");
        assert_eq!(d(r"\\server\share\ssu.msu"), r"literal '\\server\share\ssu.msu'");
        assert_eq!(d("/home/me/shared/ssu.msu"), "beside 'ssu.msu'");
        assert_eq!(d("/tmp/it's.msu"), "beside 'it''s.msu'");
    }

    #[test]
    fn ssu_fit_compares_nt_versions_before_windows_10() {
        let machine = |build: &str| {
            let mut r = Report::new();
            r.system.insert("os_build".into(), build.into());
            r.system.insert("arch".into(), "amd64".into());
            r
        };
        let ssu = |version: &str| SsuPackage {
            path: "ssu.msu".into(),
            packages: vec![("Package_for_ServicingStack_3000".into(), version.into(), "amd64".into(), true)],
            stack_folders: vec![folder("amd64", "servicingstack", "10.0.19041.3000")],
            ..SsuPackage::default()
        };
        assert_eq!(ssu_fit(&machine("9600.20000"), &ssu("6.3.1.5")).verdict, "fits");
        let f = ssu_fit(&machine("19045.4717"), &ssu("6.3.1.5"));
        assert_eq!(f.verdict, "does not fit");
        assert!(f.reasons[0].contains("Windows NT 6.3, the machine runs Windows NT 10.0"), "{f:?}");
        let f = ssu_fit(&machine("7601.24000"), &ssu("10.0.19041.4163"));
        assert_eq!(f.verdict, "does not fit", "{f:?}");
        assert_eq!(ssu_fit(&machine("19045.4717"), &ssu("10.0.19041.4163")).verdict, "fits");
    }

    fn folder(arch: &str, family: &str, version: &str) -> PackageFolder {
        PackageFolder {
            archive: "SSU-19041.3000-x64.cab".into(),
            name: format!("{arch}_microsoft-windows-{family}_31bf3856ad364e35_{version}_none_0123456789abcdef"),
            arch: arch.into(),
            family: family.into(),
            version: version.into(),
        }
    }

    #[test]
    fn stack_selection_takes_the_package_stack_only() {
        let ssu = SsuPackage {
            packages: vec![("Package_for_ServicingStack_3000".into(), "19041.3000.1.2".into(), "amd64".into(), true)],
            stack_folders: vec![
                folder("amd64", "servicingstack", "10.0.19041.3000"),
                folder("amd64", "servicingstack-onecore", "10.0.19041.3000"),
                folder("wow64", "servicingstack", "10.0.19041.3000"),
                folder("amd64", "servicingstack", "10.0.19041.2000"),
            ],
            other_folders: 812,
            ..SsuPackage::default()
        };
        let sel = stack_selection(&ssu, Some("amd64")).unwrap();
        assert_eq!(sel.version, "10.0.19041.3000");
        assert_eq!(sel.copy.len(), 3, "{sel:?}");
        assert!(sel.copy.iter().all(|n| n.contains("_10.0.19041.3000_")));
        assert_eq!(sel.skipped.len(), 2, "{sel:?}");
        assert!(sel.skipped[0].1.contains("not the package's 10.0.19041.3000"));
        assert!(sel.skipped[1].0.starts_with("812 other"));
        // No stack folder for the machine's architecture: nothing to copy.
        assert_eq!(
            stack_selection(&ssu, Some("arm64")).unwrap_err(),
            "the package holds no servicing stack folder for arm64"
        );
        let lcu_only = SsuPackage { other_folders: 5, ..SsuPackage::default() };
        assert!(stack_selection(&lcu_only, None).is_err());
    }

    #[test]
    fn only_the_damaged_stack_version_fits() {
        let mut r = Report::new();
        r.system.insert("os_build".into(), "19045.4717".into());
        r.system.insert("arch".into(), "amd64".into());
        r.system.insert("servicing_stack_registered".into(), "10.0.19041.4522, 10.0.19041.4717".into());
        let ssu = |v: &str| SsuPackage {
            packages: vec![("Package_for_ServicingStack_x".into(), "19041.9.1.1".into(), "amd64".into(), true)],
            stack_folders: vec![folder("amd64", "servicingstack", v)],
            ..SsuPackage::default()
        };
        assert_eq!(ssu_fit(&r, &ssu("10.0.19041.4717")).verdict, "fits");
        // A newer stack adds folders of its own version; the registered ones stay damaged.
        let f = ssu_fit(&r, &ssu("10.0.19041.5000"));
        assert_eq!(f.verdict, "does not fit");
        assert!(f.reasons[0].contains("only the servicing stack update of version 10.0.19041.4717"), "{f:?}");
    }

    #[test]
    fn servicing_branches() {
        assert!(same_servicing_branch("19045", "19041"));
        assert!(!same_servicing_branch("19045", "22621"));
    }
}
