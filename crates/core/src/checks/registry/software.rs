//! The SOFTWARE hive's answers about servicing: the servicing stack
//! versions CBS registered and which Windows this is, from an offline hive
//! or (on Windows) the running system.

use super::hive::Image;
use super::offline::{read_offline, walk, Walk};
use super::value::{cut, decode_value, type_name, Data, KeyRead, MAX_VALUE_NOTES};
use super::{CbsVersion, SoftwareInfo, CBS_KEY, CBS_VERSION_KEY, NT_CURRENT_VERSION_KEY, OS_VALUE_NAMES};
use std::collections::BTreeMap;
use std::path::Path;

/// Turns what was read into a [`SoftwareInfo`]; shared by the offline and the live reader.
pub(super) fn assemble(
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
    cbs_versions
        .sort_by(|a, b| crate::version::compare(&b.version, &a.version).then_with(|| a.version.cmp(&b.version)));

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

/// Reads the keys this module needs from the (replayed) hive.
pub(super) fn read_tree(image: &mut Image) -> Result<SoftwareInfo, String> {
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

// ---------------------------------------------------------------------------------------------
// The live registry
// ---------------------------------------------------------------------------------------------

/// The same from the running system's registry (HKLM\SOFTWARE, 64-bit view). On permission
/// problems, Err says so.
#[cfg(windows)]
pub fn read_live_software() -> Result<SoftwareInfo, String> {
    let flags = winreg::enums::KEY_WOW64_64KEY;
    let open = |path: &str| super::live::open("SOFTWARE", path, flags);
    let values = |key: &winreg::RegKey, path: &str| super::live::values(key, "SOFTWARE", path);

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
