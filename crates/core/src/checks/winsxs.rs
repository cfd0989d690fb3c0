//! Inventory of the servicing stack folders in a WinSxS component store.
//!
//! `C:\Windows\WinSxS` holds one folder per component, named
//! `<arch>_<name>_<publickeytoken>_<version>_<culture>_<hash>`. The servicing
//! stack lives in the `microsoft-windows-servicingstack*` components; when one
//! of those folders is missing or empty, or the main one has no `cbscore.dll`,
//! servicing fails (for example 0x80070003 in "Process Drivers for
//! Migration").
//!
//! A real WinSxS has 15,000-80,000 entries, so [`inventory`] reads WinSxS
//! once, looks only at entry names and file types (no `stat` per entry), and
//! opens nothing except the servicing stack folders, which it lists without
//! recursing and without following links.
//!
//! Decisions:
//! - Names are compared ignoring ASCII case (WinSxS on a Linux mount of NTFS
//!   keeps whatever case is on disk). [`ComponentName`] fields are normalised
//!   to ASCII lowercase; [`StackFolder::dir_name`] keeps the on-disk spelling.
//! - A servicing stack folder is a component whose name is exactly
//!   `microsoft-windows-servicingstack` or starts with
//!   `microsoft-windows-servicingstack-` (`-onecore`, `-inetsrv`, ...), for
//!   every architecture and culture. Names that merely start with the same
//!   letters (`...servicingstackfoo`, `...servicingstack.resources`) are other
//!   components and are not included.
//! - An entry in WinSxS whose name is a servicing stack folder name but which
//!   is not a directory (a file, or a symbolic link/junction, which is never
//!   followed) is *reported*, not ignored: it is listed with `entries: None`
//!   and `error` saying what it is, because a file where the stack folder
//!   should be is exactly the damage this check looks for.
//! - Inside a stack folder at most 10,000 entries are read; `cbscore.dll` is
//!   only looked for among those entries. A child named `cbscore.dll` that is
//!   a directory does not count.
//! - If listing WinSxS fails part-way, [`inventory`] returns `Err`: an
//!   incomplete listing would make present folders look missing.
//! - Names that are not ASCII never parse as component names (real WinSxS
//!   names are ASCII); names that are not valid UTF-8 are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::sources::describe_io;

/// At most this many entries are read inside one servicing stack folder.
const ENTRY_CAP: usize = 10_000;
/// Family of the main servicing stack component (the one with cbscore.dll).
const MAIN_FAMILY: &str = "servicingstack";
/// Prefix of every servicing stack component name.
const NAME_PREFIX: &str = "microsoft-windows-";
/// The file the main servicing stack folder must contain.
const CBSCORE: &str = "cbscore.dll";

/// The parts of a WinSxS component folder name.
///
/// All fields are ASCII lowercase, whatever the case on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentName {
    /// Processor architecture: `amd64`, `x86`, `wow64`, `arm64`, `msil`, ...
    pub arch: String,
    /// Component name, possibly abbreviated with `..`.
    pub name: String,
    /// Public key token: 16 hex digits.
    pub public_key_token: String,
    /// Four dot-separated numbers.
    pub version: String,
    /// `none` or a language tag such as `en-us`.
    pub culture: String,
    /// 16 hex digits.
    pub hash: String,
}

/// Parse `<arch>_<name>_<token>_<version>_<culture>_<hash>`; `None` if it
/// does not have that shape (token = 16 hex digits, version = 4
/// dot-separated numbers, hash = 16 hex digits, culture e.g. `none`/`en-us`).
///
/// The name is parsed from the right: the last four `_`-separated fields are
/// fixed-shape, the first field is the architecture and everything between is
/// the component name (which may contain `.`, `-`, `..` abbreviations, and
/// is even allowed to contain `_`). Fields are returned in ASCII lowercase.
pub fn parse_component_name(dir_name: &str) -> Option<ComponentName> {
    // Real names are ASCII and well under 256 characters; anything else is
    // not a component folder (and ASCII-only makes every split safe).
    if !dir_name.is_ascii() || dir_name.len() > 1024 {
        return None;
    }
    let mut fields = dir_name.rsplitn(5, '_');
    let hash = fields.next()?;
    let culture = fields.next()?;
    let version = fields.next()?;
    let token = fields.next()?;
    let arch_and_name = fields.next()?;
    let (arch, name) = arch_and_name.split_once('_')?;
    if !(is_hex16(hash)
        && is_culture(culture)
        && is_version(version)
        && is_hex16(token)
        && is_arch(arch)
        && is_name(name))
    {
        return None;
    }
    Some(ComponentName {
        arch: arch.to_ascii_lowercase(),
        name: name.to_ascii_lowercase(),
        public_key_token: token.to_ascii_lowercase(),
        version: version.to_string(),
        culture: culture.to_ascii_lowercase(),
        hash: hash.to_ascii_lowercase(),
    })
}

fn is_hex16(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_version(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        parts += 1;
        if part.is_empty() || part.len() > 10 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    parts == 4
}

fn is_culture(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_arch(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// One servicing stack folder found in WinSxS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackFolder {
    /// The entry's name as on disk.
    pub dir_name: String,
    /// WinSxS joined with `dir_name`.
    pub path: PathBuf,
    /// The parsed name.
    pub component: ComponentName,
    /// `servicingstack`, `servicingstack-onecore`, `servicingstack-inetsrv`,
    /// ... (the component name minus `microsoft-windows-`, lowercase).
    pub family: String,
    /// Number of entries directly inside (files and directories), counted up
    /// to a cap of 10,000. `None` when it could not be read (`error` set).
    pub entries: Option<usize>,
    /// Whether `cbscore.dll` is directly inside (name compared ignoring
    /// ASCII case; a directory of that name does not count).
    pub has_cbscore: bool,
    /// Why the folder could not be read, e.g. `permission denied (os error
    /// 13)`, `not a directory`, or `symbolic link or junction (not followed)`.
    pub error: Option<String>,
}

impl StackFolder {
    /// The folder was read and holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries == Some(0)
    }

    /// This is the main `microsoft-windows-servicingstack` component.
    pub fn is_main(&self) -> bool {
        self.family == MAIN_FAMILY
    }
}

/// The servicing stack folders of one WinSxS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The WinSxS folder that was read.
    pub winsxs: PathBuf,
    /// Directory entries in WinSxS that were looked at (including skipped
    /// ones such as non-UTF-8 names).
    pub entries_scanned: usize,
    /// Every servicing stack folder (all families, all arches), sorted by
    /// (family, arch, version numerically, dir_name).
    pub folders: Vec<StackFolder>,
}

impl Inventory {
    /// Versions present for the main family, highest first (numeric compare
    /// of the 4 parts), deduplicated.
    pub fn versions(&self) -> Vec<String> {
        let mut versions: Vec<&str> =
            self.folders.iter().filter(|f| f.is_main()).map(|f| f.component.version.as_str()).collect();
        versions.sort_by(|a, b| crate::version::compare(b, a).then_with(|| a.cmp(b)));
        versions.dedup();
        versions.into_iter().map(str::to_string).collect()
    }

    /// The folders (any family/arch) of one version.
    pub fn of_version(&self, version: &str) -> Vec<&StackFolder> {
        self.folders.iter().filter(|f| f.component.version == version).collect()
    }

    /// The main-family folder for a version and arch (`"amd64"`, compared
    /// ignoring ASCII case), if present.
    pub fn main_folder(&self, version: &str, arch: &str) -> Option<&StackFolder> {
        self.folders
            .iter()
            .find(|f| f.is_main() && f.component.version == version && f.component.arch.eq_ignore_ascii_case(arch))
    }
}

/// Inventory a WinSxS folder. `Err` only when WinSxS itself cannot be listed
/// (with a message naming the path and why), including when listing fails
/// part-way.
///
/// Entries whose names are not valid UTF-8 are skipped (counted in
/// `entries_scanned`). Symbolic links are not followed into.
pub fn inventory(winsxs: &Path) -> Result<Inventory, String> {
    let listing = fs::read_dir(winsxs).map_err(|e| {
        // Windows says ERROR_DIRECTORY, Wine ERROR_INVALID_NAME: ask the file itself.
        let why = if fs::metadata(winsxs).is_ok_and(|m| !m.is_dir()) {
            "not a directory".to_string()
        } else {
            describe_io(&e)
        };
        format!("cannot list WinSxS folder {}: {why}", winsxs.display())
    })?;
    let mut entries_scanned = 0;
    let mut folders = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| {
            format!(
                "listing WinSxS folder {} failed after {} entries: {}",
                winsxs.display(),
                entries_scanned,
                describe_io(&e)
            )
        })?;
        entries_scanned += 1;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        // Cheap filter before parsing: nearly all entries fail this.
        if !contains_ignore_ascii_case(name.as_bytes(), MAIN_FAMILY.as_bytes()) {
            continue;
        }
        let Some(component) = parse_component_name(name) else {
            continue;
        };
        let Some(family) = stack_family(&component.name) else {
            continue;
        };
        folders.push(examine(&entry, name, component, family));
    }
    folders.sort_by(|a, b| {
        a.family
            .cmp(&b.family)
            .then_with(|| a.component.arch.cmp(&b.component.arch))
            .then_with(|| crate::version::compare(&a.component.version, &b.component.version))
            .then_with(|| a.dir_name.cmp(&b.dir_name))
    });
    Ok(Inventory { winsxs: winsxs.to_path_buf(), entries_scanned, folders })
}

/// The servicing stack family of a (lowercase) component name, if it is one.
pub fn stack_family(name: &str) -> Option<String> {
    let family = name.strip_prefix(NAME_PREFIX)?;
    let rest = family.strip_prefix(MAIN_FAMILY)?;
    if rest.is_empty() || (rest.starts_with('-') && rest.len() > 1) {
        Some(family.to_string())
    } else {
        None
    }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Look at one WinSxS entry that is named like a servicing stack folder.
fn examine(entry: &fs::DirEntry, dir_name: &str, component: ComponentName, family: String) -> StackFolder {
    let path = entry.path();
    // DirEntry::file_type does not follow symbolic links.
    let (entries, has_cbscore, error) = match entry.file_type() {
        Err(e) => (None, false, Some(describe_io(&e))),
        Ok(t) if t.is_symlink() => (None, false, Some("symbolic link or junction (not followed)".to_string())),
        Ok(t) if !t.is_dir() => (None, false, Some("not a directory".to_string())),
        Ok(_) => scan_stack_dir(&path),
    };
    StackFolder { dir_name: dir_name.to_string(), path, component, family, entries, has_cbscore, error }
}

/// Count the entries directly inside a stack folder (up to [`ENTRY_CAP`]) and
/// look for cbscore.dll. Never recurses, never follows links.
fn scan_stack_dir(path: &Path) -> (Option<usize>, bool, Option<String>) {
    let listing = match fs::read_dir(path) {
        Ok(listing) => listing,
        Err(e) => return (None, false, Some(describe_io(&e))),
    };
    let mut count = 0;
    let mut has_cbscore = false;
    for entry in listing {
        match entry {
            Ok(entry) => {
                count += 1;
                if !has_cbscore
                    && entry.file_name().eq_ignore_ascii_case(CBSCORE)
                    && entry.file_type().map(|t| !t.is_dir()).unwrap_or(true)
                {
                    has_cbscore = true;
                }
                if count >= ENTRY_CAP {
                    break;
                }
            }
            Err(e) => {
                let why = format!("listing failed after {count} entries: {}", describe_io(&e));
                return (None, has_cbscore, Some(why));
            }
        }
    }
    (Some(count), has_cbscore, None)
}

#[cfg(test)]
mod tests;
