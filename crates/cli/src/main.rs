//! servicing-doctor: the command line over the `servicing_doctor` library.
//! Parses arguments, picks a printer, maps the outcome to an exit code:
//! 0 no failure found, 1 an error-severity finding, 2 bad input or usage.

mod args;
mod explain;
mod output;
mod print;
mod progress;

use args::{Cli, ColorChoice, Command, DiagnoseArgs, ExplainFormat, Format, PlanArgs, RulesAction};
use output::{refuse_overwriting_inputs, write_output, OutputFile};

use anyhow::{bail, Context, Result};
use clap::Parser;
use servicing_doctor::package::{self, Inspection};
use servicing_doctor::plan::{self, PlanOptions, SsuPackage};
use servicing_doctor::rules::{selftest, RuleSet};
use servicing_doctor::sources::archive;
use servicing_doctor::view::ReportWithView;
use servicing_doctor::{diagnose, DiagnoseOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            // The message quotes the arguments, which may be file names.
            eprint!("{}", print::inert_lines(&e.render().to_string(), ""));
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            print_error(&e);
            ExitCode::from(2)
        }
    }
}

/// A top-level error on standard error. Its messages quote paths, argument
/// values and rule text, so all of it goes through `print::inert`.
fn print_error(e: &anyhow::Error) {
    match e.downcast_ref::<RuleMistakes>() {
        Some(m) => {
            eprintln!("servicing-doctor: the rules have mistakes:");
            for r in &m.0 {
                let at = r.line.map(|l| format!(":{l}")).unwrap_or_default();
                eprintln!("  {}{at}: {}", print::inert(&r.file), print::inert_lines(&r.message, "    "));
            }
        }
        None => eprintln!("servicing-doctor: {}", print::inert(&format!("{e:#}"))),
    }
}

/// Rule files that do not load, kept apart so that each one's file name
/// and message are made inert separately (a regex error spans lines).
#[derive(Debug)]
struct RuleMistakes(Vec<servicing_doctor::rules::RuleError>);

impl std::fmt::Display for RuleMistakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the rules have mistakes:")?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleMistakes {}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::BrokenPipe
                // Windows (and Wine) report a closed pipe as these raw errors.
                || (cfg!(windows) && matches!(io.raw_os_error(), Some(109 | 232 | 233)))
        })
    })
}

fn load_rules(dir: Option<&Path>) -> Result<RuleSet> {
    let loaded = match dir {
        Some(d) => RuleSet::with_dir(d),
        None => RuleSet::embedded(),
    };
    loaded.map_err(|errs| RuleMistakes(errs).into())
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Diagnose(args) => run_diagnose(args),
        Command::Plan(args) => run_plan(args),
        Command::Inspect { file, format, members, for_machine } => {
            run_inspect(&file, format, members, for_machine.as_deref())
        }
        Command::Explain { code, format, rules } => {
            let rules = load_rules(rules.as_deref())?;
            let Some(ex) = explain::explain(&code, &rules) else {
                bail!("`{code}` is not an error code (try 0x80070003, 3, ERROR_PATH_NOT_FOUND or 0xC1900101-0x20017)");
            };
            let mut out = std::io::stdout().lock();
            match format {
                ExplainFormat::Json => {
                    let mut json = print::inert_json(serde_json::to_vec_pretty(&ex)?);
                    json.push(b'\n');
                    out.write_all(&json)?;
                }
                ExplainFormat::Text => explain::print_text(&mut out, &ex)?,
            }
            Ok(0)
        }
        Command::Rules { action: RulesAction::List { rules } } => {
            let rules = load_rules(rules.as_deref())?;
            let mut out = std::io::stdout().lock();
            for r in &rules.rules {
                let mut kinds: Vec<&str> = r.signals.iter().flat_map(|s| s.kinds.iter().map(|k| k.as_str())).collect();
                kinds.sort_unstable();
                kinds.dedup();
                let (id, title) = (print::inert(&r.id), print::inert(&r.title));
                writeln!(out, "{id}\t{}\t{}\t{title}", r.severity.as_str(), kinds.join(","))?;
            }
            Ok(0)
        }
        Command::Rules { action: RulesAction::Anchors { rules } } => {
            let rules = load_rules(rules.as_deref())?;
            let mut anchors: Vec<&str> = rules
                .rules
                .iter()
                .flat_map(|r| r.signals.iter().flat_map(|s| s.anchors.iter().map(String::as_str)))
                .collect();
            anchors.sort_unstable();
            anchors.dedup();
            let mut out = std::io::stdout().lock();
            for a in anchors {
                writeln!(out, "{}", print::inert(a))?;
            }
            Ok(0)
        }
        Command::Rules { action: RulesAction::Test { rules, rule } } => {
            let rules = load_rules(rules.as_deref())?;
            if let Some(id) = rule.as_deref().filter(|id| rules.get(id).is_none()) {
                bail!("no rule `{}` is loaded (see `servicing-doctor rules list`)", print::inert(id));
            }
            let outcome = selftest::run_only(&rules, rule.as_deref());
            let mut out = std::io::stdout().lock();
            for f in &outcome.failures {
                let (rule, origin) = (print::inert(&f.rule), print::inert(&f.origin));
                writeln!(out, "FAIL {rule} ({origin}): {}", print::inert_lines(&f.message, "    "))?;
            }
            writeln!(
                out,
                "rules: {} checks in {} rules, {} failed",
                outcome.checks,
                if rule.is_some() { 1 } else { rules.rules.len() },
                outcome.failures.len()
            )?;
            Ok(if outcome.failures.is_empty() { 0 } else { 1 })
        }
    }
}

fn run_diagnose(args: DiagnoseArgs) -> Result<u8> {
    if args.paths.is_empty() && !cfg!(windows) {
        bail!("no PATH given: name log files, folders (e.g. a copied C:\\Windows\\Logs) to diagnose");
    }
    if let Some(out) = &args.output {
        refuse_overwriting_inputs(out, &args.paths)?;
    }
    let rules = load_rules(args.rules.as_deref())?;
    if args.format == Format::Ndjson && !args.paths.is_empty() {
        return run_each(&args, &rules);
    }
    let bar = if args.quiet { None } else { progress::Bar::new() };
    let opts = DiagnoseOptions {
        separate_inputs: args.separate,
        threads: args.threads.map(usize::from),
        progress: bar.as_ref().map(progress::Bar::callback),
        ..DiagnoseOptions::default()
    };
    let mut report = diagnose_paths_or_live(&args.paths, &rules, &opts)?;
    if args.format == Format::Ndjson {
        // Only the live machine comes here (PATHs go to `run_each`).
        report.input = Some(display_live());
    }
    if let Some(b) = bar {
        b.finish();
    }
    if !args.quiet {
        print_source_errors(&report);
    }
    let mut buf: Vec<u8> = Vec::new();
    match args.format {
        Format::Json => {
            buf = print::inert_json(serde_json::to_vec_pretty(&ReportWithView::new(&report))?);
            buf.push(b'\n');
        }
        Format::Ndjson => {
            buf = print::inert_json(serde_json::to_vec(&ReportWithView::new(&report))?);
            buf.push(b'\n');
        }
        Format::Md => print::md::write(&mut buf, &report)?,
        Format::Html => print::html::write(&mut buf, &report)?,
        Format::Text => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    args.output.is_none()
                        && anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
                }
            };
            // Prose wraps to the terminal; written to a file or a pipe, it does not.
            let width = match args.output {
                None => terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0)),
                Some(_) => None,
            };
            print::text::write(&mut buf, &report, color, width)?;
        }
    }
    write_output(args.output.as_deref(), &buf)?;
    if !report.diagnosed() {
        if !args.quiet {
            eprintln!("servicing-doctor: {}", nothing_diagnosed(&report));
        }
        return Ok(2);
    }
    Ok(if report.has_errors() { 1 } else { 0 })
}

/// One `--format ndjson` line: the report, then its machine's status and
/// the sources that could not be read.
#[derive(serde::Serialize)]
struct NdjsonLine<'a> {
    #[serde(flatten)]
    report: ReportWithView<'a>,
    status: &'static str,
    errors: Vec<String>,
}

/// `inspect --format json`: the inspection, then the fit with `--for`.
#[derive(serde::Serialize)]
struct InspectJson<'a> {
    #[serde(flatten)]
    inspection: &'a Inspection,
    #[serde(skip_serializing_if = "Option::is_none")]
    fit: Option<serde_json::Value>,
}

/// `--format ndjson`: each PATH its own machine, one report line each,
/// written as they complete, in PATH order.
fn run_each(args: &DiagnoseArgs, rules: &RuleSet) -> Result<u8> {
    let bar = if args.quiet { None } else { progress::Bar::inputs() };
    let opts = DiagnoseOptions {
        threads: args.threads.map(usize::from),
        progress: bar.as_ref().map(progress::Bar::callback),
        ..DiagnoseOptions::default()
    };
    let mut file = args.output.as_deref().map(OutputFile::create).transpose()?;
    let mut stdout = std::io::stdout().lock();
    let out: &mut dyn Write = match &mut file {
        Some(f) => f,
        None => &mut stdout,
    };
    let (mut any_read, mut any_error, mut any_unreadable) = (false, false, false);
    let mut failed: Option<anyhow::Error> = None;
    servicing_doctor::diagnose_each(&args.paths, rules, &opts, |report| {
        any_read |= report.diagnosed();
        any_error |= report.has_errors();
        let status = report.status();
        any_unreadable |= status == servicing_doctor::report::Status::Unreadable;
        if !args.quiet {
            print_source_errors(&report);
        }
        // Each line says what became of its machine, so that a filter on
        // findings never drops an input that could not be read.
        let line = NdjsonLine {
            report: ReportWithView::new(&report),
            status: status.as_str(),
            errors: report.source_errors(),
        };
        let written = serde_json::to_vec(&line).map_err(anyhow::Error::from).and_then(|line| {
            let mut line = print::inert_json(line);
            line.push(b'\n');
            out.write_all(&line)?;
            // Lines reach a pipe as they come; a file is flushed at the end.
            if args.output.is_none() {
                out.flush()?;
            }
            Ok(())
        });
        match written {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(b) = bar {
        b.finish();
    }
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    if let Some(f) = file {
        f.commit()?;
    }
    if !any_read {
        if !args.quiet {
            eprintln!("servicing-doctor: no servicing log could be read from any of the given paths");
        }
        return Ok(2);
    }
    // A fleet run with an input that could not be read at all did not do
    // its job for that machine, whatever the others show.
    if any_unreadable {
        if !args.quiet {
            eprintln!("servicing-doctor: some inputs could not be read (their lines say \"status\":\"unreadable\")");
        }
        return Ok(2);
    }
    Ok(if any_error { 1 } else { 0 })
}

fn run_plan(args: PlanArgs) -> Result<u8> {
    if args.paths.is_empty() && !cfg!(windows) {
        bail!("no PATH given: name the logs or the Windows root to plan a repair for");
    }
    if let Some(out) = &args.output {
        refuse_overwriting_inputs(out, &args.paths)?;
    }
    let rules = load_rules(args.rules.as_deref())?;
    let opts = DiagnoseOptions { separate_inputs: args.separate, ..DiagnoseOptions::default() };
    if args.separate && args.paths.len() > 1 {
        return run_plan_per_machine(&args, &rules, &opts);
    }
    let report = diagnose_paths_or_live(&args.paths, &rules, &opts)?;
    print_source_errors(&report);
    if !report.diagnosed() {
        bail!("{}; no plan written", nothing_diagnosed(&report));
    }
    let ssu = args.ssu.as_deref().map(inspect_ssu).transpose()?;
    let plan_opts = PlanOptions { ssu, stamp: args.stamp.then(stamp_now) };
    let script = match plan::powershell(&report, &plan_opts) {
        Ok(s) => s,
        Err(plan::PlanError::NothingToRepair) => {
            eprintln!("servicing-doctor: no failure found, so there is nothing to repair; no plan written");
            return Ok(0);
        }
        Err(e) => bail!("{e}"),
    };
    write_output(args.output.as_deref(), script.as_bytes())?;
    warn_ssu_fit(&report, &plan_opts);
    if let Some(path) = &args.output {
        eprintln!(
            "servicing-doctor: plan written to {}; read it, run it once (preview), then with -Apply",
            print::inert(&path.display().to_string())
        );
    }
    Ok(0)
}

/// Says on standard error when the `--ssu` package does not fit the machine.
fn warn_ssu_fit(report: &servicing_doctor::Report, plan_opts: &PlanOptions) {
    if let Some(p) = &plan_opts.ssu {
        let fit = plan::ssu_fit(report, p);
        if fit.verdict != plan::Verdict::Fits {
            eprintln!("servicing-doctor: {}: {}", print::inert(&p.path), fit.sentence());
            for r in &fit.reasons {
                eprintln!("  {}", print::inert(r));
            }
        }
    }
}

/// `plan --separate` over several machines: one script per machine that
/// needs one, into the folder `-o` names; a machine is never dropped
/// silently (each one without a plan is named, with the reason).
fn run_plan_per_machine(args: &PlanArgs, rules: &RuleSet, opts: &DiagnoseOptions) -> Result<u8> {
    let ssu = args.ssu.as_deref().map(inspect_ssu).transpose()?;
    let plan_opts = PlanOptions { ssu, stamp: args.stamp.then(stamp_now) };
    // (place among the inputs, input, script, its report) of each machine with a plan.
    let mut scripts: Vec<(usize, String, String, servicing_doctor::Report)> = Vec::new();
    let mut index = 0;
    servicing_doctor::diagnose_each(&args.paths, rules, opts, |report| {
        index += 1;
        let input = report.input.clone().unwrap_or_default();
        print_source_errors(&report);
        if !report.diagnosed() {
            eprintln!("servicing-doctor: {}: {}; no plan for it", print::inert(&input), nothing_diagnosed(&report));
        } else {
            match plan::powershell(&report, &plan_opts) {
                Ok(script) => scripts.push((index, input, script, report)),
                Err(plan::PlanError::NothingToRepair) => {
                    eprintln!("servicing-doctor: {}: no failure found; no plan for it", print::inert(&input))
                }
                Err(e) => eprintln!(
                    "servicing-doctor: {}: {}; no plan for it",
                    print::inert(&input),
                    print::inert(&e.to_string())
                ),
            }
        }
        true
    })?;
    match scripts.len() {
        0 => {
            eprintln!("servicing-doctor: no machine has a failure to repair; no plan written");
            Ok(0)
        }
        1 => {
            let (_, input, script, report) = &scripts[0];
            write_output(args.output.as_deref(), script.as_bytes())?;
            warn_ssu_fit(report, &plan_opts);
            eprintln!("servicing-doctor: plan for {}", print::inert(input));
            Ok(0)
        }
        n => {
            let names: Vec<String> = scripts.iter().map(|(_, input, _, _)| print::inert(input)).collect();
            let Some(dir) = args.output.as_deref().filter(|d| d.is_dir()) else {
                bail!(
                    "{n} machines need a repair plan ({}): give -o DIR, an existing folder, to write one script per machine; no plan written",
                    names.join(", ")
                );
            };
            for (i, input, script, report) in &scripts {
                let file = dir.join(format!("{i:02}-{}.ps1", file_stem_for(input)));
                refuse_overwriting_inputs(&file, &args.paths)?;
                write_output(Some(&file), script.as_bytes())?;
                warn_ssu_fit(report, &plan_opts);
                eprintln!(
                    "servicing-doctor: plan for {} written to {}",
                    print::inert(input),
                    print::inert(&file.display().to_string())
                );
            }
            eprintln!("servicing-doctor: read each plan, run it once (preview), then with -Apply");
            Ok(0)
        }
    }
}

/// A file name from an input path that came from elsewhere: its last part,
/// ASCII letters, digits, `.`, `-` and `_` only, at most 60 characters.
fn file_stem_for(input: &str) -> String {
    let last = input.trim_end_matches(['/', '\\']).rsplit(['/', '\\']).next().unwrap_or("");
    let stem: String = last
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(60)
        .collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() {
        "machine".to_string()
    } else {
        stem.to_string()
    }
}

/// Members and package identity of an archive file; a file without an
/// archive signature is refused.
fn inspect_archive(path: &Path) -> Result<Inspection> {
    let shown = path.display().to_string();
    let mut f = servicing_doctor::sources::open::open_regular(path).with_context(|| format!("cannot open {shown}"))?;
    let mut magic = Vec::with_capacity(archive::SNIFF_LEN);
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut f, archive::SNIFF_LEN as u64), &mut magic)
        .with_context(|| format!("cannot read {shown}"))?;
    if archive::sniff(&magic).is_none() {
        bail!("{shown} is not a .zip, .cab, .msu, .tar or .gz file (no archive signature)");
    }
    std::io::Seek::rewind(&mut f).with_context(|| format!("cannot read {shown}"))?;
    Ok(package::inspect(&shown, f, &archive::Limits::default()))
}

fn run_inspect(path: &Path, format: ExplainFormat, members: bool, for_machine: Option<&Path>) -> Result<u8> {
    let ins = inspect_archive(path)?;
    // With --for: the machine's diagnosis, and how the package fits it.
    let fit = match for_machine {
        None => None,
        Some(machine) => {
            let rules = load_rules(None)?;
            let report = diagnose(&[machine.to_path_buf()], &rules, &DiagnoseOptions::default())?;
            print_source_errors(&report);
            let package = SsuPackage::from_inspection(&ins);
            Some((machine.display().to_string(), plan::ssu_fit(&report, &package)))
        }
    };
    let mut out = std::io::stdout().lock();
    match format {
        ExplainFormat::Json => {
            let value = InspectJson {
                inspection: &ins,
                fit: fit.as_ref().map(|(machine, fit)| {
                    serde_json::json!({ "machine": machine, "verdict": fit.verdict.as_str(), "reasons": fit.reasons })
                }),
            };
            let mut json = print::inert_json(serde_json::to_vec_pretty(&value)?);
            json.push(b'\n');
            out.write_all(&json)?;
        }
        ExplainFormat::Text => {
            writeln!(out, "{} ({})", print::inert(&ins.path), print::inert(&ins.kind))?;
            // The verdict first: what an admin asks of a package.
            let stack = ins.packages.iter().find(|p| p.is_servicing_stack);
            let verdict = match (stack, ins.packages.first()) {
                (Some(p), _) => format!(
                    "servicing stack update: {} {} {}",
                    print::inert(&p.name),
                    print::inert(&p.version),
                    print::inert(&p.arch)
                ),
                (None, Some(p)) => format!(
                    "not a servicing stack update: {} {} {}",
                    print::inert(&p.name),
                    print::inert(&p.version),
                    print::inert(&p.arch)
                ),
                (None, None) => "not an update package: no package identity (.mum) inside".to_string(),
            };
            writeln!(out, "  verdict: {verdict}")?;
            if !ins.stack_folders.is_empty() || ins.other_component_folders > 0 {
                // What a servicing stack restore would copy, by version.
                let stacks: Vec<String> = ins
                    .stack_versions()
                    .iter()
                    .map(|(v, a)| format!("{} ({})", print::inert(v), print::inert(&a.join(", "))))
                    .collect();
                let stacks = if stacks.is_empty() { "none".to_string() } else { stacks.join("; ") };
                writeln!(
                    out,
                    "  servicing stack folders: {} {stacks}; other component folders: {}",
                    ins.stack_folders.len(),
                    ins.other_component_folders
                )?;
            }
            if let Some((machine, fit)) = &fit {
                writeln!(out, "  for {}: {}", print::inert(machine), fit.sentence())?;
                for r in &fit.reasons {
                    writeln!(out, "    {}", print::inert(r))?;
                }
            }
            for p in &ins.packages {
                let kb = p.kb.as_deref().map(|k| format!(" {}", print::inert(k))).unwrap_or_default();
                let ssu = if p.is_servicing_stack { " [servicing stack update]" } else { "" };
                writeln!(
                    out,
                    "  package: {} {} {}{kb}{ssu}  (from {})",
                    print::inert(&p.name),
                    print::inert(&p.version),
                    print::inert(&p.arch),
                    print::inert(&p.source)
                )?;
            }
            for (k, v) in &ins.properties {
                writeln!(out, "  {}: {}", print::inert(k), print::inert(v))?;
            }
            if members {
                for m in &ins.members {
                    let size = m.size.map(|s| s.to_string()).unwrap_or_else(|| "?".into());
                    writeln!(out, "  {:>12}  {:<8} {}", size, print::inert(&m.method), print::inert(&m.path))?;
                }
            } else {
                writeln!(out, "  {} member(s); list them with --members", ins.members.len())?;
            }
            const SHOWN_ERRORS: usize = 20;
            let shown = if members { ins.errors.len() } else { SHOWN_ERRORS.min(ins.errors.len()) };
            for e in &ins.errors[..shown] {
                writeln!(out, "  error: {}", print::inert(e))?;
            }
            if shown < ins.errors.len() {
                writeln!(out, "  and {} more error(s); see them all with --members", ins.errors.len() - shown)?;
            }
        }
    }
    Ok(if ins.errors.is_empty() { 0 } else { 1 })
}

/// The paths given, or the running system when there are none (Windows).
fn diagnose_paths_or_live(
    paths: &[PathBuf],
    rules: &RuleSet,
    opts: &DiagnoseOptions,
) -> Result<servicing_doctor::Report> {
    Ok(if paths.is_empty() {
        servicing_doctor::diagnose_live(&system_drive(), rules, opts)?
    } else {
        diagnose(paths, rules, opts)?
    })
}

/// Each source that could not be read, on standard error.
fn print_source_errors(report: &servicing_doctor::Report) {
    for s in report.sources.iter().filter(|s| s.error.is_some()) {
        eprintln!(
            "servicing-doctor: {}: {}",
            print::inert(&s.path),
            print::inert(s.error.as_deref().unwrap_or_default())
        );
    }
}

/// Why a run diagnosed nothing, naming what was given.
fn nothing_diagnosed(report: &servicing_doctor::Report) -> String {
    let unknown = report.sources.iter().filter(|s| s.error.is_none() && !s.kind.is_log()).count();
    let failed = report.sources.iter().filter(|s| s.error.is_some()).count();
    match (report.sources.len(), unknown, failed) {
        (0, _, _) => "no file found in the given paths".into(),
        (_, 0, _) => "no servicing log could be read from the given paths".into(),
        (_, n, _) => format!(
            "no servicing log found in the given paths: {n} file(s) read, none of them a log servicing-doctor knows{}",
            if failed > 0 { format!(", {failed} unreadable") } else { String::new() }
        ),
    }
}

/// What the given .msu holds, for the plan's fit check. A file that cannot
/// be opened or is not an archive is bad input: no plan is written.
fn inspect_ssu(path: &Path) -> Result<SsuPackage> {
    // Absolute, so that a Windows path stays usable as the script's default.
    let path = &std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let ins = inspect_archive(path).context("--ssu")?;
    let package = SsuPackage::from_inspection(&ins);
    // Not an update package (a cab of something else, a cabinet that
    // cannot be decoded): bad input, like a file that is not an archive.
    if package.packages.is_empty() {
        let why = if ins.errors.is_empty() {
            "no package identity (.mum) found inside".to_string()
        } else {
            ins.errors.join("; ")
        };
        bail!("--ssu {}: not an update package: {why}; no plan written", path.display());
    }
    Ok(package)
}

/// How the live machine is named as an input.
fn display_live() -> String {
    system_drive().display().to_string()
}

/// `%SystemDrive%\\` of the running system (Windows only is asked).
fn system_drive() -> PathBuf {
    let drive = std::env::var_os("SystemDrive").unwrap_or_else(|| "C:".into());
    let mut p = PathBuf::from(drive);
    p.push("\\");
    p
}

/// The current UTC time, for `--stamp`.
fn stamp_now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
