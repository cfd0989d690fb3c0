//! The whole pipeline: inputs → sources → decode → records → rules →
//! findings, collected into one [`Report`]. Files are read in parallel and
//! merged in input order, so the report is the same whatever the threads.

use crate::checks;
use crate::decode::{self, Encoding};
use crate::kind::LogKind;
use crate::records::{setupdiag, Record};
use crate::report::{Report, Source};
use crate::rules::correlate::{correlate, merge_machines, SourceInfo};
use crate::rules::scan::{scan, Hit, HitBudget, SourceKey, MAX_HITS_PER_SIGNAL_RUN, MAX_HIT_BYTES_PER_SIGNAL_RUN};
use crate::rules::RuleSet;
use crate::sources::archive::{self, ArchiveKind};
use crate::sources::winroot::{self, Role, WindowsRoot};
use crate::sources::{self, classify, Found};
use crate::stream;
use rayon::prelude::*;
use std::io::{BufRead, Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// SetupDiag results (XML or text), parsed whole, larger than this are
/// refused: real ones are a few KiB, and an XML tree costs many times its
/// text. Every other kind streams at any size.
pub const MAX_WHOLE_BYTES: u64 = 8 << 20;

mod whole;

/// Reports progress: (bytes read so far, total bytes to read).
#[derive(Clone)]
pub struct ProgressFn(pub Arc<dyn Fn(u64, u64) + Send + Sync>);

impl std::fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressFn")
    }
}

#[derive(Debug, Clone, Default)]
pub struct DiagnoseOptions {
    /// Treat every input file as this kind instead of classifying it.
    pub force_kind: Option<LogKind>,
    /// Each input path is a different machine: never correlate across them.
    /// By default all inputs are one machine's logs.
    pub separate_inputs: bool,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    pub progress: Option<ProgressFn>,
}

/// Why nothing could be diagnosed at all.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error("no input path given")]
    NoInput,
    #[error("{0} does not hold a Windows installation (no Windows\\System32 or Windows\\WinSxS)")]
    NotARoot(PathBuf),
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// One thing to put in the report, in order.
enum Slot {
    /// A source known without reading (unreadable input, archive listed).
    Ready(Source, usize),
    /// A file to read, with its role and bundle group.
    File(PathBuf, Option<Role>, usize),
    /// A Windows root's system checks.
    Checks(WindowsRoot, bool, usize),
}

/// Diagnose files, folders and Windows roots.
pub fn diagnose(inputs: &[PathBuf], rules: &RuleSet, opts: &DiagnoseOptions) -> Result<Report, DiagnoseError> {
    if inputs.is_empty() {
        return Err(DiagnoseError::NoInput);
    }
    run(input_slots(inputs, opts.separate_inputs), rules, opts)
}

/// What to read for the given inputs; with `separate`, each input is its
/// own correlation group (machine).
fn input_slots(inputs: &[PathBuf], separate: bool) -> Vec<Slot> {
    let group = |input: usize| if separate { input } else { 0 };
    let mut slots = Vec::new();
    for found in sources::discover(inputs) {
        match found {
            Found::Problem { path, message } => slots.push(Slot::Ready(unread(&path, message), usize::MAX)),
            Found::File { path, input } => slots.push(Slot::File(path, None, group(input))),
            Found::Root { root, input } => root_slots(&root, false, group(input), &mut slots),
        }
    }
    slots
}

/// Diagnose each input as its own machine: one report per input, with
/// `input` set, handed to `emit` in input order. Inputs run in parallel on
/// one pool, a window of a few at a time, so a fleet share of thousands of
/// bundles streams out with flat memory. `emit` returns false to stop (the
/// output went away). `opts.progress` counts inputs, not bytes.
pub fn diagnose_each(
    inputs: &[PathBuf],
    rules: &RuleSet,
    opts: &DiagnoseOptions,
    mut emit: impl FnMut(Report) -> bool,
) -> Result<(), DiagnoseError> {
    if inputs.is_empty() {
        return Err(DiagnoseError::NoInput);
    }
    let pool = pool(opts)?;
    // Per-input runs report no bytes: the bar counts whole inputs.
    let quiet = DiagnoseOptions { progress: None, ..opts.clone() };
    let streams = stream::Streams::default();
    let window = 2 * pool.current_num_threads().max(1);
    let mut done = 0u64;
    for batch in inputs.chunks(window) {
        let reports: Vec<Report> = pool.install(|| {
            batch
                .par_iter()
                .map(|input| {
                    let slots = input_slots(std::slice::from_ref(input), false);
                    let mut report = run_in_pool(slots, rules, &quiet, &streams);
                    report.input = Some(display(input));
                    report
                })
                .collect()
        });
        for report in reports {
            done += 1;
            if let Some(p) = &opts.progress {
                (p.0)(done, inputs.len() as u64);
            }
            if !emit(report) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Diagnose the running system: its `%SystemDrive%` as a Windows root and
/// the live registry. Checks that need rights the process lacks say so.
pub fn diagnose_live(system_drive: &Path, rules: &RuleSet, opts: &DiagnoseOptions) -> Result<Report, DiagnoseError> {
    let Some(root) = winroot::detect(system_drive) else {
        return Err(DiagnoseError::NotARoot(system_drive.to_path_buf()));
    };
    let mut slots = Vec::new();
    root_slots(&root, true, 0, &mut slots);
    run(slots, rules, opts)
}

fn root_slots(root: &WindowsRoot, live: bool, group: usize, slots: &mut Vec<Slot>) {
    for log in winroot::logs(root) {
        slots.push(Slot::File(log.path, Some(log.role), group));
    }
    slots.push(Slot::Checks(root.clone(), live, group));
}

/// Diagnose in-memory logs given as (path shown in evidence, kind, bytes).
/// Used by rule self-tests and by archive members.
pub fn diagnose_buffers(buffers: &[(String, Option<LogKind>, Vec<u8>)], rules: &RuleSet) -> Report {
    diagnose_buffers_with_checks(buffers, &[], rules)
}

/// [`diagnose_buffers`], with problems the system checks would have found
/// (a rule's test case).
pub fn diagnose_buffers_with_checks(
    buffers: &[(String, Option<LogKind>, Vec<u8>)],
    failures: &[checks::CheckFailure],
    rules: &RuleSet,
) -> Report {
    let mut report = Report::new();
    let mut hits = Vec::new();
    for (i, (path, kind, bytes)) in buffers.iter().enumerate() {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (s, mut h) = analyze(path.clone(), name, &bytes[..], *kind, i, rules, stream::Context::default());
        report.sources.push(s);
        hits.append(&mut h);
    }
    let mut infos: Vec<SourceInfo> =
        report.sources.iter().map(|s| SourceInfo { path: s.path.clone(), kind: s.kind, group: 0 }).collect();
    if !failures.is_empty() {
        crate::rules::check_hits::hits(rules, failures, infos.len(), &mut hits);
        infos.push(SourceInfo { path: "system checks".into(), kind: LogKind::Check, group: 0 });
    }
    let c = correlate(rules, &hits, &infos);
    report.findings = c.findings;
    report.system = merge_machines(&c.system, 1);
    crate::rules::placeholder::fill_system(&mut report);
    report
}

fn pool(opts: &DiagnoseOptions) -> Result<rayon::ThreadPool, DiagnoseError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| DiagnoseError::Threads(e.to_string()))
}

fn run(slots: Vec<Slot>, rules: &RuleSet, opts: &DiagnoseOptions) -> Result<Report, DiagnoseError> {
    let streams = stream::Streams::default();
    pool(opts)?.install(|| Ok(run_in_pool(slots, rules, opts, &streams)))
}

/// `streams` is shared by every run on the same pool.
fn run_in_pool(slots: Vec<Slot>, rules: &RuleSet, opts: &DiagnoseOptions, streams: &stream::Streams) -> Report {
    // Sources are numbered in slot order; a root's checks add no listed
    // source of their own until the end.
    let total: u64 = slots
        .iter()
        .map(|s| match s {
            Slot::File(p, _, _) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum();
    let done = AtomicU64::new(0);
    let tick = |delta: u64| {
        if let Some(p) = &opts.progress {
            let now = done.fetch_add(delta, Ordering::Relaxed) + delta;
            (p.0)(now, total);
        }
    };
    let files: Vec<(usize, &PathBuf, Option<Role>)> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Slot::File(p, role, _) => Some((i, p, *role)),
            _ => None,
        })
        .collect();
    // Hits go into the run's budget as each source finishes, so a run of
    // many matching sources never holds more than the run-wide cap.
    let budget = HitBudget::default();
    let read: Vec<Vec<Source>> = files
        .par_iter()
        .enumerate()
        .map(|(file, &(_, path, role))| {
            let keep = |sub: usize, hits: Vec<Hit>| budget.add((file, sub), hits);
            let mut out = read_file(path, rules, opts, &tick, streams, &keep);
            for s in &mut out {
                s.role = role.map(Role::as_str);
            }
            out
        })
        .collect();
    let mut read = read.into_iter().enumerate();
    let mut index: std::collections::HashMap<SourceKey, usize> = Default::default();

    let mut report = Report::new();
    let mut hits: Vec<Hit> = Vec::new();
    let mut infos: Vec<SourceInfo> = Vec::new();
    let mut extra: Vec<(String, usize, Vec<checks::CheckFailure>)> = Vec::new();
    // Facts per machine (correlation group); the registry's come first.
    let mut machines: std::collections::BTreeMap<usize, std::collections::BTreeMap<String, String>> =
        Default::default();
    for slot in slots {
        match slot {
            Slot::Ready(s, group) => {
                infos.push(SourceInfo { path: s.path.clone(), kind: s.kind, group });
                report.sources.push(s);
            }
            Slot::File(_, _, group) => {
                let (file, sources) = read.next().expect("one result per file, in order");
                for (sub, s) in sources.into_iter().enumerate() {
                    index.insert((file, sub), report.sources.len());
                    infos.push(SourceInfo { path: s.path.clone(), kind: s.kind, group });
                    report.sources.push(s);
                }
            }
            Slot::Checks(root, live, group) => {
                let view = checks::check_root(&root, live);
                for s in view.sources.iter().cloned() {
                    infos.push(SourceInfo { path: s.path.clone(), kind: s.kind, group: usize::MAX });
                    report.sources.push(s);
                }
                report.checks.extend(view.checks.iter().cloned());
                let machine = machines.entry(group).or_default();
                for (k, v) in &view.system {
                    machine.entry(k.clone()).or_insert_with(|| v.clone());
                }
                if !view.failures.is_empty() {
                    extra.push((format!("{} (system checks)", root.root.display()), group, view.failures));
                }
            }
        }
    }
    let (kept, dropped) = budget.finish();
    for (key, mut h) in kept {
        let idx = index[&key];
        for hit in &mut h {
            hit.source = idx;
        }
        hits.append(&mut h);
    }
    for (key, list) in dropped {
        let s = &mut report.sources[index[&key]];
        for ((r, sig), n) in list {
            let rule = &rules.rules[r];
            s.warnings.push(format!(
                "{n} line(s) matching signal `{}` of rule {} were dropped from this source: a run keeps the last {MAX_HITS_PER_SIGNAL_RUN} ({} MiB of text) per signal across all its sources",
                rule.signals[sig].id,
                rule.id,
                MAX_HIT_BYTES_PER_SIGNAL_RUN >> 20
            ));
        }
    }
    // Each root's check problems are a synthetic source that `check:`
    // signals match.
    for (path, group, failures) in extra {
        let idx = infos.len();
        crate::rules::check_hits::hits(rules, &failures, idx, &mut hits);
        infos.push(SourceInfo { path, kind: LogKind::Check, group });
    }
    let c = correlate(rules, &hits, &infos);
    report.findings = c.findings;
    // What the registry says wins over what the logs say.
    for (group, facts) in c.system {
        let machine = machines.entry(group).or_default();
        for (k, v) in facts {
            machine.entry(k).or_insert(v);
        }
    }
    // Machines: the correlation groups with a log read or a system checked
    // (an input of unknown or unreadable files states nothing, and must not
    // wipe the facts of the others).
    let groups: std::collections::BTreeSet<usize> = report
        .sources
        .iter()
        .zip(&infos)
        .filter(|(s, _)| s.error.is_none() && s.kind.is_log())
        .map(|(_, i)| i.group)
        .chain(machines.keys().copied())
        .filter(|g| *g != usize::MAX)
        .collect();
    report.system = merge_machines(&machines, groups.len());
    crate::rules::placeholder::fill_system(&mut report);
    report
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn source(path: String, kind: LogKind, bytes: u64) -> Source {
    Source { path, kind, role: None, encoding: None, bytes, records: 0, error: None, warnings: Vec::new() }
}

fn unread(path: &Path, message: String) -> Source {
    Source { error: Some(message), ..source(display(path), LogKind::Unknown, 0) }
}

/// Hands the hits of a file's `n`th source (0: the file itself) to the run.
type KeepHits<'a> = &'a (dyn Fn(usize, Vec<Hit>) + Sync);

/// Read one file: a log gives one source; an archive gives one per member
/// (and one for itself). Hits go to `keep` as each source is done.
fn read_file(
    path: &Path,
    rules: &RuleSet,
    opts: &DiagnoseOptions,
    tick: &(dyn Fn(u64) + Sync),
    streams: &stream::Streams,
    keep: KeepHits<'_>,
) -> Vec<Source> {
    let shown = display(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file = match sources::open::open_regular(path) {
        Ok(f) => f,
        Err(e @ sources::open::OpenError::NotRegular(_)) => return vec![unread(path, e.to_string())],
        Err(e) => return vec![unread(path, format!("cannot open: {e}"))],
    };
    let size = file.len();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let magic = match reader.fill_buf() {
        Ok(b) => archive::sniff(b),
        Err(e) => return vec![unread(path, format!("read failed: {}", sources::describe_io(&e)))],
    };
    if let Some(kind) = magic.filter(|_| opts.force_kind.is_none()) {
        let out = read_archive(&shown, kind, reader, size, rules, streams, keep);
        tick(size);
        return out;
    }
    let last = AtomicU64::new(0);
    let report_bytes = |now: u64| {
        let before = last.swap(now, Ordering::Relaxed);
        tick(now.saturating_sub(before));
    };
    let ctx = stream::Context { progress: Some(&report_bytes), streams: Some(streams) };
    let (s, hits) = analyze(shown, &name, reader, opts.force_kind, 0, rules, ctx);
    keep(0, hits);
    vec![s]
}

/// Members up to this size are read into memory and analysed on the pool
/// while the walker inflates the next ones: an archive of many small logs
/// (the usual bundle) would otherwise be read on one thread.
const PARALLEL_MEMBER_BYTES: u64 = 4 << 20;

/// Every member of an archive (nested archives included) as a source,
/// streamed from the decoder; members that cannot be read are errors on
/// themselves only. Each member's hits go to `keep` as soon as it is read.
fn read_archive<R: Read + Seek>(
    shown: &str,
    kind: ArchiveKind,
    reader: R,
    size: u64,
    rules: &RuleSet,
    streams: &stream::Streams,
    keep: KeepHits<'_>,
) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    let mut me = source(shown.to_string(), LogKind::Archive, size);
    me.encoding = None;
    me.warnings.push(format!("{} archive: its members are listed below as {shown}!<member>", kind.name()));
    out.push(me);
    let limits = archive::Limits::default();
    // Sources analysed on the pool, by their place in `out`.
    let done: std::sync::Mutex<Vec<(usize, Source)>> = std::sync::Mutex::new(Vec::new());
    let in_flight = AtomicU64::new(0);
    // At most two members in memory per thread, so memory follows threads.
    let max_in_flight = 2 * rayon::current_num_threads() as u64;
    let analyze_member = |at: usize, path: &str, size: Option<u64>, reader: &mut dyn Read| {
        let name = path.rsplit(['/', '\\', '!']).next().unwrap_or(path).to_string();
        let ctx = stream::Context { progress: None, streams: Some(streams) };
        let (mut s, h) = analyze(path.to_string(), &name, reader, None, 0, rules, ctx);
        if let (Some(n), true) = (size, s.error.is_none()) {
            s.bytes = s.bytes.max(n);
        }
        keep(at, h);
        s
    };
    rayon::in_place_scope(|scope| {
        let mut on = |ev: archive::Event<'_>| match ev {
            archive::Event::Archive { path, kind } => {
                if path != shown {
                    let mut s = source(path.to_string(), LogKind::Archive, 0);
                    s.warnings.push(format!("nested {} archive", kind.name()));
                    out.push(s);
                }
            }
            archive::Event::Error { path, message } => {
                // An error on an entry already listed (the archive, or a member
                // cut short by a limit) lands on that entry.
                match out.iter_mut().rev().find(|s| s.path == path) {
                    Some(s) => s.error = Some(message),
                    None => {
                        let mut s = source(path.to_string(), LogKind::Unknown, 0);
                        s.error = Some(message);
                        out.push(s);
                    }
                }
            }
            archive::Event::File { path, size, reader } => {
                let at = out.len();
                // Holds the place (and any error the walker reports next).
                out.push(source(path.to_string(), LogKind::Unknown, 0));
                let s = if rayon::current_num_threads() > 1 && in_flight.load(Ordering::Relaxed) < max_in_flight {
                    let mut buf = Vec::new();
                    match reader.take(PARALLEL_MEMBER_BYTES + 1).read_to_end(&mut buf) {
                        Ok(_) if buf.len() as u64 <= PARALLEL_MEMBER_BYTES => {
                            in_flight.fetch_add(1, Ordering::Relaxed);
                            let (path, done, in_flight, analyze_member) =
                                (path.to_string(), &done, &in_flight, &analyze_member);
                            scope.spawn(move |_| {
                                let s = analyze_member(at, &path, size, &mut std::io::Cursor::new(buf));
                                done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((at, s));
                                in_flight.fetch_sub(1, Ordering::Relaxed);
                            });
                            return;
                        }
                        // Larger: the bytes read, then the rest as it comes.
                        Ok(_) => analyze_member(at, path, size, &mut std::io::Cursor::new(buf).chain(reader)),
                        Err(e) => analyze_member(
                            at,
                            path,
                            size,
                            &mut Replay { bytes: std::io::Cursor::new(buf), error: Some(e) },
                        ),
                    }
                } else {
                    analyze_member(at, path, size, reader)
                };
                done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((at, s));
            }
        };
        archive::walk(shown, reader, &limits, &mut on);
    });
    for (at, mut s) in done.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        // The walker's word on a member (a limit, a bad checksum) wins.
        if let Some(e) = out[at].error.take() {
            s.error = Some(e);
        }
        out[at] = s;
    }
    out
}

/// Bytes read before a read failed, then that failure.
struct Replay {
    bytes: std::io::Cursor<Vec<u8>>,
    error: Option<std::io::Error>,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.bytes.read(buf)? {
            0 if !buf.is_empty() => Err(self.error.take().unwrap_or_else(|| std::io::Error::other("read failed"))),
            n => Ok(n),
        }
    }
}

/// Classify, decode, parse and scan one source. A panic in any parser
/// becomes an error on this source only.
fn analyze<R: Read>(
    path: String,
    name: &str,
    reader: R,
    kind: Option<LogKind>,
    idx: usize,
    rules: &RuleSet,
    ctx: stream::Context<'_>,
) -> (Source, Vec<Hit>) {
    let result = catch_unwind(AssertUnwindSafe(|| analyze_inner(path.clone(), name, reader, kind, idx, rules, ctx)));
    match result {
        Ok(r) => r,
        Err(p) => {
            let why = crate::panic_text(p.as_ref());
            let mut s = source(path, kind.unwrap_or(LogKind::Unknown), 0);
            s.error = Some(format!("internal error while reading this file: {why}"));
            (s, Vec::new())
        }
    }
}

fn analyze_inner<R: Read>(
    path: String,
    name: &str,
    mut reader: R,
    kind: Option<LogKind>,
    idx: usize,
    rules: &RuleSet,
    ctx: stream::Context<'_>,
) -> (Source, Vec<Hit>) {
    let mut head = Vec::with_capacity(classify::SNIFF_BYTES);
    if let Err(e) = (&mut reader).take(classify::SNIFF_BYTES as u64).read_to_end(&mut head) {
        let mut s = source(path, LogKind::Unknown, head.len() as u64);
        s.error = Some(format!("read failed: {}", sources::describe_io(&e)));
        return (s, Vec::new());
    }
    let mut s = source(path, LogKind::Unknown, head.len() as u64);
    if kind.is_none() && classify::by_name(name).is_none() && decode::looks_binary(&head) {
        s.warnings.push("binary content; not a log".into());
        s.bytes += drain(&mut reader);
        return (s, Vec::new());
    }
    let (encoding, bom) = decode::sniff(&head);
    let head_text = decode::decode(&head);
    let kind = kind.unwrap_or_else(|| classify::classify(name, &head_text.text));
    s.kind = kind;
    s.encoding = Some(encoding.as_str());
    if bom == 0 && matches!(encoding, Encoding::Utf16Le | Encoding::Utf16Be) {
        s.warnings.push(format!("no byte-order mark; read as {}", encoding.as_str().to_uppercase()));
    }
    let mut hits = Vec::new();
    match kind {
        LogKind::Unknown => {
            // Not decoded: no encoding to report.
            s.encoding = None;
            s.warnings.clear();
            s.bytes += drain(&mut reader);
        }
        k if k.is_panther() => {
            match stream::stream_panther(&mut reader, &head[bom..], encoding, k, rules, idx, rules.reads(k), ctx) {
                Ok(out) => {
                    s.bytes += out.bytes;
                    s.records = out.records;
                    s.warnings.extend(out.warnings);
                    hits = out.hits;
                }
                Err(e) => s.error = Some(format!("read failed: {}", sources::describe_io(&e))),
            }
            if encoding == Encoding::Utf8 && s.warnings.iter().any(|w| w.contains("Windows-1252")) {
                s.encoding = Some(Encoding::Utf8WithCp1252.as_str());
            }
        }
        LogKind::Setupapi | LogKind::Windowsupdate => {
            match whole::read_chunked(&mut reader, &head[bom..], encoding, kind, rules, idx, rules.reads(kind), ctx) {
                Ok(out) => {
                    s.bytes += out.bytes;
                    s.records = out.records;
                    s.warnings.extend(out.warnings);
                    hits = out.hits;
                    if out.cp1252 && encoding == Encoding::Utf8 {
                        s.encoding = Some(Encoding::Utf8WithCp1252.as_str());
                    }
                }
                Err(e) => s.error = Some(format!("read failed: {}", sources::describe_io(&e))),
            }
        }
        _ => {
            let mut bytes = head;
            let limit = MAX_WHOLE_BYTES;
            if let Err(e) = (&mut reader).take(limit + 1 - bytes.len() as u64).read_to_end(&mut bytes) {
                s.error = Some(format!("read failed: {}", sources::describe_io(&e)));
                return (s, hits);
            }
            s.bytes = bytes.len() as u64;
            if s.bytes > limit {
                s.bytes += drain(&mut reader);
                s.error = Some(format!("larger than {} MiB: too large to parse as {kind}", limit >> 20));
                return (s, hits);
            }
            if let Some(p) = ctx.progress {
                p(s.bytes);
            }
            let decoded = decode::decode(&bytes);
            s.encoding = Some(decoded.encoding.as_str());
            s.warnings.extend(decoded.warnings.iter().filter(|w| !w.starts_with("no byte-order mark")).cloned());
            let text: &str = &decoded.text;
            let records: Vec<Record> = match kind {
                LogKind::SetupdiagText => setupdiag::parse_text(text).records(),
                LogKind::SetupdiagXml => match setupdiag::parse_xml(text) {
                    Ok(sd) => sd.records(),
                    Err(e) => {
                        s.error = Some(format!("not valid SetupDiag XML: {e}"));
                        return (s, hits);
                    }
                },
                _ => Vec::new(),
            };
            s.records = records.len() as u64;
            if rules.reads(kind) {
                scan(rules, kind, text, idx, Some(&records), &mut hits);
            }
        }
    }
    (s, hits)
}

/// Read the rest of a source without keeping it (to report its size).
fn drain<R: Read>(reader: &mut R) -> u64 {
    std::io::copy(reader, &mut std::io::sink()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_report_whatever_the_thread_count() {
        let rules = RuleSet::embedded().unwrap();
        let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let json = |threads| {
            let opts = DiagnoseOptions { threads: Some(threads), ..Default::default() };
            serde_json::to_string(&diagnose(std::slice::from_ref(&ex), &rules, &opts).unwrap()).unwrap()
        };
        let one = json(1);
        assert!(one.contains("wu-0x80070003-driver-files-missing"));
        assert_eq!(one, json(2));
        assert_eq!(one, json(4));
    }

    #[test]
    fn each_input_is_its_own_machine_whatever_the_threads() {
        let rules = RuleSet::embedded().unwrap();
        let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&ex).unwrap().map(|e| e.unwrap().path()).collect();
        inputs.sort();
        // More inputs than one window, repeated, so order is really tested.
        let inputs: Vec<PathBuf> = inputs.iter().cycle().take(inputs.len() * 5).cloned().collect();
        let each = |threads| {
            let opts = DiagnoseOptions { threads: Some(threads), ..Default::default() };
            let mut lines = Vec::new();
            diagnose_each(&inputs, &rules, &opts, |r| {
                lines.push(serde_json::to_string(&r).unwrap());
                true
            })
            .unwrap();
            lines
        };
        let one = each(1);
        assert_eq!(one, each(3));
        assert_eq!(one.len(), inputs.len());
        for (line, input) in one.iter().zip(&inputs) {
            let mut alone = diagnose(std::slice::from_ref(input), &rules, &DiagnoseOptions::default()).unwrap();
            alone.input = Some(display(input));
            assert_eq!(line, &serde_json::to_string(&alone).unwrap());
        }
        // `emit` returning false stops the run.
        let mut seen = 0;
        diagnose_each(&inputs, &rules, &DiagnoseOptions::default(), |_| {
            seen += 1;
            seen < 2
        })
        .unwrap();
        assert_eq!(seen, 2);
    }
}
