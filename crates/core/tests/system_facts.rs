//! What a support request states first (issue 12 item 9): the computer name and time zone
//! from an offline installation's SYSTEM hive, and the computer name and update package the
//! logs state. Offline roots are built in temporary folders; the hives by the test-only REGF
//! writer.

use std::path::{Path, PathBuf};

use servicing_doctor::checks::registry::system::{COMPUTER_NAME_KEY, SELECT_KEY, TIME_ZONE_KEY};
use servicing_doctor::checks::registry::{CBS_VERSION_KEY, NT_CURRENT_VERSION_KEY};
use servicing_doctor::report::CheckStatus;
use servicing_doctor::rules::RuleSet;
use servicing_doctor::{diagnose, DiagnoseOptions, LogKind, Report};
use servicing_doctor_test_support::regf_writer::{HiveBuilder, REG_SZ};

const STACK: &str = "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e1bd7147c8285b2";

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn software() -> Vec<u8> {
    let mut b = HiveBuilder::new();
    b.value_sz(NT_CURRENT_VERSION_KEY, "ProductName", "Windows 10 Pro", false)
        .value_sz(NT_CURRENT_VERSION_KEY, "CurrentBuild", "19045", false)
        .value_dword(NT_CURRENT_VERSION_KEY, "UBR", 4717)
        .value_sz(CBS_VERSION_KEY, "10.0.19041.4717", &format!(r"%SystemRoot%\WinSxS\{STACK}"), true);
    b.build()
}

/// A SYSTEM hive whose current control set is ControlSet002 (ControlSet001 holds an older
/// name and time zone, which must not be read).
fn system_hive() -> HiveBuilder {
    let mut b = HiveBuilder::new();
    b.value_dword(SELECT_KEY, "Current", 2)
        .value_dword(SELECT_KEY, "Default", 2)
        .value_sz(&format!(r"ControlSet001\{COMPUTER_NAME_KEY}"), "ComputerName", "OLD-NAME", false)
        .value_sz(&format!(r"ControlSet001\{TIME_ZONE_KEY}"), "TimeZoneKeyName", "UTC", false)
        .value_dword(&format!(r"ControlSet001\{TIME_ZONE_KEY}"), "ActiveTimeBias", 0)
        .value_sz(&format!(r"ControlSet002\{COMPUTER_NAME_KEY}"), "ComputerName", "FILESRV01", false)
        .value_sz(&format!(r"ControlSet002\{TIME_ZONE_KEY}"), "TimeZoneKeyName", "W. Europe Standard Time", false)
        .value_dword(&format!(r"ControlSet002\{TIME_ZONE_KEY}"), "Bias", 0xFFFF_FFC4)
        .value_dword(&format!(r"ControlSet002\{TIME_ZONE_KEY}"), "ActiveTimeBias", 0xFFFF_FFC4);
    b
}

/// An offline Windows root: SOFTWARE, WinSxS with the registered stack, a Panther log naming
/// another computer, and `system` (if any) as its SYSTEM hive at `system_rel`.
fn root(system: Option<&[u8]>, system_rel: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(&r.join("Windows/System32/config/SOFTWARE"), &software());
    for f in ["cbscore.dll", "TiWorker.exe"] {
        write(&r.join("Windows/WinSxS").join(STACK).join(f), b"MZ");
    }
    write(
        &r.join("Windows/Panther/setupact.log"),
        b"2022-07-06 08:13:43, Info       [0x0803b4] MIG    COnlineWinNTPlatform: ComputerName=PDQ-1\r\n",
    );
    if let Some(bytes) = system {
        write(&r.join(system_rel), bytes);
    }
    d
}

fn run(inputs: &[PathBuf]) -> Report {
    let rules = RuleSet::embedded().unwrap_or_else(|e| panic!("{e:?}"));
    diagnose(inputs, &rules, &DiagnoseOptions::default()).unwrap()
}

fn hive_sources<'a>(report: &'a Report, name: &str) -> Vec<&'a servicing_doctor::report::Source> {
    report
        .sources
        .iter()
        .filter(|s| s.kind == LogKind::Hive && Path::new(&s.path).file_name().is_some_and(|n| n == name))
        .collect()
}

#[test]
fn an_offline_root_states_computer_name_and_time_zone() {
    let d = root(Some(&system_hive().build()), "Windows/System32/config/SYSTEM");
    let report = run(&[d.path().to_path_buf()]);
    let sys = &report.system;
    assert_eq!(sys.get("computer_name").map(String::as_str), Some("FILESRV01"), "{sys:?}");
    assert_eq!(sys.get("time_zone").map(String::as_str), Some("W. Europe Standard Time"));
    assert_eq!(sys.get("utc_offset_minutes").map(String::as_str), Some("60"));
    // The logs' name is kept apart from the registry's.
    assert_eq!(sys.get("computer_name_in_logs").map(String::as_str), Some("PDQ-1"));
    // The SOFTWARE hive's facts and checks are untouched.
    assert_eq!(sys.get("os_build").map(String::as_str), Some("19045.4717"));
    let cbs = report.checks.iter().find(|c| c.id == "registry-cbs-version-key").unwrap();
    assert_eq!(cbs.status, CheckStatus::Pass);
    // The SYSTEM hive is a source, read without trouble.
    let src = hive_sources(&report, "SYSTEM");
    assert_eq!(src.len(), 1, "{:?}", report.sources);
    assert_eq!((src[0].error.as_ref(), src[0].records, src[0].role), (None, 1, Some("system")));
    assert!(src[0].warnings.is_empty(), "{:?}", src[0].warnings);
}

#[test]
fn the_system_hive_is_found_whatever_its_letter_case() {
    let d = root(Some(&system_hive().build()), "Windows/System32/config/system");
    let report = run(&[d.path().to_path_buf()]);
    assert_eq!(report.system.get("computer_name").map(String::as_str), Some("FILESRV01"));
    assert_eq!(hive_sources(&report, "system").len(), 1);
}

#[test]
fn no_system_hive_gives_no_facts_and_no_error() {
    let d = root(None, "");
    let report = run(&[d.path().to_path_buf()]);
    for key in ["computer_name", "time_zone", "utc_offset_minutes"] {
        assert!(!report.system.contains_key(key), "{key}: {:?}", report.system);
    }
    assert_eq!(report.system.get("computer_name_in_logs").map(String::as_str), Some("PDQ-1"));
    assert!(hive_sources(&report, "SYSTEM").is_empty());
    assert!(report.sources.iter().all(|s| s.error.is_none()), "{:?}", report.sources);
}

#[test]
fn a_corrupt_system_hive_is_a_source_error_and_the_diagnosis_goes_on() {
    let good = system_hive().build();
    for (bytes, want) in [
        (b"this is not a hive".to_vec(), "not a registry hive (no regf signature)"),
        (good[..good.len() - 4096].to_vec(), "truncated hive"),
    ] {
        let d = root(Some(&bytes), "Windows/System32/config/SYSTEM");
        let report = run(&[d.path().to_path_buf()]);
        let src = hive_sources(&report, "SYSTEM");
        assert_eq!(src.len(), 1);
        let err = src[0].error.as_deref().unwrap();
        assert!(err.starts_with(&src[0].path) && err.contains(want), "{err}");
        assert!(!report.system.contains_key("computer_name"));
        assert_eq!(report.system.get("os_build").map(String::as_str), Some("19045.4717"));
        assert_eq!(report.system.get("computer_name_in_logs").map(String::as_str), Some("PDQ-1"));
        // No check fails because of it.
        assert!(report.checks.iter().all(|c| c.status != CheckStatus::Fail), "{:?}", report.checks);
    }
}

#[test]
fn odd_values_are_left_out_with_a_warning() {
    let mut b = system_hive();
    b.value_raw(&format!(r"ControlSet002\{TIME_ZONE_KEY}"), "ActiveTimeBias", REG_SZ, &[0x36, 0, 0x30, 0, 0, 0])
        .value_dword(&format!(r"ControlSet002\{COMPUTER_NAME_KEY}"), "ComputerName", 7);
    let d = root(Some(&b.build()), "Windows/System32/config/SYSTEM");
    let report = run(&[d.path().to_path_buf()]);
    assert!(!report.system.contains_key("computer_name") && !report.system.contains_key("utc_offset_minutes"));
    assert_eq!(report.system.get("time_zone").map(String::as_str), Some("W. Europe Standard Time"));
    let src = hive_sources(&report, "SYSTEM");
    assert!(src[0].error.is_none());
    assert_eq!(src[0].warnings.len(), 2, "{:?}", src[0].warnings);
    assert!(src[0].warnings.iter().all(|w| w.ends_with(": ignored")), "{:?}", src[0].warnings);
}

/// Logs that state no KB, or no machine, give no such fact (what the rule's own YAML tests
/// cannot say).
#[test]
fn placeholders_in_logs_give_no_fact() {
    let d = tempfile::tempdir().unwrap();
    let cbs = d.path().join("CBS.log");
    write(
        &cbs,
        b"2023-11-11 12:27:38, Info                  CBS    Exec: Processing started.  Client: DISM Package Manager Provider, Session: 31069309_507941118, Package: Microsoft-OneCore-Graphics-Tools-Package~31bf3856ad364e35~amd64~~10.0.19041.1, Identifier: KB777778\r\n\
2023-11-11 12:30:40, Info                  CBS    Exec: Processing complete.  Session: 31069309_507941118, Package: Microsoft-OneCore-Graphics-Tools-Package~31bf3856ad364e35~amd64~~10.0.19041.1, Identifier: KB777778 [HRESULT = 0x8024402c - Unknown Error]\r\n",
    );
    let xml = d.path().join("setupdiagresults.xml");
    write(
        &xml,
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<SetupDiag xmlns=\"https://docs.microsoft.com/windows/deployment/upgrade/setupdiag\">\r\n  <Version>1.5.0.0</Version>\r\n  <SystemInfo>\r\n    <MachineName>Offline</MachineName>\r\n    <HostOSVersion>10.0.18908</HostOSVersion>\r\n  </SystemInfo>\r\n</SetupDiag>\r\n",
    );
    let report = run(&[cbs, xml]);
    let sys = &report.system;
    assert_eq!(
        sys.get("package_in_logs").map(String::as_str),
        Some("Microsoft-OneCore-Graphics-Tools-Package~31bf3856ad364e35~amd64~~10.0.19041.1"),
        "{sys:?}"
    );
    assert_eq!(sys.get("os_version_in_logs").map(String::as_str), Some("10.0.18908"));
    assert!(!sys.contains_key("kb_in_logs") && !sys.contains_key("computer_name_in_logs"), "{sys:?}");
}

/// The real logs of the shared corpus state the name and package they hold.
#[test]
fn corpus_logs_state_computer_and_package() {
    let Some(shared) = std::env::var_os("SERVICING_DOCTOR_SHARED").map(PathBuf::from) else {
        eprintln!("SERVICING_DOCTOR_SHARED not set: skipping the corpus checks of system facts");
        return;
    };
    let corpus = shared.join("corpus");
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("setupact_win10_upgrade_setupphaseerror_0x80070032_ricka.log", &[("computer_name_in_logs", "PDQ-1")]),
        ("setupdiag_results_appostarsi.txt", &[("computer_name_in_logs", "DESKTOP-RVU7BLR")]),
        (
            "cbs_server2008r2_2016_0x80070057_0x800736b3_trentent.log",
            &[
                ("package_in_logs", "Package_for_KB3177467~31bf3856ad364e35~amd64~~6.1.1.1"),
                ("kb_in_logs", "KB3177467"),
            ],
        ),
        (
            "wulog_server2008r2_2016_fatal_0x80070057_0x800736b3_trentent.log",
            &[
                ("package_in_logs", "Package_for_KB3177467~31bf3856ad364e35~amd64~~6.1.1.1"),
                ("kb_in_logs", "KB3177467"),
            ],
        ),
        (
            "cbs_win10_19041_2023_fod_download_0x8024402c_ehsan.log",
            &[(
                "package_in_logs",
                "Microsoft-Windows-LanguageFeatures-Basic-fa-ir-Package~31bf3856ad364e35~amd64~~10.0.19041.1",
            )],
        ),
    ];
    for (file, want) in cases {
        let report = run(&[corpus.join(file)]);
        for (key, value) in want {
            assert_eq!(report.system.get(*key).map(String::as_str), Some(*value), "{file}: {key}: {:?}", report.system);
        }
    }
    // SetupDiag run on copied logs names no machine.
    let report = run(&[corpus.join("derived/setupdiag_msdocs_sample_findspfatalerror_0x57.utf16le-bom-crlf.xml")]);
    assert!(!report.system.contains_key("computer_name_in_logs"), "{:?}", report.system);
}

/// Our reader on a SYSTEM hive written by another tool: hivex (`hivexsh`, Debian's
/// libhivex-bin) builds it from `tests/fixtures/system-hive.hivexsh` on a copy of the shared
/// empty hive that Windows' offreg.dll wrote. Skipped without the shared folder or hivexsh.
#[test]
fn a_system_hive_written_by_hivex_reads_back() {
    let Some(shared) = std::env::var_os("SERVICING_DOCTOR_SHARED").map(PathBuf::from) else {
        eprintln!("SERVICING_DOCTOR_SHARED not set: skipping the hivex-built SYSTEM hive");
        return;
    };
    let d = root(None, "");
    let hive = d.path().join("Windows/System32/config/SYSTEM");
    std::fs::copy(shared.join("fixtures/hives/base-offreg-empty.hiv"), &hive).unwrap();
    let mut perms = std::fs::metadata(&hive).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&hive, perms).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/system-hive.hivexsh");
    match std::process::Command::new("hivexsh").arg("-w").arg("-f").arg(&script).arg(&hive).status() {
        Ok(s) => assert!(s.success(), "hivexsh failed on {}", script.display()),
        Err(e) => {
            eprintln!("hivexsh not runnable ({e}): skipping the hivex-built SYSTEM hive");
            return;
        }
    }
    let info = servicing_doctor::checks::registry::system::read_offline_system(&hive).unwrap();
    assert_eq!(info.control_set.as_deref(), Some("ControlSet002"));
    assert_eq!(info.computer_name.as_deref(), Some("FILESRV01"));
    assert_eq!(info.time_zone.as_deref(), Some("Pacific Standard Time"));
    assert_eq!(info.utc_offset_minutes, Some(-420));
    assert!(info.notes.is_empty(), "{:?}", info.notes);

    let report = run(&[d.path().to_path_buf()]);
    let got: Vec<(&str, &str)> = ["computer_name", "time_zone", "utc_offset_minutes"]
        .iter()
        .map(|k| (*k, report.system.get(*k).map_or("", String::as_str)))
        .collect();
    assert_eq!(
        got,
        [("computer_name", "FILESRV01"), ("time_zone", "Pacific Standard Time"), ("utc_offset_minutes", "-420")]
    );
}

/// A real Windows SYSTEM hive (regipy's test data, damaged on purpose by its authors; xz in the
/// shared corpus): its computer name and bias read back, and it names no `TimeZoneKeyName`
/// (only the older `StandardName`), so there is no time zone. Skipped without the shared
/// folder or `xz`.
#[test]
fn a_real_system_hive_from_the_corpus() {
    let Some(shared) = std::env::var_os("SERVICING_DOCTOR_SHARED").map(PathBuf::from) else {
        eprintln!("SERVICING_DOCTOR_SHARED not set: skipping the corpus SYSTEM hive");
        return;
    };
    let xz = shared.join("corpus/artifacts/hives/regipy_corrupted_system_hive.xz");
    let out = match std::process::Command::new("xz").arg("-dc").arg(&xz).output() {
        Ok(o) if o.status.success() => o.stdout,
        other => {
            eprintln!("xz cannot decompress {} ({other:?}): skipping the corpus SYSTEM hive", xz.display());
            return;
        }
    };
    let d = tempfile::tempdir().unwrap();
    let hive = d.path().join("SYSTEM");
    std::fs::write(&hive, out).unwrap();
    let info = servicing_doctor::checks::registry::system::read_offline_system(&hive).unwrap();
    assert_eq!(info.control_set.as_deref(), Some("ControlSet001"));
    assert_eq!(info.computer_name.as_deref(), Some("GINEVRA"));
    assert_eq!(info.utc_offset_minutes, Some(-300));
    assert_eq!(info.time_zone, None);
}
