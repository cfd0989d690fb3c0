//! The command line: commands, options and their help.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "servicing-doctor",
    version,
    about = "Tells why a Windows Update or in-place upgrade failed, shows the log lines that prove it, and what to do.",
    after_help = "Exit codes: 0 no failure found; 1 at least one error-severity finding; 2 bad input or usage \
(the message says what and where; also when nothing at all could be read).\n\
Rules: `servicing-doctor rules list` shows what the built-in rules detect; `--rules DIR` adds your own."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Diagnose log files and folders (searched recursively).
    Diagnose(DiagnoseArgs),
    /// Decode an error code (HRESULT, Win32, CBS_E_*, setup 0xC19… with extend code).
    Explain {
        /// e.g. 0x80070003, 3, -2147024893, ERROR_PATH_NOT_FOUND, 0xC1900101-0x20017
        #[arg(allow_negative_numbers = true)]
        code: String,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        /// Also load the rules in this folder (to list the ones that involve the code).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// List the members of a .msu / .cab / .zip and, for an update package, its identity.
    Inspect {
        /// The .msu, .cab or .zip file.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        /// Also list every member (text; JSON always has them).
        #[arg(long)]
        members: bool,
        /// Say whether the package fits this machine: its logs, folder or Windows root.
        #[arg(long = "for", value_name = "PATH")]
        for_machine: Option<PathBuf>,
    },
    /// Write a PowerShell repair plan for the findings, to review and run.
    Plan(PlanArgs),
    /// List the detection rules, or run their built-in tests.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
}

#[derive(Subcommand)]
pub(crate) enum RulesAction {
    /// One line per rule: id, severity, log kinds, title.
    List {
        /// Also load the rules in this folder (*.yaml).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Every anchor literal of the loaded rules, one per line (what the prefilter looks for).
    Anchors {
        /// Also load the rules in this folder (*.yaml).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Run every rule's example lines and test logs.
    Test {
        /// Also load (and test) the rules in this folder (*.yaml).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Test only this rule (its id); the others still load, and still
        /// may not fire on its fixtures.
        #[arg(long, value_name = "ID")]
        rule: Option<String>,
    },
}

#[derive(clap::Args)]
pub(crate) struct DiagnoseArgs {
    /// Log files or folders. Required outside Windows.
    pub(crate) paths: Vec<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Write the report here instead of standard output (never over or into an input).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Add the rules in this folder (*.yaml) to the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub(crate) rules: Option<PathBuf>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Each PATH is a different machine: never correlate evidence across them.
    #[arg(long)]
    pub(crate) separate: bool,
    /// Worker threads, 1 to 256 (default: one per core).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: Option<u16>,
    /// No progress or notes on standard error.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    /// A support request in Markdown.
    Md,
    Html,
    /// One compact JSON report per line, one line per PATH, each PATH its own machine (fleets).
    Ndjson,
}

#[derive(clap::Args)]
pub(crate) struct PlanArgs {
    /// Log files, folders or a Windows root, as for `diagnose`.
    pub(crate) paths: Vec<PathBuf>,
    /// The servicing stack update (.msu) to restore from; checked against the machine.
    #[arg(long, value_name = "FILE.msu")]
    pub(crate) ssu: Option<PathBuf>,
    /// Write the script here (default: standard output). Never over or into an input.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Put the generation time in the header (otherwise the script is byte-for-byte reproducible).
    #[arg(long)]
    pub(crate) stamp: bool,
    /// Add the rules in this folder (*.yaml) to the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub(crate) rules: Option<PathBuf>,
    /// Each PATH is a different machine: never correlate evidence across them.
    #[arg(long)]
    pub(crate) separate: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}
