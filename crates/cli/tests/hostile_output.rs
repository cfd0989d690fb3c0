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

/// Markdown and HTML that would render as a link, an image, an autolink or
/// raw HTML, plus `|` to split a table row and backticks to close a span.
const MD_EVIL: &str = "|x[click](https://evil.example/) <img src=x onerror=alert(1)> ![i](https://evil.example/i.png) <https://evil.example> www.evil.example me@evil.example ``` `c` &amp; **b** ~~s~~ \\|y";

/// Every node of the rendered Markdown that is a link, image or HTML; and
/// the plain text of each table cell and heading.
fn render_md(md: &str) -> (Vec<String>, Vec<String>) {
    use comrak::nodes::NodeValue;
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.extension.tasklist = true;
    options.render.r#unsafe = true;
    let arena = comrak::Arena::new();
    let root = comrak::parse_document(&arena, md, &options);
    let mut active = Vec::new();
    let mut texts = Vec::new();
    for node in root.descendants() {
        match &node.data().value {
            NodeValue::Link(l) | NodeValue::Image(l) => active.push(format!("link to {}", l.url)),
            NodeValue::HtmlInline(h) => active.push(format!("inline HTML {h}")),
            NodeValue::HtmlBlock(h) => active.push(format!("HTML block {}", h.literal)),
            NodeValue::TableCell | NodeValue::Heading(_) => {
                let mut t = String::new();
                for d in node.descendants() {
                    match &d.data().value {
                        NodeValue::Text(s) => t.push_str(s),
                        NodeValue::Code(c) => t.push_str(&c.literal),
                        _ => {}
                    }
                }
                texts.push(t);
            }
            _ => {}
        }
    }
    (active, texts)
}

#[cfg(unix)]
#[test]
fn hostile_markdown_never_becomes_links_or_html() {
    let d = tempfile::tempdir().unwrap();
    let name = MD_EVIL.replace('/', "\\");
    let logs = d.path().join(format!("logs{name}"));
    // The INF name becomes the finding's `missing` fact (no spaces in it).
    let inf = "oem|x[click](https://evil.example/)<img/src=x/onerror=alert(1)>``![i](x)www.evil.example.inf";
    write(&logs.join(format!("CBS{name}.log")), SEED_CBS.replace("ntprint4.inf", inf).as_bytes());
    // A SetupDiag value that reaches system{}.
    let target = "10.0|x[click](https://evil.example/) ![i](https://evil.example/i.png) www.evil.example me@evil.example ` &amp;amp; **b**";
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<SetupDiag>\n  <Version>1.7.0.0</Version>\n  <SystemInfo>\n    <TargetOSBuildString>{target}</TargetOSBuildString>\n  </SystemInfo>\n</SetupDiag>\n"
    );
    write(&logs.join("setupdiagresults.xml"), xml.as_bytes());
    // A source error that quotes a hostile name: an input that is not there.
    let missing = d.path().join(format!("missing{name}"));
    // A rule whose text is hostile, firing on a DISM line.
    let yaml_evil = MD_EVIL.replace('\\', "\\\\");
    let rule = format!(
        r#"id: hostile-md
title: "title {yaml_evil}"
severity: warning
summary: "summary {yaml_evil}"
signals:
  - id: s
    kinds: [dism]
    anchor: "0x800f081f"
remediation: {{ id: r, steps: ["step {yaml_evil}"] }}
"#
    );
    let rules = d.path().join("rules");
    write(&rules.join("hostile.yaml"), rule.as_bytes());
    write(&logs.join("dism.log"), b"2023-05-17 08:40:00, Error                 DISM   DISM Package Manager: PID=7092 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)\n");

    let o =
        bin().args(["diagnose", "--format", "md", "--rules"]).arg(&rules).arg(&logs).arg(&missing).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let md = String::from_utf8(o.stdout).unwrap();
    let (active, texts) = render_md(&md);
    assert!(active.is_empty(), "input became markup: {active:?}\n{md}");
    // Each fact and system{} value (as the JSON report has them) is whole in
    // one table cell: no row was split, no span closed early.
    let json = bin()
        .args(["diagnose", "--format", "json", "--quiet", "--rules"])
        .arg(&rules)
        .arg(&logs)
        .arg(&missing)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let mut values: Vec<&str> = json["system"].as_object().unwrap().values().filter_map(|v| v.as_str()).collect();
    for f in json["findings"].as_array().unwrap() {
        values.extend(f["facts"].as_object().unwrap().values().filter_map(|v| v.as_str()));
    }
    assert!(values.iter().any(|v| v.starts_with("oem|x[")), "the INF fact: {values:?}");
    assert!(values.iter().any(|v| v.contains("evil.example me@")), "the SetupDiag value: {values:?}");
    for v in values {
        assert!(texts.iter().any(|t| t == v), "{v:?} is not one table cell: {texts:?}\n{md}");
    }
    assert!(texts.iter().any(|t| t.contains(&format!("title {MD_EVIL}"))), "the rule title: {texts:?}");
    // File names and the source error are there, as text.
    assert!(md.contains("/missing `&#124;") && md.contains("error: ` no such file"), "{md}");

    // The HTML report of the same inputs stays inert too.
    let o =
        bin().args(["diagnose", "--format", "html", "--rules"]).arg(&rules).arg(&logs).arg(&missing).output().unwrap();
    let html = String::from_utf8(o.stdout).unwrap();
    for tag in ["<img", "<a ", "<a>", "href=", "<script"] {
        let hits: Vec<_> = html.match_indices(tag).collect();
        assert!(hits.is_empty(), "{tag} in the HTML report: {html}");
    }
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
}
