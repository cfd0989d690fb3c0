//! What the SOFTWARE registry hive says about servicing: the servicing stack versions that
//! Component Based Servicing has registered, and which Windows this is.
//!
//! An offline hive (`<root>\Windows\System32\config\SOFTWARE`) is read with the bounded reader
//! in `registry/hive.rs`: only its base block and the cells on the paths needed are read, and nothing is
//! ever written back. A dirty hive (one Windows did not finish writing) is brought up to date in
//! memory from the `.LOG1`/`.LOG2` files beside it, when they are in the format Windows 8.1 and
//! later write. Every string that reaches the report is cut to [`MAX_TEXT`] bytes.
//! On Windows the running system's registry can be read instead ([`read_live_software`]).
//! The SYSTEM hive (computer name, time zone) is read the same way by [`system`].

use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

mod hive;
#[cfg(windows)]
mod live;
pub mod system;

use crate::sources::open::RegularFile;
use hive::{base_block_checksum, le32, Image, Key, Log, RawValue, BASE_BLOCK_LEN};

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
    // Notes about single values, kept apart so that a key full of odd values cannot flood the
    // report.
    let mut value_notes = Vec::new();
    if let KeyRead::Present(values) = version {
        for (name, data) in values {
            let name = cut(name, || format!("a value name of `{CBS_VERSION_KEY}`"), &mut value_notes);
            match data {
                Data::Str(path) if !name.is_empty() => {
                    let path = cut(path, || format!("value `{name}` of `{CBS_VERSION_KEY}`"), &mut value_notes);
                    cbs_versions.push(CbsVersion { version: name, path })
                }
                Data::Str(_) => value_notes
                    .push(format!("the default value of `{CBS_VERSION_KEY}` is set; it names no version: ignored")),
                other => value_notes.push(format!(
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
            let text = match data {
                Data::Str(s) => s.clone(),
                Data::Dword(v) => v.to_string(),
                Data::Qword(v) => v.to_string(),
                Data::Other(_) => {
                    value_notes.push(format!(
                        "value `{wanted}` of `{NT_CURRENT_VERSION_KEY}` is {}: ignored",
                        type_name(data)
                    ));
                    continue;
                }
            };
            let text = cut(text, || format!("value `{wanted}` of `{NT_CURRENT_VERSION_KEY}`"), &mut value_notes);
            os.insert(wanted.to_string(), text);
        }
    }
    if value_notes.len() > MAX_VALUE_NOTES {
        let more = value_notes.len() - MAX_VALUE_NOTES;
        value_notes.truncate(MAX_VALUE_NOTES);
        value_notes.push(format!("... and {more} more notes about single values"));
    }
    notes.append(&mut value_notes);

    SoftwareInfo { cbs_key_present, version_key_present, cbs_versions, os, notes }
}

/// The longest text from the registry that reaches the report, in bytes: real values (versions,
/// folder names, product names) are well under it.
pub const MAX_TEXT: usize = 1024;
/// Notes about single values kept in one report.
const MAX_VALUE_NOTES: usize = 20;

/// `text` cut to [`MAX_TEXT`] bytes (at a character boundary), with a note saying what was cut.
fn cut(mut text: String, what: impl FnOnce() -> String, notes: &mut Vec<String>) -> String {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        notes.push(format!("{} is longer than {MAX_TEXT} bytes: cut to its first {end} bytes", what()));
    }
    text
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

/// Decodes raw registry data by its type number.
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

// Offline hives
// ---------------------------------------------------------------------------------------------

/// A hive file larger than this is refused before anything but its base block is read: real
/// SOFTWARE hives are at most a few hundred MiB, and a larger file (a padded or sparse one)
/// cannot be one.
const MAX_HIVE_LEN: u64 = 1 << 30;
/// The hive bins of a hive that is not refused are at most this long.
const MAX_BINS_LEN: u32 = (MAX_HIVE_LEN - BASE_BLOCK_LEN as u64) as u32;
/// A transaction log larger than this is left out: Windows keeps logs to a few MiB (it writes
/// the hive back and starts the log again), and every entry of a log used is hashed.
const MAX_LOG_LEN: u64 = 256 << 20;

/// What the base block of a primary hive file says.
#[derive(Debug)]
struct Header {
    primary_seq: u32,
    secondary_seq: u32,
    checksum_ok: bool,
    minor: u32,
    root: u32,
    /// The hive bins' length: as the base block says when it is intact, else what the file holds.
    hbins_len: u32,
}

impl Header {
    fn dirty(&self) -> bool {
        self.primary_seq != self.secondary_seq || !self.checksum_ok
    }
}

/// Checks that the file of `file_len` bytes that starts with `bytes` (its base block and the
/// first hive bin header, or all of it when shorter) is a primary hive file, with a clear
/// reason if not.
fn check_header(bytes: &[u8], file_len: u64) -> Result<Header, String> {
    if file_len == 0 {
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
    if file_len < BASE_BLOCK_LEN as u64 {
        return Err(format!("truncated hive: the file is {file_len} bytes, shorter than the 4096-byte base block"));
    }
    let checksum_ok = base_block_checksum(bytes) == le32(bytes, 0x1FC);
    let (major, minor) = (le32(bytes, 0x14), le32(bytes, 0x18));
    let file_type = le32(bytes, 0x1C);
    let root = le32(bytes, 0x24);
    let hbins_len = le32(bytes, 0x28) as u64;
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
    let after = file_len - BASE_BLOCK_LEN as u64;
    if after < 32 || bytes.get(BASE_BLOCK_LEN..BASE_BLOCK_LEN + 4) != Some(b"hbin".as_slice()) {
        return Err(if after < 32 {
            format!("truncated hive: the file is {file_len} bytes, it ends right after the base block")
        } else {
            "corrupt hive: no hive bin (hbin) right after the base block".into()
        });
    }
    let in_file = (after.min(u64::from(MAX_BINS_LEN)) / 4096 * 4096) as u32;
    let hbins_len = if checksum_ok {
        // A wrong checksum means these fields may be replaced from a transaction log: only
        // trust them when the base block is intact.
        if hbins_len == 0 || !hbins_len.is_multiple_of(4096) {
            return Err(format!(
                "corrupt hive: the base block gives a hive bins size of {hbins_len} bytes, not a positive multiple of 4096"
            ));
        }
        if after < hbins_len {
            return Err(format!(
                "truncated hive: the base block says the hive bins take {hbins_len} bytes, but only {after} bytes follow it in the file"
            ));
        }
        if u64::from(root) >= hbins_len {
            return Err(format!(
                "corrupt hive: the root key offset 0x{root:x} lies outside the hive bins ({hbins_len} bytes)"
            ));
        }
        hbins_len.min(u64::from(MAX_BINS_LEN)) as u32
    } else if hbins_len > 0 && hbins_len.is_multiple_of(4096) && hbins_len <= u64::from(in_file) {
        hbins_len as u32
    } else {
        in_file
    };
    Ok(Header { primary_seq: le32(bytes, 4), secondary_seq: le32(bytes, 8), checksum_ok, minor, root, hbins_len })
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
            matches.then(|| (file_name, e.path()))
        })
        .collect();
    // LOG1 before LOG2; with several spellings of one name, a stable choice.
    found.sort_by(|a, b| a.0.to_ascii_uppercase().cmp(&b.0.to_ascii_uppercase()).then(a.0.cmp(&b.0)));
    found.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
    found
}

/// A transaction log beside the hive that can be replayed: its file and its base block.
struct LogFile {
    log: Log,
    base: Vec<u8>,
}

impl LogFile {
    fn sequence(&self) -> u32 {
        le32(&self.base, 4)
    }
}

/// A transaction log left out, and why.
struct Skipped {
    name: String,
    why: String,
    /// Normal on a healthy system (an empty or an outdated log): worth saying only when no
    /// log could be used at all.
    routine: bool,
}

/// Opens the logs of a dirty hive, reading only their base blocks and the start of their
/// first entry, and sorts them into those worth replaying (oldest first) and those left out
/// (with the reason).
fn select_logs(hive: &Path, header: &Header) -> (Vec<LogFile>, Vec<Skipped>) {
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    for (name, path) in find_logs(hive) {
        let mut skip = |why: String, routine: bool| skipped.push(Skipped { name: name.clone(), why, routine });
        let mut file = match open_file(&path) {
            Ok(f) => f,
            Err(e) => {
                skip(e, false);
                continue;
            }
        };
        if file.is_empty() {
            skip("it is empty".into(), true);
            continue;
        }
        if file.len() > MAX_LOG_LEN {
            skip(
                format!(
                    "it is {} bytes, larger than any real transaction log (the limit is {} MiB)",
                    file.len(),
                    MAX_LOG_LEN >> 20
                ),
                false,
            );
            continue;
        }
        let mut base = vec![0u8; file.len().min(516) as usize];
        if let Err(e) = file.read_exact(&mut base) {
            skip(format!("cannot read it: {}", crate::sources::describe_io(&e)), false);
            continue;
        }
        if base.len() < 512 || !base.starts_with(b"regf") {
            skip("not a transaction log (no regf signature)".into(), false);
            continue;
        }
        if base_block_checksum(&base) != le32(&base, 0x1FC) {
            skip("its base block checksum is wrong".into(), false);
            continue;
        }
        match le32(&base, 0x1C) {
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
        let log_seq = le32(&base, 4);
        if header.checksum_ok && log_seq < header.secondary_seq {
            skip(format!("it is older than the hive (log sequence {log_seq}, hive {})", header.secondary_seq), true);
            continue;
        }
        if base.get(512..516) != Some(b"HvLE".as_slice()) {
            skip("it holds no log entries".into(), true);
            continue;
        }
        base.truncate(512);
        usable.push(LogFile { log: Log { name, file }, base });
    }
    usable.sort_by_key(LogFile::sequence);
    if !header.checksum_ok && usable.len() > 1 {
        // With a damaged base block only the newest log is used (its base block replaces the
        // hive's), as the format specification says.
        let newest = usable.pop().expect("more than one");
        for older in usable.drain(..) {
            skipped.push(Skipped {
                name: older.log.name,
                why: "the hive's base block is damaged, so only the newest log is used".into(),
                routine: true,
            });
        }
        usable.push(newest);
    }
    (usable, skipped)
}

/// Opens a file read-only the one way untrusted files are opened (regular files only, never
/// blocking).
fn open_file(path: &Path) -> Result<RegularFile, String> {
    use crate::sources::open::{open_regular, OpenError};
    open_regular(path).map_err(|e| match e {
        OpenError::Io(e) => format!("cannot open it: {}", crate::sources::describe_io(&e)),
        OpenError::NotRegular(what) => format!("it is {what}, not a file"),
        OpenError::TooLarge { len, .. } => format!("it is {len} bytes, too large to be a registry file"),
    })
}

/// Read an offline SOFTWARE hive (e.g. `<root>/Windows/System32/config/SOFTWARE`). Transaction
/// logs `<hive>.LOG1/.LOG2` beside it (any letter case) are applied when the hive is dirty.
/// Errors are one clear sentence naming the file and the problem ("not a registry hive (no regf
/// signature)", "truncated hive: ...", "corrupt hive: ..."). Never panics, never recurses on
/// the hive's structures, and reads only the base block and the cells on the paths it needs
/// (see `registry/hive.rs`), so memory and time are bounded whatever the files hold. Never writes
/// anything: transaction logs are applied in memory only.
pub fn read_offline_software(path: &Path) -> Result<SoftwareInfo, String> {
    let (mut info, mut notes) = read_offline(path, read_tree)?;
    notes.append(&mut info.notes);
    info.notes = notes;
    Ok(info)
}

/// Opens the offline hive at `path` as [`read_offline_software`] says (base block first,
/// transaction logs replayed in memory when it is dirty) and reads it with `tree`; when the
/// replayed hive cannot be read, the hive file as it is. Gives what `tree` read and the notes
/// about the hive itself (replay, logs skipped). Errors name the file.
fn read_offline<T>(
    path: &Path,
    mut tree: impl FnMut(&mut Image) -> Result<T, String>,
) -> Result<(T, Vec<String>), String> {
    let shown = path.display();
    let fail = |e: String| format!("{shown}: {e}");
    let mut file = open_file(path).map_err(fail)?;
    // The signature and the base block first: nothing else is read from a file that is not a
    // hive.
    let mut prefix = vec![0u8; file.len().min(BASE_BLOCK_LEN as u64 + 32) as usize];
    file.read_exact(&mut prefix).map_err(|e| fail(format!("cannot read it: {}", crate::sources::describe_io(&e))))?;
    let header = check_header(&prefix, file.len()).map_err(fail)?;
    if file.len() > MAX_HIVE_LEN {
        return Err(fail(format!(
            "it is {} bytes, larger than any real registry hive (the limit is {} MiB)",
            file.len(),
            MAX_HIVE_LEN >> 20
        )));
    }
    let mut image = Image::new(file, header.hbins_len, header.root, header.minor);

    let mut notes = Vec::new();
    let mut replayed_from = Vec::new();
    if header.dirty() {
        let (usable, skipped) = select_logs(path, &header);
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
        } else {
            replayed_from = usable.iter().map(|l| l.log.name.clone()).collect();
            let names = replayed_from.join(", ");
            // With a damaged base block, the newest log's replaces it.
            let base = if header.checksum_ok { prefix[..512].to_vec() } else { usable[0].base.clone() };
            let from_seq = le32(&base, 8);
            let replay = image.replay(usable.into_iter().map(|l| l.log).collect(), from_seq, &base);
            notes.push(match replay.applied_up_to {
                None => format!("dirty hive: no entry of {names} could be applied: read as is (may be stale)"),
                Some(_) if header.checksum_ok => format!("dirty hive: replayed {names}"),
                Some(_) => format!(
                    "dirty hive with a damaged base block (wrong checksum): replayed {names}, whose base block replaces the hive's"
                ),
            });
            notes.extend(replay.warnings.into_iter().map(|w| format!("while replaying the transaction logs: {w}")));
        }
    }

    let info = match tree(&mut image) {
        Err(e) if image.replayed() => {
            notes.push(format!(
                "dirty hive: the hive as replayed from {} cannot be read ({e}): read as is (may be stale)",
                replayed_from.join(", ")
            ));
            image.drop_replay(header.hbins_len, header.root, header.minor);
            tree(&mut image)
        }
        other => other,
    };
    let info = info.map_err(|e| fail(format!("corrupt hive: {e}")))?;
    Ok((info, notes))
}

/// Reads the keys this module needs from the (replayed) hive.
fn read_tree(image: &mut Image) -> Result<SoftwareInfo, String> {
    let root = image.root()?;
    let mut notes = Vec::new();
    let (cbs_key_present, version) = match walk(image, &root, "", CBS_KEY) {
        Walk::Found(cbs) => {
            let version = match walk(image, &cbs, CBS_KEY, "Version") {
                Walk::Found(key) => KeyRead::Present(
                    image
                        .values(&key, |_| true)
                        .map_err(|e| format!("the values of `{CBS_VERSION_KEY}` cannot be read ({e})"))?
                        .into_iter()
                        .map(decode_value)
                        .collect(),
                ),
                Walk::Missing { .. } => KeyRead::Absent,
                Walk::Unreadable { why } => return Err(why),
            };
            (true, version)
        }
        Walk::Missing { .. } => (false, KeyRead::Absent),
        Walk::Unreadable { why } => return Err(why),
    };
    let mut microsoft_missing = false;
    let nt = match walk(image, &root, "", NT_CURRENT_VERSION_KEY) {
        Walk::Found(key) => {
            match image.values(&key, |name| OS_VALUE_NAMES.iter().any(|w| w.eq_ignore_ascii_case(name))) {
                Ok(values) => KeyRead::Present(values.into_iter().map(decode_value).collect()),
                Err(e) => {
                    notes.push(format!(
                        "the values of `{NT_CURRENT_VERSION_KEY}` cannot be read ({e}) (the hive may be corrupt)"
                    ));
                    KeyRead::Absent
                }
            }
        }
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
    Ok(info)
}

fn decode_value(v: RawValue) -> (String, Data) {
    let data = decode_raw(v.kind, &v.data);
    (v.name, data)
}

enum Walk {
    Found(Key),
    /// `depth`: how many path parts were found before the missing one.
    Missing {
        depth: usize,
    },
    Unreadable {
        why: String,
    },
}

/// Follows `path` (parts matched case-insensitively) down from `start`, whose path is
/// `start_path`, telling a key that is not there from one whose parent's subkey lists cannot
/// be read. Paths in messages are this module's spellings, never names read from the hive.
fn walk(image: &mut Image, start: &Key, start_path: &str, path: &str) -> Walk {
    let mut current = start.clone();
    let target = join(start_path, path);
    let mut here = start_path.to_string();
    for (depth, part) in path.split('\\').enumerate() {
        match image.subkey(&current, part) {
            Ok(Some(child)) => current = child,
            Ok(None) => return Walk::Missing { depth },
            Err(e) => {
                let shown = if here.is_empty() { "the root key".to_string() } else { format!("`{here}`") };
                return Walk::Unreadable {
                    why: format!(
                        "the subkeys of {shown} cannot all be read, so `{target}` may be missing only because of damage ({e})"
                    ),
                };
            }
        }
        here = join(&here, part);
    }
    Walk::Found(current)
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}\\{b}")
    }
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The live registry
// ---------------------------------------------------------------------------------------------

/// The same from the running system's registry (HKLM\SOFTWARE, 64-bit view). On permission
/// problems, Err says so.
#[cfg(windows)]
pub fn read_live_software() -> Result<SoftwareInfo, String> {
    let flags = winreg::enums::KEY_WOW64_64KEY;
    let open = |path: &str| live::open("SOFTWARE", path, flags);
    let values = |key: &winreg::RegKey, path: &str| live::values(key, "SOFTWARE", path);

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
    use servicing_doctor_test_support::regf_writer::HiveBuilder;

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
        assert!(err.contains("corrupt hive: the subkeys of `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing` cannot all be read, so `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version` may be missing only because of damage (the subkey list at offset 0x"), "{err}");
        assert!(err.contains("has signature \"zz\", not ri, li, lf or lh)"), "{err}");
    }

    #[test]
    fn unreadable_values_of_the_version_key_are_an_error() {
        let mut hive = software(&[("10.0.1.1", "p")]).build();
        let nk = nk_offset(&hive, "Version");
        hive[nk + 4 + 40..nk + 4 + 44].copy_from_slice(&0x7000_0000u32.to_le_bytes());
        let err = read_bytes(&hive).unwrap_err();
        assert!(
            err.ends_with("corrupt hive: the values of `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version` cannot be read (the value list offset 0x70000000 lies outside the hive bins (4096 bytes))"),
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

    // Issue 11, item 4: structures that loop or fan out must end in a clear error or a
    // bounded result, never a crash.

    #[test]
    fn an_index_root_that_lists_itself_is_an_error() {
        let mut b = software(&[("10.0.1.1", "p")]);
        b.key(r"Microsoft\Windows\CurrentVersion\Run").ri_loop(r"Microsoft\Windows\CurrentVersion");
        let err = read_bytes(&b.build()).unwrap_err();
        assert!(err.contains("SOFTWARE: corrupt hive"), "{err}");
        assert!(
            err.contains("corrupt hive: the subkeys of `Microsoft\\Windows\\CurrentVersion` cannot all be read"),
            "{err}"
        );
        assert!(err.contains("lists itself (a loop)"), "{err}");

        // Off the CBS path, the loop costs only the values behind it.
        let mut b = software(&[("10.0.1.1", "p")]);
        b.ri_loop(r"Microsoft\Windows NT");
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        assert!(info.os.is_empty());
        assert!(info.notes.iter().any(|n| n.contains("lists itself")), "{:?}", info.notes);

        // The root's own list.
        let mut b = software(&[("10.0.1.1", "p")]);
        b.ri_loop("");
        assert!(read_bytes(&b.build()).unwrap_err().contains("the subkeys of the root key cannot all be read"));
    }

    #[test]
    fn an_index_root_fan_out_is_refused_before_it_is_followed() {
        // 65,535 lists of 65,535 entries: refused on the count alone.
        let mut b = software(&[("10.0.1.1", "p")]);
        b.ri_fan_out("Microsoft", u16::MAX, u16::MAX);
        let hive = b.build();
        assert!(hive.len() < 1 << 20, "{}", hive.len());
        let err = read_bytes(&hive).unwrap_err();
        assert!(err.contains("declares 4294836225 subkeys, more than the 65536"), "{err}");

        // Within the count, one leaf listed many times is refused on its second visit (here
        // while looking for `Windows NT`, which is not there: the rest is still read).
        let mut b = HiveBuilder::new();
        b.value_sz(CBS_VERSION_KEY, "10.0.1.1", "p", true).key(r"Microsoft\Other").ri_fan_out("Microsoft", 200, 300);
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        assert!(info.notes.iter().any(|n| n.contains("lists the list at") && n.contains("twice")), "{:?}", info.notes);
    }

    #[test]
    fn big_data_is_read_in_part_and_text_is_cut() {
        // 65,535 segments, all one cell: only the first is read, and the text is cut.
        let mut b = software(&[("10.0.1.1", "p")]);
        b.big_data_repeated(NT_CURRENT_VERSION_KEY, "ProductName", 'W', u16::MAX);
        let hive = b.build();
        assert!(hive.len() < 1 << 20, "{}", hive.len());
        let info = read_bytes(&hive).unwrap();
        assert_eq!(info.os["ProductName"], "W".repeat(MAX_TEXT));
        assert!(info.notes.iter().any(|n| n.contains("ProductName") && n.contains("cut to its first 1024 bytes")));

        // A real big-data value (distinct segments) and a long value name: cut as well.
        let long = "x".repeat(3000);
        let path = "y".repeat(20_000);
        let mut b = software(&[(long.as_str(), "p"), ("10.0.2.2", path.as_str())]);
        b.value_sz(NT_CURRENT_VERSION_KEY, "EditionID", &"é".repeat(600), false);
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.cbs_versions.iter().all(|c| c.version.len() <= MAX_TEXT && c.path.len() <= MAX_TEXT));
        assert!(info.cbs_versions.iter().any(|c| c.path == "y".repeat(MAX_TEXT)));
        // Cut at a character boundary.
        assert_eq!(info.os["EditionID"], "é".repeat(MAX_TEXT / 2));
        assert_eq!(info.notes.iter().filter(|n| n.contains("cut to its first")).count(), 3, "{:?}", info.notes);
    }

    #[test]
    fn many_odd_values_give_a_bounded_number_of_notes() {
        let mut b = software(&[]);
        for i in 0..500 {
            b.value_dword(CBS_VERSION_KEY, &format!("10.0.{i}"), i);
        }
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.notes.len(), MAX_VALUE_NOTES + 1, "{:?}", info.notes);
        assert_eq!(info.notes.last().unwrap(), "... and 480 more notes about single values");
    }

    // Issue 11, item 8: the base block first, and sizes capped before anything is read.

    #[test]
    fn a_sparse_4_gib_file_is_refused_after_its_base_block() {
        let dir = tempfile::tempdir().unwrap();
        let good = software(&[("10.0.1.1", "p")]).build();
        for (name, head) in [("good-signature", &good[..]), ("bad-signature", &b"junk"[..])] {
            let p = dir.path().join(name);
            std::fs::write(&p, head).unwrap();
            std::fs::File::options().write(true).open(&p).unwrap().set_len(4 << 30).unwrap();
            let err = read_offline_software(&p).unwrap_err();
            assert!(err.starts_with(&format!("{}: ", p.display())), "{err}");
            let want = if name == "good-signature" {
                "it is 4294967296 bytes, larger than any real registry hive (the limit is 1024 MiB)"
            } else {
                "not a registry hive (no regf signature)"
            };
            assert!(err.ends_with(want), "{err}");
        }
    }

    #[test]
    fn huge_transaction_logs_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = software(&[("10.0.1.1", "p")]);
        b.sequence_numbers(5, 4);
        let hive = write(dir.path(), "SOFTWARE", &b.build());
        let log = software(&[("10.0.1.1", "p"), ("10.0.2.2", "q")]).build_log(4);
        for name in ["SOFTWARE.LOG1", "SOFTWARE.LOG2"] {
            let p = write(dir.path(), name, &log);
            std::fs::File::options().write(true).open(&p).unwrap().set_len(1 << 30).unwrap();
        }
        let info = read_offline_software(&hive).unwrap();
        assert_eq!(info.cbs_versions.len(), 1);
        for name in ["SOFTWARE.LOG1", "SOFTWARE.LOG2"] {
            let want = format!("skipped transaction log {name}: it is 1073741824 bytes, larger than any real transaction log (the limit is 256 MiB)");
            assert!(info.notes.contains(&want), "{:?}", info.notes);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("SOFTWARE");
        let ok = std::process::Command::new("mkfifo").arg(&p).status().unwrap().success();
        assert!(ok, "mkfifo");
        let err = read_offline_software(&p).unwrap_err();
        assert_eq!(err, format!("{}: it is a named pipe, not a file", p.display()));
    }

    /// The replay, checked against Windows' own: yarp's NewDirtyHive replayed from its logs
    /// must give the hive bins of the RecoveredHive_Windows10 beside it.
    #[test]
    fn replay_matches_windows_recovery() {
        let Some(shared) = std::env::var_os("SERVICING_DOCTOR_SHARED") else {
            eprintln!("SERVICING_DOCTOR_SHARED not set: skipped");
            return;
        };
        let dir = Path::new(&shared).join("corpus/artifacts/hives/yarp/NewDirtyHive1");
        let path = dir.join("NewDirtyHive");
        let mut file = open_file(&path).unwrap();
        let mut prefix = vec![0u8; BASE_BLOCK_LEN + 32];
        file.read_exact(&mut prefix).unwrap();
        let header = check_header(&prefix, file.len()).unwrap();
        assert!(header.dirty() && header.checksum_ok);
        let (usable, _) = select_logs(&path, &header);
        assert_eq!(usable.len(), 2);
        let mut image = Image::new(file, header.hbins_len, header.root, header.minor);
        let replay = image.replay(usable.into_iter().map(|l| l.log).collect(), header.secondary_seq, &prefix[..512]);
        assert!(replay.applied_up_to.is_some() && replay.warnings.is_empty(), "{replay:?}");
        let want = std::fs::read(dir.join("RecoveredHive_Windows10")).unwrap();
        let bins = le32(&want, 0x28) as usize;
        let mut got = vec![0u8; bins];
        image.read(0, &mut got).unwrap();
        assert!(got == want[BASE_BLOCK_LEN..BASE_BLOCK_LEN + bins], "replayed bins differ from Windows' recovery");
        assert_eq!(replay.applied_up_to.map(|s| s + 1), Some(le32(&want, 4)));
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
