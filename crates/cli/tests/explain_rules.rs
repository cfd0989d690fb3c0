//! `explain` and `rules`, end to end.

mod common;
use common::*;

#[test]
fn explain_decodes_and_names_the_rules() {
    let out = run(&["explain", "0x80070003"]);
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains("ERROR_PATH_NOT_FOUND"), "{t}");
    assert!(t.contains("The system cannot find the path specified."));
    assert!(t.contains("FACILITY_WIN32"));
    assert!(t.contains(RULE_A) && t.contains(RULE_B));
    let out = run(&["explain", "3", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["win32"], 3);
    assert_eq!(j["name"], "ERROR_PATH_NOT_FOUND");
    // The bare Win32 error is the same failure as its HRESULT: same rules.
    assert_eq!(j["hresult"], "0x80070003");
    let hr: serde_json::Value =
        serde_json::from_slice(&run(&["explain", "0x80070003", "--format", "json"]).stdout).unwrap();
    assert_eq!(j["rules"], hr["rules"]);
    assert!(hr["hresult"].is_null());
    let t = String::from_utf8(run(&["explain", "ERROR_PATH_NOT_FOUND"]).stdout).unwrap();
    assert!(t.contains(RULE_A) && t.contains(RULE_B), "{t}");
    assert!(!t.contains("severity:  success"), "a Win32 error is no HRESULT success: {t}");
}

#[test]
fn explain_setup_codes_with_extend() {
    let out = run(&["explain", "0xC1900101-0x20017", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["hex"], "0xC1900101");
    assert_eq!(j["extend"]["phase"], 2);
    assert!(j["extend"]["phase_name"].as_str().unwrap().contains("SAFE_OS"));
}

#[test]
fn explain_rejects_non_codes() {
    let out = run(&["explain", "banana"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`banana` is not an error code"));
}

#[test]
fn rules_test_passes_and_list_shows_the_seed_rules() {
    let out = run(&["rules", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(", 0 failed"));
    let out = run(&["rules", "list"]);
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains(RULE_A) && t.contains(RULE_B));
    // One rule's tests alone; an unknown id is said so.
    let one = run(&["rules", "test", "--rule", RULE_B]);
    assert_eq!(one.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&one.stdout).contains(" checks in 1 rules, 0 failed"), "{one:?}");
    let none = run(&["rules", "test", "--rule", "no-such-rule"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no rule `no-such-rule` is loaded"));
}

/// A fixture on which another error rule fires fails `rules test`, naming
/// the file, the case and the other rule; so does an unknown placeholder.
#[test]
fn rules_test_names_a_rule_whose_fixture_another_rule_claims() {
    let greedy = r#"id: greedy
title: t
severity: error
summary: s
signals:
  - id: a
    kinds: [cbs]
    anchor: "Failed to create worker session"
remediation: { id: r, steps: [x] }
tests:
  - name: the seed's worker session line
    fires: true
    logs:
      - kind: cbs
        text: |
          2025-10-14 03:12:04, Error                 CBS    Failed to create worker session [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
      - kind: dism
        text: |
          2025-10-14 03:12:04, Error                 DISM   DISM Manager: PID=4312 TID=5120 Failed to bind the online servicing stack - CDISMOSServiceManager::get_ServicingStackDirectory(hr:0x80070003)
"#;
    let d = tree(&[("greedy.yaml", greedy)]);
    let out = bin().args(["rules", "test", "--rules"]).arg(d.path()).args(["--rule", "greedy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("FAIL greedy (")
            && t.contains("greedy.yaml:11): test `the seed's worker session line`: rule `upgrade-0x80070003-servicing-stack-damaged`"),
        "{t}"
    );
    let typo = "id: typo\ntitle: t\nseverity: error\nsummary: s\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: hello\nremediation: { id: r, steps: ['See {system.os_bild}.'] }\n";
    let d = tree(&[("typo.yaml", typo)]);
    let out = bin().args(["rules", "test", "--rules"]).arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("typo.yaml:1: remediation `r`") && err.contains("`{system.os_bild}`, which is no system fact"),
        "{err}"
    );
}

#[test]
fn a_broken_rule_file_names_file_and_line() {
    let d = tree(&[(
        "mine.yaml",
        "id: my-rule\ntitle: t\nseverity: error\nsummary: s\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: \"hello world\"\n    regex: '(unclosed'\nremediation: { id: r, steps: [x] }\n",
    )]);
    let out = bin().args(["diagnose", "--rules"]).arg(d.path()).arg(examples()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mine.yaml:9:") && err.contains("does not compile"), "{err}");
    let d = tree(&[("typo.yaml", "id: x\ntitle: t\nseverty: error\n")]);
    let out = bin().args(["rules", "test", "--rules"]).arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.yaml:3:") && err.contains("severty"), "{err}");
}

#[test]
fn a_user_rule_from_a_folder_fires() {
    let d = tree(&[(
        "rules/dism-source-missing.yaml",
        r#"id: user-dism-source-missing
title: DISM could not find repair source files
severity: warning
code: "0x800f081f"
summary: The repair source was not found.
signals:
  - id: restorehealth
    kinds: [dism]
    anchor: "0x800f081f"
    match: ["2023-05-17 08:40:00, Error                 DISM   DISM Package Manager: PID=7092 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)"]
remediation: { id: give-a-source, steps: ["Point /Source at a matching install.wim"] }
"#,
    ), ("logs/dism.log", "2023-05-17 08:40:00, Error                 DISM   DISM Package Manager: PID=7092 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)\n")]);
    let out = bin()
        .args(["diagnose", "-f", "json", "--rules"])
        .arg(d.path().join("rules"))
        .arg(d.path().join("logs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a warning is not a failure");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["findings"][0]["rule"], "user-dism-source-missing");
    assert_eq!(j["findings"][0]["code_name"], "CBS_E_SOURCE_MISSING");
}

/// A code as PowerShell and event logs print it (negative decimal) needs
/// no `--`.
#[test]
fn explain_accepts_negative_decimals() {
    let neg = run(&["explain", "-2147024893"]);
    assert_eq!(neg.status.code(), Some(0), "{}", String::from_utf8_lossy(&neg.stderr));
    assert_eq!(neg.stdout, run(&["explain", "0x80070003"]).stdout);
}

#[test]
fn help_states_the_exit_codes_and_where_the_rules_are() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains("Exit codes: 0 no failure found; 1 at least one error-severity finding; 2 bad input"), "{t}");
    assert!(t.contains("rules list"), "{t}");
}
