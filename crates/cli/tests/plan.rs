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

/// A plan's text after its byte order mark, which every plan must start with.
fn script(o: &std::process::Output) -> String {
    let s = stdout(o);
    let body = s.strip_prefix('\u{feff}').unwrap_or_else(|| panic!("no UTF-8 BOM: {:?}", &s[..s.len().min(40)]));
    assert!(body.is_ascii(), "non-ASCII after the BOM: {:?}", body.chars().find(|c| !c.is_ascii()));
    body.to_string()
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
    let one = script(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    let two = script(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    assert_eq!(one, two);
    assert!(!one.contains("Generated:"));
    let stamped = script(&run_in_repo(&["plan", "--stamp", "examples/upgrade-process-drivers"]));
    assert!(stamped.contains("    Generated: 20"), "{}", &stamped[..400]);
}

#[test]
fn plan_contents_follow_the_seed_and_stay_safe() {
    let s = script(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    let order = [
        "Step 1: back up",
        "reg.exe query 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version'",
        "New-Item -ItemType Directory -Force -Path $Run",
        "& expand.exe -F:* $Msu $Run",
        "/E /COPY:DAT /DCOPY:T /B /R:0 /W:0 /L /NP /NJH /NJS",
        "if (-not $Apply) {",
        "/E /COPY:DAT /DCOPY:T /B /R:0 /W:0 ('/LOG+:' + $LogFile)",
        "/setowner 'NT SERVICE\\TrustedInstaller'",
        "cbscore.dll",
        "Try the update or the upgrade again.",
    ];
    let mut at = 0;
    for needle in order {
        let i = s[at..].find(needle).unwrap_or_else(|| panic!("{needle} missing or out of order"));
        at += i + needle.len();
    }
    assert!(
        s.contains("'      robocopy \"C:\\TemporaryFolder\\ssu\\<folder>\""),
        "the by-hand commands are in the script"
    );
    for forbidden in ["takeown", "/grant", "/reset", "Set-Acl", "Invoke-Expression", "iex ", "-EncodedCommand"] {
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
        if node.kind() == "string_literal" && script[node.byte_range()].starts_with('\'') {
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
        let s = script(&run_in_repo(&["plan", ex]));
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
    let s = script(&o);
    assert_inert(&s, &["Remove-Item$(calc)", "$(Start-Process calc)", "`\"x\""]);
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
    s.push_str(&script(&o));
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

/// The value of a PowerShell expression made only of what `ps_literal`
/// writes: single-quoted literals, `[char]` casts of integers, `+` and
/// parentheses. Anything else (a sub-expression, a variable, a command, an
/// expandable string) is an error: it would run or expand something.
#[derive(Debug, PartialEq)]
enum Val {
    Str(Vec<u16>),
    Char(u16),
    Int(u32),
}

fn eval(src: &str, node: tree_sitter::Node) -> Result<Val, String> {
    let text = &src[node.byte_range()];
    match node.kind() {
        "string_literal" => {
            // Every quote form PowerShell knows, so that a wrong decoding
            // that turns bytes into a quote shows up as a different value.
            let is_quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
            let chars: Vec<char> = text.chars().collect();
            if chars.len() < 2 || !is_quote(chars[0]) || !is_quote(chars[chars.len() - 1]) {
                return Err(format!("not a verbatim string: {text:?}"));
            }
            // tree-sitter-powershell only knows `'`; PowerShell ends the
            // literal at any lone quote form, so one here means a breakout.
            let inner = &chars[1..chars.len() - 1];
            let mut out = String::new();
            let mut i = 0;
            while i < inner.len() {
                out.push(inner[i]);
                if is_quote(inner[i]) {
                    if !inner.get(i + 1).is_some_and(|&c| is_quote(c)) {
                        return Err(format!("a lone {:?} ends the literal early in PowerShell: {text:?}", inner[i]));
                    }
                    i += 1;
                }
                i += 1;
            }
            Ok(Val::Str(out.encode_utf16().collect()))
        }
        "hexadecimal_integer_literal" => u32::from_str_radix(&text[2..], 16).map(Val::Int).map_err(|e| e.to_string()),
        "decimal_integer_literal" => text.parse().map(Val::Int).map_err(|e| e.to_string()),
        "cast_expression" => {
            let ty = node.child(0).ok_or("cast without a type")?;
            if !src[ty.byte_range()].eq_ignore_ascii_case("[char]") || node.child_count() != 2 {
                return Err(format!("cast other than [char]: {text:?}"));
            }
            match eval(src, node.child(1).ok_or("cast without an operand")?)? {
                Val::Int(n) if n <= 0xFFFF => Ok(Val::Char(n as u16)),
                v => Err(format!("[char] of {v:?}")),
            }
        }
        "additive_expression" if node.child_count() == 3 => {
            if node.child(1).map(|o| &src[o.byte_range()]) != Some("+") {
                return Err(format!("operator other than +: {text:?}"));
            }
            let left = eval(src, node.child(0).unwrap())?;
            let right = eval(src, node.child(2).unwrap())?;
            match (left, right) {
                (Val::Str(mut l), Val::Str(r)) => {
                    l.extend(r);
                    Ok(Val::Str(l))
                }
                (Val::Str(mut l), Val::Char(c)) => {
                    l.push(c);
                    Ok(Val::Str(l))
                }
                (l, r) => Err(format!("{l:?} + {r:?} is not a string concatenation")),
            }
        }
        "parenthesized_expression" if node.child_count() == 3 => eval(src, node.named_child(0).unwrap()),
        "pipeline"
        | "pipeline_chain"
        | "logical_expression"
        | "bitwise_expression"
        | "comparison_expression"
        | "additive_expression"
        | "multiplicative_expression"
        | "format_expression"
        | "range_expression"
        | "array_literal_expression"
        | "unary_expression"
        | "expression_with_unary_operator"
        | "integer_literal"
            if node.child_count() == 1 =>
        {
            eval(src, node.child(0).unwrap())
        }
        other => Err(format!("{other} is not plain data: {text:?}")),
    }
}

/// Parse `$x = EXPR` and evaluate EXPR; also its tree, to compare shapes.
fn parse_value(expr: &str) -> Result<(String, String), String> {
    let src = format!("$x = {expr}\n");
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_powershell::LANGUAGE.into()).unwrap();
    let tree = parser.parse(&src, None).unwrap();
    let root = tree.root_node();
    if root.has_error() {
        return Err(format!("parse error in {src:?}: {}", root.to_sexp()));
    }
    let statements = root.named_child(0).ok_or("empty program")?;
    if statements.named_child_count() != 1 {
        return Err(format!("{} statements in {src:?}", statements.named_child_count()));
    }
    let assign = statements.named_child(0).and_then(|p| p.named_child(0)).ok_or("no statement")?;
    let value = assign.child_by_field_name("value").ok_or_else(|| format!("not an assignment: {src:?}"))?;
    match eval(&src, value)? {
        Val::Str(units) => Ok((String::from_utf16(&units).map_err(|e| e.to_string())?, value.to_sexp())),
        v => Err(format!("the value is not a string: {v:?}")),
    }
}

/// Hostile text for the plan's literals: quotes of every form, a character
/// whose UTF-8 bytes read as a quote in Windows-1252, bidi controls, CJK,
/// emoji, code that must never run.
const HOSTILE_TEXT: &[&str] = &[
    "C:\\x \u{452} + $(Start-Process calc.exe) #",
    "it\u{2019}s '; Remove-Item C:\\ -Recurse; '",
    "\u{2018}\u{2019}\u{201A}\u{201B}''\u{201C}\u{201D}\"$(whoami)\"`n",
    "invoice\u{202E}gpj.exe \u{2066}x\u{2069} \u{200E}\u{200F}\u{61C}",
    "C:\\\u{4E2D}\u{6587}\\\u{65E5}\u{672C}\u{8A9E}\\\u{D55C}\u{AD6D}\u{C5B4}.inf",
    "\u{1F600}\u{1F4A9} $env:TEMP ${x} @(1) & | ; ` \u{FEFF}\u{AD}",
    "\u{100}\u{2026}\u{20AC}\u{A0}\u{FF07}",
    "plain ASCII with 'quotes' and a tab\there",
    "",
];

/// The ANSI code pages Windows PowerShell 5.1 may read a BOM-less script in.
fn ansi_code_pages() -> Vec<&'static encoding_rs::Encoding> {
    use encoding_rs::*;
    vec![
        UTF_8,
        WINDOWS_1250,
        WINDOWS_1251,
        WINDOWS_1252,
        WINDOWS_1253,
        WINDOWS_1254,
        WINDOWS_1255,
        WINDOWS_1256,
        WINDOWS_1257,
        WINDOWS_1258,
        WINDOWS_874,
        SHIFT_JIS,
        GBK,
        EUC_KR,
        BIG5,
    ]
}

#[test]
fn literals_mean_the_same_in_every_code_page() {
    for text in HOSTILE_TEXT {
        let lit = servicing_doctor::plan::ps_literal(text, "test:1").unwrap();
        assert!(lit.is_ascii(), "{lit:?}");
        let (value, shape) = parse_value(&lit).unwrap_or_else(|e| panic!("{text:?} as {lit:?}: {e}"));
        assert_eq!(value, *text, "{lit:?}");
        for enc in ansi_code_pages() {
            let (decoded, had_errors) = enc.decode_without_bom_handling(lit.as_bytes());
            assert!(!had_errors, "{}: {lit:?}", enc.name());
            let (v, sh) = parse_value(&decoded).unwrap_or_else(|e| panic!("{} reads {lit:?} as code: {e}", enc.name()));
            assert_eq!((&v, &sh), (&value, &shape), "{} reads {lit:?} differently", enc.name());
        }
    }
}

#[test]
fn the_evaluator_sees_the_breakout_raw_utf8_allowed() {
    // The old quoting (raw UTF-8 inside '...') read as Windows-1252: the
    // `’` from `ђ`'s bytes closes the literal, and the evaluator says so.
    let old = "'C:\\x \u{452} + $(Start-Process calc.exe) #'";
    let (as_1252, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(old.as_bytes());
    let e = parse_value(&as_1252).unwrap_err();
    assert!(e.contains("ends the literal early"), "{e}");
    assert!(parse_value("('' + [char]0x41 + [char]0x42)").is_ok());
    assert!(parse_value("([char]0x41 + [char]0x42)").is_err(), "char + char adds numbers");
    assert!(parse_value("\"$(calc)\"").is_err());
}

/// A plan from logs whose missing path (scenario A) or servicing stack
/// folder (scenario B) holds `text`.
fn hostile_plans(text: &str) -> Vec<(String, String)> {
    let path = format!("C:\\Drivers\\{text}\\oem1.inf");
    let setupapi = SHTD_SETUPAPI.replace(SHTD_MISSING, &path);
    let a = tree(&[("CBS.log", SHTD_CBS), ("setupapi.dev.log", &setupapi)]);
    let ex = examples().join("upgrade-process-drivers");
    let line = format!("2025-10-14 03:12:04, Error                 CBS    Failed to load servicing stack from C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_{text}\\cbscore.dll [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n");
    let b = tree(&[
        ("setupact.log", &std::fs::read_to_string(ex.join("$WINDOWS.~BT/Sources/Panther/setupact.log")).unwrap()),
        ("CBS.log", &format!("{}{line}", std::fs::read_to_string(ex.join("Windows/Logs/CBS/CBS.log")).unwrap())),
    ]);
    let mut out = Vec::new();
    for (name, d) in [("A", &a), ("B", &b)] {
        let o = bin().arg("plan").arg(d.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        out.push((name.to_string(), script(&o)));
    }
    out
}

#[test]
fn whole_plans_are_bom_and_ascii_and_parse_with_hostile_logs() {
    let text = "x \u{452} + $(Start-Process calc.exe) # it\u{2019}s \u{202E}gpj.exe \u{4E2D}\u{6587} \u{1F600}";
    for (name, s) in hostile_plans(text) {
        let (_, errors) = verbatim_ranges(&s);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_inert(&s, &["$(Start-Process calc.exe)"]);
        // The text is in the plan, spelled in ASCII, and means itself.
        let values: Vec<String> = s
            .lines()
            .filter(|l| l.contains("[char]0x0452"))
            .filter_map(|l| {
                let l = l.trim_start();
                let at = if l.starts_with('(') { Some(0) } else { l.find(" = (").map(|i| i + 3) };
                at.map(|i| l[i..].trim_end_matches(',').to_string())
            })
            .map(|expr| parse_value(&expr).unwrap_or_else(|e| panic!("{name}: {expr}: {e}")).0)
            .collect();
        assert!(values.iter().any(|v| v.contains(text)), "{name}: {values:?}");
    }
}

/// `plan --separate` over several failing machines writes one script per
/// machine into a folder, or refuses naming them; it never drops one.
#[test]
fn several_machines_get_one_script_each_or_a_refusal_naming_them() {
    let (a, b) = ("examples/wu-driver-rollback", "examples/upgrade-process-drivers");
    let refused = run_in_repo(&["plan", "--separate", a, b]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty(), "no script without a folder");
    let err = String::from_utf8_lossy(&refused.stderr).replace('\\', "/");
    assert!(err.contains(a) && err.contains(b) && err.contains("-o DIR"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let out = run_in_repo(&["plan", "--separate", "-o", dir.path().to_str().unwrap(), a, b]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["01-wu-driver-rollback.ps1", "02-upgrade-process-drivers.ps1"]);
    for (name, input) in names.iter().zip([a, b]) {
        // Each script is the one `plan` writes for that machine alone.
        let alone = run_in_repo(&["plan", input]);
        assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), alone.stdout, "{name}");
        let (_, errors) = verbatim_ranges(&script(&alone));
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }

    // One failing machine and one healthy: its script on standard output,
    // the healthy one named on standard error.
    let one = run_in_repo(&["plan", "--separate", a, "examples/healthy"]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(one.stdout, run_in_repo(&["plan", a]).stdout);
    let err = String::from_utf8_lossy(&one.stderr).replace('\\', "/");
    assert!(err.contains("examples/healthy: no failure found; no plan for it"), "{err}");
}

/// A machine's folder name from elsewhere becomes a plain file name.
#[test]
fn per_machine_script_names_are_plain() {
    let root = tempfile::tempdir().unwrap();
    let evil = root.path().join("pc $(calc); x'y");
    let good = root.path().join("pc2");
    for d in [&evil, &good] {
        copy_tree(&repo().join("examples/wu-driver-rollback"), d, &|t| t.as_bytes().to_vec());
    }
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["plan", "--separate", "-o"]).arg(dir.path()).arg(&evil).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["01-pc___calc___x_y.ps1", "02-pc2.ps1"]);
}

/// A plan declares only the parameters its steps use: the upgrade plan
/// takes no package and writes no copy log.
#[test]
fn plans_declare_only_the_parameters_they_use() {
    let a = script(&run_in_repo(&["plan", "examples/wu-driver-rollback"]));
    assert!(!a.contains("$Msu") && !a.contains("WinSxS_Repair.log") && !a.contains("$LogFile"), "{a}");
    assert!(a.contains("$WorkDir"));
    let b = script(&run_in_repo(&["plan", "examples/upgrade-process-drivers"]));
    assert!(b.contains("[string]$Msu = ") && b.contains("[string]$LogFile = 'C:\\Repair\\WinSxS_Repair.log'"), "{b}");
}

/// The lines of a script that run (not comments, not the comment block at the top).
fn code_lines(s: &str) -> Vec<&str> {
    let body = &s[s.find("#>").expect("comment-based help")..];
    body.lines().filter(|l| !l.trim_start().starts_with('#')).collect()
}

/// Seed B on an offline root with a damaged servicing stack folder, and a
/// combined SSU + cumulative update package: only the stack folders of the
/// package's stack version are restored; the preview lists files; the copy
/// keeps WinSxS's permissions and the verify step checks owner and ACL.
#[test]
fn seed_b_plan_with_a_combined_package_restores_only_the_stack() {
    let root = common::root::healthy_root();
    common::root::scenario_b_logs(&root);
    std::fs::remove_dir_all(root.winsxs().join(common::root::ONECORE)).unwrap();
    let pkg = tempfile::tempdir().unwrap();
    let msu = pkg.path().join("windows10.0-kb5030000-x64.msu");
    std::fs::write(&msu, combined_msu()).unwrap();

    // inspect: the verdict, the stack folders, how it fits the machine.
    let o = bin().arg("inspect").arg(&msu).arg("--for").arg(root.path()).output().unwrap();
    let t = stdout(&o);
    assert!(t.contains("verdict: servicing stack update: Package_for_ServicingStack_4717 19041.4717.1.1 amd64"), "{t}");
    assert!(t.contains("servicing stack folders: 3 10.0.19041.4717 (amd64, wow64); other component folders: 2"), "{t}");
    assert!(t.contains(": fits this computer"), "{t}");

    let o = bin().arg("plan").arg("--ssu").arg(&msu).arg(root.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = script(&o);
    let (_, errors) = verbatim_ranges(&s);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(s.contains("$StackVersion = '10.0.19041.4717'"), "{s}");
    assert!(s.contains("$Arch = 'amd64'"), "{s}");
    // The inspected package's stack folders, and only those, are expected.
    let start = s.find("$Expected = @(").unwrap();
    let expected = &s[start..start + s[start..].find("\n)").unwrap()];
    for f in COMBINED_STACK {
        assert!(expected.contains(&format!("'{f}'")), "{f} in {expected}");
    }
    for f in COMBINED_OTHER {
        assert!(!s.contains(f), "{f} is the cumulative update's");
    }
    // The script's own choice (for a package it was not given) picks the
    // same folders: its pattern, read by a regex engine.
    let line = s.lines().find(|l| l.starts_with("$Pattern = '")).unwrap();
    let pattern = line.trim_start_matches("$Pattern = '").trim_end_matches('\'');
    let re = regex::RegexBuilder::new(pattern).case_insensitive(true).build().unwrap();
    for f in COMBINED_STACK {
        let c = re.captures(f).unwrap_or_else(|| panic!("{f}"));
        assert_eq!(&c["version"], "10.0.19041.4717");
    }
    for f in COMBINED_OTHER.iter().chain(
        ["amd64_microsoft-windows-servicingstackfoo_31bf3856ad364e35_10.0.19041.4717_none_0123456789abcdef"].iter(),
    ) {
        assert!(!re.is_match(f), "{f}");
    }
    let code = code_lines(&s);
    let copies: Vec<&&str> = code.iter().filter(|l| l.contains("& robocopy.exe")).collect();
    assert_eq!(copies.len(), 2, "one preview and one copy: {copies:?}");
    for l in &copies {
        // Each folder into the WinSxS folder of its name; data, attributes
        // and times only, so WinSxS's inherited permissions apply.
        assert!(l.contains("& robocopy.exe $F.FullName $To /E /COPY:DAT /DCOPY:T /B /R:0 /W:0"), "{l}");
        for flag in ["/COPYALL", "/SEC", "/COPY:DATS", "/NFL", "/NDL"] {
            assert!(!l.contains(flag), "{flag} in {l}");
        }
    }
    assert!(copies[0].contains(" /L "), "the first is the preview");
    assert!(code.iter().any(|l| l.contains("foreach ($F in $Copy)")), "copies what was chosen");
    assert!(code.iter().any(|l| l.contains("& icacls.exe $To /setowner 'NT SERVICE\\TrustedInstaller' /T /C /Q")));
    // Verify: owner and access list of each restored folder against an intact sibling.
    for needle in [
        "$Want = Get-Acl -LiteralPath $Sibling.FullName",
        "if ($Acl.Owner -ne $Want.Owner)",
        "$Acl.GetSecurityDescriptorSddlForm('Access') -ne $WantAccess",
    ] {
        assert!(code.iter().any(|l| l.contains(needle)), "{needle}");
    }
    // Stops when the package holds no stack folder for this computer.
    assert!(s.contains("Stop-Plan ('The package holds no servicing stack ' + $StackVersion + ' folder for ' + $Arch"));
    // One source: the rule's by-hand commands (shown by diagnose, and as
    // comments here) copy with the same flags as the script.
    let by_hand = s.lines().find(|l| l.trim_start().starts_with("'      robocopy ")).expect("the rule's robocopy step");
    let flags = |l: &str| -> Vec<String> {
        l.split_whitespace().filter(|w| w.starts_with('/') && !w.starts_with("/LOG")).map(str::to_string).collect()
    };
    let copy_line = copies[1];
    assert_eq!(flags(by_hand), flags(copy_line), "{by_hand}\n{copy_line}");
    let owner = s.lines().find(|l| l.trim_start().starts_with("'      icacls ")).expect("the rule's icacls step");
    assert!(owner.ends_with("/setowner \"NT SERVICE\\TrustedInstaller\" /T /C /Q',"), "{owner}");
    // The choice of flags is explained where it is made.
    assert!(s.contains("# Permissions. Microsoft's article says not to take ownership"), "{s}");
}

/// A real .msu that is not a servicing stack update: the verdict says so
/// and the script stops; a file that is not a package: exit 2, no script.
#[test]
fn seed_b_plan_refuses_what_is_not_the_stack() {
    let root = common::root::healthy_root();
    common::root::scenario_b_logs(&root);
    if let Some(shared) = std::env::var_os("SERVICING_DOCTOR_SHARED") {
        let msu = Path::new(&shared).join("corpus/artifacts/cab/Windows6.1-KB2999226-x64.msu");
        let o = bin().arg("plan").arg("--ssu").arg(&msu).arg(root.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        let s = script(&o);
        assert!(s.contains("$Fit = 'does not fit'"), "{s}");
        assert!(s.contains("Stop-Plan 'The package does not fit this computer"), "{s}");
        assert!(s.contains("$StackVersion = ''"), "no stack folder chosen: {s}");
    } else {
        eprintln!("skipped the real .msu: SERVICING_DOCTOR_SHARED is not set");
    }
    let pkg = tempfile::tempdir().unwrap();
    let lcu_only = pkg.path().join("lcu.cab");
    std::fs::write(&lcu_only, cab_of(&[("x.txt", b"not a package")])).unwrap();
    let o = bin().arg("plan").arg("--ssu").arg(&lcu_only).arg(root.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not an update package"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Seed B on the offline root: every command of the remediation reaches the
/// admin whole. Markdown (rendered by a GFM renderer): a fenced code block
/// of the step's shell holding the command as is; text (not a terminal):
/// the command alone on its line, never wrapped; HTML: `<pre><code>`.
#[test]
fn seed_b_reports_keep_commands_whole() {
    let root = common::root::healthy_root();
    common::root::scenario_b_logs(&root);
    std::fs::remove_dir_all(root.winsxs().join(common::root::ONECORE)).unwrap();
    let run = diagnose(&[root.path()]);
    let b = findings(&run, RULE_B);
    let actions = b[0]["remediation"]["actions"].as_array().unwrap();
    let commands: Vec<(&str, &str)> = actions
        .iter()
        .flat_map(|a| {
            let shell = a["shell"].as_str().unwrap_or("");
            a["commands"].as_array().into_iter().flatten().map(move |c| (shell, c.as_str().unwrap()))
        })
        .collect();
    assert!(commands.len() >= 6, "{commands:?}");
    assert!(commands.iter().any(|(_, c)| c.contains("Component Based Servicing\\Version\"")));

    let md = bin().args(["diagnose", "--format", "md"]).arg(root.path()).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    let arena = comrak::Arena::new();
    let doc = comrak::parse_document(&arena, &md, &options);
    let blocks: Vec<(String, String)> = doc
        .descendants()
        .filter_map(|n| match &n.data().value {
            comrak::nodes::NodeValue::CodeBlock(c) => Some((c.info.clone(), c.literal.clone())),
            _ => None,
        })
        .collect();
    for (shell, cmd) in &commands {
        assert!(
            blocks.iter().any(|(info, text)| info == shell && text.lines().any(|l| l == *cmd)),
            "{cmd} in a {shell} block: {blocks:?}"
        );
    }
    for (_, text) in &blocks {
        assert!(!text.contains("\\\\") && !text.contains("&amp;") && !text.contains("\\|"), "{text}");
    }
    // What support asks first: stated from the hives and logs, or said to be missing.
    for row in [
        "| OS build | Windows 10 Pro 22H2, build 19045.4717 |",
        "| Servicing stack | ` 10.0.19041.4717 ` |",
        "| Failure time (UTC) | 2025-10-14 02:12:06 UTC |",
        "| Machine name | ` PC-SEED-B ` |",
        "| Update or package | _not in the logs_ |",
    ] {
        assert!(md.contains(row), "{row} in\n{md}");
    }

    let text = bin().arg("diagnose").arg(root.path()).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for (_, cmd) in &commands {
        assert!(text.lines().any(|l| l.trim_start() == *cmd), "{cmd} alone on a line:\n{text}");
    }
    // Not a terminal: prose is not wrapped either.
    let summary = b[0]["summary"].as_str().unwrap();
    assert!(text.lines().any(|l| l.trim() == summary), "{summary}");

    let html = bin().args(["diagnose", "--format", "html"]).arg(root.path()).output().unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    assert!(html.contains(&format!("<pre><code>{}", esc(commands[0].1))), "{html}");
}

/// CBS's account of a store repair without a source (modelled on the
/// corpus's Server 2012 CBS.log): two corrupt payloads, then the failure.
const SOURCE_MISSING_CBS: &str = "2020-02-04 18:57:16, Info                  CBS    Failed to repair store. [HRESULT = 0x800f081f - CBS_E_SOURCE_MISSING]\r
2020-02-04 18:57:16, Info                  CBS    \r
=================================\r
Checking System Update Readiness.\r
\r
(p)\tCSI Payload Corrupt\t\t\tamd64_prncacla.inf_31bf3856ad364e35_6.2.9200.16384_none_fd9c01be8b864efc\\Amd64\\CNBJ2530.DPB\r
Repair failed: Missing replacement payload.\r
(p)\tCSI Payload Corrupt\t\t\tamd64_prncacla.inf_31bf3856ad364e35_6.2.9200.16430_none_fdce12188b615b12\\Amd64\\CNBJ2530.DPB\r
Repair failed: Missing replacement payload.\r
(p)\tCBS MUM Missing\t\t\t(n)\tMicrosoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.19045.4291\r
\r
Summary:\r
Operation: Detect and Repair \r
Operation result: 0x800f081f\r
2020-02-04 18:57:17, Error                 CBS    Session: 30792643_2984787731 failed to perform store corruption detect and repair operation. [HRESULT = 0x800f081f - CBS_E_SOURCE_MISSING]\r
";

/// A rule added as YAML (rule, remediation file, fixtures) alone: its
/// finding lists every payload, and its plan previews, then runs DISM
/// /RestoreHealth with -Apply, without another remediation's parameters.
#[test]
fn a_data_only_rule_gets_its_own_plan() {
    let d = tree(&[("Windows/Logs/CBS/CBS.log", SOURCE_MISSING_CBS)]);
    let run = diagnose(&[d.path()]);
    let f = findings(&run, "dism-0x800f081f-source-missing");
    assert_eq!(f.len(), 1, "{}", run.stdout);
    let payloads = fact(f[0], "payloads").unwrap();
    assert_eq!(payloads.split("; ").count(), 3, "every payload: {payloads}");
    assert!(payloads.ends_with("Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.19045.4291"));
    assert_eq!(f[0]["remediation"]["id"], "dism-restore-health-with-source");
    // The subject is the list, value by value; a system fact the logs do
    // not state is said to be unknown.
    assert_eq!(f[0]["subject"], "payloads");
    assert_eq!(f[0]["fact_list"][0]["values"].as_array().unwrap().len(), 3);
    let steps = f[0]["remediation"]["steps"].to_string();
    assert!(steps.contains("(this computer: build (not known))") && !steps.contains("{system."), "{steps}");

    let o = bin().arg("plan").arg(d.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = script(&o);
    let (_, errors) = verbatim_ranges(&s);
    assert!(errors.is_empty(), "{errors:?}");
    for absent in ["$Msu", "$LogFile", "WinSxS_Repair", "robocopy", "Missing = "] {
        assert!(!s.contains(absent), "{absent} in\n{s}");
    }
    let subject = s.lines().find(|l| l.trim_start().starts_with("Subject = @(")).expect("the subject");
    assert_eq!(subject.matches("', '").count(), 2, "three payloads: {subject}");
    let gate = s.rfind("if (-not $Apply) {").expect("a preview gate");
    let run_dism = s.find("& DISM.exe @DismArgs").expect("runs DISM");
    assert!(gate < run_dism, "DISM runs only with -Apply");
    assert!(s[..gate].contains("Will run: DISM.exe "), "the preview says what will run");
    assert!(s.contains("[string]$Source = ''") && s.contains("[switch]$LimitAccess"));
    assert!(s.contains("& DISM.exe /Online /Cleanup-Image /CheckHealth"), "and verifies");
}

/// A remediation without plan actions: the script shows the steps and
/// changes nothing; no -Apply that would do nothing, no unused parameter.
#[test]
fn a_remediation_without_actions_gets_an_honest_script() {
    let rules = tempfile::tempdir().unwrap();
    write(
        &rules.path().join("r.yaml"),
        b"id: test-honest\ntitle: t\nseverity: error\nsummary: s\nsignals:\n  - id: a\n    kinds: [cbs]\n    anchor: HONEST-FAILURE\nremediation:\n  id: read-only\n  steps:\n    - \"Look at the disk.\"\n    - { text: \"Then run:\", shell: cmd, run: ['chkdsk C:'] }\n",
    );
    let d = tree(&[("CBS.log", "2024-01-01 00:00:00, Error                 CBS    HONEST-FAILURE here\r\n")]);
    let o = bin().arg("plan").arg("--rules").arg(rules.path()).arg(d.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = script(&o);
    assert!(s.contains("This script changes nothing"), "{s}");
    for absent in ["$Apply", "$WorkDir", "$Msu", "back up'"] {
        assert!(!s.contains(absent), "{absent} in\n{s}");
    }
    assert!(s.contains("Write-Host '1. Look at the disk.'") && s.contains("Write-Host '      chkdsk C:'"), "{s}");
}
