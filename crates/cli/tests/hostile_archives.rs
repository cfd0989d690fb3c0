//! Issue 11, items 6, 10 and 11: archives whose members share compressed
//! bytes, whole-file log kinds far larger than memory should allow, and
//! archives whose members flood the same signals. Each run has a second
//! input holding the seed failure, which must still be diagnosed.

mod common;
use common::*;
use serde_json::Value;
use std::io::Write;

const SEED: &str = "2017-12-06 15:30:46, Info    CBS   DriverUpdateInstallUpdates failed [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n\
2017-12-06 15:30:46, Error   CBS   Startup: Failed while processing non-critical driver operations queue. [HRESULT = 0x80070003 - ERROR_PATH_NOT_FOUND]\n\
2017-12-06 15:30:46, Info    CBS   Startup: Rolling back KTM, because drivers failed.\n";

fn seed_input() -> std::path::PathBuf {
    examples().join("wu-driver-rollback")
}

fn sources(r: &Run) -> &Vec<Value> {
    r.json["sources"].as_array().unwrap()
}

fn source<'a>(r: &'a Run, path_end: &str) -> &'a Value {
    sources(r)
        .iter()
        // Windows paths use `\`; members keep the archive's `/`.
        .find(|s| s["path"].as_str().unwrap().replace('\\', "/").ends_with(path_end))
        .unwrap_or_else(|| panic!("no source {path_end}"))
}

/// The seed input is diagnosed whatever the archive beside it did.
fn seed_still_diagnosed(r: &Run) {
    // 1: an error-severity finding (the seed) was found.
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!findings(r, RULE_A).is_empty(), "seed failure not found: {}", r.stdout);
}

fn le16(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// A zip of one deflated member, whose central directory then lists it
/// `copies` times under other names, all pointing at its one local entry.
fn zip_sharing_one_entry(data: &[u8], copies: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("CBS.log", opts).unwrap();
    w.write_all(data).unwrap();
    let zip = w.finish().unwrap().into_inner();
    let eocd = zip.len() - 22;
    let cd_at = le32(&zip, eocd + 16);
    let entry = &zip[cd_at..eocd];
    let name_len = le16(entry, 28);
    let mut cd = Vec::new();
    for i in 0..copies {
        let name = format!("Logs/CBS{i:05}.log");
        let mut e = entry[..46].to_vec();
        e[28..30].copy_from_slice(&(name.len() as u16).to_le_bytes());
        e.extend_from_slice(name.as_bytes());
        e.extend_from_slice(&entry[46 + name_len..]);
        cd.extend_from_slice(&e);
    }
    let mut out = zip[..cd_at].to_vec();
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(copies as u16).to_le_bytes());
    out.extend_from_slice(&(copies as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&(cd_at as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn zip_entries_sharing_one_local_entry_are_read_once() {
    let d = tempfile::tempdir().unwrap();
    let zip = d.path().join("shared.zip");
    write(&zip, &zip_sharing_one_entry(SEED.repeat(3000).as_bytes(), 2000));
    assert!(std::fs::metadata(&zip).unwrap().len() < 200_000);
    let r = diagnose(&[&zip, &seed_input()]);
    seed_still_diagnosed(&r);
    let first = source(&r, "shared.zip!Logs/CBS00000.log");
    assert!(first["error"].is_null(), "{first}");
    assert!(first["records"].as_u64().unwrap() >= 9000);
    let refused: Vec<&Value> = sources(&r)
        .iter()
        .filter(|s| s["error"].as_str().is_some_and(|e| e.contains("overlaps member Logs/CBS00000.log")))
        .collect();
    assert_eq!(refused.len(), 1999);
    assert!(refused[0]["path"].as_str().unwrap().ends_with("shared.zip!Logs/CBS00001.log"));
}

/// A cabinet of one uncompressed folder holding `data`, listed `copies`
/// times at offset 0.
fn cab_sharing_one_offset(data: &[u8], copies: usize) -> Vec<u8> {
    let names: Vec<String> = (0..copies).map(|i| format!("CBS{i:02}.log")).collect();
    let mut files = Vec::new();
    for n in &names {
        files.extend_from_slice(&(data.len() as u32).to_le_bytes());
        files.extend_from_slice(&0u32.to_le_bytes()); // offset in the folder
        files.extend_from_slice(&0u16.to_le_bytes()); // folder 0
        files.extend_from_slice(&[0x21, 0, 0, 0, 0, 0]); // date, time, attributes
        files.extend_from_slice(n.as_bytes());
        files.push(0);
    }
    let mut blocks = Vec::new();
    let mut count = 0u16;
    for piece in data.chunks(32768) {
        blocks.extend_from_slice(&0u32.to_le_bytes()); // no checksum
        blocks.extend_from_slice(&(piece.len() as u16).to_le_bytes());
        blocks.extend_from_slice(&(piece.len() as u16).to_le_bytes());
        blocks.extend_from_slice(piece);
        count += 1;
    }
    let files_at = 36 + 8;
    let data_at = files_at + files.len();
    let total = data_at + blocks.len();
    let mut cab = b"MSCF".to_vec();
    for v in [0u32, total as u32, 0, files_at as u32, 0] {
        cab.extend_from_slice(&v.to_le_bytes());
    }
    cab.extend_from_slice(&[3, 1]);
    for v in [1u16, copies as u16, 0, 0, 0] {
        cab.extend_from_slice(&v.to_le_bytes());
    }
    cab.extend_from_slice(&(data_at as u32).to_le_bytes());
    cab.extend_from_slice(&count.to_le_bytes());
    cab.extend_from_slice(&0u16.to_le_bytes()); // not compressed
    cab.extend_from_slice(&files);
    cab.extend_from_slice(&blocks);
    cab
}

#[test]
fn cab_entries_at_one_offset_are_read_once() {
    let d = tempfile::tempdir().unwrap();
    let cab = d.path().join("CbsPersist_1.cab");
    write(&cab, &cab_sharing_one_offset(SEED.repeat(600).as_bytes(), 20));
    let r = diagnose(&[&cab, &seed_input()]);
    seed_still_diagnosed(&r);
    let first = source(&r, "CbsPersist_1.cab!CBS00.log");
    assert!(first["error"].is_null(), "{first}");
    for i in 1..20 {
        let s = source(&r, &format!("CbsPersist_1.cab!CBS{i:02}.log"));
        let e = s["error"].as_str().unwrap_or_default();
        assert!(e.contains("overlaps member CBS00.log"), "{s}");
    }
}

#[test]
fn a_big_setupapi_log_streams_loose_and_zipped() {
    let d = tempfile::tempdir().unwrap();
    // Loose: 256 MiB of NUL padding (sparse), then a section.
    let loose = d.path().join("loose").join("setupapi.dev.log");
    std::fs::create_dir_all(loose.parent().unwrap()).unwrap();
    let f = std::fs::File::create(&loose).unwrap();
    f.set_len(256 << 20).unwrap();
    drop(f);
    let mut f = std::fs::OpenOptions::new().append(true).open(&loose).unwrap();
    f.write_all(b"\n>>>  [Install Driver Updates]\n>>>  Section start 2017/12/06 15:30:40.000\n").unwrap();
    drop(f);
    // Zipped: 8 MiB of bytes that are not UTF-8 (each one becomes a
    // three-byte character), in lines.
    let mut log = Vec::new();
    while log.len() < 8 << 20 {
        log.extend_from_slice(&[0x80; 4095]);
        log.push(b'\n');
    }
    let zip = d.path().join("bundle.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("Windows/INF/setupapi.dev.log", opts).unwrap();
    w.write_all(&log).unwrap();
    w.finish().unwrap();

    let r = diagnose(&[&loose, &zip, &seed_input()]);
    seed_still_diagnosed(&r);
    let s = source(&r, "loose/setupapi.dev.log");
    assert!(s["error"].is_null(), "{s}");
    assert_eq!(s["kind"], "setupapi");
    assert_eq!(s["bytes"].as_u64().unwrap(), std::fs::metadata(&loose).unwrap().len());
    assert!(s["records"].as_u64().unwrap() >= 2, "{s}");
    let s = source(&r, "bundle.zip!Windows/INF/setupapi.dev.log");
    assert!(s["error"].is_null(), "{s}");
    assert_eq!(s["encoding"], "utf-8+windows-1252");
    assert_eq!(s["records"].as_u64().unwrap(), (log.len() / 4096) as u64);
}

#[test]
fn hits_are_capped_across_the_members_of_an_archive() {
    // 10 members of 2,500 copies of the seed: 25,000 hits per signal in
    // all, past the run's 20,000; the earliest members lose theirs.
    let d = tempfile::tempdir().unwrap();
    let zip = d.path().join("flood.zip");
    let body = SEED.repeat(2500);
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..10 {
        w.start_file(format!("Logs/CbsPersist_{i:02}.log"), opts).unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap();
    let r = diagnose(&[&zip, &seed_input()]);
    seed_still_diagnosed(&r);
    let cut = |i: usize| {
        let s = source(&r, &format!("flood.zip!Logs/CbsPersist_{i:02}.log"));
        assert!(s["error"].is_null(), "{s}");
        s["warnings"].as_array().is_some_and(|ws| {
            ws.iter().any(|w| w.as_str().unwrap().contains("were dropped from this source: a run keeps the last 20000"))
        })
    };
    assert!(cut(0) && cut(1), "the earliest members are cut");
    assert!(!cut(9) && !cut(8), "the latest members keep their hits");
    // The failure in the archive is still found, from its latest members.
    let ev: Vec<&str> = findings(&r, RULE_A)
        .iter()
        .flat_map(|f| f["evidence"].as_array().unwrap())
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(ev.iter().any(|p| p.contains("flood.zip!")), "{ev:?}");
}

#[test]
fn archive_errors_name_the_member_on_stderr_in_text_output() {
    let d = tempfile::tempdir().unwrap();
    let zip = d.path().join("shared.zip");
    write(&zip, &zip_sharing_one_entry(SEED.as_bytes(), 3));
    let out = run(&["diagnose", "--quiet", zip.to_str().unwrap(), seed_input().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("shared.zip!Logs/CBS00002.log"), "{text}");
    assert!(text.contains("overlaps member Logs/CBS00000.log"), "{text}");
}
