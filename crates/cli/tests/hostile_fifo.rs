//! Issue 11, item 5: no file opened anywhere may block. FIFOs, and links to
//! pseudo files whose reads block (`/proc/kmsg`), given as inputs, found in
//! a folder, passed to `inspect` / `plan --ssu`, or lying in a `--rules`
//! folder: each is refused or read as empty at once, and every other input
//! is still diagnosed. Each command runs under a timeout, so a regression
//! fails instead of hanging the suite.
#![cfg(unix)]

mod common;
use common::*;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo").arg(p).status().expect("mkfifo runs").success();
    assert!(ok, "mkfifo {}", p.display());
}

fn run_limited(args: &[&std::ffi::OsStr]) -> Output {
    let out = bin().args(args).timeout(LIMIT).output().expect("binary runs");
    assert!(out.status.code().is_some(), "killed (timeout or signal): {out:?}");
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A bundle with the seed failure, and a FIFO beside it.
fn bundle_with(d: &Path) {
    write(&d.join("CBS.log"), SEED_CBS.as_bytes());
}

#[test]
fn a_fifo_given_as_input_is_refused_and_the_rest_diagnosed() {
    let d = tempfile::tempdir().unwrap();
    bundle_with(d.path());
    let fifo = d.path().join("setupapi.dev.log");
    mkfifo(&fifo);
    let out = run_limited(&[
        "diagnose".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        fifo.as_os_str(),
        d.path().as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["findings"].as_array().unwrap().iter().any(|f| f["rule"] == RULE_A));
    assert!(text(&out.stderr).contains("not a regular file"), "{}", text(&out.stderr));
}

#[test]
fn a_link_to_a_blocking_pseudo_file_in_a_bundle_is_read_as_empty() {
    // /proc/kmsg blocks readers and consumes what they read; with no
    // /proc/kmsg here, /proc/self/status has the same shape (size 0).
    let target = ["/proc/kmsg", "/proc/self/status"].into_iter().map(Path::new).find(|p| p.exists());
    let Some(target) = target else { return };
    let d = tempfile::tempdir().unwrap();
    bundle_with(d.path());
    std::os::unix::fs::symlink(target, d.path().join("setupapi.app.log")).unwrap();
    let out = run_limited(&["diagnose".as_ref(), "--format".as_ref(), "json".as_ref(), d.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let linked =
        json["sources"].as_array().unwrap().iter().find(|s| s["path"].as_str().unwrap().ends_with("setupapi.app.log"));
    assert_eq!(linked.unwrap()["bytes"], 0, "nothing read from {}", target.display());
}

#[test]
fn inspect_and_plan_ssu_refuse_a_fifo() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("update.msu");
    mkfifo(&fifo);
    let out = run_limited(&["inspect".as_ref(), fifo.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a regular file (a named pipe)"), "{}", text(&out.stderr));

    let out = run_limited(&[
        "plan".as_ref(),
        "--ssu".as_ref(),
        fifo.as_os_str(),
        examples().join("upgrade-process-drivers").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no script");
    assert!(text(&out.stderr).contains("not a regular file (a named pipe)"), "{}", text(&out.stderr));
}

#[test]
fn a_fifo_in_a_rules_folder_is_an_error_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let fifo = rules.join("x.yaml");
    mkfifo(&fifo);
    let out = run_limited(&["rules".as_ref(), "list".as_ref(), "--rules".as_ref(), rules.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("x.yaml") && err.contains("not a regular file (a named pipe)"), "{err}");
}
