//! `servicing-doctor plan` and the Markdown support request: golden files,
//! determinism, and proof (by an independent PowerShell parser,
//! tree-sitter-powershell) that no untrusted text escapes its literal.

mod common;
use common::*;
use std::path::Path;

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run in the repository root with relative paths, so outputs are the same on every clone.
fn run_in_repo(args: &[&str]) -> std::process::Output {
    bin().current_dir(repo()).args(args).output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The snapshots' text. Windows joins the folders found under `examples/...` with `\`; the
/// snapshots show `/`, so paths starting with `examples/` are turned back (up to `:` or a space).
fn golden(o: &std::process::Output) -> String {
    let s = stdout(o);
    if !cfg!(windows) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("examples/") {
        let (before, path) = rest.split_at(i);
        let end = path.find(|c: char| c == ':' || c.is_whitespace()).unwrap_or(path.len());
        out.push_str(before);
        out.push_str(&path[..end].replace('\\', "/"));
        rest = &path[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn golden_plan_scenario_b() {
    let o = run_in_repo(&["plan", "examples/upgrade-process-drivers"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!("plan_scenario_b", golden(&o));
}

#[test]
fn golden_plan_scenario_a() {
    let o = run_in_repo(&["plan", "examples/wu-driver-rollback"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("plan_scenario_a", golden(&o));
}

#[test]
fn golden_support_request_markdown() {
    let b = run_in_repo(&["diagnose", "--format", "md", "examples/upgrade-process-drivers"]);
    insta::assert_snapshot!("support_scenario_b", golden(&b));
    let a = run_in_repo(&["diagnose", "--format", "md", "examples/wu-driver-rollback"]);
    insta::assert_snapshot!("support_scenario_a", golden(&a));
}

#[test]
fn plans_are_deterministic_and_stamped_only_on_request() {
    let one = stdout(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    let two = stdout(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    assert_eq!(one, two);
    assert!(!one.contains("Generated:"));
    let stamped = stdout(&run_in_repo(&["plan", "--stamp", "examples/upgrade-process-drivers"]));
    assert!(stamped.contains("    Generated: 20"), "{}", &stamped[..400]);
}

#[test]
fn plan_contents_follow_the_seed_and_stay_safe() {
    let s = stdout(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    let order = [
        "Step 1: back up",
        "reg.exe query 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version'",
        "New-Item -ItemType Directory -Force -Path $WorkDir",
        "& expand.exe -F:* $Msu $WorkDir",
        "/E /COPYALL /B /R:0 /W:0 /L /NFL /NDL /NP /NJH /NJS",
        "if (-not $Apply) {",
        "/E /COPYALL /B /R:0 /W:0 ('/LOG+:' + $LogFile)",
        "cbscore.dll",
        "Try the in-place upgrade again.",
    ];
    let mut at = 0;
    for needle in order {
        let i = s[at..].find(needle).unwrap_or_else(|| panic!("{needle} missing or out of order"));
        at += i + needle.len();
    }
    assert!(s.contains("#   for /d %i in"), "the cmd alternative is a comment");
    for forbidden in ["takeown", "icacls", "Set-Acl", "Invoke-Expression", "iex ", "-EncodedCommand"] {
        assert!(!s.to_ascii_lowercase().contains(&forbidden.to_ascii_lowercase()), "{forbidden}");
    }
    assert!(s.contains("Stop-Plan"), "fails loudly");
}

#[test]
fn no_failure_means_no_plan() {
    let o = run_in_repo(&["plan", "examples/healthy"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to repair"));
}

/// Byte ranges of single-quoted (verbatim) string literals, and whether the
/// parse had errors.
fn verbatim_ranges(script: &str) -> (Vec<std::ops::Range<usize>>, Vec<String>) {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_powershell::LANGUAGE.into()).unwrap();
    let tree = parser.parse(script, None).unwrap();
    let mut ranges = Vec::new();
    let mut errors = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            errors.push(format!("{} at {}:{}: {:?}", node.kind(), p.row + 1, p.column + 1, &script[node.byte_range()]));
        }
        if node.kind() == "string_literal"
            && script[node.byte_range()].starts_with(['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'])
        {
            ranges.push(node.byte_range());
        }
        for child in node.children(&mut cursor) {
            stack.push(child);
        }
    }
    (ranges, errors)
}

fn assert_inert(script: &str, markers: &[&str]) {
    let (ranges, errors) = verbatim_ranges(script);
    assert!(errors.is_empty(), "the script does not parse: {errors:?}");
    for m in markers {
        let mut found = 0;
        for (i, _) in script.match_indices(m) {
            found += 1;
            assert!(
                ranges.iter().any(|r| r.start < i && i + m.len() < r.end),
                "{m:?} at byte {i} is outside every single-quoted literal: {}",
                &script[i.saturating_sub(80)..(i + m.len() + 40).min(script.len())]
            );
        }
        assert!(found > 0, "{m:?} does not appear in the script at all");
    }
}

#[test]
fn generated_scripts_parse_cleanly() {
    for ex in ["examples/upgrade-process-drivers", "examples/wu-driver-rollback"] {
        let s = stdout(&run_in_repo(&["plan", ex]));
        let (ranges, errors) = verbatim_ranges(&s);
        assert!(errors.is_empty(), "{ex}: {errors:?}");
        assert!(ranges.len() > 10);
    }
}

#[test]
fn hostile_inf_names_and_paths_stay_inside_literals() {
    let inf = "evil';Remove-Item$(calc)`\"x\"\u{2019}\u{2018}\u{201C}.inf";
    let path = "C:\\Drivers\\a b;$(Start-Process calc)`n\"q\"\u{2019}x'\u{201B}\\oem1.inf";
    let cbs = SHTD_CBS.replace(
        "2023-01-10 03:12:09, Info                  CBS    DriverUpdateInstallUpdates failed",
        &format!("2023-01-10 03:12:09, Info                  CBS    Doqe: Recording result: 0x80070003, for Inf: {inf}\n2023-01-10 03:12:09, Info                  CBS    DriverUpdateInstallUpdates failed"),
    );
    let setupapi = SHTD_SETUPAPI.replace(SHTD_MISSING, &path.replace('\'', ""));
    let d = tree(&[("CBS.log", &cbs), ("setupapi.dev.log", &setupapi)]);
    let o = bin().arg("plan").arg(d.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = stdout(&o);
    assert_inert(&s, &["Remove-Item$(calc)", "$(Start-Process calc)", "\u{2019}\u{2019}", "`\"x\""]);
    // The same text in the Markdown request stays in code spans.
    let md = bin().args(["diagnose", "--format", "md"]).arg(d.path()).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("Remove-Item$(calc)"), "{md}");
    assert!(!md.contains("<script"));
}

#[test]
fn hostile_winsxs_and_system_values_stay_inside_literals() {
    let mut s = String::new();
    // Quotes in a path from a log line (rule B's folder fact) and in the title.
    let evil = "2025-10-14 03:12:04, Error                 CBS    Failed to load servicing stack from C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_'$(whoami)'\u{2019};calc\\cbscore.dll [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n";
    let ex = examples().join("upgrade-process-drivers");
    let d = tree(&[
        ("setupact.log", &std::fs::read_to_string(ex.join("$WINDOWS.~BT/Sources/Panther/setupact.log")).unwrap()),
        ("CBS.log", &format!("{}{evil}", std::fs::read_to_string(ex.join("Windows/Logs/CBS/CBS.log")).unwrap())),
    ]);
    let o = bin().arg("plan").arg(d.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    s.push_str(&stdout(&o));
    assert!(s.contains("$(whoami)"));
    assert_inert(&s, &["$(whoami)", ";calc"]);
}

#[test]
fn control_characters_are_refused_naming_the_line() {
    let cbs = SEED_CBS.replace("for Inf: ntprint4.inf", "for Inf: ntprint4\u{1b}[2J.inf");
    let d = tree(&[("CBS.log", &cbs)]);
    let o = bin().arg("plan").arg(d.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("CBS.log:2") && err.contains("control character"), "{err}");
    assert!(o.stdout.is_empty(), "no partial script");
}

#[test]
fn plan_output_file_never_lands_in_the_evidence() {
    let d = tree(&[("logs/CBS.log", SEED_CBS)]);
    let out = d.path().join("repair.ps1");
    let o = bin().arg("plan").arg("-o").arg(&out).arg(d.path().join("logs")).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(std::fs::read_to_string(&out).unwrap().contains("in-place upgrade"));
    let o =
        bin().arg("plan").arg("-o").arg(d.path().join("logs/repair.ps1")).arg(d.path().join("logs")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
