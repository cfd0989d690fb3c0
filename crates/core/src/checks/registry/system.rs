//! What the SYSTEM registry hive says about the machine: its computer name and its time zone,
//! the first things support asks for.
//!
//! An offline hive (`<root>\Windows\System32\config\SYSTEM`) is read exactly like the SOFTWARE
//! hive (the bounded reader of `hive.rs`, transaction logs replayed in memory, nothing written).
//! `CurrentControlSet` is a link Windows makes at boot and is not in the file: the current
//! control set is the one `Select\Current` names (REG_DWORD n: `ControlSet00n`). In it:
//!
//! - `Control\ComputerName\ComputerName`, value `ComputerName` (REG_SZ): the computer name;
//! - `Control\TimeZoneInformation`, values `TimeZoneKeyName` (REG_SZ, e.g. `W. Europe Standard
//!   Time`) and `ActiveTimeBias` (REG_DWORD: the minutes added to local time to give UTC, a
//!   signed 32-bit number; 0xFFFFFFC4 = -60 is UTC+1).
//!
//! Every value comes from an untrusted file: one of another type than expected (a REG_SZ where a
//! REG_DWORD belongs), a text holding control characters or an offset beyond a day gives no
//! fact, and a note says why. Texts are cut to [`MAX_TEXT`](super::MAX_TEXT) bytes.

use serde::Serialize;
use std::path::Path;

use super::hive::{Image, Key};
use super::{cut, decode_value, read_offline, type_name, walk, Data, KeyRead, Walk};

/// The key naming the current control set, relative to the root of the SYSTEM hive.
pub const SELECT_KEY: &str = "Select";
/// The computer name's key, relative to a control set.
pub const COMPUTER_NAME_KEY: &str = r"Control\ComputerName\ComputerName";
/// The time zone's key, relative to a control set.
pub const TIME_ZONE_KEY: &str = r"Control\TimeZoneInformation";
/// The largest plausible UTC offset, in minutes (real ones run from -720 to +840).
const MAX_OFFSET_MINUTES: i64 = 24 * 60;

/// What the SYSTEM hive says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SystemInfo {
    /// The control set `Select\Current` names, e.g. `ControlSet001`.
    pub control_set: Option<String>,
    /// `ComputerName` of `<control set>\Control\ComputerName\ComputerName`.
    pub computer_name: Option<String>,
    /// `TimeZoneKeyName` of `<control set>\Control\TimeZoneInformation`.
    pub time_zone: Option<String>,
    /// Minutes ahead of UTC as Windows last set the clock (daylight saving time included):
    /// minus `ActiveTimeBias`.
    pub utc_offset_minutes: Option<i64>,
    /// Things worth telling the user (replayed logs, values ignored and why).
    pub notes: Vec<String>,
}

impl SystemInfo {
    /// The facts for the report's `system{}`: `computer_name`, `time_zone` and
    /// `utc_offset_minutes`, those known.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(n) = &self.computer_name {
            out.push(("computer_name", n.clone()));
        }
        if let Some(z) = &self.time_zone {
            out.push(("time_zone", z.clone()));
        }
        if let Some(m) = self.utc_offset_minutes {
            out.push(("utc_offset_minutes", m.to_string()));
        }
        out
    }
}

/// Read an offline SYSTEM hive (e.g. `<root>/Windows/System32/config/SYSTEM`), as
/// [`super::read_offline_software`] reads a SOFTWARE hive: errors are one sentence naming the
/// file ("not a registry hive ...", "corrupt hive: ..."), never a panic. A hive without a
/// `Select` key is no error: it gives no facts and a note.
pub fn read_offline_system(path: &Path) -> Result<SystemInfo, String> {
    let (mut info, mut notes) = read_offline(path, read_tree)?;
    notes.append(&mut info.notes);
    info.notes = notes;
    Ok(info)
}

fn read_tree(image: &mut Image) -> Result<SystemInfo, String> {
    let root = image.root()?;
    let mut notes = Vec::new();
    let select = match walk(image, &root, "", SELECT_KEY) {
        Walk::Found(key) => KeyRead::Present(
            image
                .values(&key, |n| n.eq_ignore_ascii_case("Current"))
                .map_err(|e| format!("the values of `{SELECT_KEY}` cannot be read ({e})"))?
                .into_iter()
                .map(decode_value)
                .collect(),
        ),
        Walk::Missing { .. } => KeyRead::Absent,
        Walk::Unreadable { why } => return Err(why),
    };
    let Some(set) = control_set(select, &mut notes) else {
        return Ok(SystemInfo { notes, ..SystemInfo::default() });
    };
    let set_key = match walk(image, &root, "", &set) {
        Walk::Found(key) => key,
        Walk::Missing { .. } => {
            notes.push(format!("`{SELECT_KEY}\\Current` names the control set `{set}`, which the hive does not hold"));
            return Ok(SystemInfo { control_set: Some(set), notes, ..SystemInfo::default() });
        }
        Walk::Unreadable { why } => {
            notes.push(format!("{why} (the hive may be corrupt)"));
            return Ok(SystemInfo { control_set: Some(set), notes, ..SystemInfo::default() });
        }
    };
    let computer = read_key(image, &set_key, &set, COMPUTER_NAME_KEY, &["ComputerName"], &mut notes);
    let zone = read_key(image, &set_key, &set, TIME_ZONE_KEY, &["TimeZoneKeyName", "ActiveTimeBias"], &mut notes);
    Ok(assemble(set, computer, zone, notes))
}

/// The values named in `wanted` of the key `rel` under the control set `set_key` (whose path is
/// `set`); a key that cannot be read is a note, not an error: the other facts stay.
fn read_key(
    image: &mut Image,
    set_key: &Key,
    set: &str,
    rel: &str,
    wanted: &[&str],
    notes: &mut Vec<String>,
) -> KeyRead {
    match walk(image, set_key, set, rel) {
        Walk::Found(key) => match image.values(&key, |n| wanted.iter().any(|w| w.eq_ignore_ascii_case(n))) {
            Ok(values) => KeyRead::Present(values.into_iter().map(decode_value).collect()),
            Err(e) => {
                notes.push(format!("the values of `{set}\\{rel}` cannot be read ({e}) (the hive may be corrupt)"));
                KeyRead::Absent
            }
        },
        Walk::Missing { .. } => KeyRead::Absent,
        Walk::Unreadable { why } => {
            notes.push(format!("{why} (the hive may be corrupt)"));
            KeyRead::Absent
        }
    }
}

/// The control set `Select\Current` names (`ControlSet001`), or None with a note.
fn control_set(select: KeyRead, notes: &mut Vec<String>) -> Option<String> {
    let KeyRead::Present(values) = select else {
        notes.push(format!("the hive has no `{SELECT_KEY}` key at its root: it does not look like a SYSTEM hive"));
        return None;
    };
    match values.iter().find(|(n, _)| n.eq_ignore_ascii_case("Current")).map(|(_, d)| d) {
        None => notes.push(format!("`{SELECT_KEY}` has no `Current` value: the current control set is unknown")),
        Some(Data::Dword(n @ 1..=999)) => return Some(format!("ControlSet{n:03}")),
        Some(Data::Dword(n)) => notes.push(format!(
            "`{SELECT_KEY}\\Current` is {n}, not a control set number (1 to 999): the current control set is unknown"
        )),
        Some(other) => notes.push(format!(
            "`{SELECT_KEY}\\Current` is {}, not REG_DWORD: the current control set is unknown",
            type_name(other)
        )),
    }
    None
}

/// Turns what was read into a [`SystemInfo`]; shared by the offline and the live reader.
fn assemble(set: String, computer: KeyRead, zone: KeyRead, mut notes: Vec<String>) -> SystemInfo {
    let computer_key = format!("{set}\\{COMPUTER_NAME_KEY}");
    let zone_key = format!("{set}\\{TIME_ZONE_KEY}");
    let computer_name = text(&computer, "ComputerName", &computer_key, &mut notes);
    let time_zone = text(&zone, "TimeZoneKeyName", &zone_key, &mut notes);
    let utc_offset_minutes = match value(&zone, "ActiveTimeBias") {
        None => None,
        Some(Data::Dword(bias)) => {
            // A signed 32-bit number stored as a DWORD; i64 so that -i32::MIN cannot overflow.
            let offset = -i64::from(*bias as i32);
            if offset.abs() <= MAX_OFFSET_MINUTES {
                Some(offset)
            } else {
                notes.push(format!(
                    "value `ActiveTimeBias` of `{zone_key}` is {} minutes, more than a day: ignored",
                    *bias as i32
                ));
                None
            }
        }
        Some(other) => {
            notes.push(format!(
                "value `ActiveTimeBias` of `{zone_key}` is {}, not REG_DWORD: ignored",
                type_name(other)
            ));
            None
        }
    };
    SystemInfo { control_set: Some(set), computer_name, time_zone, utc_offset_minutes, notes }
}

/// The value `name` of a key read (names are case-insensitive; the first match wins).
fn value<'a>(key: &'a KeyRead, name: &str) -> Option<&'a Data> {
    match key {
        KeyRead::Present(values) => values.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, d)| d),
        KeyRead::Absent => None,
    }
}

/// The string value `name` of `key` (whose path is `path`), trimmed and cut to
/// [`MAX_TEXT`](super::MAX_TEXT) bytes; None, with a note, when it is of another type or holds control characters.
fn text(key: &KeyRead, name: &str, path: &str, notes: &mut Vec<String>) -> Option<String> {
    match value(key, name)? {
        Data::Str(s) => {
            let s = s.trim();
            // Line separators (U+0085, U+2028, U+2029) break lines too.
            if s.chars().any(|c| c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')) {
                notes.push(format!("value `{name}` of `{path}` holds control characters or line breaks: ignored"));
                None
            } else if s.is_empty() {
                None
            } else {
                Some(cut(s.to_string(), || format!("value `{name}` of `{path}`"), notes))
            }
        }
        other => {
            notes.push(format!("value `{name}` of `{path}` is {}, not REG_SZ: ignored", type_name(other)));
            None
        }
    }
}

/// The same from the running system's registry (HKLM\SYSTEM). Err when `Select` cannot be
/// read (permissions); a key under the control set that cannot be read is a note.
#[cfg(windows)]
pub fn read_live_system() -> Result<SystemInfo, String> {
    let open = |path: &str| super::live::open("SYSTEM", path, 0);
    let values = |key: &winreg::RegKey, path: &str| super::live::values(key, "SYSTEM", path);
    let select = match open(SELECT_KEY)? {
        Some(key) => KeyRead::Present(values(&key, SELECT_KEY)?),
        None => KeyRead::Absent,
    };
    let mut notes = Vec::new();
    let Some(set) = control_set(select, &mut notes) else {
        return Ok(SystemInfo { notes, ..SystemInfo::default() });
    };
    let mut read = |rel: &str| -> KeyRead {
        let path = format!("{set}\\{rel}");
        match open(&path).and_then(|k| k.map(|k| values(&k, &path)).transpose()) {
            Ok(Some(v)) => KeyRead::Present(v),
            Ok(None) => KeyRead::Absent,
            Err(e) => {
                notes.push(e);
                KeyRead::Absent
            }
        }
    };
    let computer = read(COMPUTER_NAME_KEY);
    let zone = read(TIME_ZONE_KEY);
    Ok(assemble(set, computer, zone, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::registry::MAX_TEXT;
    use servicing_doctor_test_support::regf_writer::{HiveBuilder, REG_BINARY, REG_DWORD, REG_SZ};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn read_bytes(bytes: &[u8]) -> Result<SystemInfo, String> {
        let dir = tempfile::tempdir().unwrap();
        read_offline_system(&write(dir.path(), "SYSTEM", bytes))
    }

    /// A SYSTEM hive whose current control set is `current`, holding `name`, `zone` and
    /// `bias` there; ControlSet001 holds other values when it is not the current one.
    fn system(current: u32, name: &str, zone: &str, bias: u32) -> HiveBuilder {
        let mut b = HiveBuilder::new();
        b.value_dword(SELECT_KEY, "Current", current)
            .value_dword(SELECT_KEY, "Default", current)
            .value_dword(SELECT_KEY, "LastKnownGood", current)
            .key(r"ControlSet001\Services\Tcpip");
        let set = format!("ControlSet{current:03}");
        if current != 1 {
            b.value_sz(&format!(r"ControlSet001\{COMPUTER_NAME_KEY}"), "ComputerName", "OLD-NAME", false)
                .value_sz(&format!(r"ControlSet001\{TIME_ZONE_KEY}"), "TimeZoneKeyName", "UTC", false)
                .value_dword(&format!(r"ControlSet001\{TIME_ZONE_KEY}"), "ActiveTimeBias", 0);
        }
        b.value_sz(&format!(r"{set}\{COMPUTER_NAME_KEY}"), "ComputerName", name, false)
            .value_sz(&format!(r"{set}\Control\ComputerName\ActiveComputerName"), "ComputerName", "ACTIVE", false)
            .value_sz(&format!(r"{set}\{TIME_ZONE_KEY}"), "TimeZoneKeyName", zone, false)
            .value_sz(&format!(r"{set}\{TIME_ZONE_KEY}"), "StandardName", "@tzres.dll,-322", false)
            .value_dword(&format!(r"{set}\{TIME_ZONE_KEY}"), "Bias", 0xFFFF_FFC4)
            .value_dword(&format!(r"{set}\{TIME_ZONE_KEY}"), "ActiveTimeBias", bias);
        b
    }

    #[test]
    fn name_and_time_zone_of_the_current_control_set() {
        let info = read_bytes(&system(2, "PDQ-1", "W. Europe Standard Time", 0xFFFF_FF88).build()).unwrap();
        assert_eq!(info.control_set.as_deref(), Some("ControlSet002"));
        assert_eq!(info.computer_name.as_deref(), Some("PDQ-1"));
        assert_eq!(info.time_zone.as_deref(), Some("W. Europe Standard Time"));
        assert_eq!(info.utc_offset_minutes, Some(120));
        assert!(info.notes.is_empty(), "{:?}", info.notes);
        assert_eq!(
            info.facts(),
            [
                ("computer_name", "PDQ-1".to_string()),
                ("time_zone", "W. Europe Standard Time".to_string()),
                ("utc_offset_minutes", "120".to_string())
            ]
        );
    }

    #[test]
    fn active_time_bias_is_a_signed_number() {
        for (bias, offset) in [(0xFFFF_FFC4, 60), (0, 0), (300, -300), (0xFFFF_FCC8, 824), (720, -720)] {
            let info = read_bytes(&system(1, "PC", "Any", bias).build()).unwrap();
            assert_eq!(info.utc_offset_minutes, Some(offset), "{bias:#x}");
        }
        for bias in [0x8000_0000, 0x7FFF_FFFF, 1441, 0xFFFF_FA5F] {
            let info = read_bytes(&system(1, "PC", "Any", bias).build()).unwrap();
            assert_eq!(info.utc_offset_minutes, None, "{bias:#x}");
            assert!(info.notes.iter().any(|n| n.contains("more than a day: ignored")), "{:?}", info.notes);
            assert_eq!(info.computer_name.as_deref(), Some("PC"));
        }
    }

    #[test]
    fn names_match_case_insensitively() {
        let mut b = HiveBuilder::new();
        b.value_dword("SELECT", "current", 1)
            .value_sz(r"controlset001\control\computername\COMPUTERNAME", "computername", "lower", false)
            .value_dword(r"CONTROLSET001\CONTROL\TIMEZONEINFORMATION", "activetimebias", 0);
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.computer_name.as_deref(), Some("lower"));
        assert_eq!(info.utc_offset_minutes, Some(0));
        assert_eq!(info.time_zone, None);
    }

    #[test]
    fn odd_types_give_no_fact_and_a_note() {
        // Select\Current as a string: no control set, no facts.
        let mut b = HiveBuilder::new();
        b.value_sz(SELECT_KEY, "Current", "1", false).value_sz(
            &format!(r"ControlSet001\{COMPUTER_NAME_KEY}"),
            "ComputerName",
            "PC",
            false,
        );
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.facts().is_empty() && info.control_set.is_none());
        assert!(
            info.notes.iter().any(|n| n.contains("`Select\\Current` is a string, not REG_DWORD")),
            "{:?}",
            info.notes
        );

        // Each value of the wrong type is left out alone.
        let mut b = HiveBuilder::new();
        b.value_dword(SELECT_KEY, "Current", 1)
            .value_dword(&format!(r"ControlSet001\{COMPUTER_NAME_KEY}"), "ComputerName", 7)
            .value_raw(&format!(r"ControlSet001\{TIME_ZONE_KEY}"), "TimeZoneKeyName", REG_BINARY, &[1, 2, 3])
            .value_raw(&format!(r"ControlSet001\{TIME_ZONE_KEY}"), "ActiveTimeBias", REG_SZ, &[0x36, 0, 0x30, 0, 0, 0]);
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.facts().is_empty(), "{:?}", info.facts());
        assert_eq!(info.notes.len(), 3, "{:?}", info.notes);
        assert!(info.notes[0].contains(
            "`ComputerName` of `ControlSet001\\Control\\ComputerName\\ComputerName` is REG_DWORD, not REG_SZ"
        ));
        assert!(info.notes[1].contains("`TimeZoneKeyName`") && info.notes[1].contains("REG_BINARY"));
        assert!(info.notes[2].contains("`ActiveTimeBias`") && info.notes[2].contains("a string, not REG_DWORD"));

        // A DWORD too short to be one.
        let mut b = HiveBuilder::new();
        b.value_raw(SELECT_KEY, "Current", REG_DWORD, &[1]);
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.notes.iter().any(|n| n.contains("REG_DWORD (too short)")), "{:?}", info.notes);
    }

    #[test]
    fn control_characters_and_long_names() {
        let info = read_bytes(&system(1, "PC\u{1b}[31m", "Zone\nTwo", 0).build()).unwrap();
        assert_eq!((info.computer_name.as_deref(), info.time_zone.as_deref()), (None, None));
        assert_eq!(
            info.notes.iter().filter(|n| n.contains("holds control characters or line breaks: ignored")).count(),
            2
        );
        let info = read_bytes(&system(1, "PC\u{2028}X", "Zone\u{85}Two", 0).build()).unwrap();
        assert_eq!((info.computer_name.as_deref(), info.time_zone.as_deref()), (None, None), "line separators too");
        assert_eq!(info.utc_offset_minutes, Some(0));

        let long = "N".repeat(5000);
        let info = read_bytes(&system(1, &long, "  Padded Zone  ", 0).build()).unwrap();
        assert_eq!(info.computer_name, Some("N".repeat(MAX_TEXT)));
        assert_eq!(info.time_zone.as_deref(), Some("Padded Zone"));
        assert!(info.notes.iter().any(|n| n.contains("cut to its first 1024 bytes")), "{:?}", info.notes);
    }

    #[test]
    fn missing_keys_and_bad_control_set_numbers() {
        // A SOFTWARE hive given as SYSTEM.
        let mut b = HiveBuilder::new();
        b.value_sz(r"Microsoft\Windows NT\CurrentVersion", "ProductName", "Windows 10 Pro", false);
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.facts().is_empty());
        assert!(info.notes.iter().any(|n| n.contains("does not look like a SYSTEM hive")), "{:?}", info.notes);

        for current in [0, 1000, u32::MAX] {
            let mut b = HiveBuilder::new();
            b.value_dword(SELECT_KEY, "Current", current);
            let info = read_bytes(&b.build()).unwrap();
            assert!(info.facts().is_empty());
            assert!(info.notes.iter().any(|n| n.contains("not a control set number")), "{:?}", info.notes);
        }

        let mut b = HiveBuilder::new();
        b.value_dword(SELECT_KEY, "Current", 3).key(r"ControlSet001\Control");
        let info = read_bytes(&b.build()).unwrap();
        assert_eq!(info.control_set.as_deref(), Some("ControlSet003"));
        assert!(info.notes.iter().any(|n| n.contains("`ControlSet003`, which the hive does not hold")));

        // Control set present, keys absent: no facts, nothing to say.
        let mut b = HiveBuilder::new();
        b.value_dword(SELECT_KEY, "Current", 1).key(r"ControlSet001\Control\Session Manager");
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.facts().is_empty() && info.notes.is_empty(), "{info:?}");

        let mut b = HiveBuilder::new();
        b.key(SELECT_KEY);
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.notes.iter().any(|n| n.contains("has no `Current` value")));
    }

    #[test]
    fn a_dirty_hive_is_replayed_from_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = system(1, "BEFORE", "UTC", 0);
        old.sequence_numbers(5, 4);
        let new = system(1, "AFTER", "UTC", 0);
        let hive = write(dir.path(), "SYSTEM", &old.build());
        write(dir.path(), "SYSTEM.LOG1", &new.build_log(4));
        let info = read_offline_system(&hive).unwrap();
        assert_eq!(info.computer_name.as_deref(), Some("AFTER"));
        assert_eq!(info.notes, ["dirty hive: replayed SYSTEM.LOG1"]);
    }

    #[test]
    fn bad_files_give_errors_naming_them() {
        let good = system(1, "PC", "UTC", 0).build();
        for (bytes, want) in [
            (Vec::new(), "not a registry hive (the file is empty)"),
            (b"garbage".to_vec(), "not a registry hive (no regf signature)"),
            (good[..good.len() / 2].to_vec(), "truncated hive"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let p = write(dir.path(), "SYSTEM", &bytes);
            let err = read_offline_system(&p).unwrap_err();
            assert!(err.starts_with(&format!("{}: ", p.display())) && err.contains(want), "{err}");
        }
    }

    #[test]
    fn an_unreadable_root_list_is_an_error_and_loops_are_caught() {
        let mut b = system(1, "PC", "UTC", 0);
        b.ri_loop("");
        let err = read_bytes(&b.build()).unwrap_err();
        assert!(err.contains("corrupt hive: the subkeys of the root key cannot all be read"), "{err}");

        // A loop below the control set costs only the facts behind it.
        let mut b = system(1, "PC", "UTC", 0);
        b.ri_loop(r"ControlSet001\Control");
        let info = read_bytes(&b.build()).unwrap();
        assert!(info.facts().is_empty());
        assert!(info.notes.iter().any(|n| n.contains("lists itself")), "{:?}", info.notes);
    }

    #[test]
    fn damaged_cells_never_panic() {
        let good = system(2, "PDQ-1", "W. Europe Standard Time", 0xFFFF_FFC4).build();
        for at in (4096..good.len()).step_by(8) {
            let mut bad = good.clone();
            bad[at..at + 4].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
            if let Ok(info) = read_bytes(&bad) {
                assert!(info.facts().iter().all(|(_, v)| v.len() <= MAX_TEXT));
            }
            let mut bad = good.clone();
            bad[at] ^= 0xFF;
            let _ = read_bytes(&bad);
        }
    }
}
