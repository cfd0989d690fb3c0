//! The servicing stack update given with `--ssu`: which of its folders a
//! restore copies, and how it fits the machine.

use super::literal::{lit, UnsafeText};
use crate::package::{Inspection, PackageFolder, PackageIdentity};
use crate::report::Report;
use crate::rules::Severity;

/// A servicing stack update package the user supplied with `--ssu`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsuPackage {
    pub path: String,
    /// The identity of each package inside.
    pub packages: Vec<PackageIdentity>,
    /// Why it could not be inspected, if it could not.
    pub error: Option<String>,
    /// The servicing stack component folders inside.
    pub stack_folders: Vec<PackageFolder>,
    /// Other component folders inside (a combined package's cumulative update).
    pub other_folders: u64,
}

impl SsuPackage {
    /// What the fit check and the folder choice take from an inspection.
    pub fn from_inspection(ins: &Inspection) -> SsuPackage {
        SsuPackage {
            path: ins.path.clone(),
            packages: ins.packages.clone(),
            error: None,
            stack_folders: ins.stack_folders.clone(),
            other_folders: ins.other_component_folders,
        }
    }

    /// The servicing stack package inside, else the first one.
    pub fn main_package(&self) -> Option<&PackageIdentity> {
        self.packages.iter().find(|p| p.is_servicing_stack).or(self.packages.first())
    }
}

/// The folders a servicing stack restore copies from a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSelection {
    /// The package's servicing stack version (a component version).
    pub version: String,
    /// Folder names to copy: every stack folder of that version.
    pub copy: Vec<String>,
    /// (folder name or what, why) of what is not copied.
    pub skipped: Vec<(String, String)>,
}

/// Choose the servicing stack folders of the package for a machine of
/// `arch` (the package's own architecture when unknown): every stack folder
/// whose version is that of the package's main stack folder for the
/// architecture. In a combined package only the `SSU-*.cab` counts, as in
/// the script. `Err` says why there is none; `Ok(None)`: the package names
/// no component folder servicing-doctor can read (a cabinet that maps its
/// members in `_manifest_.cix.xml`): the script chooses when it runs.
pub fn stack_selection(ssu: &SsuPackage, arch: Option<&str>) -> Result<Option<StackSelection>, String> {
    if ssu.stack_folders.is_empty() && ssu.other_folders == 0 {
        return Ok(None);
    }
    let package_arch = ssu.main_package().map(|p| p.arch.as_str());
    let arch = arch.or(package_arch).unwrap_or("").to_ascii_lowercase();
    let is_ssu_cab = |f: &PackageFolder| f.archive.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SSU-"));
    let combined = ssu.stack_folders.iter().any(is_ssu_cab);
    let (stack, other_cabs): (Vec<&PackageFolder>, Vec<&PackageFolder>) =
        ssu.stack_folders.iter().partition(|f| !combined || is_ssu_cab(f));
    let mut mains: Vec<&str> =
        stack.iter().filter(|f| f.family == "servicingstack" && f.arch == arch).map(|f| f.version.as_str()).collect();
    // Highest first; an older stack beside it is not the package's.
    mains.sort_by(|a, b| crate::version::compare(b, a));
    let Some(version) = mains.first().map(|v| v.to_string()) else {
        return Err(if stack.is_empty() {
            "the package holds no servicing stack folder".to_string()
        } else {
            format!("the package holds no servicing stack folder for {arch}")
        });
    };
    let mut copy = Vec::new();
    let mut names = std::collections::HashSet::new();
    let mut skipped = Vec::new();
    for f in stack {
        if f.version != version {
            skipped.push((f.name.clone(), format!("servicing stack {}, not the package's {version}", f.version)));
        } else if names.insert(f.name.as_str()) {
            copy.push(f.name.clone());
        }
    }
    for f in other_cabs {
        skipped.push((f.name.clone(), format!("in {}, not the servicing stack cabinet", f.archive)));
    }
    if ssu.other_folders > 0 {
        skipped.push((
            format!("{} other component folder(s)", ssu.other_folders),
            "not the servicing stack (in a combined package, the cumulative update's components)".to_string(),
        ));
    }
    Ok(Some(StackSelection { version, copy, skipped }))
}

/// How the SSU on hand fits the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The folders a restore copies for this machine (see [`stack_selection`]).
    pub selection: Result<Option<StackSelection>, String>,
}

/// Whether a package fits the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    #[serde(rename = "fits")]
    Fits,
    #[serde(rename = "probably fits")]
    ProbablyFits,
    #[serde(rename = "does not fit")]
    DoesNotFit,
    #[serde(rename = "unknown")]
    Unknown,
}

impl Verdict {
    /// As JSON and the plan's `$Fit` say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fits => "fits",
            Verdict::ProbablyFits => "probably fits",
            Verdict::DoesNotFit => "does not fit",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Compare the supplied SSU with what the diagnosis knows of the machine.
pub fn ssu_fit(report: &Report, ssu: &SsuPackage) -> Fit {
    let mut reasons = Vec::new();
    let selection = stack_selection(ssu, report.system.get("arch").map(String::as_str));
    let unknown = |why: String, selection| Fit { verdict: Verdict::Unknown, reasons: vec![why], selection };
    if let Some(e) = &ssu.error {
        return unknown(format!("the package could not be inspected: {e}"), selection);
    }
    let Some(PackageIdentity { name, version, arch, is_servicing_stack: is_ssu, .. }) = ssu.main_package().cloned()
    else {
        return unknown("no package identity found inside".into(), selection);
    };
    let mut ok = true;
    let mut stack_unknown = false;
    if !is_ssu {
        ok = false;
        reasons.push(format!("{name} {version} does not say it is a servicing stack update"));
    } else {
        match &selection {
            Err(e) => {
                ok = false;
                reasons.push(e.clone());
            }
            Ok(None) => reasons.push(
                "its component folders are not named in the cabinet (a _manifest_.cix.xml maps them): the script chooses them when it runs".into(),
            ),
            Ok(Some(_)) => {}
        }
    }
    if let Some(m) = report.system.get("arch") {
        if !arch.eq_ignore_ascii_case(m) && !arch.eq_ignore_ascii_case("neutral") {
            ok = false;
            reasons.push(format!("package architecture {arch} does not match the machine's {m}"));
        }
    }
    // The registry's build, else the one the logs state (10.0.BUILD).
    let build = report
        .system
        .get("os_build")
        .and_then(|b| b.split('.').next())
        .or_else(|| report.system.get("os_version_in_logs").and_then(|v| v.split('.').nth(2)))
        .map(str::to_string);
    // Windows 10 and later packages name the build first (19041.4163.1.3);
    // component-style versions read 10.0.BUILD.REVISION; packages before
    // Windows 10 carry the NT version (6.1.x.y), no build.
    let parts: Vec<&str> = version.split('.').collect();
    let number = |i: usize| parts.get(i).and_then(|p| p.parse::<u32>().ok());
    let (pkg_nt, pkg_build) = match number(0) {
        Some(b) if b >= 7600 => (nt_of_build(b).to_string(), Some(b.to_string())),
        Some(10) if number(1) == Some(0) && number(2).is_some_and(|b| b >= 10240) => {
            ("10.0".to_string(), number(2).map(|b| b.to_string()))
        }
        _ => (parts.iter().take(2).copied().collect::<Vec<_>>().join("."), None),
    };
    let machine_nt = build.as_deref().and_then(|b| b.parse::<u32>().ok()).map(nt_of_build);
    match (&build, &pkg_build) {
        (Some(b), _) if machine_nt.is_some_and(|m| m != pkg_nt) => {
            ok = false;
            reasons.push(format!(
                "package is for Windows NT {pkg_nt}, the machine runs Windows NT {} (build {b})",
                machine_nt.unwrap_or("?")
            ));
        }
        (Some(b), Some(p)) if b != p && !same_servicing_branch(b, p) => {
            ok = false;
            reasons.push(format!("package is for build {p}, the machine runs build {b}"));
        }
        (None, _) => reasons.push("the machine's build is unknown (no SOFTWARE hive was read)".into()),
        _ => {}
    }
    // WinSxS folders are named by version: only a package of the damaged
    // stack's version puts its folders back.
    let machine = machine_stack(report);
    if let (true, Ok(Some(_)), None) = (is_ssu, &selection, &machine) {
        // Unknown: it cannot be said to fit.
        stack_unknown = true;
        reasons.push(
            "the machine's servicing stack version is not in the evidence: check that the package's is the same".into(),
        );
    }
    if let (true, Ok(Some(sel)), Some(want)) = (is_ssu, &selection, machine) {
        if sel.version != want {
            ok = false;
            reasons.push(format!(
                "the package holds servicing stack {}, the machine's is {want}: WinSxS folders are named by version, so only the servicing stack update of version {want} puts them back",
                sel.version
            ));
        }
    }
    let verdict = if ok && build.is_some() && !stack_unknown {
        Verdict::Fits
    } else if ok {
        Verdict::ProbablyFits
    } else {
        Verdict::DoesNotFit
    };
    Fit { verdict, reasons, selection }
}

/// The NT version of a build (7601 is 6.1, 9600 is 6.3, 10240 on 10.0).
fn nt_of_build(b: u32) -> &'static str {
    match b {
        0..=7601 => "6.1",
        7602..=9200 => "6.2",
        9201..=9600 => "6.3",
        _ => "10.0",
    }
}

/// The servicing stack version the machine needs back: that of the first
/// damaged servicing stack folder a failure names as its subject (the
/// registered, machine-architecture one comes first), else the newest
/// registered one, else the one the logs say CBS loaded.
fn machine_stack(report: &Report) -> Option<String> {
    let view = crate::view::View::new(report);
    let mut failures = view.groups.iter().map(|g| g.latest()).filter(|f| f.severity == Severity::Error);
    let named = failures.find_map(|f| {
        f.subject_fact()?.values.iter().find_map(|path| {
            let leaf = path.rsplit(['\\', '/']).find(|p| !p.is_empty())?;
            let c = crate::checks::winsxs::parse_component_name(leaf)?;
            crate::checks::winsxs::stack_family(&c.name).map(|_| c.version)
        })
    });
    let newest = |key: &str| crate::version::newest(report.system.get(key)?).map(str::to_string);
    named.or_else(|| newest("servicing_stack_registered")).or_else(|| newest("servicing_stack_in_logs"))
}

impl Fit {
    /// The verdict as the end of a sentence about the package.
    pub fn sentence(&self) -> &'static str {
        match self.verdict {
            Verdict::Fits => "fits this computer",
            Verdict::ProbablyFits => "probably fits this computer",
            Verdict::DoesNotFit => "does not fit this computer",
            Verdict::Unknown => "could not be checked against this computer",
        }
    }
}

/// Where the script finds the package by default: the path given, when it
/// is a Windows path (a literal for the `-Msu` default); else the file's
/// name beside the script, set in the body because Windows PowerShell 5.1
/// leaves `$PSScriptRoot` empty in an advanced script's parameter defaults.
pub(super) enum MsuDefault {
    Literal(String),
    BesideScript(String),
}

pub(super) fn msu_default(path: &str) -> Result<MsuDefault, UnsafeText> {
    let b = path.as_bytes();
    let windows_path = (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/'))
        || path.starts_with("\\\\");
    if windows_path {
        return Ok(MsuDefault::Literal(lit(path, "--ssu path")?));
    }
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    Ok(MsuDefault::BesideScript(lit(name, "--ssu path")?))
}

/// Windows 10 19041-19045 share one servicing branch, as do 22621/22631.
fn same_servicing_branch(a: &str, b: &str) -> bool {
    let group = |x: &str| {
        match x {
            "19041" | "19042" | "19043" | "19044" | "19045" => "19041",
            "22621" | "22631" => "22621",
            "26100" | "26200" => "26100",
            other => other,
        }
        .to_string()
    };
    group(a) == group(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str, version: &str) -> PackageIdentity {
        PackageIdentity {
            name: name.into(),
            version: version.into(),
            arch: "amd64".into(),
            public_key_token: "31bf3856ad364e35".into(),
            kb: None,
            is_servicing_stack: true,
            source: "update.mum".into(),
        }
    }
    use crate::report::Report;

    #[test]
    fn msu_default_keeps_windows_paths_only() {
        let d = |p: &str| match msu_default(p).unwrap() {
            MsuDefault::Literal(l) => format!("literal {l}"),
            MsuDefault::BesideScript(n) => format!("beside {n}"),
        };
        assert_eq!(d(r"C:\Updates\ssu.msu"), r"literal 'C:\Updates\ssu.msu'");
        assert_eq!(d(r"\\server\share\ssu.msu"), r"literal '\\server\share\ssu.msu'");
        assert_eq!(d("/home/me/shared/ssu.msu"), "beside 'ssu.msu'");
        assert_eq!(d("/tmp/it's.msu"), "beside 'it''s.msu'");
    }

    #[test]
    fn ssu_fit_compares_nt_versions_before_windows_10() {
        let machine = |build: &str| {
            let mut r = Report::new();
            r.system.insert("os_build".into(), build.into());
            r.system.insert("arch".into(), "amd64".into());
            r.system.insert("servicing_stack_registered".into(), "10.0.19041.3000".into());
            r
        };
        let ssu = |version: &str| SsuPackage {
            path: "ssu.msu".into(),
            packages: vec![identity("Package_for_ServicingStack_3000", version)],
            stack_folders: vec![folder("amd64", "servicingstack", "10.0.19041.3000")],
            ..SsuPackage::default()
        };
        assert_eq!(ssu_fit(&machine("9600.20000"), &ssu("6.3.1.5")).verdict, Verdict::Fits);
        let f = ssu_fit(&machine("19045.4717"), &ssu("6.3.1.5"));
        assert_eq!(f.verdict, Verdict::DoesNotFit);
        assert!(f.reasons[0].contains("Windows NT 6.3, the machine runs Windows NT 10.0"), "{f:?}");
        let f = ssu_fit(&machine("7601.24000"), &ssu("10.0.19041.4163"));
        assert_eq!(f.verdict, Verdict::DoesNotFit, "{f:?}");
        assert_eq!(ssu_fit(&machine("19045.4717"), &ssu("10.0.19041.4163")).verdict, Verdict::Fits);
    }

    fn folder(arch: &str, family: &str, version: &str) -> PackageFolder {
        PackageFolder {
            archive: "SSU-19041.3000-x64.cab".into(),
            name: format!("{arch}_microsoft-windows-{family}_31bf3856ad364e35_{version}_none_0123456789abcdef"),
            arch: arch.into(),
            family: family.into(),
            version: version.into(),
        }
    }

    #[test]
    fn stack_selection_takes_the_package_stack_only() {
        let ssu = SsuPackage {
            packages: vec![identity("Package_for_ServicingStack_3000", "19041.3000.1.2")],
            stack_folders: vec![
                folder("amd64", "servicingstack", "10.0.19041.3000"),
                folder("amd64", "servicingstack-onecore", "10.0.19041.3000"),
                folder("wow64", "servicingstack", "10.0.19041.3000"),
                folder("amd64", "servicingstack", "10.0.19041.2000"),
            ],
            other_folders: 812,
            ..SsuPackage::default()
        };
        let sel = stack_selection(&ssu, Some("amd64")).unwrap().unwrap();
        assert_eq!(sel.version, "10.0.19041.3000");
        assert_eq!(sel.copy.len(), 3, "{sel:?}");
        assert!(sel.copy.iter().all(|n| n.contains("_10.0.19041.3000_")));
        assert_eq!(sel.skipped.len(), 2, "{sel:?}");
        assert!(sel.skipped[0].1.contains("not the package's 10.0.19041.3000"));
        assert!(sel.skipped[1].0.starts_with("812 other"));
        // No stack folder for the machine's architecture: nothing to copy.
        assert_eq!(
            stack_selection(&ssu, Some("arm64")).unwrap_err(),
            "the package holds no servicing stack folder for arm64"
        );
        let lcu_only = SsuPackage { other_folders: 5, ..SsuPackage::default() };
        assert!(stack_selection(&lcu_only, None).is_err());
        // A package whose cabinet names no folder (a _manifest_.cix.xml maps its members).
        assert_eq!(stack_selection(&SsuPackage::default(), None), Ok(None));
        // A combined package: the cumulative update's cabinet is never the stack.
        let mut lcu_stack = folder("amd64", "servicingstack", "10.0.19041.9999");
        lcu_stack.archive = "Windows10.0-KB5030000-x64.cab".into();
        let mut ssu_cab = ssu.clone();
        for f in &mut ssu_cab.stack_folders {
            f.archive = "SSU-19041.3000-x64.cab".into();
        }
        ssu_cab.stack_folders.push(lcu_stack);
        let sel = stack_selection(&ssu_cab, Some("amd64")).unwrap().unwrap();
        assert_eq!(sel.version, "10.0.19041.3000");
        assert!(sel
            .skipped
            .iter()
            .any(|(n, why)| n.contains("9999") && why.contains("not the servicing stack cabinet")));
    }

    #[test]
    fn only_the_damaged_stack_version_fits() {
        let mut r = Report::new();
        r.system.insert("os_build".into(), "19045.4717".into());
        r.system.insert("arch".into(), "amd64".into());
        r.system.insert("servicing_stack_registered".into(), "10.0.19041.4522, 10.0.19041.4717".into());
        let ssu = |v: &str| SsuPackage {
            packages: vec![identity("Package_for_ServicingStack_x", "19041.9.1.1")],
            stack_folders: vec![folder("amd64", "servicingstack", v)],
            ..SsuPackage::default()
        };
        assert_eq!(ssu_fit(&r, &ssu("10.0.19041.4717")).verdict, Verdict::Fits);
        // Only the logs state the stack: still compared.
        let mut logs_only = Report::new();
        logs_only.system.insert("os_build".into(), "19045.4717".into());
        logs_only.system.insert("servicing_stack_in_logs".into(), "10.0.19041.4717".into());
        assert_eq!(ssu_fit(&logs_only, &ssu("10.0.19041.3000")).verdict, Verdict::DoesNotFit);
        // Nothing states it: not "fits".
        logs_only.system.remove("servicing_stack_in_logs");
        assert_eq!(ssu_fit(&logs_only, &ssu("10.0.19041.3000")).verdict, Verdict::ProbablyFits);
        // A newer stack adds folders of its own version; the registered ones stay damaged.
        let f = ssu_fit(&r, &ssu("10.0.19041.5000"));
        assert_eq!(f.verdict, Verdict::DoesNotFit);
        assert!(f.reasons[0].contains("only the servicing stack update of version 10.0.19041.4717"), "{f:?}");
    }

    #[test]
    fn servicing_branches() {
        assert!(same_servicing_branch("19045", "19041"));
        assert!(!same_servicing_branch("19045", "22621"));
    }
}
