//! A Windows installation seen as a folder: a mounted offline volume, or
//! `C:\` on the live machine. Its logs are found in the standard places
//! only (the volume is never walked whole), each with its setup role.

use std::path::{Path, PathBuf};

/// Where a log sits in the upgrade/servicing story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The running OS's servicing logs (CBS, DISM, setupapi, WindowsUpdate).
    Servicing,
    /// Setup running on the old OS (`$WINDOWS.~BT\Sources\Panther`).
    Downlevel,
    /// Setup rolling back (`$WINDOWS.~BT\Sources\Rollback`).
    Rollback,
    /// After the upgrade, in the new OS (`Windows\Panther`).
    PostUpgrade,
    /// The new OS's first boot / Safe OS phase (`Windows\Panther\NewOS`).
    NewOs,
    /// Unattend generalization/specialize passes (`Windows\Panther\UnattendGC`).
    Unattend,
    /// SetupDiag's own output (`Windows\Logs\SetupDiag`).
    SetupDiag,
    /// The previous OS kept in `Windows.old`.
    PreviousOs,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Servicing => "servicing",
            Role::Downlevel => "downlevel",
            Role::Rollback => "rollback",
            Role::PostUpgrade => "post-upgrade",
            Role::NewOs => "new-os",
            Role::Unattend => "unattend",
            Role::SetupDiag => "setupdiag",
            Role::PreviousOs => "previous-os",
        }
    }
}

/// A folder that holds a Windows installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsRoot {
    /// The volume root (`/mnt/win`, `C:\`).
    pub root: PathBuf,
    /// Its `Windows` folder, as spelled on disk.
    pub windows: PathBuf,
}

/// A log found in a standard place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootLog {
    pub path: PathBuf,
    pub role: Role,
}

/// Files worth reading in one standard folder.
#[derive(Clone, Copy)]
enum Pick {
    /// CBS.log, CbsPersist_*.log (and the rotated .cab copies, listed).
    Cbs,
    /// dism.log only.
    Dism,
    /// setupact/setuperr (numbered too), MoSetup*/MOU*, setupdiag results, BlueBox.log, UpdateAgent.log.
    Setup,
    /// setupapi.*.log.
    SetupApi,
    /// WindowsUpdate.log (pre-Windows 10 text log).
    WindowsUpdate,
}

/// Child of `dir` named `name`, ignoring ASCII case (NTFS mounted on Linux
/// keeps the on-disk case; users type another). An exact match wins;
/// otherwise the case-insensitive match with the smallest name, so the
/// answer is deterministic when several differ only in case. `None` when
/// nothing matches or `name` is not a single path component (empty, `.`,
/// `..`, or holding `/` or `\`).
pub fn child(dir: &Path, name: &str) -> Option<PathBuf> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return None;
    }
    // Listed first: on a case-insensitive file system (Windows) `dir.join(name)` exists whatever
    // the case on disk, and the path would carry our spelling instead of the stored one.
    let Ok(rd) = std::fs::read_dir(dir) else {
        let exact = dir.join(name);
        return std::fs::symlink_metadata(&exact).is_ok().then_some(exact);
    };
    let mut folded: Option<std::ffi::OsString> = None;
    for e in rd.map_while(Result::ok) {
        let n = e.file_name();
        if n == name {
            return Some(e.path());
        }
        if n.eq_ignore_ascii_case(name) && folded.as_ref().is_none_or(|b| n < *b) {
            folded = Some(n);
        }
    }
    folded.map(|n| dir.join(n))
}

/// Follow `a/b/c` from `dir`, each step ignoring case.
pub fn descend(dir: &Path, rel: &str) -> Option<PathBuf> {
    rel.split('/').filter(|s| !s.is_empty()).try_fold(dir.to_path_buf(), |d, part| child(&d, part))
}

/// Is `dir` the root of a Windows installation (holds `Windows/System32`
/// or `Windows/WinSxS`)?
pub fn detect(dir: &Path) -> Option<WindowsRoot> {
    let windows = child(dir, "Windows")?;
    if !windows.is_dir() {
        return None;
    }
    let has = |n: &str| child(&windows, n).is_some_and(|p| p.is_dir());
    (has("System32") || has("WinSxS")).then(|| WindowsRoot { root: dir.to_path_buf(), windows })
}

/// The standard places, relative to the volume root.
const PLACES: &[(&str, Pick, Role)] = &[
    ("Windows/Logs/CBS", Pick::Cbs, Role::Servicing),
    ("Windows/Logs/DISM", Pick::Dism, Role::Servicing),
    ("Windows/INF", Pick::SetupApi, Role::Servicing),
    ("Windows", Pick::WindowsUpdate, Role::Servicing),
    ("$WINDOWS.~BT/Sources/Panther", Pick::Setup, Role::Downlevel),
    ("$WINDOWS.~BT/Sources/Rollback", Pick::Setup, Role::Rollback),
    ("$Windows.~WS/Sources/Panther", Pick::Setup, Role::Downlevel),
    ("Windows/Panther", Pick::Setup, Role::PostUpgrade),
    ("Windows/Panther/NewOS", Pick::Setup, Role::NewOs),
    ("Windows/Panther/UnattendGC", Pick::Setup, Role::Unattend),
    ("Windows/Logs/MoSetup", Pick::Setup, Role::Downlevel),
    ("Windows/Logs/SetupDiag", Pick::Setup, Role::SetupDiag),
    ("Windows.old/Windows/Logs/CBS", Pick::Cbs, Role::PreviousOs),
    ("Windows.old/Windows/Logs/DISM", Pick::Dism, Role::PreviousOs),
    ("Windows.old/Windows/INF", Pick::SetupApi, Role::PreviousOs),
    ("Windows.old/Windows/Panther", Pick::Setup, Role::PreviousOs),
];

fn wanted(pick: Pick, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let log = n.ends_with(".log");
    match pick {
        Pick::Cbs => n == "cbs.log" || (n.starts_with("cbspersist_") && (log || n.ends_with(".cab"))),
        Pick::Dism => n == "dism.log",
        Pick::SetupApi => n.starts_with("setupapi") && log,
        Pick::WindowsUpdate => n == "windowsupdate.log",
        Pick::Setup => {
            (log && ["setupact", "setuperr", "mosetup", "mou", "bluebox", "updateagent", "setupdiag"]
                .iter()
                .any(|p| n.starts_with(p)))
                || n == "setupdiagresults.xml"
        }
    }
}

/// Every log in the standard places, in a stable order.
pub fn logs(root: &WindowsRoot) -> Vec<RootLog> {
    let mut out = Vec::new();
    for (rel, pick, role) in PLACES {
        let Some(dir) = descend(&root.root, rel) else { continue };
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| e.file_name().to_str().is_some_and(|n| wanted(*pick, n)))
            .map(|e| e.path())
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|path| RootLog { path, role: *role }));
    }
    out
}

/// Paths inside the root that the system checks read.
pub fn winsxs(root: &WindowsRoot) -> Option<PathBuf> {
    child(&root.windows, "WinSxS")
}

pub fn software_hive(root: &WindowsRoot) -> Option<PathBuf> {
    descend(&root.windows, "System32/config/SOFTWARE")
}

/// Expand `%SystemRoot%` / `%windir%` / `%SystemDrive%` in a registry path
/// and map it into this root (the volume may be mounted anywhere).
pub fn expand(root: &WindowsRoot, raw: &str) -> Option<PathBuf> {
    let lower = raw.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("%systemroot%").or_else(|| lower.strip_prefix("%windir%")) {
        format!("Windows{}", &raw[raw.len() - r.len()..])
    } else if let Some(r) = lower.strip_prefix("%systemdrive%") {
        raw[raw.len() - r.len()..].to_string()
    } else if lower.len() > 2 && lower.as_bytes()[1] == b':' {
        raw[2..].to_string()
    } else {
        return None;
    };
    let rel = rest.replace('\\', "/");
    let rel = rel.trim_start_matches('/');
    // Resolve case on disk where the parts exist; keep the rest as written.
    let mut p = root.root.clone();
    for part in rel.split('/').filter(|s| !s.is_empty()) {
        p = child(&p, part).unwrap_or_else(|| p.join(part));
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_prefers_the_exact_match_then_the_smallest_name() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("winsxs")).unwrap();
        // On a case-insensitive file system both names are the same folder.
        if std::fs::create_dir(tmp.path().join("WinSxS")).is_err() {
            return;
        }
        assert_eq!(child(tmp.path(), "WinSxS"), Some(tmp.path().join("WinSxS")));
        assert_eq!(child(tmp.path(), "winsxs"), Some(tmp.path().join("winsxs")));
        // No exact match: the smallest name wins ("WinSxS" < "winsxs").
        assert_eq!(child(tmp.path(), "WINSXS"), Some(tmp.path().join("WinSxS")));
    }

    #[test]
    fn child_refuses_what_is_not_one_name() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("WinSxS")).unwrap();
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            assert_eq!(child(tmp.path(), bad), None, "{bad:?}");
        }
        assert_eq!(child(&tmp.path().join("nope"), "WinSxS"), None);
        assert_eq!(child(tmp.path(), "System32"), None);
    }

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }

    #[test]
    fn detects_roots_case_insensitively() {
        let d = tempfile::tempdir().unwrap();
        assert!(detect(d.path()).is_none());
        std::fs::create_dir_all(d.path().join("WINDOWS/winsxs")).unwrap();
        let r = detect(d.path()).unwrap();
        assert!(r.windows.ends_with("WINDOWS"));
        assert!(winsxs(&r).unwrap().ends_with("winsxs"));
        let e = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(e.path().join("Windows/Temp")).unwrap();
        assert!(detect(e.path()).is_none(), "a Windows folder without System32/WinSxS is not a root");
    }

    #[test]
    fn finds_logs_in_standard_places_with_roles() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for f in [
            "Windows/System32/config/SOFTWARE",
            "Windows/Logs/CBS/CBS.log",
            "Windows/Logs/CBS/CbsPersist_20251014031205.log",
            "Windows/Logs/CBS/CbsPersist_20251001000000.cab",
            "Windows/Logs/CBS/FilterList.log",
            "Windows/Logs/dism/DISM.log",
            "Windows/INF/setupapi.dev.log",
            "Windows/INF/netrndis.inf",
            "$WINDOWS.~BT/Sources/Panther/setupact.log",
            "$WINDOWS.~BT/Sources/Panther/setupact_1.log",
            "$WINDOWS.~BT/Sources/Panther/SetupErr.log",
            "$WINDOWS.~BT/Sources/Panther/setupdiagresults.xml",
            "$WINDOWS.~BT/Sources/Panther/MoSetup/x.log",
            "$WINDOWS.~BT/Sources/Rollback/setupact.log",
            "Windows/Panther/setupact.log",
            "Windows/Panther/NewOS/setuperr.log",
            "Windows/Panther/UnattendGC/setupact.log",
            "Windows/Logs/MoSetup/BlueBox.log",
            "Windows/Logs/SetupDiag/SetupDiagResults.log",
            "Windows.old/Windows/Logs/CBS/CBS.log",
        ] {
            touch(&r.join(f));
        }
        let root = detect(r).unwrap();
        let got: Vec<(String, &str)> = logs(&root)
            .into_iter()
            .map(|l| (l.path.strip_prefix(r).unwrap().display().to_string().replace('\\', "/"), l.role.as_str()))
            .collect();
        let want = [
            ("Windows/Logs/CBS/CBS.log", "servicing"),
            ("Windows/Logs/CBS/CbsPersist_20251001000000.cab", "servicing"),
            ("Windows/Logs/CBS/CbsPersist_20251014031205.log", "servicing"),
            ("Windows/Logs/dism/DISM.log", "servicing"),
            ("Windows/INF/setupapi.dev.log", "servicing"),
            ("$WINDOWS.~BT/Sources/Panther/SetupErr.log", "downlevel"),
            ("$WINDOWS.~BT/Sources/Panther/setupact.log", "downlevel"),
            ("$WINDOWS.~BT/Sources/Panther/setupact_1.log", "downlevel"),
            ("$WINDOWS.~BT/Sources/Panther/setupdiagresults.xml", "downlevel"),
            ("$WINDOWS.~BT/Sources/Rollback/setupact.log", "rollback"),
            ("Windows/Panther/setupact.log", "post-upgrade"),
            ("Windows/Panther/NewOS/setuperr.log", "new-os"),
            ("Windows/Panther/UnattendGC/setupact.log", "unattend"),
            ("Windows/Logs/MoSetup/BlueBox.log", "downlevel"),
            ("Windows/Logs/SetupDiag/SetupDiagResults.log", "setupdiag"),
            ("Windows.old/Windows/Logs/CBS/CBS.log", "previous-os"),
        ];
        let want: Vec<(String, &str)> = want.iter().map(|(p, r)| (p.to_string(), *r)).collect();
        assert_eq!(got, want);
        assert!(software_hive(&root).is_some());
    }

    #[test]
    fn expands_registry_paths_into_the_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("WINDOWS/WinSxS/amd64_x")).unwrap();
        std::fs::create_dir_all(d.path().join("WINDOWS/System32")).unwrap();
        let root = detect(d.path()).unwrap();
        assert_eq!(expand(&root, "%SystemRoot%\\WinSxS\\amd64_x").unwrap(), d.path().join("WINDOWS/WinSxS/amd64_x"));
        assert_eq!(expand(&root, "%windir%\\winsxs\\AMD64_X").unwrap(), d.path().join("WINDOWS/WinSxS/amd64_x"));
        assert_eq!(expand(&root, "C:\\Windows\\WinSxS\\gone").unwrap(), d.path().join("WINDOWS/WinSxS/gone"));
        assert_eq!(expand(&root, "relative\\x"), None);
    }
}
