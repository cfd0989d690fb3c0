//! servicing-doctor: the command line over the `servicing_doctor` library.
//! Parses arguments, picks a printer, maps the outcome to an exit code:
//! 0 no failure found, 1 an error-severity finding, 2 bad input or usage.

mod explain;
mod print;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use servicing_doctor::rules::{selftest, RuleSet};
use servicing_doctor::{diagnose, DiagnoseOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "servicing-doctor",
    version,
    about = "Tells why a Windows Update or in-place upgrade failed, shows the log lines that prove it, and what to do."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Diagnose log files and folders (searched recursively).
    Diagnose(DiagnoseArgs),
    /// Decode an error code (HRESULT, Win32, CBS_E_*, setup 0xC19… with extend code).
    Explain {
        /// e.g. 0x80070003, 3, ERROR_PATH_NOT_FOUND, 0xC1900101-0x20017
        code: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also load the rules in this folder (to list the ones that involve the code).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// List the detection rules, or run their built-in tests.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// One line per rule: id, severity, log kinds, title.
    List {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Run every rule's example lines and test logs.
    Test {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct DiagnoseArgs {
    /// Log files or folders. Required outside Windows.
    paths: Vec<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report here instead of standard output (never over an input).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Add the rules in this folder (*.yaml) to the built-in ones.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Each PATH is a different machine: never correlate evidence across them.
    #[arg(long)]
    separate: bool,
    /// No progress or notes on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("servicing-doctor: {e:#}");
            ExitCode::from(2)
        }
    }
}

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
    loaded.map_err(|errs| {
        let list: Vec<String> = errs.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!("the rules have mistakes:\n{}", list.join("\n"))
    })
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Diagnose(args) => run_diagnose(args),
        Command::Explain {
            code,
            format,
            rules,
        } => {
            let rules = load_rules(rules.as_deref())?;
            let Some(ex) = explain::explain(&code, &rules) else {
                bail!("`{code}` is not an error code (try 0x80070003, 3, ERROR_PATH_NOT_FOUND or 0xC1900101-0x20017)");
            };
            let mut out = std::io::stdout().lock();
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &ex)?;
                    writeln!(out)?;
                }
                Format::Text => explain::print_text(&mut out, &ex)?,
            }
            Ok(0)
        }
        Command::Rules {
            action: RulesAction::List { rules },
        } => {
            let rules = load_rules(rules.as_deref())?;
            let mut out = std::io::stdout().lock();
            for r in &rules.rules {
                let mut kinds: Vec<&str> = r
                    .signals
                    .iter()
                    .flat_map(|s| s.kinds.iter().map(|k| k.as_str()))
                    .collect();
                kinds.sort_unstable();
                kinds.dedup();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    r.id,
                    r.severity.as_str(),
                    kinds.join(","),
                    r.title
                )?;
            }
            Ok(0)
        }
        Command::Rules {
            action: RulesAction::Test { rules },
        } => {
            let rules = load_rules(rules.as_deref())?;
            let outcome = selftest::run(&rules);
            let mut out = std::io::stdout().lock();
            for f in &outcome.failures {
                writeln!(out, "FAIL {} ({}): {}", f.rule, f.origin, f.message)?;
            }
            writeln!(
                out,
                "rules: {} checks in {} rules, {} failed",
                outcome.checks,
                rules.rules.len(),
                outcome.failures.len()
            )?;
            Ok(if outcome.failures.is_empty() { 0 } else { 1 })
        }
    }
}

fn run_diagnose(args: DiagnoseArgs) -> Result<u8> {
    if args.paths.is_empty() {
        if cfg!(windows) {
            bail!("diagnosing the running system is not available yet: name the log files or folders to read (e.g. C:\\Windows\\Logs)");
        }
        bail!(
            "no PATH given: name log files, folders (e.g. a copied C:\\Windows\\Logs) to diagnose"
        );
    }
    if let Some(out) = &args.output {
        refuse_overwriting_inputs(out, &args.paths)?;
    }
    let rules = load_rules(args.rules.as_deref())?;
    let opts = DiagnoseOptions {
        separate_inputs: args.separate,
        ..DiagnoseOptions::default()
    };
    let report = diagnose(&args.paths, &rules, &opts)?;
    if !args.quiet {
        for s in report.sources.iter().filter(|s| s.error.is_some()) {
            eprintln!(
                "servicing-doctor: {}: {}",
                s.path,
                s.error.as_deref().unwrap_or_default()
            );
        }
    }
    let mut buf: Vec<u8> = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut buf, &report)?;
            buf.push(b'\n');
        }
        Format::Text => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    args.output.is_none()
                        && anstream::AutoStream::choice(&std::io::stdout())
                            != anstream::ColorChoice::Never
                }
            };
            print::text::write(&mut buf, &report, color)?;
        }
    }
    match &args.output {
        Some(path) => std::fs::write(path, &buf)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
    if !report.any_source_read() {
        if !args.quiet {
            eprintln!("servicing-doctor: nothing could be read from the given paths");
        }
        return Ok(2);
    }
    Ok(if report.has_errors() { 1 } else { 0 })
}

/// The report never goes over, or into, the evidence.
fn refuse_overwriting_inputs(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(dir) = parent.canonicalize() else {
        bail!("cannot write {}: its folder does not exist", out.display());
    };
    let target = dir.join(out.file_name().unwrap_or_default());
    for input in inputs {
        let Ok(inp) = input.canonicalize() else {
            continue;
        };
        if target == inp || (inp.is_dir() && target.starts_with(&inp)) {
            bail!(
                "refusing to write the report to {}: it is (inside) the input {}",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}
