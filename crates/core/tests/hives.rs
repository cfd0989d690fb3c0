//! Reading SOFTWARE hives: hives written by the test writer (always), and the shared fixtures
//! and corpus when `SERVICING_DOCTOR_SHARED` names the shared folder (CI sets it).
//!
//! `write_hives_for_ci` also writes its hives, with a manifest of every key and value in
//! `hivexget`'s format, to the folder `SERVICING_DOCTOR_HIVE_OUT` names, so that
//! `.ci/verify-hives.sh` can check them with hivex, an independent reader.

use std::path::{Path, PathBuf};

use servicing_doctor::checks::registry::{
    read_offline_software, CbsVersion, SoftwareInfo, CBS_KEY, CBS_VERSION_KEY, NT_CURRENT_VERSION_KEY,
};
use servicing_doctor_test_support::regf_writer::{HiveBuilder, REG_BINARY, REG_MULTI_SZ, REG_QWORD};

fn stack(version: &str, hash: &str) -> String {
    format!(r"%SystemRoot%\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_{version}_none_{hash}")
}

fn with_os(b: &mut HiveBuilder) -> &mut HiveBuilder {
    b.value_sz(NT_CURRENT_VERSION_KEY, "ProductName", "Windows 10 Pro", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "DisplayVersion", "22H2", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "ReleaseId", "2009", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "CurrentBuild", "19045", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "CurrentBuildNumber", "19045", false)
        .value_dword(NT_CURRENT_VERSION_KEY, "UBR", 0x12a5)
        .value_sz(NT_CURRENT_VERSION_KEY, "EditionID", "Professional", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "InstallationType", "Client", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "CurrentVersion", "6.3", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "SystemRoot", r"C:\WINDOWS", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "PathName", r"C:\Windows", false)
}

/// The hives the tests read and CI checks with hivex: (file name, builder).
fn hives() -> Vec<(&'static str, HiveBuilder)> {
    let mut one = HiveBuilder::new();
    with_os(&mut one).value_sz(CBS_VERSION_KEY, "10.0.19041.4717", &stack("10.0.19041.4717", "7e1bd7147c8285b2"), true);

    let mut two = HiveBuilder::new();
    with_os(&mut two)
        .value_sz(CBS_VERSION_KEY, "10.0.19041.4597", &stack("10.0.19041.4597", "7e3b0c2d9a1f4e11"), true)
        .value_sz(CBS_VERSION_KEY, "10.0.19041.4717", &stack("10.0.19041.4717", "7e1bd7147c8285b2"), true)
        .key(r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages")
        .value_dword(CBS_KEY, "LastTrustTime", 0);

    let mut no_cbs = HiveBuilder::new();
    with_os(&mut no_cbs).key(r"Microsoft\Windows\CurrentVersion\Run");

    let mut no_version = HiveBuilder::new();
    with_os(&mut no_version).key(CBS_KEY);

    // Many keys and values, and one value bigger than a bin: several hive bins.
    let mut big = HiveBuilder::new();
    with_os(&mut big);
    for i in 0..120u32 {
        let v = format!("10.0.{}.{}", 10240 + i % 7, i * 37);
        big.value_sz(CBS_VERSION_KEY, &v, &stack(&v, "0123456789abcdef"), i % 3 != 0);
        big.key(&format!(r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\Package_{i}_for_KB50{i:05}~31bf3856ad364e35~amd64~~10.0.1.{i}"));
    }
    big.value_sz(r"Classes\Big", "Text", &"0123456789".repeat(700), false);
    // Over 16344 bytes: a big-data (db) cell with three segments.
    big.value_sz(r"Classes\Big", "Huge", &"0123456789abcdef".repeat(1250), false);
    let multi: Vec<u8> = "a\0bc\0\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    big.value_raw(r"Classes\Big", "Blob", REG_BINARY, &[0, 1, 2, 254, 255])
        .value_raw(r"Classes\Big", "Quad", REG_QWORD, &u64::MAX.to_le_bytes())
        .value_raw(r"Classes\Big", "Multi", REG_MULTI_SZ, &multi)
        .value_sz(r"Classes\Big", "", "default value", false);
    big.value_sz(r"Ünïcödé Kéy\Sub", "Nämé", "välue \"quoted\" \\ slash", false);

    vec![
        ("software-one.hiv", one),
        ("software-two.hiv", two),
        ("software-no-cbs.hiv", no_cbs),
        ("software-no-version.hiv", no_version),
        ("software-big.hiv", big),
    ]
}

fn read_built(b: &HiveBuilder) -> SoftwareInfo {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("SOFTWARE");
    std::fs::write(&p, b.build()).unwrap();
    read_offline_software(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn expected_os() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CurrentBuild", "19045"),
        ("CurrentBuildNumber", "19045"),
        ("CurrentVersion", "6.3"),
        ("DisplayVersion", "22H2"),
        ("EditionID", "Professional"),
        ("InstallationType", "Client"),
        ("ProductName", "Windows 10 Pro"),
        ("ReleaseId", "2009"),
        ("UBR", "4773"),
    ]
}

#[test]
fn write_hives_for_ci() {
    let out = std::env::var_os("SERVICING_DOCTOR_HIVE_OUT").map(PathBuf::from);
    for (name, builder) in hives() {
        let bytes = builder.build();
        // Deterministic output: the same builder gives the same bytes.
        assert_eq!(bytes, builder.build(), "{name}");
        let info = read_built(&builder);
        assert!(info.notes.is_empty(), "{name}: {:?}", info.notes);
        if let Some(dir) = &out {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(name), &bytes).unwrap();
            std::fs::write(dir.join(format!("{name}.manifest")), builder.manifest()).unwrap();
        }
    }
    match out {
        Some(dir) => eprintln!("wrote the test hives to {}", dir.display()),
        None => eprintln!("SERVICING_DOCTOR_HIVE_OUT not set: test hives not written"),
    }
}

/// Hostile hives (issue 11): the full-size cases of bench/hostile.sh and small variants used
/// as fuzz seeds (fuzz/seeds/registry/). Each is read here too, and must give Ok or a clear
/// error; with `SERVICING_DOCTOR_HOSTILE_OUT` set, they are written to that folder.
fn hostile_hives() -> Vec<(&'static str, HiveBuilder, &'static str)> {
    let base = || {
        let mut b = HiveBuilder::new();
        with_os(&mut b).value_sz(
            CBS_VERSION_KEY,
            "10.0.19041.4717",
            &stack("10.0.19041.4717", "7e1bd7147c8285b2"),
            true,
        );
        b
    };
    let mut ri_loop = base();
    ri_loop.ri_loop(r"Microsoft\Windows\CurrentVersion");
    let mut fan_out = base();
    fan_out.ri_fan_out("Microsoft", u16::MAX, u16::MAX);
    let mut big = base();
    big.big_data_repeated(NT_CURRENT_VERSION_KEY, "ProductName", 'W', u16::MAX);
    let mut seed_fan_out = base();
    seed_fan_out.key(r"Microsoft\Other").ri_fan_out("Microsoft", 40, 50);
    let mut seed_big = base();
    seed_big.big_data_repeated(NT_CURRENT_VERSION_KEY, "ProductName", 'W', 300);
    vec![
        ("ri-loop", ri_loop.clone(), "lists itself (a loop)"),
        ("ri-fan-out", fan_out, "declares 4294836225 subkeys"),
        ("big-data-repeated", big, ""),
        ("seed-ri-loop", ri_loop, "lists itself (a loop)"),
        ("seed-ri-fan-out", seed_fan_out, ""),
        ("seed-big-data-repeated", seed_big, ""),
    ]
}

#[test]
fn write_hostile_hives() {
    let out = std::env::var_os("SERVICING_DOCTOR_HOSTILE_OUT").map(PathBuf::from);
    let dir = tempfile::tempdir().unwrap();
    for (name, builder, error) in hostile_hives() {
        let bytes = builder.build();
        let p = dir.path().join("SOFTWARE");
        std::fs::write(&p, &bytes).unwrap();
        match read_offline_software(&p) {
            Ok(info) => {
                assert!(error.is_empty(), "{name}: read, expected an error with '{error}'");
                assert!(info.os.values().all(|v| v.len() <= 1024), "{name}");
            }
            Err(e) => assert!(!error.is_empty() && e.contains(error), "{name}: {e}"),
        }
        if let Some(out) = &out {
            std::fs::create_dir_all(out).unwrap();
            std::fs::write(out.join(name), &bytes).unwrap();
        }
    }
    // For bench/hostile.sh: a clean hive (to pad to 4 GiB), and a dirty one with its log (to
    // pad to 1 GiB).
    if let Some(out) = &out {
        let mut clean = HiveBuilder::new();
        with_os(&mut clean).value_sz(CBS_VERSION_KEY, "10.0.19041.4717", "p", true);
        std::fs::write(out.join("clean"), clean.build()).unwrap();
        let log = clean.build_log(4);
        clean.sequence_numbers(5, 4);
        std::fs::write(out.join("dirty"), clean.build()).unwrap();
        std::fs::write(out.join("dirty.LOG"), log).unwrap();
    }
}

#[test]
fn writer_hives_read_back() {
    let all = hives();
    let get = |n: &str| &all.iter().find(|(name, _)| *name == n).unwrap().1;
    let os: Vec<(String, String)> = expected_os().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();

    let one = read_built(get("software-one.hiv"));
    assert!(one.cbs_key_present && one.version_key_present);
    assert_eq!(
        one.cbs_versions,
        [CbsVersion { version: "10.0.19041.4717".into(), path: stack("10.0.19041.4717", "7e1bd7147c8285b2") }]
    );
    assert_eq!(one.os.clone().into_iter().collect::<Vec<_>>(), os);

    let two = read_built(get("software-two.hiv"));
    let versions: Vec<(&str, &str)> = two.cbs_versions.iter().map(|c| (c.version.as_str(), c.path.as_str())).collect();
    assert_eq!(
        versions,
        [
            ("10.0.19041.4717", stack("10.0.19041.4717", "7e1bd7147c8285b2").as_str()),
            ("10.0.19041.4597", stack("10.0.19041.4597", "7e3b0c2d9a1f4e11").as_str()),
        ]
    );

    let no_cbs = read_built(get("software-no-cbs.hiv"));
    assert!(!no_cbs.cbs_key_present && !no_cbs.version_key_present);
    assert!(no_cbs.cbs_versions.is_empty());
    assert_eq!(no_cbs.os["UBR"], "4773");

    let no_version = read_built(get("software-no-version.hiv"));
    assert!(no_version.cbs_key_present && !no_version.version_key_present);
    assert!(no_version.cbs_versions.is_empty());

    let big = read_built(get("software-big.hiv"));
    assert_eq!(big.cbs_versions.len(), 120);
    assert_eq!(big.cbs_versions[0].version, "10.0.10246.4366");
    assert!(big.cbs_versions.windows(2).all(|w| version_key(&w[0].version) > version_key(&w[1].version)));
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap()).collect()
}

#[test]
fn serializes_to_json() {
    let all = hives();
    let info = read_built(&all[0].1);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["cbs_versions"][0]["version"], "10.0.19041.4717");
    assert_eq!(json["os"]["UBR"], "4773");
}

#[test]
fn bad_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = hives().remove(1).1.build();
    let mut wrong_signature = good.clone();
    wrong_signature[0..4].copy_from_slice(b"regF");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "not a registry hive (the file is empty)"),
        (
            "garbage",
            (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            "not a registry hive (no regf signature)",
        ),
        ("wrong-signature", wrong_signature, "not a registry hive (no regf signature)"),
        ("tiny", good[..16].to_vec(), "truncated hive"),
        ("base-block-only", good[..4096].to_vec(), "truncated hive"),
        ("half", good[..good.len() / 2].to_vec(), "truncated hive"),
        ("one-short", good[..good.len() - 1].to_vec(), "truncated hive"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let err = read_offline_software(&p).unwrap_err();
        assert!(err.starts_with(&format!("{}: ", p.display())), "{err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
    let missing = dir.path().join("missing");
    let err = read_offline_software(&missing).unwrap_err();
    assert!(err.contains("cannot open it"), "{err}");
    let err = read_offline_software(dir.path()).unwrap_err();
    assert!(err.contains("folder") || err.contains("cannot"), "{err}");
}

#[test]
fn every_truncation_and_byte_flip_is_ok_or_err() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("SOFTWARE");
    let good = hives().remove(1).1.build();
    for len in (0..good.len()).step_by(97) {
        std::fs::write(&p, &good[..len]).unwrap();
        assert!(read_offline_software(&p).is_err(), "cut at {len}");
    }
    for at in (0..good.len()).step_by(13) {
        let mut bad = good.clone();
        bad[at] = bad[at].wrapping_add(0x55);
        std::fs::write(&p, &bad).unwrap();
        if let Err(e) = read_offline_software(&p) {
            assert!(!e.contains("crashed"), "byte {at}: {e}");
        }
    }
}

/// `SERVICING_DOCTOR_SHARED`, or None (with a note) when it is not set.
fn shared() -> Option<PathBuf> {
    match std::env::var_os("SERVICING_DOCTOR_SHARED") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("SERVICING_DOCTOR_SHARED not set: skipping the tests over the shared hives");
            None
        }
    }
}

#[test]
fn shared_fixtures_read_as_make_hives_says() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("fixtures/hives");
    let os: Vec<(String, String)> = expected_os()
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "ReleaseId" | "CurrentVersion"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let read = |name: &str| read_offline_software(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));

    let one = read("software-cbs-19041-4717.hiv");
    assert!(one.cbs_key_present && one.version_key_present);
    assert_eq!(
        one.cbs_versions,
        [CbsVersion { version: "10.0.19041.4717".into(), path: stack("10.0.19041.4717", "7e1bd7147c8285b2") }]
    );
    assert_eq!(one.os.into_iter().collect::<Vec<_>>(), os);
    assert!(one.notes.is_empty(), "{:?}", one.notes);

    let two = read("software-cbs-two-versions.hiv");
    assert_eq!(
        two.cbs_versions,
        [
            CbsVersion { version: "10.0.19041.4717".into(), path: stack("10.0.19041.4717", "7e1bd7147c8285b2") },
            CbsVersion { version: "10.0.19041.4597".into(), path: stack("10.0.19041.4597", "7e3b0c2d9a1f4e11") },
        ]
    );
    assert_eq!(two.os.into_iter().collect::<Vec<_>>(), os);

    let none = read("software-no-cbs-key.hiv");
    assert!(!none.cbs_key_present && !none.version_key_present);
    assert!(none.cbs_versions.is_empty());
    assert_eq!(none.os.into_iter().collect::<Vec<_>>(), os);

    let empty = read("base-offreg-empty.hiv");
    assert!(!empty.cbs_key_present && empty.os.is_empty());
    assert!(empty.notes.iter().any(|n| n.contains("does not look like a SOFTWARE hive")));
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The phrases an error may start with (after the file name).
const CLEAR_ERRORS: [&str; 7] = [
    "not a registry hive",
    "not a Windows NT registry hive",
    "truncated hive",
    "corrupt hive",
    "unsupported registry hive format",
    "this is a registry transaction log, not a hive",
    "the parser crashed on this hive",
];

#[test]
fn shared_corpus_gives_ok_or_clear_errors() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/artifacts/hives");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let mut read = 0;
    for p in &files {
        let name = p.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
        if name.ends_with(".xz") {
            eprintln!("{name}: skipped (xz-compressed)");
            continue;
        }
        read += 1;
        match read_offline_software(p) {
            Ok(info) => eprintln!("{name}: Ok {info:?}"),
            Err(e) => {
                eprintln!("{name}: Err {e}");
                let why = e
                    .strip_prefix(&format!("{}: ", p.display()))
                    .unwrap_or_else(|| panic!("error does not start with the file name: {e}"));
                assert!(CLEAR_ERRORS.iter().any(|c| why.starts_with(c)), "unclear error: {e}");
                assert!(!why.starts_with("the parser crashed"), "{e}");
            }
        }
    }
    assert!(read >= 10, "only {read} hives in {}", dir.display());

    let ok = |rel: &str| read_offline_software(&dir.join(rel)).unwrap_or_else(|e| panic!("{e}"));
    let err = |rel: &str| read_offline_software(&dir.join(rel)).unwrap_err();

    let nt4 = ok("nt4sp3_SOFTWARE");
    assert!(!nt4.cbs_key_present);
    assert_eq!(nt4.os["CurrentVersion"], "4.0");
    assert_eq!(nt4.os["CurrentBuildNumber"], "1381");
    assert!(err("win9x_SYSTEM.DAT").contains("Windows 9x/Me CREG"));
    assert!(err("yarp/TruncatedHive").contains("truncated hive"));
    assert!(err("yarp/TruncatedDirtyHive").contains("truncated hive"));
    assert!(err("yarp/TruncatedHiveBin").contains("no regf signature"));
    assert!(err("yarp/NewDirtyHive1/NewDirtyHive.LOG1").contains("transaction log, not a hive"));
    assert!(ok("yarp/OffHive").notes.iter().any(|n| n.contains("not look like a SOFTWARE")));

    let garbage = ok("yarp/GarbageHive");
    assert!(garbage.notes.iter().any(|n| n.contains("base block is damaged")), "{garbage:?}");
}

#[test]
fn shared_dirty_hives_report_replay() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/artifacts/hives/yarp");
    let before: Vec<Vec<u8>> = ["NewDirtyHive", "NewDirtyHive.LOG1", "NewDirtyHive.LOG2"]
        .iter()
        .map(|f| std::fs::read(dir.join("NewDirtyHive1").join(f)).unwrap())
        .collect();

    let dirty = read_offline_software(&dir.join("NewDirtyHive1/NewDirtyHive")).unwrap();
    assert_eq!(
        dirty.notes.first().map(String::as_str),
        Some("dirty hive: replayed NewDirtyHive.LOG1, NewDirtyHive.LOG2"),
        "{:?}",
        dirty.notes
    );
    // Nothing was written back.
    for (f, bytes) in ["NewDirtyHive", "NewDirtyHive.LOG1", "NewDirtyHive.LOG2"].iter().zip(before) {
        assert_eq!(std::fs::read(dir.join("NewDirtyHive1").join(f)).unwrap(), bytes);
    }

    let bad_logs = read_offline_software(&dir.join("BadLogHive3/BadLogHive")).unwrap();
    assert!(
        bad_logs.notes.iter().any(|n| n == "skipped transaction log BadLogHive.LOG1: its base block checksum is wrong"),
        "{:?}",
        bad_logs.notes
    );
    assert!(bad_logs.notes.iter().any(|n| n.starts_with("dirty hive but no usable transaction log")));

    let old_format = read_offline_software(&dir.join("BadBaseBlockHive")).unwrap();
    assert!(old_format.notes.iter().any(|n| n.contains("old log format")), "{:?}", old_format.notes);
}
