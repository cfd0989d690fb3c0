//! Hostile offline SOFTWARE hives in a Windows root (issue 11, items 4 and 8): each case is
//! generated here (small on disk: the test hive writer, sparse files), next to a CBS.log that
//! holds the seed failure. Every run finishes, the failure is still found (exit 1), and the
//! hive source carries a clear error or note naming what is wrong. Time and memory figures
//! for the same cases come from bench/hostile.sh.

mod common;
use common::*;
use serde_json::Value;
use servicing_doctor_test_support::regf_writer::HiveBuilder;
use std::path::{Path, PathBuf};

const CBS_VERSION: &str = r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Version";
const NT: &str = r"Microsoft\Windows NT\CurrentVersion";

fn software() -> HiveBuilder {
    let mut h = HiveBuilder::new();
    h.value_sz(NT, "ProductName", "Windows 10 Pro", false)
        .value_sz(NT, "CurrentBuild", "19045", false)
        .value_dword(NT, "UBR", 4717)
        .value_sz(CBS_VERSION, "10.0.19041.4717", r"%SystemRoot%\WinSxS\x", true);
    h
}

/// A Windows root with the seed failure in its CBS.log; returns it and its SOFTWARE path.
fn root() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("Windows/Logs/CBS/CBS.log"), SEED_CBS.as_bytes());
    let hive = d.path().join("Windows/System32/config/SOFTWARE");
    std::fs::create_dir_all(hive.parent().unwrap()).unwrap();
    (d, hive)
}

/// Writes `head` to `path` and makes the file `len` bytes long (sparse: nothing more on disk).
fn sparse(path: &Path, head: &[u8], len: u64) {
    std::fs::write(path, head).unwrap();
    std::fs::File::options().write(true).open(path).unwrap().set_len(len).unwrap();
}

fn hive_source(r: &Run) -> &Value {
    r.json["sources"].as_array().unwrap().iter().find(|s| s["kind"] == "hive").unwrap_or_else(|| panic!("{}", r.stdout))
}

/// The run finished with the seed failure found; gives the hive source.
fn diagnosed(root: &Path) -> (Run, Value) {
    let r = diagnose(&[root]);
    assert_eq!(r.code, 1, "{}\n{}", r.stderr, r.stdout);
    assert_eq!(findings(&r, RULE_A).len(), 1, "the CBS.log is still diagnosed: {}", r.stdout);
    let hive = hive_source(&r).clone();
    (r, hive)
}

fn error_of(hive: &Value, path: &Path) -> String {
    let e = hive["error"].as_str().unwrap_or_else(|| panic!("no error: {hive}")).to_string();
    // Compared without case and separators: under Wine the report shows
    // the path as Windows spells it.
    let norm = |s: &str| s.replace('\\', "/").to_lowercase();
    assert!(norm(&e).starts_with(&norm(&format!("{}: ", path.display()))), "the error names the file: {e}");
    e
}

#[test]
fn an_index_root_that_lists_itself_is_an_error_not_a_crash() {
    let (d, path) = root();
    let mut h = software();
    h.ri_loop(r"Microsoft\Windows\CurrentVersion");
    write(&path, &h.build());
    let (_, hive) = diagnosed(d.path());
    let e = error_of(&hive, &path);
    assert!(e.contains("corrupt hive: the subkeys of `Microsoft\\Windows\\CurrentVersion` cannot all be read"), "{e}");
    assert!(e.contains("lists itself (a loop)"), "{e}");

    // `plan` reads the same hive: it finishes and writes a plan.
    let out = run(&["plan", d.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.stdout.is_empty());
}

#[test]
fn an_index_root_fan_out_is_refused() {
    let (d, path) = root();
    let mut h = software();
    h.ri_fan_out("Microsoft", u16::MAX, u16::MAX);
    let bytes = h.build();
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    write(&path, &bytes);
    let (_, hive) = diagnosed(d.path());
    let e = error_of(&hive, &path);
    assert!(e.contains("the key declares 4294836225 subkeys, more than the 65536 this reader accepts"), "{e}");
}

#[test]
fn a_big_data_value_of_one_repeated_segment_is_cut() {
    let (d, path) = root();
    let mut h = software();
    h.big_data_repeated(NT, "ProductName", 'W', u16::MAX);
    write(&path, &h.build());
    let (r, hive) = diagnosed(d.path());
    assert!(hive["error"].is_null(), "{hive}");
    assert_eq!(r.json["system"]["os_product"].as_str().unwrap(), "W".repeat(1024));
    assert!(hive["warnings"].to_string().contains("ProductName"), "{hive}");
    assert!(hive["warnings"].to_string().contains("cut to its first 1024 bytes"), "{hive}");
    assert!(r.stdout.len() < 64 << 10, "report of {} bytes", r.stdout.len());
}

#[test]
fn a_sparse_4_gib_hive_is_refused_after_its_base_block() {
    let (d, path) = root();
    sparse(&path, &software().build(), 4 << 30);
    let (_, hive) = diagnosed(d.path());
    let e = error_of(&hive, &path);
    assert!(e.ends_with("it is 4294967296 bytes, larger than any real registry hive (the limit is 1024 MiB)"), "{e}");

    sparse(&path, b"not a hive", 4 << 30);
    let (_, hive) = diagnosed(d.path());
    assert!(error_of(&hive, &path).ends_with("not a registry hive (no regf signature)"));
}

#[test]
fn huge_transaction_logs_are_left_out() {
    let (d, path) = root();
    let mut old = software();
    old.sequence_numbers(5, 4);
    write(&path, &old.build());
    let mut new = software();
    new.value_sz(CBS_VERSION, "10.0.19041.5000", r"%SystemRoot%\WinSxS\y", true);
    for name in ["SOFTWARE.LOG1", "SOFTWARE.LOG2"] {
        sparse(&path.with_file_name(name), &new.build_log(4), 1 << 30);
    }
    let (r, hive) = diagnosed(d.path());
    assert!(hive["error"].is_null(), "{hive}");
    let notes = hive["warnings"].to_string();
    assert!(
        notes.contains(
            "skipped transaction log SOFTWARE.LOG1: it is 1073741824 bytes, larger than any real transaction log"
        ),
        "{notes}"
    );
    assert!(notes.contains("SOFTWARE.LOG2: it is 1073741824 bytes"), "{notes}");
    assert_eq!(r.json["system"]["servicing_stack_registered"], "10.0.19041.4717");

    // The same log at its real size is replayed.
    for name in ["SOFTWARE.LOG1", "SOFTWARE.LOG2"] {
        write(&path.with_file_name(name), &new.build_log(4));
    }
    let (r, _) = diagnosed(d.path());
    assert_eq!(r.json["system"]["servicing_stack_registered"], "10.0.19041.5000, 10.0.19041.4717");
}

#[cfg(unix)]
#[test]
fn a_named_pipe_as_the_hive_does_not_block() {
    let (d, path) = root();
    assert!(std::process::Command::new("mkfifo").arg(&path).status().unwrap().success(), "mkfifo");
    let (_, hive) = diagnosed(d.path());
    assert_eq!(error_of(&hive, &path), format!("{}: it is a named pipe, not a file", path.display()));
}
