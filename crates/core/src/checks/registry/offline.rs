//! Offline hive files: the base block checked before anything else is read,
//! the transaction logs beside a dirty hive chosen and replayed in memory,
//! and keys walked down by path. Nothing is ever written back.

use super::hive::{base_block_checksum, le32, Image, Key, Log, BASE_BLOCK_LEN};
use crate::sources::open::RegularFile;
use std::io::Read;
use std::path::Path;

// Offline hives
// ---------------------------------------------------------------------------------------------

/// A hive file larger than this is refused before anything but its base block is read: real
/// SOFTWARE hives are at most a few hundred MiB, and a larger file (a padded or sparse one)
/// cannot be one.
pub(super) const MAX_HIVE_LEN: u64 = 1 << 30;
/// The hive bins of a hive that is not refused are at most this long.
pub(super) const MAX_BINS_LEN: u32 = (MAX_HIVE_LEN - BASE_BLOCK_LEN as u64) as u32;
/// A transaction log larger than this is left out: Windows keeps logs to a few MiB (it writes
/// the hive back and starts the log again), and every entry of a log used is hashed.
pub(super) const MAX_LOG_LEN: u64 = 256 << 20;

/// What the base block of a primary hive file says.
#[derive(Debug)]
pub(super) struct Header {
    pub(super) primary_seq: u32,
    pub(super) secondary_seq: u32,
    pub(super) checksum_ok: bool,
    pub(super) minor: u32,
    pub(super) root: u32,
    /// The hive bins' length: as the base block says when it is intact, else what the file holds.
    pub(super) hbins_len: u32,
}

impl Header {
    pub(super) fn dirty(&self) -> bool {
        self.primary_seq != self.secondary_seq || !self.checksum_ok
    }
}

/// Checks that the file of `file_len` bytes that starts with `bytes` (its base block and the
/// first hive bin header, or all of it when shorter) is a primary hive file, with a clear
/// reason if not.
pub(super) fn check_header(bytes: &[u8], file_len: u64) -> Result<Header, String> {
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
pub(super) fn find_logs(hive: &Path) -> Vec<(String, std::path::PathBuf)> {
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
pub(super) struct LogFile {
    pub(super) log: Log,
    pub(super) base: Vec<u8>,
}

impl LogFile {
    fn sequence(&self) -> u32 {
        le32(&self.base, 4)
    }
}

/// A transaction log left out, and why.
pub(super) struct Skipped {
    pub(super) name: String,
    pub(super) why: String,
    /// Normal on a healthy system (an empty or an outdated log): worth saying only when no
    /// log could be used at all.
    pub(super) routine: bool,
}

/// Opens the logs of a dirty hive, reading only their base blocks and the start of their
/// first entry, and sorts them into those worth replaying (oldest first) and those left out
/// (with the reason).
pub(super) fn select_logs(hive: &Path, header: &Header) -> (Vec<LogFile>, Vec<Skipped>) {
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
pub(super) fn open_file(path: &Path) -> Result<RegularFile, String> {
    use crate::sources::open::{open_regular, OpenError};
    open_regular(path).map_err(|e| match e {
        OpenError::Io(e) => format!("cannot open it: {}", crate::sources::describe_io(&e)),
        OpenError::NotRegular(what) => format!("it is {what}, not a file"),
        OpenError::TooLarge { len, .. } => format!("it is {len} bytes, too large to be a registry file"),
    })
}

/// Opens the offline hive at `path` as [`read_offline_software`] says (base block first,
/// transaction logs replayed in memory when it is dirty) and reads it with `tree`; when the
/// replayed hive cannot be read, the hive file as it is. Gives what `tree` read and the notes
/// about the hive itself (replay, logs skipped). Errors name the file.
pub(super) fn read_offline<T>(
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

pub(super) enum Walk {
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
pub(super) fn walk(image: &mut Image, start: &Key, start_path: &str, path: &str) -> Walk {
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

pub(super) fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}\\{b}")
    }
}

// ---------------------------------------------------------------------------------------------
