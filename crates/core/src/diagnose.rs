//! The whole pipeline: inputs → sources → decode → records → rules →
//! findings, collected into one [`Report`].

use crate::decode::decode;
use crate::kind::LogKind;
use crate::records::{panther, setupapi, setupdiag, wulog, Record};
use crate::report::{Report, Source};
use crate::rules::correlate::{correlate, SourceInfo};
use crate::rules::scan::{scan, Hit};
use crate::rules::RuleSet;
use crate::sources::{self, classify, Found};
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Files larger than this are not read whole (streaming arrives with the
/// performance work); they are reported, not silently skipped.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

#[derive(Debug, Clone, Default)]
pub struct DiagnoseOptions {
    /// Treat every input file as this kind instead of classifying it.
    pub force_kind: Option<LogKind>,
    /// Each input path is a different machine: never correlate across them.
    /// By default all inputs are one machine's logs.
    pub separate_inputs: bool,
}

/// Why nothing could be diagnosed at all.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error("no input path given")]
    NoInput,
}

/// Diagnose files and folders.
pub fn diagnose(
    inputs: &[PathBuf],
    rules: &RuleSet,
    opts: &DiagnoseOptions,
) -> Result<Report, DiagnoseError> {
    if inputs.is_empty() {
        return Err(DiagnoseError::NoInput);
    }
    let mut report = Report::new();
    let mut hits = Vec::new();
    let mut groups = Vec::new();
    for found in sources::discover(inputs) {
        match found {
            Found::Problem { path, message } => {
                groups.push(usize::MAX);
                report.sources.push(Source {
                    path: display(&path),
                    kind: LogKind::Unknown,
                    encoding: None,
                    bytes: 0,
                    records: 0,
                    error: Some(message),
                    warnings: Vec::new(),
                })
            }
            Found::File { path, input } => {
                let idx = report.sources.len();
                let (source, mut h) = read_file(&path, idx, rules, opts);
                report.sources.push(source);
                groups.push(if opts.separate_inputs { input } else { 0 });
                hits.append(&mut h);
            }
        }
    }
    finish(&mut report, rules, &hits, &groups);
    Ok(report)
}

/// Diagnose in-memory logs given as (path shown in evidence, kind, bytes).
/// Used by rule self-tests and by archive members.
pub fn diagnose_buffers(buffers: &[(String, Option<LogKind>, Vec<u8>)], rules: &RuleSet) -> Report {
    let mut report = Report::new();
    let mut hits = Vec::new();
    for (i, (path, kind, bytes)) in buffers.iter().enumerate() {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (source, mut h) = analyze(path.clone(), name, bytes, *kind, i, rules);
        report.sources.push(source);
        hits.append(&mut h);
    }
    let groups = vec![0; report.sources.len()];
    finish(&mut report, rules, &hits, &groups);
    report
}

fn finish(report: &mut Report, rules: &RuleSet, hits: &[Hit], groups: &[usize]) {
    let sources: Vec<SourceInfo> = report
        .sources
        .iter()
        .zip(groups)
        .map(|(s, &group)| SourceInfo {
            path: s.path.clone(),
            kind: s.kind,
            group,
        })
        .collect();
    report.findings = correlate(rules, hits, &sources);
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn failed(path: String, kind: LogKind, bytes: u64, error: String) -> (Source, Vec<Hit>) {
    (
        Source {
            path,
            kind,
            encoding: None,
            bytes,
            records: 0,
            error: Some(error),
            warnings: Vec::new(),
        },
        Vec::new(),
    )
}

fn read_file(
    path: &Path,
    idx: usize,
    rules: &RuleSet,
    opts: &DiagnoseOptions,
) -> (Source, Vec<Hit>) {
    let shown = display(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return failed(
                shown,
                LogKind::Unknown,
                0,
                format!("cannot open: {}", sources::describe_io(&e)),
            )
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return failed(
            shown,
            LogKind::Unknown,
            size,
            format!("file is larger than {MAX_FILE_BYTES} bytes; not read"),
        );
    }
    let mut bytes = Vec::with_capacity(size as usize);
    if let Err(e) = file.read_to_end(&mut bytes) {
        return failed(
            shown,
            LogKind::Unknown,
            size,
            format!("read failed: {}", sources::describe_io(&e)),
        );
    }
    analyze(shown, &name, &bytes, opts.force_kind, idx, rules)
}

/// Decode, classify, parse and scan one source. A panic in any parser
/// becomes an error on this source only.
fn analyze(
    path: String,
    name: &str,
    bytes: &[u8],
    kind: Option<LogKind>,
    idx: usize,
    rules: &RuleSet,
) -> (Source, Vec<Hit>) {
    let size = bytes.len() as u64;
    let result = catch_unwind(AssertUnwindSafe(|| {
        analyze_inner(path.clone(), name, bytes, kind, idx, rules)
    }));
    match result {
        Ok(r) => r,
        Err(p) => {
            let why = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            failed(
                path,
                kind.unwrap_or(LogKind::Unknown),
                size,
                format!("internal error while reading this file: {why}"),
            )
        }
    }
}

fn analyze_inner(
    path: String,
    name: &str,
    bytes: &[u8],
    kind: Option<LogKind>,
    idx: usize,
    rules: &RuleSet,
) -> (Source, Vec<Hit>) {
    if kind.is_none() && crate::decode::looks_binary(bytes) {
        let source = Source {
            path,
            kind: LogKind::Unknown,
            encoding: None,
            bytes: bytes.len() as u64,
            records: 0,
            error: None,
            warnings: vec!["binary content; not a log".into()],
        };
        return (source, Vec::new());
    }
    let decoded = decode(bytes);
    let text: &str = &decoded.text;
    let kind = kind.unwrap_or_else(|| classify::classify(name, text));
    let mut source = Source {
        path,
        kind,
        encoding: Some(decoded.encoding.as_str()),
        bytes: bytes.len() as u64,
        records: 0,
        error: None,
        warnings: decoded.warnings.clone(),
    };
    let mut hits = Vec::new();
    let records: Option<Vec<Record>> = match kind {
        LogKind::Unknown => return (source, hits),
        k if k.is_panther() => None,
        LogKind::Setupapi => Some(setupapi::parse(text)),
        LogKind::Windowsupdate => Some(wulog::parse(text)),
        LogKind::SetupdiagText => Some(setupdiag::parse_text(text).records()),
        LogKind::SetupdiagXml => match setupdiag::parse_xml(text) {
            Ok(sd) => Some(sd.records()),
            Err(e) => {
                source.error = Some(format!("not valid SetupDiag XML: {e}"));
                return (source, hits);
            }
        },
        _ => None,
    };
    source.records = match &records {
        Some(r) => r.len() as u64,
        None => count_entries(text),
    };
    if rules.reads(kind) {
        scan(rules, kind, text, idx, records.as_deref(), &mut hits);
    }
    (source, hits)
}

/// Entries in a Panther-grammar text (lines that start a new entry).
fn count_entries(text: &str) -> u64 {
    let mut n = 0;
    let mut start = 0;
    let b = text.as_bytes();
    loop {
        let line = &b[start..];
        if panther::starts_entry(line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)) {
            n += 1;
        }
        match memchr::memchr(b'\n', line) {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_entries_not_continuations() {
        let t = "\u{feff}2020-01-01 00:00:00, Info CBS a\n  cont\n2020-01-01 00:00:01, Info CBS b\r\nInfo,\tCSI x\n";
        assert_eq!(count_entries(t), 3);
        assert_eq!(count_entries(""), 0);
    }
}
