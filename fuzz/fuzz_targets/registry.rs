//! Offline SOFTWARE hives: `checks::registry::read_offline_software`, with
//! the `.LOG1`/`.LOG2` transaction logs beside it.
//!
//! The reader takes a path, so every input is written to files in a private
//! folder under /dev/shm (else the temp dir): the input split at `=LOG=`
//! gives the hive, then SOFTWARE.LOG1 and SOFTWARE.LOG2 when present.
//! Documented contract: Ok or one error sentence naming the file, never a
//! panic (the reader is servicing-doctor's own, so any panic fails the run),
//! and no text longer than `registry::MAX_TEXT` bytes in the result.
//! Seeds include an index root that lists itself, an index root fan-out and
//! a big-data value whose segments are all one cell (issue 11).
#![no_main]

use libfuzzer_sys::fuzz_target;
use servicing_doctor::checks::registry;
use std::path::PathBuf;
use std::sync::OnceLock;

const SEP: &[u8] = b"=LOG=";
const LOGS: [&str; 2] = ["SOFTWARE.LOG1", "SOFTWARE.LOG2"];
const PREFIX: &str = "sd-fuzz-registry-";

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base =
            if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        // Folders left by earlier runs (libFuzzer exits without cleaning up)
        // whose process is gone.
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix(PREFIX) {
                    if !std::path::Path::new("/proc").join(pid).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let d = base.join(format!("{PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch folder");
        d
    })
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < 2 {
        match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + SEP.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    let parts = split(data);
    let hive = dir.join("SOFTWARE");
    std::fs::write(&hive, parts[0]).expect("write the hive");
    for (i, name) in LOGS.iter().enumerate() {
        let path = dir.join(name);
        match parts.get(i + 1) {
            Some(log) => std::fs::write(&path, log).expect("write a log"),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    match registry::read_offline_software(&hive) {
        Ok(info) => {
            serde_json::to_string(&info).expect("serializes");
            let texts = info.cbs_versions.iter().flat_map(|c| [&c.version, &c.path]).chain(info.os.values());
            for t in texts {
                assert!(t.len() <= registry::MAX_TEXT, "{} bytes reach the report", t.len());
            }
        }
        Err(e) => {
            assert!(e.starts_with(&hive.display().to_string()), "{e}");
        }
    }
});
