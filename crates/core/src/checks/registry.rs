//! What the SOFTWARE registry hive says about servicing: the servicing stack versions that
//! Component Based Servicing has registered, and which Windows this is.
//!
//! An offline hive (`<root>\Windows\System32\config\SOFTWARE`) is read with `notatin`, entirely in
//! memory: the hive and its transaction logs are read into buffers and nothing is ever written
//! back. A dirty hive (one Windows did not finish writing) is brought up to date in memory from
//! the `.LOG1`/`.LOG2` files beside it, when they are in the format Windows 8.1 and later write.
//! On Windows the running system's registry can be read instead ([`read_live_software`]).

use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use notatin::cell_key_node::CellKeyNode;
use notatin::cell_key_value::CellKeyValueDataTypes;
use notatin::cell_value::CellValue;
use notatin::log::LogCode;
use notatin::parser::Parser;
use notatin::parser_builder::ParserBuilder;

/// The Component Based Servicing key, relative to the root of the SOFTWARE hive.
pub const CBS_KEY: &str = r"Microsoft\Windows\CurrentVersion\Component Based Servicing";
/// The CBS `Version` key: one value per servicing stack version, data = its WinSxS folder.
pub const CBS_VERSION_KEY: &str = r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Version";
/// Where Windows keeps its product name, build and update revision.
pub const NT_CURRENT_VERSION_KEY: &str = r"Microsoft\Windows NT\CurrentVersion";
/// The values of [`NT_CURRENT_VERSION_KEY`] copied into [`SoftwareInfo::os`].
pub const OS_VALUE_NAMES: [&str; 9] = [
    "ProductName",
    "DisplayVersion",
    "ReleaseId",
    "CurrentBuild",
    "CurrentBuildNumber",
    "UBR",
    "EditionID",
    "InstallationType",
    "CurrentVersion",
];

/// One servicing stack version registered under the CBS `Version` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CbsVersion {
    /// The value name, e.g. `10.0.19041.4717`.
    pub version: String,
    /// The value's data as stored (not expanded), e.g.
    /// `%SystemRoot%\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_...`.
    pub path: String,
}

/// What the SOFTWARE hive says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SoftwareInfo {
    /// `Microsoft\Windows\CurrentVersion\Component Based Servicing` exists.
    pub cbs_key_present: bool,
    /// `...\Component Based Servicing\Version` exists.
    pub version_key_present: bool,
    /// Values of the Version key (value name = version, data = folder path), sorted by version
    /// numerically, highest first.
    pub cbs_versions: Vec<CbsVersion>,
    /// From `Microsoft\Windows NT\CurrentVersion`: ProductName, DisplayVersion, ReleaseId,
    /// CurrentBuild, CurrentBuildNumber, UBR (DWORD -> decimal string), EditionID,
    /// InstallationType, CurrentVersion -- only those present.
    pub os: BTreeMap<String, String>,
    /// Things worth telling the user: "dirty hive: replayed SOFTWARE.LOG1, SOFTWARE.LOG2",
    /// "dirty hive but no transaction logs beside it: read as is (may be stale)", ...
    pub notes: Vec<String>,
}

/// A value's data, decoded as far as this module cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    Str(String),
    Dword(u32),
    Qword(u64),
    /// Any other type, by name (`REG_BINARY`, ...).
    Other(String),
}

/// One key's values, or why they could not be had.
enum KeyRead {
    Absent,
    Present(Vec<(String, Data)>),
}

/// Turns what was read into a [`SoftwareInfo`]; shared by the offline and the live reader.
fn assemble(
    cbs_key_present: bool,
    version: KeyRead,
    nt_current_version: KeyRead,
    mut notes: Vec<String>,
) -> SoftwareInfo {
    let version_key_present = matches!(version, KeyRead::Present(_));
    let mut cbs_versions = Vec::new();
    if let KeyRead::Present(values) = version {
        for (name, data) in values {
            match data {
                Data::Str(path) if !name.is_empty() => cbs_versions.push(CbsVersion { version: name, path }),
                Data::Str(_) => {
                    notes.push(format!("the default value of `{CBS_VERSION_KEY}` is set; it names no version: ignored"))
                }
                other => notes.push(format!(
                    "value `{name}` of `{CBS_VERSION_KEY}` is {}, not REG_EXPAND_SZ or REG_SZ: ignored",
                    type_name(&other)
                )),
            }
        }
    }
    cbs_versions.sort_by(|a, b| version_cmp(&b.version, &a.version));

    let mut os = BTreeMap::new();
    if let KeyRead::Present(values) = nt_current_version {
        for wanted in OS_VALUE_NAMES {
            // Value names are case-insensitive; the first match wins, as in the registry.
            let Some((_, data)) = values.iter().find(|(n, _)| n.eq_ignore_ascii_case(wanted)) else {
                continue;
            };
            match data {
                Data::Str(s) => {
                    os.insert(wanted.to_string(), s.clone());
                }
                Data::Dword(v) => {
                    os.insert(wanted.to_string(), v.to_string());
                }
                Data::Qword(v) => {
                    os.insert(wanted.to_string(), v.to_string());
                }
                Data::Other(_) => notes
                    .push(format!("value `{wanted}` of `{NT_CURRENT_VERSION_KEY}` is {}: ignored", type_name(data))),
            }
        }
    }

    SoftwareInfo { cbs_key_present, version_key_present, cbs_versions, os, notes }
}

fn type_name(data: &Data) -> String {
    match data {
        Data::Str(_) => "a string".to_string(),
        Data::Dword(_) => "REG_DWORD".to_string(),
        Data::Qword(_) => "REG_QWORD".to_string(),
        Data::Other(t) => t.clone(),
    }
}

/// Compares dotted versions part by part, numerically where both parts are numbers
/// (`10.0.19041.4717` > `10.0.19041.964`); a numeric part ranks above a non-numeric one.
fn version_cmp(a: &str, b: &str) -> Ordering {
    let mut pa = a.split('.');
    let mut pb = b.split('.');
    loop {
        match (pa.next(), pb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Greater,
                    (Err(_), Ok(_)) => Ordering::Less,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Decodes raw registry data by its type number (used for the live registry).
#[cfg(any(windows, test))]
fn decode_raw(vtype: u32, bytes: &[u8]) -> Data {
    match vtype {
        1 | 2 => {
            let units: Vec<u16> =
                bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
            Data::Str(String::from_utf16_lossy(&units))
        }
        4 if bytes.len() >= 4 => Data::Dword(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        5 if bytes.len() >= 4 => Data::Dword(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        11 if bytes.len() >= 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            Data::Qword(u64::from_le_bytes(b))
        }
        t => Data::Other(
            match t {
                0 => "REG_NONE",
                3 => "REG_BINARY",
                4 => "REG_DWORD (too short)",
                5 => "REG_DWORD_BIG_ENDIAN (too short)",
                6 => "REG_LINK",
                7 => "REG_MULTI_SZ",
                8 => "REG_RESOURCE_LIST",
                9 => "REG_FULL_RESOURCE_DESCRIPTOR",
                10 => "REG_RESOURCE_REQUIREMENTS_LIST",
                11 => "REG_QWORD (too short)",
                _ => return Data::Other(format!("of type {t}")),
            }
            .to_string(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Offline hives
// ---------------------------------------------------------------------------------------------

/// The base block is 4096 bytes; its checksummed part is the first 512.
const BASE_BLOCK_LEN: usize = 4096;
/// A hive file cannot be larger than this (the format's offsets are 32-bit).
const MAX_HIVE_LEN: u64 = 4 << 30;
/// Transaction logs are read whole into memory too; real ones are a few MiB at most.
const MAX_LOG_LEN: u64 = 1 << 30;

/// What the base block of a primary hive file says.
#[derive(Debug)]
struct Header {
    primary_seq: u32,
    secondary_seq: u32,
    checksum_ok: bool,
}

impl Header {
    fn dirty(&self) -> bool {
        self.primary_seq != self.secondary_seq || !self.checksum_ok
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The base block checksum: XOR-32 of the first 508 bytes (0 and 0xFFFFFFFF are avoided).
fn base_block_checksum(b: &[u8]) -> u32 {
    let x = (0..508).step_by(4).fold(0u32, |x, at| x ^ le32(b, at));
    match x {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        x => x,
    }
}

/// Checks that `bytes` is a primary hive file notatin can be given, with a clear reason if not.
fn check_header(bytes: &[u8]) -> Result<Header, String> {
    if bytes.is_empty() {
        return Err("not a registry hive (the file is empty)".into());
    }
    if !bytes.starts_with(b"regf") {
        return Err(if bytes.starts_with(b"CREG") {
            "not a Windows NT registry hive (no regf signature; this is a Windows 9x/Me CREG registry file)".into()
        } else if bytes.starts_with(b"hbin") {
            "not a registry hive (no regf signature; it starts with a hive bin, so it may be a piece of a hive without its base block)".into()
        } else {
            "not a registry hive (no regf signature)".into()
        });
    }
    if bytes.len() < BASE_BLOCK_LEN {
        return Err(format!(
            "truncated hive: the file is {} bytes, shorter than the 4096-byte base block",
            bytes.len()
        ));
    }
    let checksum_ok = base_block_checksum(bytes) == le32(bytes, 0x1FC);
    let (major, minor) = (le32(bytes, 0x14), le32(bytes, 0x18));
    let file_type = le32(bytes, 0x1C);
    let root = le32(bytes, 0x24) as usize;
    let hbins_len = le32(bytes, 0x28) as usize;
    let damaged = if checksum_ok { "" } else { " (and the base block checksum is wrong)" };
    if major != 1 {
        return Err(format!("unsupported registry hive format version {major}.{minor}{damaged}"));
    }
    match file_type {
        0 => {}
        1 | 2 | 6 => {
            return Err(format!(
                "this is a registry transaction log, not a hive{damaged}: give the hive file it belongs to (its name without .LOG1/.LOG2)"
            ))
        }
        n => return Err(format!("corrupt hive: unknown file type {n} in the base block{damaged}")),
    }
    if bytes.len() < BASE_BLOCK_LEN + 32 || &bytes[BASE_BLOCK_LEN..BASE_BLOCK_LEN + 4] != b"hbin" {
        return Err(if bytes.len() < BASE_BLOCK_LEN + 32 {
            format!("truncated hive: the file is {} bytes, it ends right after the base block", bytes.len())
        } else {
            "corrupt hive: no hive bin (hbin) right after the base block".into()
        });
    }
    if checksum_ok {
        // A wrong checksum means these fields may be replaced from a transaction log: only
        // trust them when the base block is intact.
        if hbins_len == 0 || !hbins_len.is_multiple_of(4096) {
            return Err(format!(
                "corrupt hive: the base block gives a hive bins size of {hbins_len} bytes, not a positive multiple of 4096"
            ));
        }
        if bytes.len() - BASE_BLOCK_LEN < hbins_len {
            return Err(format!(
                "truncated hive: the base block says the hive bins take {hbins_len} bytes, but only {} bytes follow it in the file",
                bytes.len() - BASE_BLOCK_LEN
            ));
        }
        if root >= hbins_len {
            return Err(format!(
                "corrupt hive: the root key offset 0x{root:x} lies outside the hive bins ({hbins_len} bytes)"
            ));
        }
    }
    Ok(Header { primary_seq: le32(bytes, 4), secondary_seq: le32(bytes, 8), checksum_ok })
}

/// A transaction log beside the hive, read into memory.
struct LogFile {
    name: String,
    bytes: Vec<u8>,
}

/// Finds `<hive>.LOG1` and `<hive>.LOG2` (any letter case) beside the hive.
fn find_logs(hive: &Path) -> Vec<(String, std::path::PathBuf)> {
    let (Some(dir), Some(name)) = (hive.parent(), hive.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let name = name.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file_name = e.file_name().to_string_lossy().into_owned();
            let suffix = file_name.get(name.len()..)?;
            let matches = file_name.get(..name.len()).is_some_and(|stem| stem.eq_ignore_ascii_case(&name))
                && (suffix.eq_ignore_ascii_case(".LOG1") || suffix.eq_ignore_ascii_case(".LOG2"));
            (matches && e.path().is_file()).then(|| (file_name, e.path()))
        })
        .collect();
    // LOG1 before LOG2; with several spellings of one name, a stable choice.
    found.sort_by(|a, b| a.0.to_ascii_uppercase().cmp(&b.0.to_ascii_uppercase()).then(a.0.cmp(&b.0)));
    found.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
    found
}

/// A transaction log left out, and why.
struct Skipped {
    name: String,
    why: String,
    /// Normal on a healthy system (an empty or an outdated log): worth saying only when no
    /// log could be used at all.
    routine: bool,
}

/// Reads the logs of a dirty hive and sorts them into those worth giving to notatin and those
/// left out (with the reason).
fn select_logs(hive: &Path, header: &Header) -> (Vec<LogFile>, Vec<Skipped>) {
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    for (name, path) in find_logs(hive) {
        let mut skip = |why: String, routine: bool| skipped.push(Skipped { name: name.clone(), why, routine });
        let bytes = match read_limited(&path, MAX_LOG_LEN) {
            Ok(b) => b,
            Err(e) => {
                skip(e, false);
                continue;
            }
        };
        if bytes.is_empty() {
            skip("it is empty".into(), true);
            continue;
        }
        if bytes.len() < 512 || !bytes.starts_with(b"regf") {
            skip("not a transaction log (no regf signature)".into(), false);
            continue;
        }
        if base_block_checksum(&bytes) != le32(&bytes, 0x1FC) {
            skip("its base block checksum is wrong".into(), false);
            continue;
        }
        match le32(&bytes, 0x1C) {
            6 => {}
            1 | 2 => {
                skip("it is in the old log format (Windows 8 and earlier), which cannot be replayed".into(), false);
                continue;
            }
            n => {
                skip(format!("not a transaction log (file type {n})"), false);
                continue;
            }
        }
        let log_seq = le32(&bytes, 4);
        if header.checksum_ok && log_seq < header.secondary_seq {
            skip(format!("it is older than the hive (log sequence {log_seq}, hive {})", header.secondary_seq), true);
            continue;
        }
        if bytes.get(512..516) != Some(b"HvLE".as_slice()) {
            skip("it holds no log entries".into(), true);
            continue;
        }
        usable.push(LogFile { name, bytes });
    }
    if !header.checksum_ok && usable.len() > 1 {
        // With a damaged base block only the newest log is used (its base block replaces the
        // hive's); notatin does the same, this way the notes name the log really used.
        usable.sort_by_key(|l| le32(&l.bytes, 4));
        let newest = usable.pop().expect("more than one");
        for older in usable.drain(..) {
            skipped.push(Skipped {
                name: older.name,
                why: "the hive's base block is damaged, so only the newest log is used".into(),
                routine: true,
            });
        }
        usable.push(newest);
    }
    (usable, skipped)
}

/// Reads a whole file, read-only, refusing anything larger than `max`.
fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use crate::sources::open::{read_regular, OpenError};
    read_regular(path, max).map_err(|e| match e {
        OpenError::Io(e) => format!("cannot open it: {}", crate::sources::describe_io(&e)),
        OpenError::NotRegular(what) => format!("it is {what}, not a file"),
        OpenError::TooLarge { len, .. } => format!("it is {len} bytes, too large to be a registry file"),
    })
}

/// Why one parse attempt failed.
enum Failure {
    Parse(String),
    Panic(String),
}

/// What notatin reported about the transaction logs.
#[derive(Default)]
struct ReplayReport {
    /// Sequence number after replay (0: no log entry was applied).
    applied_up_to: Option<u32>,
    warnings: Vec<String>,
}

/// Read an offline SOFTWARE hive (e.g. `<root>/Windows/System32/config/SOFTWARE`). Transaction
/// logs `<hive>.LOG1/.LOG2` beside it (any letter case) are applied when the hive is dirty.
/// Errors are one clear sentence naming the file and the problem ("not a registry hive (no regf
/// signature)", "truncated hive: ...", "corrupt hive: ...", "the parser crashed on this hive:
/// ..."). Never panics. Never writes anything: the files are opened read-only and read into
/// memory, and notatin only ever sees those in-memory copies, so transaction logs are applied
/// in memory only.
pub fn read_offline_software(hive: &Path) -> Result<SoftwareInfo, String> {
    let shown = hive.display();
    let bytes = read_limited(hive, MAX_HIVE_LEN).map_err(|e| format!("{shown}: {e}"))?;
    let header = check_header(&bytes).map_err(|e| format!("{shown}: {e}"))?;

    let mut notes = Vec::new();
    let mut logs = Vec::new();
    if header.dirty() {
        let (usable, skipped) = select_logs(hive, &header);
        let none_usable = usable.is_empty();
        for s in &skipped {
            if none_usable || !s.routine {
                notes.push(format!("skipped transaction log {}: {}", s.name, s.why));
            }
        }
        if none_usable {
            let no_logs = skipped.is_empty();
            notes.push(match (header.checksum_ok, no_logs) {
                (true, true) => {
                    "dirty hive but no transaction logs beside it: read as is (may be stale)".into()
                }
                (true, false) => {
                    "dirty hive but no usable transaction log beside it: read as is (may be stale)"
                        .into()
                }
                (false, true) => "the hive's base block is damaged (wrong checksum) and there are no transaction logs beside it to repair it: read as is (results may be stale or wrong)".into(),
                (false, false) => "the hive's base block is damaged (wrong checksum) and no transaction log beside it can repair it: read as is (results may be stale or wrong)".into(),
            });
        }
        logs = usable;
    }

    let outcome = if logs.is_empty() {
        attempt(bytes, Vec::new())
    } else {
        let names: Vec<String> = logs.iter().map(|l| l.name.clone()).collect();
        // The hive's bytes go to notatin; if the replay fails, the file is read again rather
        // than kept twice in memory (a SOFTWARE hive can be a few hundred MiB).
        match attempt(bytes, logs) {
            Ok((info, report)) => {
                match report.applied_up_to {
                    Some(0) => notes.push(format!(
                        "dirty hive: no entry of {} could be applied: read as is (may be stale)",
                        names.join(", ")
                    )),
                    _ if header.checksum_ok => {
                        notes.push(format!("dirty hive: replayed {}", names.join(", ")))
                    }
                    _ => notes.push(format!(
                        "dirty hive with a damaged base block (wrong checksum): replayed {}, whose base block replaces the hive's",
                        names.join(", ")
                    )),
                }
                notes.extend(report.warnings.into_iter().map(|w| format!("while replaying the transaction logs: {w}")));
                Ok((info, ReplayReport::default()))
            }
            Err(failure) => {
                let why = match failure {
                    Failure::Parse(e) => e,
                    Failure::Panic(e) => format!("the parser crashed: {e}"),
                };
                notes.push(format!(
                    "dirty hive: replaying {} failed ({why}): read as is (may be stale)",
                    names.join(", ")
                ));
                let bytes = read_limited(hive, MAX_HIVE_LEN).map_err(|e| format!("{shown}: {e}"))?;
                check_header(&bytes).map_err(|e| format!("{shown}: {e}"))?;
                attempt(bytes, Vec::new())
            }
        }
    };
    match outcome {
        Ok((mut info, _)) => {
            notes.append(&mut info.notes);
            info.notes = notes;
            Ok(info)
        }
        Err(Failure::Parse(e)) => Err(format!("{shown}: {e}")),
        Err(Failure::Panic(e)) => Err(format!("{shown}: the parser crashed on this hive: {e}")),
    }
}

/// One parse with notatin, inside `catch_unwind` so that a panic in it becomes an error.
fn attempt(bytes: Vec<u8>, logs: Vec<LogFile>) -> Result<(SoftwareInfo, ReplayReport), Failure> {
    guarded(move || parse(bytes, logs))
}

/// Runs `f`, turning a panic into [`Failure::Panic`] with the panic's message.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, Failure> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(Failure::Parse(e)),
        Err(payload) => Err(Failure::Panic(crate::panic_text(payload.as_ref()))),
    }
}

fn parse(bytes: Vec<u8>, logs: Vec<LogFile>) -> Result<(SoftwareInfo, ReplayReport), String> {
    let with_logs = !logs.is_empty();
    let mut builder = ParserBuilder::from_file(std::io::Cursor::new(bytes));
    builder.recover_deleted(false);
    for log in logs {
        builder.with_transaction_log(std::io::Cursor::new(log.bytes));
    }
    let mut parser = builder.build().map_err(|e| format!("corrupt hive: {}", describe(&e)))?;

    let mut report = ReplayReport::default();
    if with_logs {
        for log in parser.get_parse_logs().get().into_iter().flatten() {
            match log.code {
                LogCode::Info => {
                    if let Some(rest) = log.text.split("updated to ").nth(1) {
                        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                        report.applied_up_to = digits.parse().ok();
                    }
                }
                LogCode::WarningTransactionLog | LogCode::WarningParse
                    if !log.text.starts_with("Skipping log entry;") =>
                {
                    report.warnings.push(log.text.clone());
                }
                _ => {}
            }
        }
    }

    let mut root = match parser.get_root_key() {
        Ok(Some(root)) => root,
        Ok(None) => return Err("corrupt hive: the root key cannot be read".into()),
        Err(e) => return Err(format!("corrupt hive: the root key cannot be read ({})", describe(&e))),
    };

    let mut notes = Vec::new();
    let (cbs_key_present, version) = match walk(&mut parser, &mut root, CBS_KEY) {
        Walk::Found(mut cbs) => {
            let version = match walk(&mut parser, &mut cbs, "Version") {
                Walk::Found(key) => KeyRead::Present(key_values(&key).map_err(|e| format!("corrupt hive: {e}"))?),
                Walk::Missing { .. } => KeyRead::Absent,
                Walk::Unreadable { why } => return Err(format!("corrupt hive: {why}")),
            };
            (true, version)
        }
        Walk::Missing { .. } => (false, KeyRead::Absent),
        Walk::Unreadable { why } => return Err(format!("corrupt hive: {why}")),
    };
    let mut microsoft_missing = false;
    let nt = match walk(&mut parser, &mut root, NT_CURRENT_VERSION_KEY) {
        Walk::Found(key) => match key_values(&key) {
            Ok(values) => KeyRead::Present(values),
            Err(e) => {
                notes.push(format!("{e} (the hive may be corrupt)"));
                KeyRead::Absent
            }
        },
        Walk::Missing { depth } => {
            microsoft_missing = depth == 0;
            KeyRead::Absent
        }
        Walk::Unreadable { why } => {
            notes.push(format!("{why} (the hive may be corrupt)"));
            KeyRead::Absent
        }
    };

    let mut info = assemble(cbs_key_present, version, nt, notes);
    if microsoft_missing {
        info.notes.push("the hive has no `Microsoft` key at its root: it does not look like a SOFTWARE hive".into());
    } else if !info.cbs_key_present && info.os.is_empty() {
        info.notes.push(format!(
            "the hive has neither `{CBS_KEY}` nor Windows version values in `{NT_CURRENT_VERSION_KEY}`: it may not be the machine's SOFTWARE hive (a user's Software hive?)"
        ));
    }
    Ok((info, report))
}

/// notatin's errors in words that fit after "corrupt hive: ".
fn describe(e: &notatin::err::Error) -> String {
    use notatin::err::Error as E;
    match e {
        E::Nom { .. } => "a structure in it cannot be parsed".into(),
        E::Buffer { detail } => format!("an offset in it points outside the file ({detail})"),
        other => other.to_string(),
    }
}

enum Walk {
    Found(Box<CellKeyNode>),
    /// `depth`: how many path parts were found before the missing one.
    Missing {
        depth: usize,
    },
    Unreadable {
        why: String,
    },
}

/// Follows `path` (parts matched case-insensitively) down from `start`, telling a key that is
/// not there from one whose parent's subkey list cannot be read.
fn walk(parser: &mut Parser, start: &mut CellKeyNode, path: &str) -> Walk {
    let mut current = start.clone();
    let target = join(start.get_pretty_path(), path);
    for (depth, part) in path.split('\\').enumerate() {
        let warnings_before = warning_count(&current);
        let children = current.read_sub_keys(parser);
        let wanted = part.to_lowercase();
        if let Some(child) = children.into_iter().find(|k| k.key_name.to_lowercase() == wanted) {
            current = child;
            continue;
        }
        let expected = current.detail.number_of_sub_keys() as usize;
        let read = current.cell_sub_key_offsets_absolute.len();
        if warning_count(&current) > warnings_before || (expected > 0 && read < expected) {
            let here = current.get_pretty_path().trim_start_matches('\\');
            let shown = if here.is_empty() { "the root key".to_string() } else { format!("`{here}`") };
            let prefix = format!("{}: ", current.path);
            let detail = last_warning(&current)
                .map(|w| format!(" ({})", w.strip_prefix(&prefix).unwrap_or(&w)))
                .unwrap_or_default();
            return Walk::Unreadable {
                why: format!(
                    "the subkeys of {shown} cannot all be read, so `{target}` may be missing only because of damage{detail}"
                ),
            };
        }
        return Walk::Missing { depth };
    }
    Walk::Found(Box::new(current))
}

fn join(a: &str, b: &str) -> String {
    let a = a.trim_start_matches('\\');
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}\\{b}")
    }
}

fn warning_count(key: &CellKeyNode) -> usize {
    key.logs.get().map_or(0, Vec::len)
}

fn last_warning(key: &CellKeyNode) -> Option<String> {
    key.logs.get().and_then(|l| l.last()).map(|l| l.text.clone())
}

/// All values of a key, or an error when its value list cannot be read.
fn key_values(key: &CellKeyNode) -> Result<Vec<(String, Data)>, String> {
    if let Some(bad) = key
        .logs
        .get()
        .into_iter()
        .flatten()
        .find(|l| l.text.starts_with("Unable to parse values") || l.text.starts_with("read_values"))
    {
        return Err(format!(
            "the values of `{}` cannot be read: {}",
            key.get_pretty_path().trim_start_matches('\\'),
            bad.text
        ));
    }
    let expected = key.detail.number_of_key_values() as usize;
    let read = key.value_iter().count();
    if read < expected {
        return Err(format!(
            "the values of `{}` cannot all be read ({read} of {expected})",
            key.get_pretty_path().trim_start_matches('\\')
        ));
    }
    Ok(key
        .value_iter()
        .map(|v| {
            let name = v.detail.value_name();
            let (content, _) = v.get_content();
            let data = match (v.data_type, content) {
                (CellKeyValueDataTypes::REG_SZ | CellKeyValueDataTypes::REG_EXPAND_SZ, CellValue::String(s)) => {
                    Data::Str(s)
                }
                (CellKeyValueDataTypes::REG_DWORD | CellKeyValueDataTypes::REG_DWORD_BIG_ENDIAN, CellValue::U32(n)) => {
                    Data::Dword(n)
                }
                (CellKeyValueDataTypes::REG_QWORD, CellValue::U64(n)) => Data::Qword(n),
                (t, _) => Data::Other(format!("{t:?}")),
            };
            (name, data)
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The live registry
// ---------------------------------------------------------------------------------------------

/// The same from the running system's registry (HKLM\SOFTWARE, 64-bit view). On permission
/// problems, Err says so.
#[cfg(windows)]
pub fn read_live_software() -> Result<SoftwareInfo, String> {
    use std::io::ErrorKind;
    use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_64KEY};
    use winreg::RegKey;

    let hklm = RegKey::predef(HKEY_LOCAL_MACHINE);
    let open = |path: &str| -> Result<Option<RegKey>, String> {
        match hklm.open_subkey_with_flags(format!(r"SOFTWARE\{path}"), KEY_READ | KEY_WOW64_64KEY) {
            Ok(key) => Ok(Some(key)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(format!(
                r"access denied reading HKLM\SOFTWARE\{path}: run servicing-doctor as an administrator ({e})"
            )),
            Err(e) => Err(format!(r"cannot open HKLM\SOFTWARE\{path}: {e}")),
        }
    };
    let values = |key: &RegKey, path: &str| -> Result<Vec<(String, Data)>, String> {
        let mut out = Vec::new();
        for item in key.enum_values() {
            match item {
                Ok((name, value)) => out.push((name, decode_raw(value.vtype.clone() as u32, &value.bytes))),
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                    return Err(format!(
                        r"access denied reading the values of HKLM\SOFTWARE\{path}: run servicing-doctor as an administrator ({e})"
                    ))
                }
                Err(e) => return Err(format!(r"cannot read the values of HKLM\SOFTWARE\{path}: {e}")),
            }
        }
        Ok(out)
    };

    let cbs = open(CBS_KEY)?;
    let version = match open(CBS_VERSION_KEY)? {
        Some(key) => KeyRead::Present(values(&key, CBS_VERSION_KEY)?),
        None => KeyRead::Absent,
    };
    let nt = match open(NT_CURRENT_VERSION_KEY)? {
        Some(key) => KeyRead::Present(values(&key, NT_CURRENT_VERSION_KEY)?),
        None => KeyRead::Absent,
    };
    Ok(assemble(cbs.is_some(), version, nt, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::regf_writer::HiveBuilder;

    const STACK: &str = r"%SystemRoot%\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e1bd7147c8285b2";

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read_bytes(bytes: &[u8]) -> Result<SoftwareInfo, String> {
        let dir = tempfile::tempdir().unwrap();
        read_offline_software(&write(dir.path(), "SOFTWARE", bytes))
    }

    fn software(versions: &[(&str, &str)]) -> HiveBuilder {
        let mut b = HiveBuilder::new();
        b.key(CBS_VERSION_KEY);
        for (v, p) in versions {
            b.value_sz(CBS_VERSION_KEY, v, p, true);
        }
        b.value_sz(NT_CURRENT_VERSION_KEY, "ProductName", "Windows 10 Pro", false)
            .value_sz(NT_CURRENT_VERSION_KEY, "CurrentBuild", "19045", false)
            .value_dword(NT_CURRENT_VERSION_KEY, "UBR", 4780);
        b
    }

    #[test]
    fn one_version() {
        let info = read_bytes(&software(&[("10.0.19041.4717", STACK)]).build()).unwrap();
        assert!(info.cbs_key_present && info.version_key_present);
        assert_eq!(info.cbs_versions, [CbsVersion { version: "10.0.19041.4717".into(), path: STACK.into() }]);
        assert_eq!(info.os["UBR"], "4780");
        assert_eq!(info.os["ProductName"], "Windows 10 Pro");
        assert_eq!(info.os.len(), 3);
        assert!(info.notes.is_empty(), "{:?}", info.notes);
    }

    #[test]
    fn versions_sorted_numerically_highest_first() {
        let info = read_bytes(
            &software(&[("10.0.19041.964", "a"), ("10.0.19041.4717", "b"), ("10.0.19041.1237", "c")]).build(),
        )
        .unwrap();
        let v: Vec<&str> = info.cbs_versions.iter().map(|c| c.version.as_str()).collect();
        assert_eq!(v, ["10.0.19041.4717", "10.0.19041.1237", "10.0.19041.964"]);
    }

    #[test]
    fn reg_sz_accepted_other_types_noted() {
        let mut b = software(&[]);
        b.value_sz(CBS_VERSION_KEY, "6.1.7601.24384", r"C:\x", false).value_dword(CBS_VERSION_KEY, "1.2.3", 7);
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        assert_eq!(info.cbs_versions[0].path, r"C:\x");
        assert!(info.notes.iter().any(|n| n.contains("`1.2.3`") && n.contains("REG_DWORD")));
    }

    #[test]
    fn no_cbs_key_and_no_version_key() {
        let mut b = HiveBuilder::new();
        b.value_sz(NT_CURRENT_VERSION_KEY, "CurrentVersion", "6.3", false);
        let info = read_bytes(&b.build()).unwrap();
        assert!(!info.cbs_key_present && !info.version_key_present);
        assert_eq!(info.os["CurrentVersion"], "6.3");

        let mut b = HiveBuilder::new();
        b.key(CBS_KEY);
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.cbs_key_present && !info.version_key_present);
        assert!(info.cbs_versions.is_empty());
        assert!(info.notes.is_empty(), "{:?}", info.notes);
    }

    #[test]
    fn key_names_match_case_insensitively() {
        let mut b = HiveBuilder::new();
        b.value_sz(r"MICROSOFT\windows\CurrentVersion\component based servicing\VERSION", "10.0.1.2", "p", true);
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
    }

    #[test]
    fn not_a_software_hive_is_noted() {
        let mut b = HiveBuilder::new();
        b.key(r"ControlSet001\Services");
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.notes.iter().any(|n| n.contains("does not look like a SOFTWARE hive")));
    }

    #[test]
    fn dirty_hive_without_logs_is_read_as_is() {
        let mut b = software(&[("10.0.1.1", "p")]);
        b.sequence_numbers(9, 8);
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        assert_eq!(info.notes, ["dirty hive but no transaction logs beside it: read as is (may be stale)"]);
    }

    #[test]
    fn dirty_hive_with_unusable_logs_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = software(&[("10.0.1.1", "p")]);
        b.sequence_numbers(9, 8);
        let hive = write(dir.path(), "SOFTWARE", &b.build());
        write(dir.path(), "software.log1", b"");
        write(dir.path(), "SOFTWARE.LOG2", b"garbage");
        let info = read_offline_software(&hive).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        assert!(info.notes.iter().any(|n| n.contains("software.log1: it is empty")));
        assert!(info.notes.iter().any(|n| n.contains("SOFTWARE.LOG2: not a transaction log")));
        assert!(info.notes.iter().any(|n| n.contains("no usable transaction log")));
    }

    #[test]
    fn dirty_hive_is_replayed_from_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = software(&[("10.0.1.1", "old")]);
        old.sequence_numbers(5, 4);
        let mut new = software(&[("10.0.1.1", "old"), ("10.0.2.2", "new")]);
        // Make the new hive larger than the old one, so that the log also grows the hive.
        for i in 0..200 {
            new.value_sz("Filler", &format!("v{i}"), &"x".repeat(100), false);
        }
        let hive = write(dir.path(), "SOFTWARE", &old.build());
        let before = read_offline_software(&hive).unwrap();
        assert_eq!(before.cbs_versions.len(), 1);

        let log = write(dir.path(), "Software.Log1", &new.build_log(4));
        write(dir.path(), "SOFTWARE.LOG2", b"");
        let modified = std::fs::metadata(&hive).unwrap().modified().unwrap();
        let info = read_offline_software(&hive).unwrap();
        let v: Vec<&str> = info.cbs_versions.iter().map(|c| c.version.as_str()).collect();
        assert_eq!(v, ["10.0.2.2", "10.0.1.1"]);
        assert_eq!(info.notes, ["dirty hive: replayed Software.Log1"]);
        // Replayed in memory only: the hive is as it was.
        assert_eq!(std::fs::read(&hive).unwrap(), old.build());
        assert_eq!(std::fs::metadata(&hive).unwrap().modified().unwrap(), modified);
        assert_eq!(std::fs::read(&log).unwrap(), new.build_log(4));

        // A log whose entry hash is broken is not applied.
        let mut bad = new.build_log(4);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&log, &bad).unwrap();
        let info = read_offline_software(&hive).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        assert!(info.notes[0].starts_with("dirty hive: no entry of Software.Log1 could be applied"));
        assert!(info.notes.iter().any(|n| n.contains("hash mismatch")), "{:?}", info.notes);
    }

    /// The offset of the `nk` cell of the key named `name` (cells are 8-byte aligned).
    fn nk_offset(hive: &[u8], name: &str) -> usize {
        (4096..hive.len() - 80)
            .step_by(8)
            .find(|&o| {
                &hive[o + 4..o + 6] == b"nk"
                    && usize::from(u16::from_le_bytes([hive[o + 76], hive[o + 77]])) == name.len()
                    && hive.get(o + 80..o + 80 + name.len()) == Some(name.as_bytes())
            })
            .expect("key in hive")
    }

    #[test]
    fn unreadable_subkey_list_on_the_cbs_path_is_an_error() {
        let mut hive = software(&[("10.0.1.1", "p")]).build();
        let nk = nk_offset(&hive, "Component Based Servicing");
        assert_eq!(&hive[nk + 4..nk + 6], b"nk");
        let list = 4096 + le32(&hive, nk + 4 + 28) as usize;
        assert_eq!(&hive[list + 4..list + 6], b"lh");
        hive[list + 4..list + 6].copy_from_slice(b"zz");
        let err = read_bytes(&hive).unwrap_err();
        assert!(err.contains("corrupt hive: the subkeys of `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing` cannot all be read, so `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version` may be missing only because of damage (Unable to parse sub_key_list at offset"), "{err}");
    }

    #[test]
    fn unreadable_values_of_the_version_key_are_an_error() {
        let mut hive = software(&[("10.0.1.1", "p")]).build();
        let nk = nk_offset(&hive, "Version");
        hive[nk + 4 + 40..nk + 4 + 44].copy_from_slice(&0x7000_0000u32.to_le_bytes());
        let err = read_bytes(&hive).unwrap_err();
        assert!(
            err.ends_with("corrupt hive: the values of `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version` cannot all be read (0 of 1)"),
            "{err}"
        );
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        let good = software(&[("10.0.1.1", "p")]).build();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "not a registry hive (the file is empty)"),
            (b"garbage garbage garbage".to_vec(), "not a registry hive (no regf signature)"),
            (vec![0xFF; 9000], "not a registry hive (no regf signature)"),
            ([b"CREG".as_slice(), &[0; 100]].concat(), "Windows 9x/Me CREG"),
            (good[4096..].to_vec(), "starts with a hive bin"),
            (good[..100].to_vec(), "truncated hive"),
            (good[..4096].to_vec(), "truncated hive"),
            (good[..good.len() - 4096].to_vec(), "truncated hive"),
        ];
        for (bytes, want) in cases {
            let err = read_bytes(&bytes).unwrap_err();
            assert!(err.contains(want), "{err}");
            assert!(err.contains("SOFTWARE: "), "{err}");
        }
        let mut log = good.clone();
        log[0x1C] = 6;
        let err = read_bytes(&log).unwrap_err();
        assert!(err.contains("transaction log, not a hive"), "{err}");
        let mut v2 = good.clone();
        v2[0x14] = 2;
        let err = read_bytes(&v2).unwrap_err();
        assert!(err.contains("unsupported registry hive format version 2.5"), "{err}");
    }

    #[test]
    fn damaged_cells_never_panic() {
        let good = software(&[("10.0.1.1", STACK), ("10.0.1.2", STACK)]).build();
        // Overwrite every 8-byte cell boundary of the bins with junk, one at a time, and also
        // cut the file at every page: each read must end in Ok or Err, never a panic.
        for at in (4096..good.len()).step_by(8) {
            let mut bad = good.clone();
            bad[at..at + 4].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
            let _ = read_bytes(&bad);
            let mut bad = good.clone();
            bad[at] ^= 0xFF;
            let _ = read_bytes(&bad);
        }
    }

    #[test]
    fn a_panic_becomes_a_failure() {
        let r: Result<(), Failure> = guarded(|| panic!("index out of bounds: {}", 7));
        assert!(matches!(r, Err(Failure::Panic(m)) if m == "index out of bounds: 7"));
        let r: Result<(), Failure> = guarded(|| std::panic::panic_any(42u8));
        assert!(matches!(r, Err(Failure::Panic(m)) if m == "unknown panic"));
        let r = guarded(|| Err::<(), _>("x".to_string()));
        assert!(matches!(r, Err(Failure::Parse(m)) if m == "x"));
    }

    #[test]
    fn version_ordering() {
        assert_eq!(version_cmp("10.0.19041.4717", "10.0.19041.964"), Ordering::Greater);
        assert_eq!(version_cmp("10.0.2", "10.0.2.1"), Ordering::Less);
        assert_eq!(version_cmp("10.0.x", "10.0.1"), Ordering::Less);
        assert_eq!(version_cmp("1.0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn raw_decoding() {
        let sz: Vec<u8> = "ab\0junk".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode_raw(2, &sz), Data::Str("ab".into()));
        assert_eq!(decode_raw(4, &4780u32.to_le_bytes()), Data::Dword(4780));
        assert_eq!(decode_raw(5, &4780u32.to_be_bytes()), Data::Dword(4780));
        assert_eq!(decode_raw(11, &7u64.to_le_bytes()), Data::Qword(7));
        assert_eq!(decode_raw(3, &[1]), Data::Other("REG_BINARY".into()));
        assert_eq!(decode_raw(4, &[1]), Data::Other("REG_DWORD (too short)".into()));
        assert_eq!(decode_raw(99, &[]), Data::Other("of type 99".into()));
    }
}
