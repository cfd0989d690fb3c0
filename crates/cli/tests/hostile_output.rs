//! Issue 11, items 2 and 3: text from input (file names, log lines, rule
//! files, SetupDiag values) never reaches a terminal as control or bidi
//! characters, and never becomes a link, image or HTML in the Markdown
//! support request or the HTML report.

mod common;
use common::*;

/// An OSC title change ended by BEL, an SGR colour, a right-to-left
/// override, and the one-byte C1 CSI: each would act on a terminal.
const EVIL: &str = "\u{1b}]0;pwned\u{7}\u{1b}[31m\u{202e}\u{9b}2J";

/// Characters that must never reach standard output or error raw.
fn is_active(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn assert_clean(what: &str, o: &std::process::Output) {
    for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if let Some((i, c)) = text.char_indices().find(|&(_, c)| is_active(c)) {
            let at = text[..i].chars().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<String>();
            panic!("{what}: {name} holds U+{:04X} after {at:?}", c as u32);
        }
    }
}

#[cfg(unix)]
#[test]
fn hostile_file_names_never_reach_the_terminal_raw() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join(format!("logs{EVIL}"));
    write(&dir.join(format!("CBS{EVIL}.log")), SEED_CBS.as_bytes());
    // A source that cannot be read (a link to nothing), named hostilely.
    std::os::unix::fs::symlink(d.path().join("nowhere"), dir.join(format!("setupapi{EVIL}.dev.log"))).unwrap();
    let missing = d.path().join(format!("missing{EVIL}"));
    for format in ["text", "md", "html", "json"] {
        let o =
            bin().args(["diagnose", "--color", "never", "--format", format]).arg(&dir).arg(&missing).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{format}: {}", String::from_utf8_lossy(&o.stderr));
        assert_clean(&format!("diagnose --format {format}"), &o);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("\\x{1b}]0;pwned\\x{7}"), "{format}: the source errors name the file: {err}");
    }
    // The plan refuses a control character in its evidence's path, naming
    // it inertly; from a plain folder it says where it wrote, inertly.
    let o = bin().arg("plan").arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert_clean("plan", &o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to put this text into a script"));
    let plain = d.path().join("plain");
    write(&plain.join("CBS.log"), SEED_CBS.as_bytes());
    let o = bin().arg("plan").arg("-o").arg(d.path().join(format!("plan{EVIL}.ps1"))).arg(&plain).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_clean("plan -o", &o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("plan written to"));
    // Top-level errors that quote a path.
    let not_archive = d.path().join(format!("x{EVIL}.msu"));
    write(&not_archive, b"not an archive");
    let cases: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("inspect", vec!["inspect".into(), not_archive.clone().into()]),
        ("plan --ssu", vec!["plan".into(), "--ssu".into(), not_archive.into(), dir.clone().into()]),
        ("plan -o", vec!["plan".into(), "-o".into(), missing.join("x.ps1").into(), dir.clone().into()]),
        ("clap", vec!["diagnose".into(), "--format".into(), EVIL.into()]),
        ("explain", vec!["explain".into(), EVIL.into()]),
    ];
    for (what, args) in cases {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{what}: {}", String::from_utf8_lossy(&o.stderr));
        assert_clean(what, &o);
        // clap's own rendering drops escape sequences from the value.
        if what != "clap" {
            assert!(String::from_utf8_lossy(&o.stderr).contains("\\x{1b}"), "{what}: names the input");
        }
    }
}

/// A rule whose every text field carries terminal escapes and bidi.
fn hostile_rule() -> String {
    let e = "\\e]0;pwned\\a \\e[31m \\u202E \\x9b2J";
    format!(
        r#"id: hostile-rule
title: "title {e}"
severity: warning
code: "0x800f081f"
summary: "summary {e}"
signals:
  - id: restorehealth
    kinds: [dism]
    anchor: "0x800f081f"
    match: ["2023-05-17 08:40:00, Error                 DISM   DISM Package Manager: PID=7092 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)"]
remediation: {{ id: give-a-source, steps: ["step {e}"] }}
tests:
  - name: "test {e}"
    fires: false
    logs:
      - kind: dism
        text: "2023-05-17 08:40:00, Error                 DISM   DISM Package Manager: PID=7092 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)\n"
"#
    )
}

#[cfg(unix)]
#[test]
fn hostile_rule_text_never_reaches_the_terminal_raw() {
    let d = tree(&[
        ("rules/hostile.yaml", &hostile_rule()),
        ("logs/dism.log", "2023-05-17 08:40:00, Error                 DISM   DISM Package Manager: PID=7092 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)\n"),
    ]);
    let rules = d.path().join("rules");
    let logs = d.path().join("logs");
    let o = bin().args(["rules", "list", "--rules"]).arg(&rules).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("title \\x{1b}]0;pwned\\x{7}"), "the rule loaded");
    assert_clean("rules list", &o);
    // The rule's test fails on purpose, so its name and message are printed.
    let o = bin().args(["rules", "test", "--rules"]).arg(&rules).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    assert_clean("rules test", &o);
    let o = bin().args(["rules", "anchors", "--rules"]).arg(&rules).output().unwrap();
    assert_clean("rules anchors", &o);
    let o = bin().args(["explain", "0x800f081f", "--rules"]).arg(&rules).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_clean("explain", &o);
    for format in ["text", "md", "html"] {
        let o = bin()
            .args(["diagnose", "--color", "never", "-f", format, "--rules"])
            .arg(&rules)
            .arg(&logs)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{format}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("pwned"), "{format}: the finding is shown");
        assert_clean(&format!("diagnose -f {format} with the rule"), &o);
    }
    // A rule file with a mistake, named hostilely: the error names it inertly.
    let bad = tree(&[(&format!("bad{EVIL}.yaml") as &str, "id: x\ntitle: t\nseverty: error\n")]);
    let o = bin().args(["rules", "list", "--rules"]).arg(bad.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_clean("a broken rule file", &o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad\\x{1b}]0;pwned") && err.contains("severty"), "{err}");
}
