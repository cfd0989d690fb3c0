//! The live-registry path on Windows: values seeded into HKLM with `reg.exe add` are read back by
//! `read_live_software()` and by `servicing-doctor diagnose` with no PATH (the running system).
//!
//! These tests WRITE to HKLM and to `%SystemRoot%\WinSxS`, so they are `#[ignore]`d and refuse to
//! run outside Wine: `.ci/windows.sh` runs them in a throwaway Wine prefix with `--ignored`.
#![cfg(windows)]

use serde_json::Value;
use servicing_doctor::checks::registry::{
    read_live_software, CbsVersion, CBS_KEY, CBS_VERSION_KEY, NT_CURRENT_VERSION_KEY,
};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

const VER: &str = "10.0.19041.4717";
const FOLDER: &str = "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e3a3f7b7c6a1b2c";
/// Values Wine's prefix does not set (so removing them afterwards restores it); the ones it does
/// set (CurrentVersion, CurrentBuild, ...) steer Wine's own version emulation and are left alone.
const OS_SEED: [(&str, &str, &str); 5] = [
    ("DisplayVersion", "REG_SZ", "22H2"),
    ("ReleaseId", "REG_SZ", "2009"),
    ("EditionID", "REG_SZ", "Professional"),
    ("InstallationType", "REG_SZ", "Client"),
    ("UBR", "REG_DWORD", "4717"),
];

/// Both tests seed and remove the same keys.
static REGISTRY: Mutex<()> = Mutex::new(());

fn hklm(rel: &str) -> String {
    format!(r"HKLM\SOFTWARE\{rel}")
}

fn reg(args: &[&str]) -> std::process::Output {
    Command::new("reg").args(args).output().unwrap_or_else(|e| panic!("cannot run reg.exe {args:?}: {e}"))
}

fn reg_ok(args: &[&str]) {
    let out = reg(args);
    assert!(
        out.status.success(),
        "reg {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key_exists(key: &str) -> bool {
    reg(&["query", key, "/reg:64"]).status.success()
}

fn winsxs_folder() -> PathBuf {
    let root = std::env::var_os("SystemRoot").expect("%SystemRoot% is set");
    PathBuf::from(root).join("WinSxS").join(FOLDER)
}

/// Seeds the registry and a matching WinSxS folder; undoes it all when dropped (also on panic).
struct Seeded {
    created_cbs_key: bool,
    created_folder: bool,
    _lock: std::sync::MutexGuard<'static, ()>,
}

impl Seeded {
    fn new() -> Seeded {
        let lock = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        // A real machine's CBS key must never be touched: it would be one `reg delete` from an
        // unserviceable Windows. Wine's prefix has HKLM\Software\Wine; Windows has not.
        assert!(
            key_exists(r"HKLM\Software\Wine"),
            "refusing to write HKLM: this is not Wine (run these tests through .ci/windows.sh)"
        );
        let mut s = Seeded { created_cbs_key: !key_exists(&hklm(CBS_KEY)), created_folder: false, _lock: lock };
        let data = format!(r"%SystemRoot%\WinSxS\{FOLDER}");
        reg_ok(&["add", &hklm(CBS_VERSION_KEY), "/v", VER, "/t", "REG_EXPAND_SZ", "/d", &data, "/f", "/reg:64"]);
        for (name, ty, data) in OS_SEED {
            reg_ok(&["add", &hklm(NT_CURRENT_VERSION_KEY), "/v", name, "/t", ty, "/d", data, "/f", "/reg:64"]);
        }
        let dir = winsxs_folder();
        if !dir.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            s.created_folder = true;
        }
        std::fs::write(dir.join("cbscore.dll"), b"MZ not really").unwrap();
        s
    }
}

impl Drop for Seeded {
    fn drop(&mut self) {
        // Best effort: the prefix is throwaway anyway.
        if self.created_cbs_key {
            reg(&["delete", &hklm(CBS_KEY), "/f", "/reg:64"]);
        } else {
            reg(&["delete", &hklm(CBS_VERSION_KEY), "/v", VER, "/f", "/reg:64"]);
        }
        for (name, _, _) in OS_SEED {
            reg(&["delete", &hklm(NT_CURRENT_VERSION_KEY), "/v", name, "/f", "/reg:64"]);
        }
        if self.created_folder {
            let _ = std::fs::remove_dir_all(winsxs_folder());
        }
    }
}

#[test]
#[ignore = "writes HKLM and %SystemRoot%\\WinSxS: Wine only, run by .ci/windows.sh with --ignored"]
fn read_live_software_reads_seeded_values() {
    let _seeded = Seeded::new();
    let info = read_live_software().expect("the live registry is readable");
    assert!(info.cbs_key_present && info.version_key_present, "{info:?}");
    let want = CbsVersion { version: VER.into(), path: format!(r"%SystemRoot%\WinSxS\{FOLDER}") };
    assert!(info.cbs_versions.contains(&want), "REG_EXPAND_SZ read back unexpanded: {:?}", info.cbs_versions);
    for (name, _, data) in OS_SEED {
        assert_eq!(info.os.get(name).map(String::as_str), Some(data), "{name}: {:?}", info.os);
    }
    // Set by Wine (or Windows) itself, read alongside.
    assert!(info.os.get("CurrentBuild").is_some_and(|b| !b.is_empty()), "{:?}", info.os);
    assert!(info.notes.is_empty(), "{:?}", info.notes);
}

#[test]
#[ignore = "writes HKLM and %SystemRoot%\\WinSxS: Wine only, run by .ci/windows.sh with --ignored"]
fn diagnose_without_path_reads_the_live_registry() {
    let _seeded = Seeded::new();
    let out = Command::new(env!("CARGO_BIN_EXE_servicing-doctor"))
        .args(["diagnose", "--format", "json", "--quiet"])
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 0 = nothing found, 1 = findings; 2 = could not diagnose.
    assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {stderr}", out.status.code());
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    let system = &json["system"];
    assert_eq!(system["servicing_stack_registered"], VER, "{system:#}");
    let status = |id: &str| -> Value {
        let checks = json["checks"].as_array().unwrap_or_else(|| panic!("no checks: {json:#}"));
        checks.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no {id} check: {checks:#?}"))["status"].clone()
    };
    assert_eq!(status("registry-cbs-version-key"), "pass");
    // The registered `%SystemRoot%\WinSxS\...` path was mapped onto %SystemDrive%\ and found.
    assert_eq!(status("servicing-stack-registered"), "pass");
    assert_eq!(system["os_edition"], "Professional", "{system:#}");
    assert!(system["os_build"].as_str().is_some_and(|b| b.ends_with(".4717")), "{system:#}");

    // `--format ndjson` with no PATH: one line for the live machine, the same report.
    let out = Command::new(env!("CARGO_BIN_EXE_servicing-doctor"))
        .args(["diagnose", "--format", "ndjson", "--quiet"])
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let line: Value = serde_json::from_str(stdout.trim_end()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert!(line["input"].as_str().is_some_and(|i| i.ends_with('\\')), "{line:#}");
    assert_eq!(line["system"], json["system"]);
}
