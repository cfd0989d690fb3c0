//! Hostile input at scale (issue 11, items 6, 7, 9 and 12): inputs that
//! once took time or memory out of all proportion. Each is generated here,
//! finishes, and a second input holding the seed failure is still
//! diagnosed. Time and memory figures are in bench/hostile.sh.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

const QUEUE_FAILED: &str = "2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n";

/// A second input with the seed failure (rule A).
fn seed_input() -> tempfile::TempDir {
    let d = fast_tmp("sd-scale");
    write(&d.path().join("CBS.log"), SEED_CBS.as_bytes());
    d
}

fn source<'a>(r: &'a Run, suffix: &str) -> &'a Value {
    r.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().replace('\\', "/").ends_with(suffix))
        .unwrap_or_else(|| panic!("no source {suffix}"))
}

/// Rule A found once, from the seed input only.
fn seed_found_once(r: &Run, seed: &Path) {
    let a = findings(r, RULE_A);
    assert_eq!(a.len(), 1, "{}", r.stdout.chars().take(2000).collect::<String>());
    let seed = seed.display().to_string();
    assert!(a[0]["evidence"].as_array().unwrap().iter().all(|e| e["path"].as_str().unwrap().starts_with(&seed)));
    assert_eq!(r.code, 1);
}

/// Item 6: 20 CBS logs whose 5,000 trigger lines share one second but never
/// reach `min_signals` (quadratic across sources: 96 s before).
#[test]
fn triggers_sharing_a_second_across_many_logs() {
    let d = fast_tmp("sd-scale");
    let flood = QUEUE_FAILED.repeat(5_000);
    for i in 0..20 {
        write(&d.path().join(format!("m{i:02}/CBS.log")), flood.as_bytes());
    }
    let seed = seed_input();
    let r = diagnose(&[d.path(), seed.path()]);
    seed_found_once(&r, seed.path());
    assert_eq!(r.json["sources"].as_array().unwrap().len(), 21);
}

/// Item 7: indented continuation lines that hit an anchor, after one
/// timestamped line (each hit walked back to the chunk start: 2 MB/s).
#[test]
fn continuation_lines_that_hit_anchors() {
    let d = fast_tmp("sd-scale");
    let line = "    Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n";
    let mut t = String::from("2017-12-06 15:30:46, Info    CBS   Begin\n");
    t.push_str(&line.repeat((16 << 20) / line.len()));
    write(&d.path().join("CBS.log"), t.as_bytes());
    let seed = seed_input();
    let r = diagnose(&[d.path(), seed.path()]);
    seed_found_once(&r, seed.path());
    let s = source(&r, &format!("{}/CBS.log", d.path().file_name().unwrap().to_string_lossy()));
    assert!(s["error"].is_null());
    assert_eq!(s["records"], 1);
}

/// Item 7: a Windows root with thousands of empty servicing stack folders
/// (the check lines fed the same walk back: 50k folders took 16 s).
#[test]
fn a_windows_root_with_thousands_of_empty_stack_folders() {
    let d = fast_tmp("sd-scale");
    let winsxs = d.path().join("Windows/WinSxS");
    let n = 5_000;
    for i in 0..n {
        let name = format!("amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.{i}_none_{i:016x}");
        std::fs::create_dir_all(winsxs.join(name)).unwrap();
    }
    let seed = seed_input();
    let r = diagnose(&[d.path(), seed.path()]);
    seed_found_once(&r, seed.path());
    assert!(!findings(&r, "servicing-stack-folder-damaged").is_empty());
    let check = r.json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "servicing-stack-not-empty").unwrap();
    assert_eq!(check["status"], "fail");
    assert!(check["detail"].as_str().unwrap().ends_with(&format!("; and {} more", n - 20)), "{check}");
    let on_disk = r.json["system"]["servicing_stack_on_disk"].as_str();
    assert!(on_disk.is_none_or(|v| v.len() < 1000), "{on_disk:?}");
}

/// Item 9: a 1 MiB section title followed by 6,000 lines (copied into
/// every record: 6.2 GB). The cut title still matches the rule's section.
#[test]
fn a_huge_setupapi_section_title() {
    let d = fast_tmp("sd-scale");
    let mut t =
        format!(">>>  [Install Driver Updates {}]\n>>>  Section start 2017/12/06 15:30:40.000\n", "x".repeat(1 << 20));
    t.push_str(&"!!!  sto:      Unable to load INF: 'C:\\Windows\\INF\\oem7.inf'(00000003)\n".repeat(6_000));
    t.push_str("<<<  Section end 2017/12/06 15:30:50.000\n<<<  [Exit status: FAILURE(0x00000003)]\n");
    write(&d.path().join("setupapi.dev.log"), t.as_bytes());
    write(&d.path().join("CBS.log"), SEED_CBS.as_bytes());
    let seed = seed_input();
    let r = diagnose(&[d.path(), seed.path()]);
    assert_eq!(r.code, 1);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 2, "one per input");
    assert_eq!(source(&r, "setupapi.dev.log")["records"], 6_004);
    let with_setupapi =
        a.iter().find(|f| fact(f, "missing") == Some("C:\\Windows\\INF\\oem7.inf")).expect("path from setupapi");
    let ev = with_setupapi["evidence"].as_array().unwrap();
    assert!(ev.iter().any(|e| e["path"].as_str().unwrap().ends_with("setupapi.dev.log")));
    assert!(ev.iter().all(|e| e["text"].as_str().unwrap().len() < 10_000));
}

/// Item 12: one line longer than 8 MiB is one line, however many pieces.
#[test]
fn a_single_huge_line_is_counted_once() {
    let d = fast_tmp("sd-scale");
    let mut t = b"2017-12-06 15:30:40, Info    CBS   ".to_vec();
    t.resize(40 << 20, b'A');
    t.push(b'\n');
    write(&d.path().join("CBS.log"), &t);
    let seed = seed_input();
    let r = diagnose(&[d.path(), seed.path()]);
    seed_found_once(&r, seed.path());
    let w = source(&r, &format!("{}/CBS.log", d.path().file_name().unwrap().to_string_lossy()))["warnings"].to_string();
    assert!(w.contains("1 line(s) longer than 8 MiB were scanned in pieces"), "{w}");
}

/// Item 12: a rules folder of 2,000 regexes that each compile past the
/// size limit (29.5 s to load, on every command): refused at once, each
/// named by file and line, and nothing is diagnosed with half the rules.
#[test]
fn a_rules_folder_of_huge_regexes() {
    let d = fast_tmp("sd-scale");
    for i in 0..2_000 {
        let rule = format!(
            "id: big-{i}\ntitle: t\nseverity: info\nsummary: s\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: anchor{i}\n    regex: '\\w{{1500}}'\nremediation:\n  id: x\n  steps: [s]\n"
        );
        write(&d.path().join(format!("r{i:04}.yaml")), rule.as_bytes());
    }
    let out = bin().args(["rules", "list", "--rules"]).arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("r0000.yaml:9: regex of signal `a` compiles to more than 1024 KiB (the size limit for one regex)"),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(err.contains("r1999.yaml:9: regex of signal `a` does not fit: the loaded rules' regexes would compile to more than 8192 KiB"), "{}", &err[..err.len().min(2000)]);
    let seed = seed_input();
    let out = bin().args(["diagnose", "--quiet", "--rules"]).arg(d.path()).arg(seed.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("r0000.yaml:9:"));
}
