//! Helpers shared by the integration tests: run the real binary, read its
//! JSON, and build fixture folders.
#![allow(dead_code)]

pub mod root;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

pub const RULE_A: &str = "wu-0x80070003-driver-files-missing";
pub const RULE_B: &str = "upgrade-0x80070003-servicing-stack-damaged";

pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("servicing-doctor").expect("binary built")
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// `diagnose --format json PATHS...`
pub fn diagnose(paths: &[&Path]) -> Run {
    let mut cmd = bin();
    cmd.args(["diagnose", "--format", "json", "--quiet"]);
    for p in paths {
        cmd.arg(p);
    }
    let out = cmd.output().expect("binary runs");
    let stdout = String::from_utf8(out.stdout).expect("JSON output is UTF-8");
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn findings<'a>(r: &'a Run, rule: &str) -> Vec<&'a Value> {
    r.json["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == rule).collect()
}

pub fn fact<'a>(f: &'a Value, name: &str) -> Option<&'a str> {
    f["facts"][name].as_str()
}

/// Write `files` (relative path, text) under a new temporary folder.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        write(&d.path().join(rel), text.as_bytes());
    }
    d
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    v
}

pub fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Copy a folder tree, transforming every file's text.
pub fn copy_tree(from: &Path, to: &Path, f: &dyn Fn(&str) -> Vec<u8>) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest, f);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            write(&dest, &f(&text));
        }
    }
}

/// The seed article's CBS excerpt (scenario A, Startup form, INF named).
pub const SEED_CBS: &str = "\
2017-12-06 15:30:46, Info    CBS         INSTALL index: 69, phase: 1, result 3, inf: ntprint4.inf
2017-12-06 15:30:46, Info    CBS   Doqe: Recording result: 0x80070003, for Inf: ntprint4.inf
2017-12-06 15:30:46, Info    CBS   DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2017-12-06 15:30:46, Info    CBS   Doqe: Failed installing driver updates [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2017-12-06 15:30:46, Info    CBS   Perf: Doqe: Install ended.
2017-12-06 15:30:46, Info    CBS   Failed installing driver updates [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2017-12-06 15:30:46, Info    CBS   Startup: Rolling back KTM, because drivers failed.
2017-12-06 15:30:46, Info    CBS   Setting ExecuteState key to: CbsExecuteStateStageDrivers | CbsExecuteStateFlagRollback | CbsExecuteStateFlagDriversFailed
2017-12-06 15:30:46, Info    CBS   Setting original failure status: 0x80070003, last forward execute state: CbsExecuteStatePrimitives
";

/// Scenario A at shutdown, where CBS names no INF.
pub const SHTD_CBS: &str = "\
2023-01-10 03:11:50, Info                  CBS    Shtd: Begin shutdown processing.
2023-01-10 03:11:58, Info                  CBS    Doqe: Install started.
2023-01-10 03:12:09, Info                  CBS    DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2023-01-10 03:12:09, Info                  CBS    Failed installing driver updates [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2023-01-10 03:12:09, Error                 CBS    Shtd: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]
2023-01-10 03:12:09, Info                  CBS    Shtd: Rolling back KTM, because drivers failed.
2023-01-10 03:12:09, Info                  CBS    Setting ExecuteState key to: CbsExecuteStateStageDrivers | CbsExecuteStateFlagRollback | CbsExecuteStateFlagDriversFailed
";

pub const SHTD_SETUPAPI: &str = "\
[Device Install Log]
     OS Version = 10.0.19045

[Boot Session: 2023/01/09 22:10:31.500]

>>>  [Install Driver Updates]
>>>  Section start 2023/01/10 03:11:58.120
      cmd: C:\\Windows\\servicing\\TrustedInstaller.exe
     sto: {Configure Driver Package: C:\\Windows\\System32\\DriverStore\\FileRepository\\oem12.inf_amd64_55aa\\oem12.inf} 03:11:58.300
!!!  sto:      Unable to load INF: 'C:\\Windows\\System32\\DriverStore\\FileRepository\\oem12.inf_amd64_55aa\\oem12.inf'(00000003)
!!!  sto:      Error = 0x00000003
<<<  Section end 2023/01/10 03:12:09.002
<<<  [Exit status: FAILURE(0x00000003)]
";

pub const SHTD_MISSING: &str = "C:\\Windows\\System32\\DriverStore\\FileRepository\\oem12.inf_amd64_55aa\\oem12.inf";

/// A temporary folder on tmpfs when there is one (many small files are slow on disk).
pub fn fast_tmp(prefix: &str) -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new().prefix(prefix).tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

/// A cabinet of (name, data) members, MSZIP-compressed, built with the `cab` crate's writer.
pub fn cab_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    for (name, _) in members {
        folder.add_file(*name);
    }
    let mut writer = builder.build(std::io::Cursor::new(Vec::new())).unwrap();
    let mut i = 0;
    while let Some(mut fw) = writer.next_file().unwrap() {
        fw.write_all(members[i].1).unwrap();
        i += 1;
    }
    writer.finish().unwrap().into_inner()
}

fn mum(name: &str, version: &str, release: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\">\r\n\
         <assemblyIdentity name=\"{name}\" version=\"{version}\" processorArchitecture=\"amd64\" language=\"neutral\" publicKeyToken=\"31bf3856ad364e35\"/>\r\n\
         <package identifier=\"KB5030000\" releaseType=\"{release}\"/>\r\n</assembly>\r\n"
    )
    .into_bytes()
}

/// Stack folders in [`combined_msu`] (servicing stack 10.0.19041.4717 for amd64).
pub const COMBINED_STACK: [&str; 3] = [
    "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e1bd7147c8285b2",
    "amd64_microsoft-windows-servicingstack-onecore_31bf3856ad364e35_10.0.19041.4717_none_da44c3c8cf2df25a",
    "wow64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_afa7d909ab8b96bf",
];
/// Cumulative update folders in [`combined_msu`]: never restored into WinSxS.
pub const COMBINED_OTHER: [&str; 2] = [
    "amd64_microsoft-windows-kernel32_31bf3856ad364e35_10.0.19041.4717_none_0123456789abcdef",
    "amd64_microsoft-windows-shell32_31bf3856ad364e35_10.0.19041.4717_none_fedcba9876543210",
];

/// A combined servicing stack + cumulative update package, shaped like
/// Windows 10's since 2021: `SSU-<build>-x64.cab` (the servicing stack
/// folders) beside the cumulative update's cabinet (other component
/// folders), WSUSSCAN.cab and the package properties.
pub fn combined_msu() -> Vec<u8> {
    let ssu_mum = mum("Package_for_ServicingStack_4717", "19041.4717.1.1", "Update");
    let lcu_mum = mum("Package_for_RollupFix", "19041.4717.1.6", "Update");
    let files: Vec<String> = COMBINED_STACK.iter().map(|f| format!("{f}\\cbscore.dll")).collect();
    let mut ssu: Vec<(&str, &[u8])> = vec![("update.mum", &ssu_mum)];
    ssu.extend(files.iter().map(|f| (f.as_str(), b"MZ".as_slice())));
    let ssu = cab_of(&ssu);
    let files: Vec<String> = COMBINED_OTHER.iter().map(|f| format!("{f}\\x.dll")).collect();
    let mut lcu: Vec<(&str, &[u8])> = vec![("update.mum", &lcu_mum)];
    lcu.extend(files.iter().map(|f| (f.as_str(), b"MZ".as_slice())));
    let lcu = cab_of(&lcu);
    let scan = cab_of(&[("package.xml", b"<x/>")]);
    let props = b"Applies to=\"Windows 10\"\r\nKB Article Number=\"5030000\"\r\nPackage Type=\"Update\"\r\n";
    cab_of(&[
        ("SSU-19041.4717-x64.cab", &ssu),
        ("Windows10.0-KB5030000-x64.cab", &lcu),
        ("WSUSSCAN.cab", &scan),
        ("Windows10.0-KB5030000-x64-pkgProperties.txt", props),
    ])
}
