//! Hostile and broken input (issue 7): every case is generated here, each
//! finishes and says what it cut short; bad sources are errors on
//! themselves only; inputs are never modified; untrusted text stays inert.
//! Time and memory figures for the large cases come from bench/run.sh.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn source<'a>(r: &'a Run, suffix: &str) -> &'a Value {
    r.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().replace('\\', "/").ends_with(suffix))
        .unwrap()
}

fn warnings(s: &Value) -> String {
    s["warnings"].to_string()
}

#[test]
fn a_file_without_any_newline_is_scanned_in_pieces() {
    let d = fast_tmp("sd-hostile");
    write(&d.path().join("CBS.log"), &vec![b'x'; 40 << 20]);
    let r = diagnose(&[d.path()]);
    assert_eq!(r.code, 0);
    let s = source(&r, "CBS.log");
    assert!(s["error"].is_null());
    assert!(warnings(s).contains("scanned in pieces"), "{s}");
}

#[test]
fn a_huge_line_does_not_hide_the_failure_after_it() {
    let d = fast_tmp("sd-hostile");
    let mut t = String::from("2017-12-06 15:30:40, Info    CBS   ");
    t.push_str(&"A".repeat(20 << 20));
    t.push('\n');
    t.push_str(SEED_CBS);
    write(&d.path().join("CBS.log"), t.as_bytes());
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1);
    let f = findings(&r, RULE_A)[0];
    assert!(f["evidence"].as_array().unwrap().iter().all(|e| e["line"].as_u64().unwrap() >= 2));
    assert!(warnings(source(&r, "CBS.log")).contains("scanned in pieces"));
}

#[test]
fn millions_of_continuation_lines() {
    let d = fast_tmp("sd-hostile");
    let mut t =
        String::from("2017-12-06 15:30:45, Info    CSI   00000001 Begin executing advanced installer phase 38\n");
    t.push_str(&"    continuation\n".repeat(2_000_000));
    t.push_str(SEED_CBS);
    write(&d.path().join("CBS.log"), t.as_bytes());
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1);
    assert_eq!(source(&r, "CBS.log")["records"], 11);
}

#[test]
fn a_window_flooded_with_matching_lines_keeps_bounded_evidence() {
    let d = fast_tmp("sd-hostile");
    let mut t = String::new();
    t.push_str(
        &"2017-12-06 15:30:46, Info    CBS   Startup: Rolling back KTM, because drivers failed.\n".repeat(20_000),
    );
    t.push_str(SEED_CBS);
    write(&d.path().join("CBS.log"), t.as_bytes());
    let r = diagnose(&[d.path()]);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["evidence"].as_array().unwrap().len(), 200);
    assert!(fact(a[0], "evidence_truncated").is_some());
    assert!(warnings(source(&r, "CBS.log")).contains("were dropped"), "{}", source(&r, "CBS.log"));
}

#[test]
fn many_incidents_are_cut_to_the_most_recent() {
    let d = fast_tmp("sd-hostile");
    let mut t = String::new();
    for h in 0..3000u32 {
        let (day, hour) = (h / 24 + 1, h % 24);
        let ts = format!("2017-{:02}-{:02} {hour:02}:00:00", day / 28 + 1, day % 28 + 1);
        t.push_str(&format!("{ts}, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n"));
        t.push_str(&format!("{ts}, Info    CBS   Startup: Rolling back KTM, because drivers failed.\n"));
    }
    write(&d.path().join("CBS.log"), t.as_bytes());
    let r = diagnose(&[d.path()]);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 100);
    assert!(a.iter().any(|f| fact(f, "more_incidents").is_some()));
    assert_eq!(a[0]["time"], "2017-05-14T23:00:00", "the most recent first (hour 2999)");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_not_followed() {
    let d = fast_tmp("sd-hostile");
    write(&d.path().join("logs/CBS.log"), SEED_CBS.as_bytes());
    std::os::unix::fs::symlink(d.path(), d.path().join("logs/loop")).unwrap();
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1);
    assert_eq!(r.json["sources"].as_array().unwrap().len(), 1);
}

#[test]
fn a_hundred_thousand_tiny_files_are_cut_at_the_limit() {
    let d = fast_tmp("sd-hostile");
    write(&d.path().join("a/CBS.log"), SEED_CBS.as_bytes());
    std::fs::create_dir_all(d.path().join("b")).unwrap();
    for i in 0..100_005 {
        std::fs::write(d.path().join(format!("b/{i:06}.txt")), b"x").unwrap();
    }
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1, "files before the cut are diagnosed");
    let cut = r.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["error"].as_str().is_some_and(|e| e.contains("more than 100000 files")));
    assert!(cut, "the cut is reported");
}

#[test]
fn broken_encodings_are_read_and_reported_per_source() {
    let d = fast_tmp("sd-hostile");
    let mut odd = utf16le_bom(SEED_CBS);
    odd.push(0x41);
    write(&d.path().join("odd/CBS.log"), &odd);
    let mut sur = utf16le_bom("2017-12-06 15:30:46, Info    CBS   x");
    sur.extend([0x00, 0xD8, 0x41, 0x00]);
    write(&d.path().join("surrogate/CBS.log"), &sur);
    write(&d.path().join("zeros/CBS.log"), &[0u8; 10_000]);
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1, "the odd-length UTF-16 copy is still diagnosed");
    assert!(warnings(source(&r, "odd/CBS.log")).contains("UTF-16"));
    assert!(warnings(source(&r, "surrogate/CBS.log")).contains("UTF-16"));
    let nul = source(&r, "zeros/CBS.log");
    assert!(nul["error"].is_null());
    assert_eq!(nul["records"], 0);
    assert!(warnings(nul).contains("10000 NUL character(s)"), "{nul}");
    // A zero-filled run (a crash while writing) before the failure hides nothing.
    let mut tail = vec![0u8; 3 << 20];
    tail.extend_from_slice(b"\n");
    tail.extend_from_slice(SEED_CBS.as_bytes());
    let z = fast_tmp("sd-hostile");
    write(&z.path().join("CBS.log"), &tail);
    let r = diagnose(&[z.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1, "{}", r.stdout);
    assert!(warnings(source(&r, "CBS.log")).contains(&format!("{} NUL character(s)", 3 << 20)));
}

#[test]
fn nothing_readable_exits_2_anything_readable_follows_the_findings() {
    let out = run(&["diagnose", "/no/such/a.log", "/no/such/b.log"]);
    assert_eq!(out.status.code(), Some(2));
    let d = fast_tmp("sd-hostile");
    write(&d.path().join("CBS.log"), b"2020-01-01 00:00:00, Info CBS fine\n");
    let out = bin().arg("diagnose").arg(d.path().join("CBS.log")).arg("/no/such/b.log").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap_or_default(), m.modified().unwrap(), m.len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn evidence_is_never_modified() {
    let d = fast_tmp("sd-hostile");
    copy_tree(&examples(), &d.path().join("folder"), &|t| t.as_bytes().to_vec());
    let z = d.path().join("bundle.zip");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
        w.start_file("CBS.log", zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(SEED_CBS.as_bytes()).unwrap();
        w.finish().unwrap();
    }
    let before = snapshot(d.path());
    for args in [vec!["diagnose"], vec!["diagnose", "--format", "md"], vec!["plan"]] {
        let out = bin().args(&args).arg(d.path().join("folder")).arg(&z).output().unwrap();
        assert!(out.status.code().is_some());
    }
    assert_eq!(before, snapshot(d.path()), "no input file changed, appeared or vanished");
}

#[test]
fn any_bytes_in_a_log_line_give_valid_json_and_inert_text() {
    let mut bytes = SEED_CBS.as_bytes().to_vec();
    let mut evil = b"2017-12-06 15:30:46, Info    CBS   Doqe: Recording result: 0x80070003, for Inf: x".to_vec();
    evil.extend((0u8..=255).filter(|b| *b != b'\n'));
    evil.push(b'\n');
    bytes.extend(evil);
    let d = fast_tmp("sd-hostile");
    write(&d.path().join("CBS.log"), &bytes);
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_A).len(), 1);
    let text = bin().arg("diagnose").arg(d.path()).output().unwrap();
    let text = String::from_utf8(text.stdout).expect("text output is UTF-8");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "no raw control characters reach the terminal");
    let html = bin().args(["diagnose", "--format", "html"]).arg(d.path()).output().unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(!html.contains("<x") && html.matches("<script").count() == 0);
}

#[test]
fn hostile_rule_files_fail_clearly() {
    let d = fast_tmp("sd-hostile");
    let huge = format!("id: big\ntitle: t\nseverity: error\nsummary: '{}'\n", "x".repeat(2 << 20));
    write(&d.path().join("huge/r.yaml"), huge.as_bytes());
    let out = bin().args(["rules", "test", "--rules"]).arg(d.path().join("huge")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the limit is"));
    let regex = "id: re\ntitle: t\nseverity: error\nsummary: s\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: abc\n    regex: '(?:\\w{200}){200}'\nremediation: { id: r, steps: [x] }\n";
    write(&d.path().join("re/r.yaml"), regex.as_bytes());
    let out = bin().args(["rules", "test", "--rules"]).arg(d.path().join("re")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("r.yaml:9:") && err.contains("size limit"), "{err}");
    write(&d.path().join("bin/r.yaml"), &[0xff, 0xfe, 0x00, 0x41]);
    let out = bin().args(["rules", "test", "--rules"]).arg(d.path().join("bin")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

/// Output into a pipe nobody reads: exit 0, nothing on standard error.
#[test]
fn a_closed_pipe_ends_quietly() {
    let zip = tempfile::tempdir().unwrap();
    let bundle = zip.path().join("b.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&bundle).unwrap());
    for i in 0..2000 {
        w.start_file(format!("f{i}.txt"), zip::write::SimpleFileOptions::default()).unwrap();
    }
    w.finish().unwrap();
    let ex = examples();
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["explain".into(), "0x80070003".into(), "--format".into(), "json".into()],
        vec!["inspect".into(), bundle.clone().into(), "--format".into(), "json".into()],
        vec!["inspect".into(), bundle.into(), "--members".into()],
        vec![
            "diagnose".into(),
            "--format".into(),
            "ndjson".into(),
            ex.join("healthy").into(),
            ex.join("healthy").into(),
        ],
        vec!["rules".into(), "list".into()],
    ];
    for args in cases {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_servicing-doctor"))
            .args(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
