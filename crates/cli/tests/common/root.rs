//! An offline Windows root built in a temporary folder: a SOFTWARE hive
//! (written by the test-only REGF writer), WinSxS with the servicing stack
//! 10.0.19041.4717 and 50 other components, and a healthy CBS.log.

use super::{examples, write};
use servicing_doctor_test_support::regf_writer::HiveBuilder;
use std::path::{Path, PathBuf};

pub const VER: &str = "10.0.19041.4717";
pub const MAIN: &str = "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_7e3a3f7b7c6a1b2c";
pub const ONECORE: &str =
    "amd64_microsoft-windows-servicingstack-onecore_31bf3856ad364e35_10.0.19041.4717_none_da44c3c8cf2df25a";
pub const INETSRV: &str =
    "amd64_microsoft-windows-servicingstack-inetsrv_31bf3856ad364e35_10.0.19041.4717_none_d120fd2616d820ec";
pub const X86: &str = "x86_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4717_none_49349333becd638e";

pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn winsxs(&self) -> PathBuf {
        self.path().join("Windows/WinSxS")
    }
}

pub fn software(registered: bool) -> Vec<u8> {
    let mut h = HiveBuilder::new();
    h.value_sz("Microsoft\\Windows NT\\CurrentVersion", "ProductName", "Windows 10 Pro", false)
        .value_sz("Microsoft\\Windows NT\\CurrentVersion", "DisplayVersion", "22H2", false)
        .value_sz("Microsoft\\Windows NT\\CurrentVersion", "CurrentBuild", "19045", false)
        .value_dword("Microsoft\\Windows NT\\CurrentVersion", "UBR", 4717)
        .value_sz("Microsoft\\Windows NT\\CurrentVersion", "EditionID", "Professional", false)
        .value_sz("Microsoft\\Windows NT\\CurrentVersion", "InstallationType", "Client", false);
    if registered {
        h.value_sz(
            "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version",
            VER,
            &format!("%SystemRoot%\\WinSxS\\{MAIN}"),
            true,
        );
    } else {
        h.key("Microsoft\\Windows\\CurrentVersion\\Component Based Servicing");
    }
    h.build()
}

/// A SYSTEM hive naming the machine and its time zone (UTC+1).
pub fn system_hive() -> Vec<u8> {
    let mut h = HiveBuilder::new();
    h.value_dword("Select", "Current", 1)
        .value_sz("ControlSet001\\Control\\ComputerName\\ComputerName", "ComputerName", "PC-SEED-B", false)
        .value_sz("ControlSet001\\Control\\TimeZoneInformation", "TimeZoneKeyName", "W. Europe Standard Time", false)
        .value_dword("ControlSet001\\Control\\TimeZoneInformation", "ActiveTimeBias", (-60i32) as u32);
    h.build()
}

/// A healthy installation with a few unrelated WinSxS components.
pub fn healthy_root() -> Root {
    let dir = tempfile::tempdir().unwrap();
    let r = Root { dir };
    write(&r.path().join("Windows/System32/config/SOFTWARE"), &software(true));
    write(&r.path().join("Windows/System32/config/SYSTEM"), &system_hive());
    for f in [MAIN, ONECORE, INETSRV, X86] {
        let files: &[&str] =
            if f == MAIN || f == X86 { &["cbscore.dll", "TiWorker.exe", "wcp.dll"] } else { &["x.dll"] };
        for file in files {
            write(&r.winsxs().join(f).join(file), b"MZ");
        }
    }
    for i in 0..50 {
        std::fs::create_dir_all(r.winsxs().join(format!(
            "amd64_microsoft-windows-component{i}_31bf3856ad364e35_10.0.19041.{i}_none_0123456789abcdef"
        )))
        .unwrap();
    }
    write(
        &r.path().join("Windows/Logs/CBS/CBS.log"),
        std::fs::read(examples().join("healthy/Windows/Logs/CBS/CBS.log")).unwrap().as_slice(),
    );
    r
}

pub fn scenario_b_logs(r: &Root) {
    let ex = examples().join("upgrade-process-drivers");
    for rel in [
        "$WINDOWS.~BT/Sources/Panther/setupact.log",
        "$WINDOWS.~BT/Sources/Panther/setuperr.log",
        "Windows/Logs/DISM/dism.log",
        "Windows/Logs/CBS/CBS.log",
    ] {
        write(&r.path().join(rel), &std::fs::read(ex.join(rel)).unwrap());
    }
}
