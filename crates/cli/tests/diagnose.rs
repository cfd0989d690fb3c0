//! `servicing-doctor diagnose` end to end, on fixtures written here and on
//! the sample bundles in `examples/`.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

#[test]
fn scenario_a_seed_excerpt_names_the_inf() {
    let d = tree(&[("CBS.log", SEED_CBS)]);
    let r = diagnose(&[d.path()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 1);
    let f = a[0];
    assert_eq!(fact(f, "inf"), Some("ntprint4.inf"));
    assert_eq!(fact(f, "missing"), Some("ntprint4.inf"));
    assert_eq!(fact(f, "phase"), Some("Startup"));
    assert_eq!(f["code"], "0x80070003");
    assert_eq!(f["code_name"], "ERROR_PATH_NOT_FOUND");
    assert_eq!(f["scenario"], "A");
    assert_eq!(f["time"], "2017-12-06T15:30:46");
    // Evidence cites the exact lines.
    let lines: Vec<u64> = f["evidence"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert!(lines.contains(&2) && lines.contains(&7) && lines.contains(&8), "{lines:?}");
    assert!(!lines.contains(&5), "'Perf: Doqe: Install ended.' is not evidence");
    let steps = f["remediation"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s.as_str().unwrap().contains("ntprint4.inf")), "support step lists the file");
    assert!(findings(&r, RULE_B).is_empty());
}

#[test]
fn scenario_a_shutdown_form_takes_the_path_from_setupapi() {
    let d = tree(&[("Windows/Logs/CBS/CBS.log", SHTD_CBS), ("Windows/INF/setupapi.dev.log", SHTD_SETUPAPI)]);
    let r = diagnose(&[d.path()]);
    assert_eq!(r.code, 1);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 1);
    assert_eq!(fact(a[0], "phase"), Some("Shtd"));
    assert_eq!(fact(a[0], "inf"), None, "CBS names no INF here");
    assert_eq!(fact(a[0], "missing"), Some(SHTD_MISSING));
    let paths: Vec<&str> = a[0]["evidence"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.iter().any(|p| p.ends_with("setupapi.dev.log")), "{paths:?}");
}

#[test]
fn scenario_a_without_inf_or_setupapi_still_fires_without_a_path() {
    let d = tree(&[("CBS.log", SHTD_CBS)]);
    let r = diagnose(&[d.path()]);
    assert_eq!(r.code, 1);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 1);
    assert_eq!(fact(a[0], "missing"), None);
    let steps = a[0]["remediation"]["steps"].to_string();
    assert!(steps.contains("not named in the logs"), "{steps}");
}

#[test]
fn scenario_a_sample_bundle() {
    let r = diagnose(&[&examples().join("wu-driver-rollback")]);
    assert_eq!(r.code, 1);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 1);
    assert_eq!(
        fact(a[0], "missing"),
        Some("C:\\Windows\\System32\\DriverStore\\FileRepository\\hpcu250u.inf_amd64_c2f4d0b7e6a19c33\\hpcu250u.inf")
    );
    assert_eq!(r.json["findings"].as_array().unwrap().len(), 1, "noise gives no other finding");
}

#[test]
fn scenario_b_full_set_cites_every_log() {
    let r = diagnose(&[&examples().join("upgrade-process-drivers")]);
    assert_eq!(r.code, 1);
    let b = findings(&r, RULE_B);
    assert_eq!(b.len(), 1, "{}", r.stdout);
    assert_eq!(fact(b[0], "session"), Some("DISM_{5c1c2e3a-6f6b-4d0e-9a3e-2b1f5d8c7a10}"));
    let files: std::collections::BTreeSet<String> = b[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().rsplit(['/', '\\']).next().unwrap().to_string())
        .collect();
    for f in ["setupact.log", "setuperr.log", "dism.log", "CBS.log", "setupdiagresults.xml"] {
        assert!(files.contains(f), "evidence from {f}: {files:?}");
    }
    let steps = b[0]["remediation"]["steps"].to_string();
    for needle in [
        "expand -F:*",
        "/E /COPY:DAT /DCOPY:T /B /R:0 /W:0",
        "/LOG+:",
        "/setowner",
        "Do not take ownership",
        "Component Based Servicing",
        "servicing-doctor plan --ssu",
    ] {
        assert!(steps.contains(needle), "{needle}");
    }
    // The article's copy into the WinSxS root, with the work folder's
    // permissions, is what the plan corrects: no report shows it.
    assert!(!steps.contains("robocopy $_.FullName $dst") && !steps.contains("/COPYALL /B"), "{steps}");
    // Steps and their commands apart, for printers and scripts.
    let actions = b[0]["remediation"]["actions"].as_array().unwrap();
    let reg = actions.iter().find(|a| a["shell"] == "cmd").unwrap();
    assert_eq!(
        reg["commands"][0],
        "reg query \"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version\""
    );
    assert!(findings(&r, RULE_A).is_empty());
}

#[test]
fn scenario_b_partial_sets() {
    let src = examples().join("upgrade-process-drivers");
    // Setup logs alone.
    let panther = src.join("$WINDOWS.~BT/Sources/Panther/setupact.log");
    let d = tree(&[("setupact.log", &std::fs::read_to_string(&panther).unwrap())]);
    let r = diagnose(&[d.path()]);
    assert_eq!(findings(&r, RULE_B).len(), 1);
    // DISM and CBS alone.
    let r = diagnose(&[&src.join("Windows")]);
    assert_eq!(findings(&r, RULE_B).len(), 1);
    assert_eq!(r.code, 1);
}

#[test]
fn near_miss_other_code_is_not_rule_b() {
    let text =
        std::fs::read_to_string(examples().join("upgrade-process-drivers/$WINDOWS.~BT/Sources/Panther/setupact.log"))
            .unwrap()
            .replace("0x80070003", "0x80070005");
    let d = tree(&[("setupact.log", &text)]);
    let r = diagnose(&[d.path()]);
    assert!(findings(&r, RULE_B).is_empty(), "{}", r.stdout);
    // Still a failed upgrade: never "healthy". The generic finding says so, with its code.
    let generic = findings(&r, "upgrade-setup-failed");
    assert_eq!(generic.len(), 1, "{}", r.stdout);
    assert_eq!(generic[0]["code"], "0x80070005");
    assert_eq!(r.code, 1);
}

#[test]
fn near_miss_rule_a_with_another_code() {
    let d = tree(&[(
        "CBS.log",
        &SEED_CBS.replace("0x80070003", "0x80070002").replace("ERROR_PATH_NOT_FOUND", "ERROR_FILE_NOT_FOUND"),
    )]);
    let r = diagnose(&[d.path()]);
    assert!(findings(&r, RULE_A).is_empty());
    assert_eq!(r.code, 0);
}

#[test]
fn healthy_logs_exit_zero() {
    let r = diagnose(&[&examples().join("healthy")]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["findings"], Value::Array(vec![]));
    assert!(r.json["sources"].as_array().unwrap().iter().all(|s| s["error"].is_null()));
}

fn summary(r: &Run) -> Vec<(String, String, Vec<u64>)> {
    r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let lines = f["evidence"].as_array().unwrap().iter().map(|e| e["line"].as_u64().unwrap()).collect();
            (f["rule"].as_str().unwrap().to_string(), f["facts"].to_string(), lines)
        })
        .collect()
}

#[test]
fn utf16le_and_crlf_copies_give_the_same_findings() {
    let plain = diagnose(&[&examples()]);
    let u16 = tempfile::tempdir().unwrap();
    copy_tree(&examples(), u16.path(), &|t| utf16le_bom(&crlf(t)));
    let crlf_dir = tempfile::tempdir().unwrap();
    copy_tree(&examples(), crlf_dir.path(), &|t| crlf(t).into_bytes());
    let a = diagnose(&[u16.path()]);
    let b = diagnose(&[crlf_dir.path()]);
    assert_eq!(summary(&plain).len(), 2);
    assert_eq!(summary(&plain), summary(&a));
    assert_eq!(summary(&plain), summary(&b));
    assert!(a.json["sources"].as_array().unwrap().iter().all(|s| s["encoding"] == "utf-16le"));
}

#[test]
fn the_most_recent_failure_ranks_first() {
    let r = diagnose(&[&examples()]);
    let rules: Vec<&str> = r.json["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, [RULE_B, RULE_A], "2025 upgrade failure before the 2024 update failure");
}

#[test]
fn renamed_logs_are_classified_by_content() {
    let d = tree(&[("attachment-1.txt", SEED_CBS), ("notes.txt", "call the user back on Tuesday\n")]);
    let r = diagnose(&[d.path()]);
    let kinds: Vec<(&str, &str)> = r.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap().rsplit(['/', '\\']).next().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("attachment-1.txt", "cbs"), ("notes.txt", "unknown")]);
    assert_eq!(findings(&r, RULE_A).len(), 1);
}

#[test]
fn json_follows_the_contract() {
    let r = diagnose(&[&examples().join("wu-driver-rollback")]);
    let j = &r.json;
    assert_eq!(j["schema"], "servicing-doctor/report/v1");
    assert!(j["version"].is_string());
    assert!(j["checks"].is_array());
    assert!(j["system"].is_object());
    for s in j["sources"].as_array().unwrap() {
        for k in ["path", "kind", "encoding", "bytes", "records"] {
            assert!(!s[k].is_null(), "sources[].{k}");
        }
    }
    let f = &j["findings"][0];
    for k in ["rule", "title", "severity", "code", "code_name", "scenario", "time", "facts", "evidence", "remediation"]
    {
        assert!(!f[k].is_null(), "findings[].{k}");
    }
    for k in ["path", "line", "time", "text"] {
        assert!(!f["evidence"][0][k].is_null(), "evidence[].{k}");
    }
    assert!(f["remediation"]["id"].is_string() && f["remediation"]["steps"].is_array());
    assert_eq!(f["severity"], "error");
}

#[test]
fn missing_path_exits_2_naming_it() {
    let out = run(&["diagnose", "/definitely/not/here.log"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/definitely/not/here.log") && err.contains("no such file"), "{err}");
}

#[test]
fn no_path_is_a_usage_error() {
    // On Windows no PATH diagnoses the running system (tests/live_windows.rs).
    if !cfg!(windows) {
        let out = run(&["diagnose"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no PATH given"));
    }
    let out = run(&["diagnose", "--format", "yaml", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_files_are_errors_on_their_source_only() {
    let d = tree(&[("good/CBS.log", SEED_CBS)]);
    // Garbage bytes under a log's name, and a dangling link given explicitly.
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    write(&d.path().join("bad/CBS.log"), &garbage);
    let missing = d.path().join("gone.log");
    let mut cmd = bin();
    let out = cmd.args(["diagnose", "--format", "json"]).arg(d.path()).arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the good file's failure still counts");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let srcs = j["sources"].as_array().unwrap();
    let gone = srcs.iter().find(|s| s["path"].as_str().unwrap().ends_with("gone.log")).unwrap();
    assert!(gone["error"].as_str().unwrap().contains("no such file"));
    let bad = srcs.iter().find(|s| s["path"].as_str().unwrap().contains("bad")).unwrap();
    assert_eq!(bad["records"], 0);
    assert_eq!(
        findings(&Run { code: 1, json: j.clone(), stdout: String::new(), stderr: String::new() }, RULE_A).len(),
        1
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone.log"));
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_reported_and_the_rest_diagnosed() {
    use std::os::unix::fs::PermissionsExt;
    let d = tree(&[("a/CBS.log", SEED_CBS), ("b/dism.log", "2020-01-01 00:00:00, Info DISM x\n")]);
    let locked = d.path().join("b/dism.log");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        eprintln!("skipped: running as root, permissions do not stop reads");
        return;
    }
    let r = diagnose(&[d.path()]);
    let s = r.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().ends_with("dism.log"))
        .unwrap();
    assert!(s["error"].as_str().unwrap().contains("permission denied"));
    assert_eq!(findings(&r, RULE_A).len(), 1);
}

#[test]
fn text_output_leads_with_the_verdict_and_cites_lines() {
    let ex = examples().join("wu-driver-rollback");
    let out = bin().arg("diagnose").arg(&ex).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("1 failure(s) found"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
    assert!(text.contains("CBS.log:20"), "path:line of the trigger");
    assert!(text.contains("Path or file not found: C:\\Windows\\System32\\DriverStore"), "{text}");
    assert!(text.find("Evidence:").unwrap() < text.find("What to do:").unwrap());
    let coloured = bin().args(["diagnose", "--color", "always"]).arg(&ex).output().unwrap();
    assert!(String::from_utf8(coloured.stdout).unwrap().contains('\u{1b}'));
}

#[test]
fn terminal_escapes_in_logs_are_inert() {
    let evil = SEED_CBS.replace("for Inf: ntprint4.inf", "for Inf: ntprint4.inf\u{1b}[2J\u{1b}]0;pwned\u{7}");
    let d = tree(&[("CBS.log", &evil)]);
    let out = bin().arg("diagnose").arg(d.path()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
    assert!(text.contains("\\x{1b}[2J"));
    // JSON stays valid and keeps the text exactly.
    let r = diagnose(&[d.path()]);
    let ev = r.json["findings"][0]["evidence"].to_string();
    assert!(ev.contains("\\u001b[2J"), "{ev}");
}

#[test]
fn output_file_and_refusal_to_write_into_the_evidence() {
    let d = tree(&[("logs/CBS.log", SEED_CBS)]);
    let report = d.path().join("report.json");
    let out = bin().args(["diagnose", "-f", "json", "-o"]).arg(&report).arg(d.path().join("logs")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let j: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(j["findings"][0]["rule"], RULE_A);
    for target in [d.path().join("logs/CBS.log"), d.path().join("logs/new-report.txt")] {
        let out = bin().arg("diagnose").arg("-o").arg(&target).arg(d.path().join("logs")).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
    }
    assert_eq!(std::fs::read_to_string(d.path().join("logs/CBS.log")).unwrap(), SEED_CBS);
    assert!(!d.path().join("logs/new-report.txt").exists());
}

#[test]
fn files_given_one_by_one_correlate_unless_separate() {
    let w = examples().join("upgrade-process-drivers/Windows/Logs");
    let (dism, cbs) = (w.join("DISM/dism.log"), w.join("CBS/CBS.log"));
    let r = diagnose(&[&dism, &cbs]);
    assert_eq!(findings(&r, RULE_B).len(), 1, "one machine by default");
    let out = bin().args(["diagnose", "-f", "json", "--separate"]).arg(&dism).arg(&cbs).output().unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["findings"].as_array().unwrap().len(), 0, "two machines: one signal each is not enough");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn two_copies_of_one_log_are_two_incidents() {
    let d = tree(&[("a/CBS.log", SEED_CBS), ("b/CBS.log", SEED_CBS)]);
    let r = diagnose(&[d.path()]);
    let a = findings(&r, RULE_A);
    assert_eq!(a.len(), 2);
    for f in a {
        let paths: std::collections::BTreeSet<&str> =
            f["evidence"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
        assert_eq!(paths.len(), 1, "evidence stays in its own copy: {paths:?}");
    }
}

/// `--format ndjson`: one line per PATH, in PATH order, each its own machine.
fn ndjson(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>, String) {
    let out = bin().args(["diagnose", "--format", "ndjson"]).args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.is_empty() || stdout.ends_with('\n'), "{stdout}");
    let lines = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    (out.status.code().unwrap_or(-1), lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn ndjson_gives_one_report_per_machine_in_path_order() {
    let ex = examples();
    let (a, b, healthy) = (ex.join("wu-driver-rollback"), ex.join("upgrade-process-drivers"), ex.join("healthy"));
    let missing = ex.join("no-such-bundle");
    let (code, lines, stderr) = ndjson(&[b.as_os_str(), missing.as_os_str(), healthy.as_os_str(), a.as_os_str()]);
    // An input that could not be read at all: exit 2, whatever the others show.
    assert_eq!(code, 2, "{stderr}");
    let status: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["failed", "unreadable", "healthy", "failed"]);
    assert_eq!(lines[1]["errors"][0].as_str().unwrap(), format!("{}: no such file or folder", missing.display()));
    assert!(lines.iter().filter(|l| l["status"] != "unreadable").all(|l| l["errors"] == serde_json::json!([])));
    let inputs: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    let want: Vec<String> = [&b, &missing, &healthy, &a].iter().map(|p| p.display().to_string()).collect();
    assert_eq!(inputs, want);
    let rules = |l: &Value| -> Vec<String> {
        l["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(rules(&lines[0]), [RULE_B]);
    assert_eq!(lines[1]["sources"][0]["error"], "no such file or folder");
    assert!(stderr.contains("no-such-bundle"), "{stderr}");
    assert!(rules(&lines[2]).is_empty());
    assert_eq!(rules(&lines[3]), [RULE_A]);
    for l in &lines {
        assert_eq!(l["schema"], "servicing-doctor/report/v1");
        // Each line is the report `diagnose --format json` gives for that PATH alone.
        let path = std::path::PathBuf::from(l["input"].as_str().unwrap());
        let mut alone = diagnose(&[&path]).json;
        let obj = alone.as_object_mut().unwrap();
        for key in ["input", "status", "errors"] {
            obj.insert(key.into(), l[key].clone());
        }
        assert_eq!(l, &alone);
    }
}

#[test]
fn ndjson_never_joins_evidence_across_paths() {
    let w = examples().join("upgrade-process-drivers/Windows/Logs");
    let (dism, cbs) = (w.join("DISM/dism.log"), w.join("CBS/CBS.log"));
    let (code, lines, _) = ndjson(&[dism.as_os_str(), cbs.as_os_str()]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["findings"].as_array().unwrap().is_empty()));
}

#[test]
fn ndjson_exit_codes_and_output_file() {
    let d = tree(&[("pc1/CBS.log", SEED_CBS), ("pc2/CBS.log", "2024-01-01 00:00:00, Info CBS fine\n")]);
    let (code, lines, stderr) = ndjson(&[d.path().join("nothing").as_os_str(), d.path().join("also-not").as_os_str()]);
    assert_eq!((code, lines.len()), (2, 2), "nothing readable: {stderr}");
    assert!(stderr.contains("no servicing log could be read"), "{stderr}");
    let (code, lines, _) = ndjson(&[d.path().join("pc2").as_os_str()]);
    assert_eq!((code, lines.len()), (0, 1));
    assert_eq!(lines[0]["status"], "healthy");
    // A healthy log beside a file that cannot be read: not known healthy.
    write(&d.path().join("pc3/CBS.log"), b"2024-01-01 00:00:00, Info CBS fine\n");
    write(&d.path().join("pc3/broken.zip"), b"PK\x03\x04 not a zip after all");
    let (code, lines, stderr) = ndjson(&[d.path().join("pc3").as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(lines[0]["status"], "partial");
    assert!(lines[0]["errors"][0].as_str().unwrap().contains("broken.zip"), "{}", lines[0]);

    let report = d.path().join("fleet.ndjson");
    let out = bin()
        .args(["diagnose", "-f", "ndjson", "-q", "-o"])
        .arg(&report)
        .arg(d.path().join("pc1"))
        .arg(d.path().join("pc2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["findings"][0]["rule"], RULE_A);
    let out = bin().args(["diagnose", "-f", "ndjson", "-o"]).arg(d.path().join("pc1/CBS.log")).arg(d.path()).output();
    assert_eq!(out.unwrap().status.code(), Some(2), "never over an input");
    assert_eq!(std::fs::read_to_string(d.path().join("pc1/CBS.log")).unwrap(), SEED_CBS);
}

#[test]
fn output_through_a_link_never_touches_the_log() {
    let d = tree(&[("logs/CBS.log", SEED_CBS)]);
    let log = d.path().join("logs/CBS.log");
    // A hard link elsewhere to a log: the name is replaced, the log kept.
    let hard = d.path().join("hard.txt");
    std::fs::hard_link(&log, &hard).unwrap();
    let out = bin().args(["diagnose", "-f", "json", "-o"]).arg(&hard).arg(d.path().join("logs")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), SEED_CBS);
    let j: Value = serde_json::from_slice(&std::fs::read(&hard).unwrap()).unwrap();
    assert_eq!(j["findings"][0]["rule"], RULE_A);
    // A symbolic link into the evidence is refused, for reports and plans.
    #[cfg(unix)]
    {
        let soft = d.path().join("soft.txt");
        std::os::unix::fs::symlink(&log, &soft).unwrap();
        for cmd in ["diagnose", "plan"] {
            let out = bin().args([cmd, "-o"]).arg(&soft).arg(d.path().join("logs")).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("links into"), "{cmd}");
        }
        assert_eq!(std::fs::read_to_string(&log).unwrap(), SEED_CBS);
    }
    // A pipe as output is written to, not replaced; a replaced report keeps its mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let fifo = d.path().join("out.fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let out = bin().args(["diagnose", "-f", "json", "-o"]).arg(&fifo).arg(d.path().join("logs")).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
        assert_eq!(got["findings"][0]["rule"], RULE_A);
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&std::fs::symlink_metadata(&fifo).unwrap().file_type()));
        std::fs::set_permissions(&hard, std::fs::Permissions::from_mode(0o600)).unwrap();
        bin().args(["diagnose", "-f", "json", "-o"]).arg(&hard).arg(d.path().join("logs")).output().unwrap();
        assert_eq!(std::fs::metadata(&hard).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Nothing left behind beside the output.
    let names: Vec<String> =
        std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".servicing-doctor-")), "{names:?}");
}

#[test]
fn no_log_at_all_exits_2_and_says_so() {
    let mut files: Vec<(String, String)> = vec![("readme.txt".into(), "not a log\n".into())];
    files.extend((0..30).map(|i| (format!("data/file{i}.bin"), format!("{i}\n"))));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let d = tree(&refs);
    let out = bin().arg("diagnose").arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("Nothing diagnosed"), "{stdout}");
    assert!(stderr.contains("31 file(s) read, none of them a log"), "{stderr}");
    // Many files that are not logs are counted, not listed.
    assert!(stdout.contains("31 files that are not logs"), "{stdout}");
    assert!(!stdout.contains("file7.bin"), "{stdout}");
    let j = diagnose(&[d.path()]);
    assert_eq!((j.code, j.json["sources"].as_array().unwrap().len()), (2, 31), "JSON still lists them");
    // An empty folder, and `plan` on a missing path (named).
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(bin().arg("diagnose").arg(empty.path()).output().unwrap().status.code(), Some(2));
    let out = bin().args(["plan", "/definitely/not/here"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/definitely/not/here: no such file"), "{err}");
}

#[test]
fn separate_machines_share_only_the_facts_they_all_state() {
    let ex = examples();
    let junk = tree(&[("readme.txt", "not a log\n")]);
    let run = |paths: &[&Path]| {
        let mut cmd = bin();
        cmd.args(["diagnose", "-f", "json", "-q", "--separate"]);
        let out = cmd.args(paths).output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["system"].clone()
    };
    let upgrade = ex.join("upgrade-process-drivers");
    let alone = run(&[&upgrade]);
    assert_eq!(alone["os_version_in_logs"], "10.0.19045");
    assert_eq!(run(&[&upgrade, junk.path()]), alone, "an input without logs states nothing");
    let mixed = run(&[&ex.join("healthy"), &ex.join("wu-driver-rollback")]);
    assert_eq!(mixed["arch"], "amd64", "both state it");
    assert!(mixed["servicing_stack_in_logs"].is_null(), "they differ: {mixed}");
}

#[test]
fn thread_counts_outside_1_to_256_are_usage_errors() {
    for bad in ["0", "257", "100000"] {
        let out = bin().args(["diagnose", "-j", bad, "-q"]).arg(examples().join("healthy")).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "-j {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not in 1..=256"), "-j {bad}: {err}");
    }
    let out = bin().args(["diagnose", "-j", "256", "-q"]).arg(examples().join("healthy")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// The same failure on three days: one group in every format, counted with
/// its first and last time, the most recent incident in full; JSON names
/// the group and the top finding in `view{}`.
#[test]
fn repeated_incidents_are_grouped_in_every_format() {
    let line = |day: u32| {
        format!("2020-02-0{day} 18:57:17, Error                 CBS    Session: 30792643_{day} failed to perform store corruption detect and repair operation. [HRESULT = 0x800f081f - CBS_E_SOURCE_MISSING]\r\n")
    };
    let log: String = (1..=3).map(line).collect();
    let d = tree(&[("CBS.log", &log)]);
    let run = diagnose(&[d.path()]);
    let f = findings(&run, "dism-0x800f081f-source-missing");
    assert_eq!(f.len(), 3, "JSON keeps every incident");
    let view = &run.json["view"];
    assert_eq!(view["groups"].as_array().unwrap().len(), 1);
    assert_eq!(view["groups"][0]["count"], 3);
    assert_eq!(view["groups"][0]["first_time"], "2020-02-01T18:57:17");
    assert_eq!(view["groups"][0]["last_time"], "2020-02-03T18:57:17");
    let top = view["top"].as_u64().unwrap() as usize;
    assert_eq!(run.json["findings"][top]["time"], "2020-02-03T18:57:17");

    let text = String::from_utf8(bin().arg("diagnose").arg(d.path()).output().unwrap().stdout).unwrap();
    assert!(text.contains("seen:     3 incidents, first 2020-02-01 18:57:17, last 2020-02-03 18:57:17"), "{text}");
    assert_eq!(text.matches("[HRESULT = 0x800f081f").count(), 1, "only the latest in full: {text}");
    assert!(text.contains("Earlier incidents:\n      2020-02-02 18:57:17  ") && text.contains("CBS.log:2"), "{text}");

    let md =
        String::from_utf8(bin().args(["diagnose", "--format", "md"]).arg(d.path()).output().unwrap().stdout).unwrap();
    assert!(md.contains("| Incidents | 3, first 2020-02-01 18:57:17, last 2020-02-03 18:57:17"), "{md}");
    assert!(!md.contains("## Other findings"), "one group: {md}");
    assert!(md.contains("## Earlier incidents\n\n- 2020-02-02 18:57:17 ` "), "{md}");
    let html =
        String::from_utf8(bin().args(["diagnose", "--format", "html"]).arg(d.path()).output().unwrap().stdout).unwrap();
    assert_eq!(html.matches("<section>").count(), 1, "{html}");
    assert!(html.contains("<h2>Earlier incidents</h2>"), "{html}");
}
