//! Offline Windows roots built in temporary folders: log discovery in the
//! standard places, the WinSxS servicing stack checks and the offline
//! SOFTWARE hive (written by the test-only REGF writer).

mod common;
use common::root::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn check<'a>(r: &'a Run, id: &str) -> &'a Value {
    r.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {}", r.json["checks"]))
}

#[test]
fn healthy_root_passes_every_check() {
    let r = healthy_root();
    let run = diagnose(&[r.path()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.json["findings"].as_array().unwrap().is_empty());
    for id in [
        "winsxs-present",
        "servicing-stack-present",
        "servicing-stack-not-empty",
        "servicing-stack-registered",
        "registry-cbs-version-key",
    ] {
        assert_eq!(check(&run, id)["status"], "pass", "{id}: {}", check(&run, id)["detail"]);
    }
    let sys = &run.json["system"];
    assert_eq!(sys["os_product"], "Windows 10 Pro");
    assert_eq!(sys["os_display_version"], "22H2");
    assert_eq!(sys["os_build"], "19045.4717");
    assert_eq!(sys["servicing_stack_registered"], VER);
    assert_eq!(sys["servicing_stack_on_disk"], VER);
    let kinds: Vec<&str> =
        run.json["sources"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"hive") && kinds.contains(&"winsxs") && kinds.contains(&"cbs"), "{kinds:?}");
}

#[test]
fn empty_stack_folder_with_scenario_b_logs() {
    let r = healthy_root();
    scenario_b_logs(&r);
    for f in std::fs::read_dir(r.winsxs().join(ONECORE)).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let run = diagnose(&[r.path()]);
    assert_eq!(run.code, 1);
    let b = findings(&run, RULE_B);
    assert_eq!(b.len(), 1, "{}", run.stdout);
    // Named as on the installed system, for the plan and the support request.
    let missing = fact(b[0], "missing").unwrap();
    assert_eq!(missing, format!("%SystemRoot%\\WinSxS\\{ONECORE}"));
    assert!(b[0]["evidence"].as_array().unwrap().iter().any(|e| e["signal"] == "damaged_folder"));
    assert_eq!(check(&run, "servicing-stack-not-empty")["status"], "fail");
    let own = findings(&run, "servicing-stack-folder-damaged");
    assert_eq!(own.len(), 1);
    assert_eq!(fact(own[0], "problem"), Some("is empty"));
}

#[test]
fn registered_folder_missing_is_a_finding_without_any_log() {
    let r = healthy_root();
    std::fs::remove_dir_all(r.winsxs().join(MAIN)).unwrap();
    let run = diagnose(&[r.path()]);
    assert_eq!(run.code, 1);
    assert_eq!(check(&run, "servicing-stack-registered")["status"], "fail");
    let f = findings(&run, "servicing-stack-folder-damaged");
    assert_eq!(f.len(), 1);
    assert_eq!(fact(f[0], "missing").unwrap(), format!("%SystemRoot%\\WinSxS\\{MAIN}"), "{}", f[0]);
    assert!(findings(&run, RULE_B).is_empty(), "no upgrade failure in the logs");
}

#[test]
fn main_folder_without_cbscore_fails() {
    let r = healthy_root();
    std::fs::remove_file(r.winsxs().join(MAIN).join("cbscore.dll")).unwrap();
    let run = diagnose(&[r.path()]);
    assert_eq!(check(&run, "servicing-stack-not-empty")["status"], "fail");
    let f = findings(&run, "servicing-stack-folder-damaged");
    assert_eq!(fact(f[0], "problem"), Some("has no cbscore.dll"));
}

#[test]
fn no_winsxs_at_all() {
    let r = healthy_root();
    std::fs::remove_dir_all(r.winsxs()).unwrap();
    let run = diagnose(&[r.path()]);
    assert_eq!(check(&run, "winsxs-present")["status"], "fail");
    assert_eq!(run.code, 1);
    assert_eq!(findings(&run, "servicing-stack-folder-damaged").len(), 1);
}

#[test]
fn no_cbs_version_key() {
    let r = healthy_root();
    write(&r.path().join("Windows/System32/config/SOFTWARE"), &software(false));
    let run = diagnose(&[r.path()]);
    assert_eq!(check(&run, "registry-cbs-version-key")["status"], "fail");
    assert_eq!(check(&run, "servicing-stack-registered")["status"], "skipped");
}

#[test]
fn corrupt_hive_is_an_error_on_that_source_only() {
    let r = healthy_root();
    scenario_b_logs(&r);
    write(&r.path().join("Windows/System32/config/SOFTWARE"), b"regf but not really a hive at all");
    let run = diagnose(&[r.path()]);
    let hive = run.json["sources"].as_array().unwrap().iter().find(|s| s["kind"] == "hive").unwrap();
    assert!(hive["error"].is_string(), "{hive}");
    assert_eq!(check(&run, "registry-cbs-version-key")["status"], "skipped");
    assert_eq!(findings(&run, RULE_B).len(), 1, "the logs are still diagnosed");
}

#[test]
fn logs_in_every_standard_place_with_roles_and_mixed_case() {
    let r = healthy_root();
    let line = "2024-06-02 14:02:10, Info                  CBS    TI: --- Initializing Trusted Installer ---\n";
    let setup = "2024-06-02 14:02:10, Info                  MOUPG  SetupHost::Initialize\n";
    for (rel, text) in [
        ("Windows/Logs/CBS/CbsPersist_20240601000000.log", line),
        ("$WINDOWS.~BT/Sources/Panther/setupact_1.log", setup),
        ("$WINDOWS.~BT/Sources/Rollback/SetupAct.log", setup),
        ("Windows/Panther/setupact.log", setup),
        ("Windows/Panther/NewOS/setupact.log", setup),
        ("Windows/Panther/UnattendGC/setupact.log", setup),
        ("Windows/Logs/MoSetup/BlueBox.log", setup),
        ("Windows/INF/setupapi.dev.log", "[Device Install Log]\n     OS Version = 10.0.19045\n"),
        ("Windows.old/WINDOWS/Logs/CBS/CBS.log", line),
        ("Windows/Temp/not-a-standard-place.log", line),
    ] {
        write(&r.path().join(rel), text.as_bytes());
    }
    let run = diagnose(&[r.path()]);
    let roles: Vec<(String, String)> = run.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let p = Path::new(s["path"].as_str().unwrap())
                .strip_prefix(r.path())
                .map_or("?".to_string(), |p| p.display().to_string().replace('\\', "/"));
            (p, s["role"].as_str().unwrap_or("-").to_string())
        })
        .collect();
    let has = |p: &str, role: &str| roles.iter().any(|(a, b)| a.eq_ignore_ascii_case(p) && b == role);
    assert!(has("Windows/Logs/CBS/CBS.log", "servicing"), "{roles:?}");
    assert!(has("Windows/Logs/CBS/CbsPersist_20240601000000.log", "servicing"), "{roles:?}");
    assert!(has("$WINDOWS.~BT/Sources/Panther/setupact_1.log", "downlevel"));
    assert!(has("$WINDOWS.~BT/Sources/Rollback/SetupAct.log", "rollback"));
    assert!(has("Windows/Panther/setupact.log", "post-upgrade"));
    assert!(has("Windows/Panther/NewOS/setupact.log", "new-os"));
    assert!(has("Windows/Panther/UnattendGC/setupact.log", "unattend"));
    assert!(has("Windows/Logs/MoSetup/BlueBox.log", "downlevel"));
    assert!(has("Windows/INF/setupapi.dev.log", "servicing"));
    assert!(has("Windows.old/WINDOWS/Logs/CBS/CBS.log", "previous-os"));
    assert!(!roles.iter().any(|(p, _)| p.contains("not-a-standard-place")), "the volume is not walked");
}

#[test]
fn inputs_are_left_untouched() {
    let r = healthy_root();
    scenario_b_logs(&r);
    let before = snapshot(r.path());
    let _ = diagnose(&[r.path()]);
    assert_eq!(before, snapshot(r.path()));
}

/// Every file's path, bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}
