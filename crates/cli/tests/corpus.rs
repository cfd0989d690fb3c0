//! The real logs in `$SERVICING_DOCTOR_SHARED/corpus` (set by `.ci/run`;
//! without it these tests say they were skipped). Every file is read
//! without error and classified as SOURCES.tsv says; only the seed's CBS
//! excerpt (and its UTF-16 copy) gives rule A; nothing gives rule B.

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    match std::env::var_os("SERVICING_DOCTOR_SHARED") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.join("corpus").is_dir(), "SERVICING_DOCTOR_SHARED={} has no corpus/", p.display());
            Some(p)
        }
        None => {
            eprintln!("skipped: SERVICING_DOCTOR_SHARED is not set (.ci/run sets it to ../shared)");
            None
        }
    }
}

/// SOURCES.tsv kind → our kind; "other" files are named one by one.
fn expected_kind(file: &str, listed: &str) -> &'static str {
    match (listed, file) {
        ("cbs", _) => "cbs",
        ("dism", _) => "dism",
        ("setupact", _) => "setupact",
        ("setuperr", _) => "setuperr",
        ("wulog", _) => "windowsupdate",
        // Real CBS excerpts: concatenated by a user, or doc-edited without timestamps.
        ("other", f) if f.starts_with("cbs_") || f.starts_with("other_server2016") => "cbs",
        ("other", f) if f.starts_with("setupdiag_results") => "setupdiag_text",
        (k, f) => panic!("no expectation for {f} (kind {k}); add one"),
    }
}

fn sources_tsv(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            (cols.next().unwrap().to_string(), cols.next().unwrap_or("").to_string())
        })
        .collect()
}

fn by_name(r: &Run, root: &Path) -> HashMap<String, Value> {
    r.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let p = Path::new(s["path"].as_str().unwrap());
            (p.strip_prefix(root).unwrap().display().to_string().replace('\\', "/"), s.clone())
        })
        .collect()
}

#[test]
fn corpus_logs_are_read_and_classified() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let r = diagnose(&[&corpus]);
    let got = by_name(&r, &corpus);
    let mut checked = 0;
    for (tsv, prefix) in [(corpus.join("SOURCES.tsv"), ""), (corpus.join("extra/SOURCES.tsv"), "extra/")] {
        for (file, kind) in sources_tsv(&tsv) {
            let rel = format!("{prefix}{file}");
            let s = got.get(&rel).unwrap_or_else(|| panic!("{rel} was not read"));
            assert!(s["error"].is_null(), "{rel}: {}", s["error"]);
            assert_eq!(s["kind"], expected_kind(&file, &kind), "{rel}");
            assert!(s["records"].as_u64().unwrap() > 0, "{rel}: no records");
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} files listed");
    // Derived copies and the artifacts we can already read as text.
    assert_eq!(got["derived/cbs_msdocs_2017_0x80070003_ntprint_driver_rollback.utf16le-bom-crlf.log"]["kind"], "cbs");
    assert_eq!(
        got["derived/cbs_msdocs_2017_0x80070003_ntprint_driver_rollback.utf16le-bom-crlf.log"]["encoding"],
        "utf-16le"
    );
    assert_eq!(
        got["derived/setupdiag_msdocs_sample_findspfatalerror_0x57.utf16le-bom-crlf.xml"]["kind"],
        "setupdiag_xml"
    );
    assert_eq!(got["artifacts/other/UpdateAgent_win10-18362.log"]["kind"], "updateagent");
    for (rel, s) in &got {
        // The malformed cabinets are there to fail (one clear error each).
        if !rel.starts_with("artifacts/cab/malformed/") {
            assert!(s["error"].is_null(), "{rel}: {}", s["error"]);
        }
        if rel.starts_with("artifacts/setupapi/") {
            assert_eq!(s["kind"], "setupapi", "{rel}");
            assert!(s["records"].as_u64().unwrap() > 1000, "{rel}");
        }
        if rel.starts_with("artifacts/hives/") {
            assert_eq!(s["kind"], "unknown", "{rel}");
        }
    }
    // Real Microsoft packages are read as archives, every member decoded.
    for msu in ["artifacts/cab/Windows6.1-KB2999226-x64.msu", "artifacts/cab/Windows6.1-KB3118401-x64.msu"] {
        assert_eq!(got[msu]["kind"], "archive", "{msu}");
        let members = got.keys().filter(|k| k.starts_with(&format!("{msu}!"))).count();
        assert!(members > 5000, "{msu}: {members} members");
    }
    for bad in std::fs::read_dir(corpus.join("artifacts/cab/malformed")).unwrap() {
        let name = format!("artifacts/cab/malformed/{}", bad.unwrap().file_name().to_string_lossy());
        let errors = got.iter().filter(|(k, s)| k.starts_with(&name) && s["error"].is_string()).count();
        assert!(errors >= 1, "{name} gives a clear error");
    }
}

#[test]
fn only_the_seed_excerpt_gives_a_seed_rule() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let r = diagnose(&[&corpus]);
    let a = findings(&r, RULE_A);
    let mut files: Vec<String> = a
        .iter()
        .map(|f| f["evidence"][0]["path"].as_str().unwrap().rsplit(['/', '\\']).next().unwrap().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "cbs_msdocs_2017_0x80070003_ntprint_driver_rollback.log",
            "cbs_msdocs_2017_0x80070003_ntprint_driver_rollback.utf16le-bom-crlf.log"
        ]
    );
    for f in &a {
        assert_eq!(fact(f, "inf"), Some("ntprint4.inf"));
        // Each finding's evidence stays within its own file (no cross-talk between the two copies is required,
        // but both must cite the Startup failure line).
        assert!(f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["text"].as_str().unwrap().contains("Startup: Failed while processing")));
    }
    assert!(findings(&r, RULE_B).is_empty(), "{:?}", findings(&r, RULE_B));
}

#[test]
fn seed_excerpt_json_names_ntprint4() {
    let Some(shared) = shared() else { return };
    let f = shared.join("corpus/cbs_msdocs_2017_0x80070003_ntprint_driver_rollback.log");
    let r = diagnose(&[&f]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("ntprint4.inf"));
    assert_eq!(fact(findings(&r, RULE_A)[0], "missing"), Some("ntprint4.inf"));
}

/// Files of the corpus the table covers: logs, not packages or hives.
fn corpus_logs(corpus: &Path) -> Vec<String> {
    fn walk(dir: &Path, corpus: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(corpus).unwrap().display().to_string().replace('\\', "/");
            if p.is_dir() {
                if !matches!(rel.as_str(), "artifacts/cab" | "artifacts/hives") {
                    walk(&p, corpus, out);
                }
            } else if !rel.ends_with(".tsv") && !rel.ends_with(".md") && !rel.ends_with("SHA256SUMS") {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(corpus, corpus, &mut out);
    out.sort();
    out
}

/// `corpus_expected.tsv`: each corpus log, diagnosed alone, gives exactly
/// the finding rules its row names. Every miss, extra rule, unlisted file
/// and stale row is reported at once.
#[test]
fn every_corpus_log_gives_the_rules_its_row_names() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let table = include_str!("corpus_expected.tsv");
    // file -> (rules, codes), each sorted.
    let mut expected: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> = Default::default();
    let list = |s: &str| {
        let mut v: Vec<String> =
            s.split(',').map(str::trim).filter(|r| *r != "-" && !r.is_empty()).map(str::to_lowercase).collect();
        v.sort();
        v
    };
    for (n, line) in table.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty()).skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "line {}: file, rules and codes columns expected: {line}", n + 1);
        let row = (list(cols[1]), list(cols[2]));
        assert!(expected.insert(cols[0].to_string(), row).is_none(), "line {}: {} listed twice", n + 1, cols[0]);
    }
    let files = corpus_logs(&corpus);
    let mut problems = Vec::new();
    for f in &files {
        if !expected.contains_key(f) {
            problems.push(format!("{f}: in the corpus but not in corpus_expected.tsv (add a row)"));
        }
    }
    for f in expected.keys().filter(|f| !files.contains(f)) {
        problems.push(format!("{f}: a row of corpus_expected.tsv names no corpus file"));
    }
    // One process, each PATH its own machine (one NDJSON line per input, in order).
    let paths: Vec<PathBuf> = files.iter().map(|f| corpus.join(f)).collect();
    let out = bin().args(["diagnose", "--format", "ndjson", "-q"]).args(&paths).output().unwrap();
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), files.len(), "one line per input");
    for (f, line) in files.iter().zip(&lines) {
        let findings = line["findings"].as_array().unwrap();
        let mut got: Vec<String> = findings.iter().map(|x| x["rule"].as_str().unwrap().to_string()).collect();
        got.sort();
        got.dedup();
        let mut codes: Vec<String> =
            findings.iter().filter_map(|x| x["code"].as_str()).map(str::to_lowercase).collect();
        codes.sort();
        codes.dedup();
        if let Some((want, want_codes)) = expected.get(f) {
            if &got != want {
                problems.push(format!("{f}: gives {got:?}, the table says {want:?}"));
            }
            if &codes != want_codes {
                problems.push(format!("{f}: gives codes {codes:?}, the table says {want_codes:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
