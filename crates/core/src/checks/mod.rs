//! System checks on a Windows installation: the WinSxS servicing stack
//! folders and the Component Based Servicing registry key; the SYSTEM hive
//! adds the computer name and time zone to `system{}`. Each problem found is
//! a typed [`CheckFailure`] that rules match by check id (`check:` signals),
//! so a damaged folder is evidence for rule B without any text round-trip.

pub mod registry;
pub mod winsxs;

use crate::report::{Check, CheckStatus, Source};
use crate::sources::winroot::{self, WindowsRoot};
use crate::LogKind;
use registry::SoftwareInfo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What the checks found.
#[derive(Debug, Default)]
pub struct SystemView {
    pub checks: Vec<Check>,
    pub system: BTreeMap<String, String>,
    /// The WinSxS folder and the SOFTWARE and SYSTEM hives, as report sources.
    pub sources: Vec<Source>,
    /// One per problem, the registered servicing stack and the machine's
    /// architecture first (see [`check_root`]).
    pub failures: Vec<CheckFailure>,
    /// The offline installation's Windows folder: failure lines name paths
    /// under it as the installed system does (`%SystemRoot%\WinSxS\...`),
    /// since they go into repair plans and support requests.
    offline_windows: Option<std::path::PathBuf>,
}

impl SystemView {
    fn check(&mut self, id: &str, status: CheckStatus, detail: impl Into<String>) {
        self.checks.push(Check { id: id.to_string(), status, detail: detail.into() });
    }

    fn fail_line(&mut self, id: &'static str, path: &Path, what: &str) {
        let shown = match self.offline_windows.as_deref().and_then(|w| path.strip_prefix(w).ok()) {
            Some(rest) => {
                let parts: Vec<String> =
                    rest.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                format!("%SystemRoot%\\{}", parts.join("\\"))
            }
            None => path.display().to_string(),
        };
        self.failures.push(CheckFailure { check: id, path: shown, problem: what.to_string(), registered: false });
    }
}

/// The checks that can report a problem; rules name them in `check:` signals.
pub const CHECK_IDS: &[&str] = &[
    "winsxs-present",
    "servicing-stack-present",
    "servicing-stack-not-empty",
    "servicing-stack-registered",
    "registry-cbs-version-key",
];

/// The `system{}` keys the checks write (with the SOFTWARE and SYSTEM
/// hives); remediation steps may name them as `{system.<key>}`.
pub const SYSTEM_KEYS: &[&str] = &[
    "root",
    "servicing_stack_registered",
    "servicing_stack_on_disk",
    "arch",
    "os_product",
    "os_display_version",
    "os_release_id",
    "os_edition",
    "os_installation_type",
    "os_build",
    "computer_name",
    "time_zone",
    "utc_offset_minutes",
];

/// One problem a check found: which check, what it concerns (a path as the
/// installed system names it), and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckFailure {
    pub check: &'static str,
    pub path: String,
    /// `is missing`, `is empty`, `has no cbscore.dll`, `cannot be read (...)`.
    pub problem: String,
    /// The folder is a registered servicing stack version's.
    #[serde(skip)]
    pub registered: bool,
}

impl CheckFailure {
    /// How the problem reads as evidence: `FAIL <check>: <path> <problem>`.
    pub fn line(&self) -> String {
        format!("FAIL {}: {} {}", self.check, self.path, self.problem)
    }
}

/// Problems named in one check's detail; the failure lines list them all.
const MAX_LISTED: usize = 20;

/// A check's detail: the first [`MAX_LISTED`] problems, and how many more
/// (a damaged WinSxS can hold thousands of empty stack folders).
fn listed(problems: &[String]) -> String {
    listed_with(problems, "; ")
}

fn listed_with(items: &[String], sep: &str) -> String {
    let mut s = items[..items.len().min(MAX_LISTED)].join(sep);
    if items.len() > MAX_LISTED {
        s.push_str(&format!("{sep}and {} more", items.len() - MAX_LISTED));
    }
    s
}

fn source(path: &Path, kind: LogKind, records: u64, error: Option<String>, warnings: Vec<String>) -> Source {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Source {
        path: path.display().to_string(),
        kind,
        role: Some("system"),
        encoding: None,
        bytes,
        records,
        error,
        warnings,
    }
}

/// Check an offline (or live, on Windows) installation.
pub fn check_root(root: &WindowsRoot, live_registry: bool) -> SystemView {
    let mut v = SystemView { offline_windows: (!live_registry).then(|| root.windows.clone()), ..Default::default() };
    v.system.insert("root".into(), root.root.display().to_string());
    let software = read_registry(root, live_registry, &mut v);
    read_system_hive(root, live_registry, &mut v);
    check_winsxs(root, software.as_ref(), &mut v);
    order_failures(&mut v);
    v
}

/// A folder can fail several checks; it is one problem, marked registered
/// when any of them says so. The registered stack comes first, then the
/// machine's architecture (a 64-bit system also has x86 stacks), then the
/// rest as found: a fact listing damaged folders names the one that
/// matters first.
fn order_failures(v: &mut SystemView) {
    let registered: std::collections::HashSet<(String, String)> = v
        .failures
        .iter()
        .filter(|f| f.check == "servicing-stack-registered")
        .map(|f| (f.path.clone(), f.problem.clone()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    v.failures.retain(|f| seen.insert((f.path.clone(), f.problem.clone())));
    for f in &mut v.failures {
        f.registered = registered.contains(&(f.path.clone(), f.problem.clone()));
    }
    let arch = v.system.get("arch").cloned().unwrap_or_default();
    let of_arch = |f: &CheckFailure| {
        let name = f.path.rsplit(['/', '\\']).next().unwrap_or("");
        !arch.is_empty()
            && name.len() > arch.len()
            && name[..arch.len()].eq_ignore_ascii_case(&arch)
            && name.as_bytes()[arch.len()] == b'_'
    };
    v.failures.sort_by_key(|f| (!f.registered, !of_arch(f)));
}

fn read_registry(root: &WindowsRoot, live: bool, v: &mut SystemView) -> Option<SoftwareInfo> {
    let result = if live {
        live_software()
    } else {
        match winroot::software_hive(root) {
            None => {
                v.check(
                    "registry-cbs-version-key",
                    CheckStatus::Skipped,
                    "no Windows/System32/config/SOFTWARE hive under this root",
                );
                return None;
            }
            Some(hive) => {
                let r = registry::read_offline_software(&hive);
                let (err, notes) = match &r {
                    Ok(info) => (None, info.notes.clone()),
                    Err(e) => (Some(e.clone()), Vec::new()),
                };
                v.sources.push(source(&hive, LogKind::Hive, u64::from(r.is_ok()), err, notes));
                r
            }
        }
    };
    let info = match result {
        Ok(i) => i,
        Err(e) => {
            v.check("registry-cbs-version-key", CheckStatus::Skipped, format!("registry not read: {e}"));
            return None;
        }
    };
    if info.version_key_present && !info.cbs_versions.is_empty() {
        let list: Vec<&str> = info.cbs_versions.iter().map(|c| c.version.as_str()).collect();
        v.check(
            "registry-cbs-version-key",
            CheckStatus::Pass,
            format!("Component Based Servicing\\Version lists {}", list.join(", ")),
        );
        v.system.insert("servicing_stack_registered".into(), list.join(", "));
    } else {
        let what = if info.cbs_key_present { "has no Version values" } else { "is missing" };
        v.check(
            "registry-cbs-version-key",
            CheckStatus::Fail,
            format!("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version {what}"),
        );
        v.failures.push(CheckFailure {
            check: "registry-cbs-version-key",
            path: "Component Based Servicing\\Version".into(),
            problem: what.into(),
            registered: false,
        });
    }
    for (key, name) in [
        ("ProductName", "os_product"),
        ("DisplayVersion", "os_display_version"),
        ("ReleaseId", "os_release_id"),
        ("EditionID", "os_edition"),
        ("InstallationType", "os_installation_type"),
    ] {
        if let Some(val) = info.os.get(key) {
            v.system.insert(name.into(), val.clone());
        }
    }
    let build = info.os.get("CurrentBuild").or_else(|| info.os.get("CurrentBuildNumber"));
    if let Some(b) = build {
        let full = match info.os.get("UBR") {
            Some(ubr) => format!("{b}.{ubr}"),
            None => b.clone(),
        };
        v.system.insert("os_build".into(), full);
    }
    Some(info)
}

/// The computer name and time zone from the SYSTEM hive. A missing hive
/// gives no facts and no check (nothing depends on it); one that cannot be
/// read is a source with its error, and the rest of the diagnosis goes on.
fn read_system_hive(root: &WindowsRoot, live: bool, v: &mut SystemView) {
    let info = if live {
        // The running system: what cannot be read says nothing about servicing.
        match live_system() {
            Ok(info) => info,
            Err(_) => return,
        }
    } else {
        let Some(hive) = winroot::descend(&root.windows, "System32/config/SYSTEM") else {
            return;
        };
        let r = registry::system::read_offline_system(&hive);
        let (err, notes) = match &r {
            Ok(info) => (None, info.notes.clone()),
            Err(e) => (Some(e.clone()), Vec::new()),
        };
        v.sources.push(source(&hive, LogKind::Hive, u64::from(r.is_ok()), err, notes));
        match r {
            Ok(info) => info,
            Err(_) => return,
        }
    };
    for (key, value) in info.facts() {
        v.system.insert(key.into(), value);
    }
}

#[cfg(windows)]
fn live_system() -> Result<registry::system::SystemInfo, String> {
    registry::system::read_live_system()
}

#[cfg(not(windows))]
fn live_system() -> Result<registry::system::SystemInfo, String> {
    Err("the live registry can only be read on Windows".into())
}

#[cfg(windows)]
fn live_software() -> Result<SoftwareInfo, String> {
    registry::read_live_software()
}

#[cfg(not(windows))]
fn live_software() -> Result<SoftwareInfo, String> {
    Err("the live registry can only be read on Windows".into())
}

fn check_winsxs(root: &WindowsRoot, software: Option<&SoftwareInfo>, v: &mut SystemView) {
    let Some(dir) = winroot::winsxs(root) else {
        v.check("winsxs-present", CheckStatus::Fail, format!("no WinSxS folder in {}", root.windows.display()));
        v.fail_line("winsxs-present", &root.windows.join("WinSxS"), "is missing");
        for id in ["servicing-stack-present", "servicing-stack-not-empty", "servicing-stack-registered"] {
            v.check(id, CheckStatus::Skipped, "no WinSxS folder");
        }
        return;
    };
    let inv = match winsxs::inventory(&dir) {
        Ok(i) => i,
        Err(e) => {
            v.sources.push(source(&dir, LogKind::Winsxs, 0, Some(e.clone()), Vec::new()));
            v.check("winsxs-present", CheckStatus::Fail, e);
            return;
        }
    };
    v.sources.push(source(&dir, LogKind::Winsxs, inv.entries_scanned as u64, None, Vec::new()));
    v.check("winsxs-present", CheckStatus::Pass, format!("{} entries in {}", inv.entries_scanned, dir.display()));
    let versions = inv.versions();
    if !versions.is_empty() {
        v.system.insert("servicing_stack_on_disk".into(), listed_with(&versions, ", "));
    }
    // The OS architecture: 64-bit systems also carry x86 (WOW64) stacks.
    let arches: Vec<&str> = inv.folders.iter().filter(|f| f.is_main()).map(|f| f.component.arch.as_str()).collect();
    if let Some(arch) = ["arm64", "amd64", "x86"].into_iter().find(|a| arches.contains(a)) {
        v.system.insert("arch".into(), arch.to_string());
    }
    // Present: at least one main servicing stack folder.
    let mains: Vec<&winsxs::StackFolder> = inv.folders.iter().filter(|f| f.is_main()).collect();
    if mains.is_empty() {
        v.check(
            "servicing-stack-present",
            CheckStatus::Fail,
            "no *_microsoft-windows-servicingstack_* folder in WinSxS",
        );
        v.fail_line("servicing-stack-present", &dir.join("amd64_microsoft-windows-servicingstack_*"), "is missing");
    } else {
        v.check(
            "servicing-stack-present",
            CheckStatus::Pass,
            format!("{} servicing stack folder(s)", inv.folders.len()),
        );
    }
    // Not empty, and the main folders hold cbscore.dll.
    let mut bad = Vec::new();
    for f in &inv.folders {
        if let Some(e) = &f.error {
            bad.push(format!("{} cannot be read ({e})", f.dir_name));
            v.fail_line("servicing-stack-not-empty", &f.path, &format!("cannot be read ({e})"));
        } else if f.is_empty() {
            bad.push(format!("{} is empty", f.dir_name));
            v.fail_line("servicing-stack-not-empty", &f.path, "is empty");
        } else if f.is_main() && !f.has_cbscore {
            bad.push(format!("{} has no cbscore.dll", f.dir_name));
            v.fail_line("servicing-stack-not-empty", &f.path, "has no cbscore.dll");
        }
    }
    if inv.folders.is_empty() {
        v.check("servicing-stack-not-empty", CheckStatus::Skipped, "no servicing stack folders to inspect");
    } else if bad.is_empty() {
        v.check(
            "servicing-stack-not-empty",
            CheckStatus::Pass,
            "every servicing stack folder has content; main folders hold cbscore.dll",
        );
    } else {
        v.check("servicing-stack-not-empty", CheckStatus::Fail, listed(&bad));
    }
    // Registered versions exist on disk.
    let Some(sw) = software.filter(|s| !s.cbs_versions.is_empty()) else {
        v.check("servicing-stack-registered", CheckStatus::Skipped, "no registered servicing stack version to compare");
        return;
    };
    let mut problems = Vec::new();
    for cv in &sw.cbs_versions {
        let Some(path) = winroot::expand(root, &cv.path) else {
            problems.push(format!("{}: registered path {} cannot be mapped into this root", cv.version, cv.path));
            continue;
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match inv.folders.iter().find(|f| f.dir_name.eq_ignore_ascii_case(&name)) {
            None => {
                problems.push(format!("{} is registered but its folder {name} is missing", cv.version));
                v.fail_line("servicing-stack-registered", &path, "is missing");
            }
            Some(f) if f.is_empty() => {
                problems.push(format!("{} is registered but its folder {name} is empty", cv.version));
                v.fail_line("servicing-stack-registered", &f.path, "is empty");
            }
            Some(f) if !f.has_cbscore => {
                problems.push(format!("{} is registered but {name} has no cbscore.dll", cv.version));
                v.fail_line("servicing-stack-registered", &f.path, "has no cbscore.dll");
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        v.check(
            "servicing-stack-registered",
            CheckStatus::Pass,
            "every registered version's folder is present with cbscore.dll",
        );
    } else {
        v.check("servicing-stack-registered", CheckStatus::Fail, listed(&problems));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_names_the_first_problems_and_counts_the_rest() {
        let few: Vec<String> = (0..3).map(|i| format!("f{i} is empty")).collect();
        assert_eq!(listed(&few), "f0 is empty; f1 is empty; f2 is empty");
        let many: Vec<String> = (0..5_000).map(|i| format!("f{i} is empty")).collect();
        let d = listed(&many);
        assert!(d.starts_with("f0 is empty; ") && d.ends_with("; f19 is empty; and 4980 more"), "{d}");
    }

    /// Thousands of empty servicing stack folders: each is a failure line
    /// the rules read, the check's detail stays short.
    #[test]
    fn many_empty_stack_folders() {
        let dir = tempfile::tempdir().unwrap();
        let winsxs = dir.path().join("Windows/WinSxS");
        let n = 3_000;
        for i in 0..n {
            let name = format!("amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.{i}_none_{i:016x}");
            std::fs::create_dir_all(winsxs.join(name)).unwrap();
        }
        let root = WindowsRoot { root: dir.path().to_path_buf(), windows: dir.path().join("Windows") };
        let v = check_root(&root, false);
        assert_eq!(v.failures.iter().filter(|f| f.problem == "is empty").count(), n);
        let c = v.checks.iter().find(|c| c.id == "servicing-stack-not-empty").unwrap();
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.detail.ends_with(&format!("and {} more", n - MAX_LISTED)), "{}", c.detail);
        let on_disk = &v.system["servicing_stack_on_disk"];
        assert!(on_disk.starts_with("10.0.19041.2999, 10.0.19041.2998, "), "{on_disk}");
        assert!(on_disk.ends_with(&format!(", and {} more", n - MAX_LISTED)), "{on_disk}");
        let rules = crate::rules::RuleSet::embedded().unwrap();
        let mut hits = Vec::new();
        crate::rules::check_hits::hits(&rules, &v.failures, 0, &mut hits);
        let info = [crate::rules::correlate::SourceInfo { path: "checks".into(), kind: LogKind::Check, group: 0 }];
        let found = crate::rules::correlate::correlate(&rules, &hits, &info);
        assert!(found.findings.iter().any(|f| f.rule == "servicing-stack-folder-damaged"));
    }

    /// Both the amd64 and the x86 stack folder empty: both are named, the
    /// machine's architecture first, though x86 sorts first on disk.
    #[test]
    fn every_damaged_stack_folder_is_named_the_machines_first() {
        let dir = tempfile::tempdir().unwrap();
        let winsxs = dir.path().join("Windows/WinSxS");
        let amd64 = "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e3a3f7b7c6a1b2c";
        let x86 = "x86_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_221ba3f7c40cb9f6";
        let wow = "wow64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_88aabbccddeeff00";
        for name in [x86, amd64, wow] {
            std::fs::create_dir_all(winsxs.join(name)).unwrap();
        }
        std::fs::write(winsxs.join(wow).join("cbscore.dll"), b"x").unwrap();
        let root = WindowsRoot { root: dir.path().to_path_buf(), windows: dir.path().join("Windows") };
        let v = check_root(&root, false);
        let paths: Vec<&str> = v.failures.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, [format!("%SystemRoot%\\WinSxS\\{amd64}"), format!("%SystemRoot%\\WinSxS\\{x86}")]);
        let rules = crate::rules::RuleSet::embedded().unwrap();
        let mut hits = Vec::new();
        crate::rules::check_hits::hits(&rules, &v.failures, 0, &mut hits);
        let info = [crate::rules::correlate::SourceInfo { path: "checks".into(), kind: LogKind::Check, group: 0 }];
        let found = crate::rules::correlate::correlate(&rules, &hits, &info);
        let f = found.findings.iter().find(|f| f.rule == "servicing-stack-folder-damaged").unwrap();
        assert_eq!(f.subject_fact().unwrap().values, paths);
        assert_eq!(f.facts["missing"], paths.join("; "));
    }
}
