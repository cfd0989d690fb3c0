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
use std::collections::BTreeMap;

mod hive;
#[cfg(windows)]
mod live;
mod offline;
mod software;
pub mod system;
mod value;

// The readers' parts, for the SYSTEM hive reader and the tests.
use offline::*;
#[cfg(windows)]
pub use software::read_live_software;
pub use software::read_offline_software;
pub use value::MAX_TEXT;
use value::*;

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

#[cfg(test)]
mod tests {
    use super::hive::{le32, Image, BASE_BLOCK_LEN};
    use super::*;
    use servicing_doctor_test_support::regf_writer::HiveBuilder;
    use std::io::Read;
    use std::path::Path;

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
        assert_eq!(crate::version::compare("10.0.19041.4717", "10.0.19041.964"), std::cmp::Ordering::Greater);
        assert_eq!(crate::version::compare("10.0.2", "10.0.2.1"), std::cmp::Ordering::Less);
        assert_eq!(crate::version::compare("10.0.x", "10.0.1"), std::cmp::Ordering::Less);
        assert_eq!(crate::version::compare("1.0", "1.0"), std::cmp::Ordering::Equal);
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
