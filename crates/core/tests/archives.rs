//! Archive reader: zips built here, cabs built here (the `cab` crate's
//! writer, and `gcab` when installed), and the real Microsoft cabinets and
//! cabextract regression cabs under `$SERVICING_DOCTOR_SHARED`.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use servicing_doctor::package::inspect;
use servicing_doctor::sources::archive::*;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

#[derive(Debug)]
enum Got {
    File { path: String, size: Option<u64>, data: Vec<u8>, err: Option<String> },
    Error { path: String, message: String },
    Archive { path: String, kind: ArchiveKind },
}

/// Walk, reading every file to its end.
fn run(display: &str, bytes: &[u8], limits: &Limits) -> Vec<Got> {
    let mut out = Vec::new();
    walk(display, Cursor::new(bytes), limits, &mut |ev| match ev {
        Event::File { path, size, reader } => {
            let mut data = Vec::new();
            let err = reader.read_to_end(&mut data).err().map(|e| e.to_string());
            out.push(Got::File { path: path.to_string(), size, data, err });
        }
        Event::Error { path, message } => out.push(Got::Error { path: path.to_string(), message }),
        Event::Archive { path, kind } => out.push(Got::Archive { path: path.to_string(), kind }),
    });
    out
}

fn files(evs: &[Got]) -> BTreeMap<String, Vec<u8>> {
    evs.iter()
        .filter_map(|e| match e {
            Got::File { path, data, .. } => Some((path.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

fn errors(evs: &[Got]) -> Vec<(String, String)> {
    evs.iter()
        .filter_map(|e| match e {
            Got::Error { path, message } => Some((path.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

fn archives(evs: &[Got]) -> Vec<(String, ArchiveKind)> {
    evs.iter()
        .filter_map(|e| match e {
            Got::Archive { path, kind } => Some((path.clone(), *kind)),
            _ => None,
        })
        .collect()
}

fn error_for<'a>(evs: &'a [Got], path: &str) -> &'a str {
    evs.iter()
        .find_map(|e| match e {
            Got::Error { path: p, message } if p == path => Some(message.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error for {path}: {evs:#?}"))
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

fn build_zip(entries: &[(&str, &[u8], SimpleFileOptions)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, opts) in entries {
        w.start_file(*name, *opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A folder's compression and its (name, data) members.
type CabFolder<'a> = (cab::CompressionType, &'a [(&'a str, &'a [u8])]);

/// A cab built with the `cab` crate's writer: one folder per entry group.
fn build_cab(folders: &[CabFolder<'_>]) -> Vec<u8> {
    let mut builder = cab::CabinetBuilder::new();
    for (ctype, members) in folders {
        let folder = builder.add_folder(*ctype);
        for (name, _) in *members {
            folder.add_file(*name);
        }
    }
    let mut writer = builder.build(Cursor::new(Vec::new())).unwrap();
    let all: Vec<&[u8]> = folders.iter().flat_map(|(_, m)| m.iter().map(|(_, d)| *d)).collect();
    let mut i = 0;
    while let Some(mut fw) = writer.next_file().unwrap() {
        fw.write_all(all[i]).unwrap();
        i += 1;
    }
    writer.finish().unwrap().into_inner()
}

fn log_text(tag: &str, lines: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..lines {
        s.push_str(&format!(
            "2025-10-14 03:12:{:02}, Info                  CBS    {tag} line {i}: Exec: Processing complete.\r\n",
            i % 60
        ));
    }
    s.into_bytes()
}

/// Incompressible bytes (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn has_tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

// ---------------------------------------------------------------------------
// Zips built here
// ---------------------------------------------------------------------------

#[test]
fn zip_plain_members_stored_and_deflate() {
    let a = log_text("a", 200);
    let b = log_text("b", 3000);
    let zip = build_zip(&[
        ("Windows\\Logs\\CBS\\CBS.log", &a, stored()),
        ("Panther/setupact.log", &b, deflated()),
        ("empty.txt", b"", deflated()),
    ]);
    let evs = run("bundle.zip", &zip, &Limits::default());
    assert!(matches!(&evs[0], Got::Archive { path, kind: ArchiveKind::Zip } if path == "bundle.zip"));
    assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
    let f = files(&evs);
    assert_eq!(f.len(), 3);
    assert_eq!(f["bundle.zip!Windows/Logs/CBS/CBS.log"], a);
    assert_eq!(f["bundle.zip!Panther/setupact.log"], b);
    assert_eq!(f["bundle.zip!empty.txt"], b"");
    for e in &evs {
        if let Got::File { size, data, err, .. } = e {
            assert_eq!(*size, Some(data.len() as u64));
            assert!(err.is_none());
        }
    }
}

#[test]
fn empty_zip_is_an_archive_with_nothing_in_it() {
    let zip = build_zip(&[]);
    assert!(zip.starts_with(b"PK\x05\x06"));
    assert_eq!(sniff(&zip), Some(ArchiveKind::Zip));
    let evs = run("empty.zip", &zip, &Limits::default());
    assert_eq!(archives(&evs), vec![("empty.zip".to_string(), ArchiveKind::Zip)]);
    assert_eq!(evs.len(), 1);
}

#[test]
fn not_an_archive_is_an_error() {
    let evs = run("CBS.log", b"2025-10-14 03:12:05, Info CBS hello", &Limits::default());
    assert_eq!(evs.len(), 1);
    assert!(error_for(&evs, "CBS.log").contains("not a zip, cab, tar or gzip"));
}

#[test]
fn callback_may_read_nothing_or_part() {
    let a = log_text("a", 5000);
    let zip = build_zip(&[("a.log", &a, deflated()), ("b.log", b"bee", stored())]);
    let mut seen = Vec::new();
    walk("x.zip", Cursor::new(&zip), &Limits::default(), &mut |ev| match ev {
        Event::File { path, reader, .. } => {
            let mut buf = [0u8; 10];
            if path.ends_with("a.log") {
                reader.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, &a[..10]);
            }
            seen.push(path.to_string());
        }
        Event::Error { path, message } => panic!("{path}: {message}"),
        Event::Archive { .. } => {}
    });
    assert_eq!(seen, ["x.zip!a.log", "x.zip!b.log"]);
}

#[test]
fn nested_zip_in_zip() {
    let inner =
        build_zip(&[("CbsPersist_1.log", &log_text("inner", 100), deflated()), ("sub\\dism.log", b"dism", stored())]);
    let outer = build_zip(&[
        ("first.log", b"first", stored()),
        ("Logs/inner.zip", &inner, deflated()),
        ("last.log", b"last", deflated()),
    ]);
    let evs = run("outer.zip", &outer, &Limits::default());
    assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
    assert_eq!(
        archives(&evs),
        vec![("outer.zip".to_string(), ArchiveKind::Zip), ("outer.zip!Logs/inner.zip".to_string(), ArchiveKind::Zip)]
    );
    let paths: Vec<&str> = evs
        .iter()
        .filter_map(|e| match e {
            Got::File { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    // Depth-first, in archive order.
    assert_eq!(
        paths,
        [
            "outer.zip!first.log",
            "outer.zip!Logs/inner.zip!CbsPersist_1.log",
            "outer.zip!Logs/inner.zip!sub/dism.log",
            "outer.zip!last.log"
        ]
    );
    assert_eq!(files(&evs)["outer.zip!Logs/inner.zip!sub/dism.log"], b"dism");
}

#[test]
fn traversal_names_are_labels_only() {
    let zip = build_zip(&[
        ("../../etc/passwd", b"root:x:0:0", stored()),
        ("/abs", b"abs", deflated()),
        ("C:\\x", b"cx", stored()),
        ("ok.log", b"ok", stored()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let before = std::env::current_dir().unwrap();
    let evs = run("t.zip", &zip, &Limits::default());
    assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
    let f = files(&evs);
    assert_eq!(f["t.zip!../../etc/passwd"], b"root:x:0:0");
    assert_eq!(f["t.zip!/abs"], b"abs");
    assert_eq!(f["t.zip!C:/x"], b"cx");
    assert_eq!(f["t.zip!ok.log"], b"ok");
    // Nothing is written anywhere.
    assert_eq!(std::env::current_dir().unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// LSB-first bit writer for a hand-made deflate stream.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, v: u64, bits: u32) {
        self.acc |= v << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let rev = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(rev, len);
    }
}

/// One dynamic-Huffman deflate block: a literal 0 then `matches` copies of
/// (length 258, distance 1), 2 bits each: 1 + 258 * matches zeros at about
/// 1032:1, the best deflate can do. Compressing 200 MB in a debug build
/// takes tens of seconds; writing this takes none.
fn zero_bomb_deflate(matches: u64) -> Vec<u8> {
    let mut b = Bits { out: Vec::new(), acc: 0, n: 0 };
    b.put(1, 1); // BFINAL
    b.put(2, 2); // dynamic Huffman
    b.put(29, 5); // HLIT: 286 literal/length codes
    b.put(1, 5); // HDIST: 2 distance codes
    b.put(14, 4); // HCLEN: 18 code length codes
                  // Code length code lengths, in the format's order
                  // 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1: 18 -> 1 bit, 2 and 1 -> 2 bits.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        b.put(len, 3);
    }
    // Codes: 18 = "0", 1 = "10", 2 = "11".
    let (two, one) = ((0b11, 2), (0b10, 2));
    b.code(two.0, two.1); // literal 0: length 2
    b.code(0, 1); // 138 zeros (1..=138)
    b.put(127, 7);
    b.code(0, 1); // 117 zeros (139..=255)
    b.put(106, 7);
    b.code(two.0, two.1); // 256 (end of block): length 2
    b.code(0, 1); // 28 zeros (257..=284)
    b.put(17, 7);
    b.code(one.0, one.1); // 285 (length 258): length 1
    b.code(one.0, one.1); // distance code 0: length 1
    b.code(one.0, one.1); // distance code 1: length 1
                          // Literal/length codes: 285 = "0", 0 = "10", 256 = "11"; distance 0 = "0".
    b.code(0b10, 2);
    for _ in 0..matches {
        b.put(0, 2);
    }
    b.code(0b11, 2);
    if b.n > 0 {
        b.out.push(b.acc as u8);
    }
    b.out
}

/// A one-entry zip around raw deflate data (CRC left 0: the walk stops at
/// a limit long before the end, where the CRC would be checked).
fn raw_deflate_zip(name: &str, data: &[u8], size: u32) -> Vec<u8> {
    let mut z = Vec::new();
    let n = name.len() as u16;
    z.extend_from_slice(b"PK\x03\x04");
    for v in [20u16, 0, 8, 0, 0x21] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    for v in [0u32, data.len() as u32, size] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(data);
    let cd_at = z.len() as u32;
    z.extend_from_slice(b"PK\x01\x02");
    for v in [20u16, 20, 0, 8, 0, 0x21] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    for v in [0u32, data.len() as u32, size] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    for v in [n, 0, 0, 0, 0] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    z.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    z.extend_from_slice(name.as_bytes());
    let cd_len = z.len() as u32 - cd_at;
    z.extend_from_slice(b"PK\x05\x06");
    for v in [0u16, 0, 1, 1] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&cd_at.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

#[test]
fn zip_bomb_hits_the_ratio_limit_and_the_rest_is_delivered() {
    // 200 MB of zeros, deflated (about 200 KB), between two small members.
    let matches = 812_849u64;
    let size = 1 + 258 * matches;
    assert!(size > 200_000_000);
    let bomb = raw_deflate_zip("bomb.log", &zero_bomb_deflate(matches), size as u32);
    let mut src = zip::ZipArchive::new(Cursor::new(bomb)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("before.log", stored()).unwrap();
    w.write_all(b"before").unwrap();
    w.raw_copy_file(src.by_index_raw(0).unwrap()).unwrap();
    w.start_file("after.log", deflated()).unwrap();
    w.write_all(b"after").unwrap();
    let zip = w.finish().unwrap().into_inner();
    assert!(zip.len() < 1 << 20, "bomb is {} bytes", zip.len());

    let t = Instant::now();
    let evs = run("bomb.zip", &zip, &Limits::default());
    let msg = error_for(&evs, "bomb.zip!bomb.log");
    assert!(msg.contains("max_ratio"), "{msg}");
    let f = files(&evs);
    assert_eq!(f["bomb.zip!before.log"], b"before");
    assert_eq!(f["bomb.zip!after.log"], b"after");
    // Zeros, stopped soon after 1 MiB, not after 200 MB.
    let got = &f["bomb.zip!bomb.log"];
    assert!(got.len() >= 1 << 20 && got.len() < 4 << 20, "{}", got.len());
    assert!(got.iter().all(|&b| b == 0));
    assert!(t.elapsed() < Duration::from_secs(20));

    // The reader's own error names the limit too.
    let mut read_err = None;
    walk("bomb.zip", Cursor::new(&zip), &Limits::default(), &mut |ev| {
        if let Event::File { path, reader, .. } = ev {
            if path.ends_with("bomb.log") {
                read_err = std::io::copy(reader, &mut std::io::sink()).err();
            }
        }
    });
    assert!(read_err.unwrap().to_string().contains("max_ratio"));

    // With a laxer ratio but a total limit, the total is what stops it.
    let limits = Limits { max_ratio: 1_000_000, max_total_bytes: 50 << 20, ..Limits::default() };
    let evs = run("bomb.zip", &zip, &limits);
    let msg = error_for(&evs, "bomb.zip!bomb.log");
    assert!(msg.contains("max_total_bytes"), "{msg}");
    assert_eq!(files(&evs)["bomb.zip!before.log"], b"before");
    assert_eq!(files(&evs)["bomb.zip!bomb.log"].len(), (50 << 20) - 6);
    // after.log is past the total: the archive says it was not read.
    assert!(error_for(&evs, "bomb.zip").contains("max_total_bytes"));
}

/// Offsets of the central-directory entries of a zip without a comment.
fn zip_cd_entries(zip: &[u8]) -> Vec<usize> {
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], b"PK\x05\x06");
    let n = u16::from_le_bytes(zip[eocd + 10..eocd + 12].try_into().unwrap()) as usize;
    let mut at = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    for _ in 0..n {
        assert_eq!(&zip[at..at + 4], b"PK\x01\x02");
        out.push(at);
        let len = |o: usize| u16::from_le_bytes(zip[at + o..at + o + 2].try_into().unwrap()) as usize;
        at += 46 + len(28) + len(30) + len(32);
    }
    out
}

#[test]
fn zip_entries_pointing_at_one_local_entry_are_read_once() {
    let data = log_text("same", 5000);
    let names: Vec<String> = (0..50).map(|i| format!("copy{i:04}.log")).collect();
    let mut entries: Vec<(&str, &[u8], SimpleFileOptions)> =
        names.iter().map(|n| (n.as_str(), data.as_slice(), deflated())).collect();
    entries.push(("tail.log", b"tail", stored()));
    let mut zip = build_zip(&entries);
    // Every copy's central-directory entry now points at copy0000.log.
    for at in zip_cd_entries(&zip).into_iter().take(50) {
        zip[at + 42..at + 46].copy_from_slice(&0u32.to_le_bytes());
    }
    let evs = run("same.zip", &zip, &Limits::default());
    let f = files(&evs);
    assert_eq!(f["same.zip!copy0000.log"], data);
    assert_eq!(f["same.zip!tail.log"], b"tail");
    assert_eq!(f.len(), 2, "{:?}", f.keys());
    for n in &names[1..] {
        let msg = error_for(&evs, &format!("same.zip!{n}"));
        assert!(msg.contains("overlaps member copy0000.log"), "{msg}");
    }
    // An entry whose local header lies inside another's data (a stored zip
    // holding the same entry) is refused the same way.
    let inner = build_zip(&[("b.log", b"bee", stored())]);
    let mut zip = build_zip(&[("a.log", &inner, stored()), ("b.log", b"bee", stored())]);
    let at = zip.windows(inner.len()).position(|w| w == inner.as_slice()).unwrap() as u32;
    let cd = zip_cd_entries(&zip);
    zip[cd[1] + 42..cd[1] + 46].copy_from_slice(&at.to_le_bytes());
    let evs = run("in.zip", &zip, &Limits::default());
    assert!(archives(&evs).iter().any(|(p, _)| p == "in.zip!a.log"), "{:?}", errors(&evs));
    let msg = error_for(&evs, "in.zip!b.log");
    assert!(msg.contains("overlaps member a.log"), "{msg}");
}

#[test]
fn total_bytes_limit_lowered() {
    let parts: Vec<Vec<u8>> = (0..5).map(|i| vec![b'a' + i as u8; 100_000]).collect();
    let names: Vec<String> = (0..5).map(|i| format!("m{i}.log")).collect();
    let entries: Vec<(&str, &[u8], SimpleFileOptions)> =
        names.iter().zip(&parts).map(|(n, p)| (n.as_str(), p.as_slice(), stored())).collect();
    let zip = build_zip(&entries);
    let limits = Limits { max_total_bytes: 250_000, ..Limits::default() };
    let evs = run("t.zip", &zip, &limits);
    let f = files(&evs);
    assert_eq!(f["t.zip!m0.log"], parts[0]);
    assert_eq!(f["t.zip!m1.log"], parts[1]);
    assert!(error_for(&evs, "t.zip!m2.log").contains("max_total_bytes"));
    assert_eq!(f["t.zip!m2.log"].len(), 50_000);
    let stop = error_for(&evs, "t.zip");
    assert!(stop.contains("max_total_bytes") && stop.contains("2 member(s) not read"), "{stop}");
    assert!(!f.contains_key("t.zip!m3.log"));
}

#[test]
fn member_count_and_size_limits() {
    let big = vec![b'x'; 5000];
    let names: Vec<String> = (0..10).map(|i| format!("f{i}.log")).collect();
    let mut entries: Vec<(&str, &[u8], SimpleFileOptions)> =
        names.iter().map(|n| (n.as_str(), &b"small"[..], stored())).collect();
    entries[1].1 = &big;
    let zip = build_zip(&entries);
    let limits = Limits { max_members: 4, max_member_bytes: 1000, ..Limits::default() };
    let evs = run("c.zip", &zip, &limits);
    let f = files(&evs);
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!(f["c.zip!f0.log"], b"small");
    assert_eq!(f["c.zip!f3.log"], b"small");
    assert!(error_for(&evs, "c.zip!f1.log").contains("max_member_bytes"));
    let m = error_for(&evs, "c.zip");
    assert!(m.contains("max_members") && m.contains("6 were not read"), "{m}");
}

#[test]
fn nesting_past_the_depth_limit() {
    // z0 (top) > z1 > z2 > z3 > z4 > z5, each with a log beside the next zip.
    let mut cur = build_zip(&[("l5.log", b"5", stored())]);
    for level in (0..5).rev() {
        let log = format!("l{level}.log");
        let child = format!("z{}.zip", level + 1);
        cur = build_zip(&[(child.as_str(), &cur, deflated()), (log.as_str(), level.to_string().as_bytes(), stored())]);
    }
    let limits = Limits { max_depth: 3, ..Limits::default() };
    let evs = run("z0.zip", &cur, &limits);
    let entered: Vec<String> = archives(&evs).into_iter().map(|(p, _)| p).collect();
    assert_eq!(entered, ["z0.zip", "z0.zip!z1.zip", "z0.zip!z1.zip!z2.zip", "z0.zip!z1.zip!z2.zip!z3.zip"]);
    let msg = error_for(&evs, "z0.zip!z1.zip!z2.zip!z3.zip!z4.zip");
    assert!(msg.contains("max_depth"), "{msg}");
    let f = files(&evs);
    assert_eq!(f.len(), 4, "{f:?}");
    assert_eq!(f["z0.zip!l0.log"], b"0");
    assert_eq!(f["z0.zip!z1.zip!z2.zip!z3.zip!l3.log"], b"3");
    assert_eq!(errors(&evs).len(), 1);

    // With the default depth (3) as well; and depth 5 gets to the bottom.
    let evs = run("z0.zip", &cur, &Limits { max_depth: 5, ..Limits::default() });
    assert!(errors(&evs).is_empty());
    assert_eq!(files(&evs).len(), 6);
}

/// Set the "encrypted" flag, or change the method, in every header of a zip.
fn patch_zip(mut zip: Vec<u8>, encrypted: bool, method: Option<u16>) -> Vec<u8> {
    let mut i = 0;
    while i + 4 <= zip.len() {
        let (flag_at, method_at) = match &zip[i..i + 4] {
            b"PK\x03\x04" => (i + 6, i + 8),
            b"PK\x01\x02" => (i + 8, i + 10),
            _ => {
                i += 1;
                continue;
            }
        };
        if encrypted {
            zip[flag_at] |= 1;
        }
        if let Some(m) = method {
            zip[method_at..method_at + 2].copy_from_slice(&m.to_le_bytes());
        }
        i += 4;
    }
    zip
}

#[test]
fn encrypted_and_unsupported_members() {
    let one = build_zip(&[("secret.log", b"hidden", stored())]);
    let enc = patch_zip(one.clone(), true, None);
    let evs = run("e.zip", &enc, &Limits::default());
    assert!(error_for(&evs, "e.zip!secret.log").contains("encrypted"));
    assert!(files(&evs).is_empty());

    let bz = patch_zip(one, false, Some(12));
    let evs = run("b.zip", &bz, &Limits::default());
    let m = error_for(&evs, "b.zip!secret.log");
    assert!(m.contains("unsupported") && m.contains("bzip2"), "{m}");

    // Inside an outer zip, the other members still come through.
    let outer = build_zip(&[("inner.zip", &enc, stored()), ("fine.log", b"fine", stored())]);
    let evs = run("o.zip", &outer, &Limits::default());
    assert!(error_for(&evs, "o.zip!inner.zip!secret.log").contains("encrypted"));
    assert_eq!(files(&evs)["o.zip!fine.log"], b"fine");
}

#[test]
fn damaged_zip_member_is_an_error() {
    let data = log_text("x", 2000);
    let mut zip = build_zip(&[("a.log", &data, deflated()), ("b.log", b"bee", stored())]);
    // Flip bytes in the middle of a.log's compressed data.
    let mid = 30 + "a.log".len() + 200;
    for b in &mut zip[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let evs = run("d.zip", &zip, &Limits::default());
    assert!(!error_for(&evs, "d.zip!a.log").is_empty());
    assert_eq!(files(&evs)["d.zip!b.log"], b"bee");

    // Truncated: the directory is gone.
    let evs = run("t.zip", &zip[..zip.len() / 2], &Limits::default());
    assert!(error_for(&evs, "t.zip").contains("zip"));
}

#[test]
fn inspect_lists_zip_members() {
    let inner = build_zip(&[("in.log", b"in", stored())]);
    let zip = build_zip(&[("a.log", &log_text("a", 100), deflated()), ("inner.zip", &inner, stored())]);
    let ins = inspect("x.zip", Cursor::new(&zip), &Limits::default());
    assert_eq!(ins.kind, "zip");
    assert!(ins.errors.is_empty(), "{:?}", ins.errors);
    let paths: Vec<&str> = ins.members.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["a.log", "inner.zip", "inner.zip!in.log"]);
    assert_eq!(ins.members[0].method, "deflate");
    assert!(ins.members[0].compressed.unwrap() < ins.members[0].size.unwrap());
    assert_eq!(ins.members[1].method, "stored");
    assert!(ins.packages.is_empty());
}

// ---------------------------------------------------------------------------
// Cabs built here
// ---------------------------------------------------------------------------

#[test]
fn cab_in_zip_built_with_the_cab_writer() {
    let log = log_text("persist", 4000);
    let other = log_text("other", 10);
    let cab = build_cab(&[(
        cab::CompressionType::MsZip,
        &[("CbsPersist_20251014031205.log", &log), ("sub\\other.log", &other)],
    )]);
    let zip = build_zip(&[
        ("Windows/Logs/CBS/CbsPersist_20251014031205.cab", &cab, deflated()),
        ("Windows/Logs/CBS/CBS.log", b"cbs", stored()),
    ]);
    let evs = run("bundle.zip", &zip, &Limits::default());
    assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
    let f = files(&evs);
    assert_eq!(f["bundle.zip!Windows/Logs/CBS/CbsPersist_20251014031205.cab!CbsPersist_20251014031205.log"], log);
    assert_eq!(f["bundle.zip!Windows/Logs/CBS/CbsPersist_20251014031205.cab!sub/other.log"], other);
    assert_eq!(f["bundle.zip!Windows/Logs/CBS/CBS.log"], b"cbs");
    assert!(archives(&evs)
        .contains(&("bundle.zip!Windows/Logs/CBS/CbsPersist_20251014031205.cab".to_string(), ArchiveKind::Cab)));
}

#[test]
fn cab_in_zip_built_with_gcab() {
    if !has_tool("gcab") {
        eprintln!("skipped: gcab is not installed (apt-get install gcab)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = log_text("gcab", 3000);
    std::fs::write(dir.path().join("CbsPersist_20251014031205.log"), &log).unwrap();
    std::fs::write(dir.path().join("second.log"), b"second").unwrap();
    for compress in [false, true] {
        let cab_path = dir.path().join("out.cab");
        let _ = std::fs::remove_file(&cab_path);
        let mut cmd = Command::new("gcab");
        cmd.current_dir(dir.path()).arg("-c");
        if compress {
            cmd.arg("-z");
        }
        let st = cmd.arg("out.cab").arg("CbsPersist_20251014031205.log").arg("second.log").status().unwrap();
        assert!(st.success());
        let cab = std::fs::read(&cab_path).unwrap();
        let zip = build_zip(&[("Windows/Logs/CBS/CbsPersist_20251014031205.cab", &cab, deflated())]);
        let evs = run("bundle.zip", &zip, &Limits::default());
        assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
        let f = files(&evs);
        assert_eq!(f["bundle.zip!Windows/Logs/CBS/CbsPersist_20251014031205.cab!CbsPersist_20251014031205.log"], log);
        assert_eq!(f["bundle.zip!Windows/Logs/CBS/CbsPersist_20251014031205.cab!second.log"], b"second");
        let ins = inspect("bundle.zip", Cursor::new(&zip), &Limits::default());
        let m = ins.members.iter().find(|m| m.path.ends_with("!second.log")).unwrap();
        assert_eq!(m.method, if compress { "mszip" } else { "none" });
    }
}

#[test]
fn cab_folders_are_independent() {
    // Three folders: stored, MSZIP, MSZIP; one member of each is big.
    let a = log_text("a", 3000);
    let b = log_text("b", 20_000);
    let c = log_text("c", 50);
    let cab = build_cab(&[
        (cab::CompressionType::None, &[("a.log", &a), ("a2.log", b"a2")]),
        (cab::CompressionType::MsZip, &[("b.log", &b), ("b2.log", b"b2")]),
        (cab::CompressionType::MsZip, &[("c.log", &c)]),
    ]);
    let evs = run("f.cab", &cab, &Limits::default());
    assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
    let f = files(&evs);
    assert_eq!(f["f.cab!a.log"], a);
    assert_eq!(f["f.cab!a2.log"], b"a2");
    assert_eq!(f["f.cab!b.log"], b);
    assert_eq!(f["f.cab!b2.log"], b"b2");
    assert_eq!(f["f.cab!c.log"], c);

    // A callback that reads nothing still gets every member, in order.
    let mut seen = Vec::new();
    walk("f.cab", Cursor::new(&cab), &Limits::default(), &mut |ev| {
        if let Event::File { path, .. } = ev {
            seen.push(path.to_string());
        }
    });
    assert_eq!(seen.len(), 5);

    // Size and ratio limits inside a cab: the folder goes on after them.
    let zeros = vec![0u8; 3 << 20];
    let cab = build_cab(&[
        (cab::CompressionType::MsZip, &[("zeros.bin", &zeros), ("after.log", b"after")]),
        (cab::CompressionType::MsZip, &[("other.log", &c)]),
    ]);
    let evs = run("r.cab", &cab, &Limits { max_ratio: 20, ..Limits::default() });
    assert!(error_for(&evs, "r.cab!zeros.bin").contains("max_ratio"));
    // Skipping the rest of zeros.bin decodes it too: past the ratio the
    // whole cabinet may produce, so the walk stops there.
    assert!(!files(&evs).contains_key("r.cab!after.log"));
    assert!(error_for(&evs, "r.cab").contains("over the whole archive"), "{evs:?}");
    // In a cabinet big enough for the bytes skipped (incompressible data
    // beside), the folder goes on after it.
    let noise = noise(256 << 10);
    let cab = build_cab(&[
        (cab::CompressionType::MsZip, &[("zeros.bin", &zeros), ("after.log", b"after")]),
        (cab::CompressionType::MsZip, &[("other.log", &c)]),
        (cab::CompressionType::None, &[("noise.bin", &noise)]),
    ]);
    let evs = run("r.cab", &cab, &Limits { max_ratio: 20, ..Limits::default() });
    assert!(error_for(&evs, "r.cab!zeros.bin").contains("max_ratio"));
    assert_eq!(files(&evs)["r.cab!after.log"], b"after");
    assert_eq!(files(&evs)["r.cab!other.log"], c);
    assert_eq!(files(&evs)["r.cab!noise.bin"], noise);
    let evs = run("r.cab", &cab, &Limits { max_member_bytes: 1 << 20, ..Limits::default() });
    assert!(error_for(&evs, "r.cab!zeros.bin").contains("max_member_bytes"));
    assert_eq!(files(&evs)["r.cab!after.log"], b"after");
}

/// Offsets of the CFFILE entries of a cab made by `build_cab` (no reserve).
fn cffile_entries(cab: &[u8]) -> Vec<usize> {
    let files_at = u32::from_le_bytes(cab[16..20].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(cab[28..30].try_into().unwrap()) as usize;
    let mut at = files_at;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(at);
        at += 16;
        while cab[at] != 0 {
            at += 1;
        }
        at += 1;
    }
    out
}

#[test]
fn cab_members_sharing_data_are_refused() {
    let cab = build_cab(&[(cab::CompressionType::MsZip, &[("a.log", b"0123456789"), ("b.log", b"abcde")])]);
    let mut cab = cab;
    let e = cffile_entries(&cab);
    // b.log now starts at offset 0, overlapping a.log.
    cab[e[1] + 4..e[1] + 8].copy_from_slice(&0u32.to_le_bytes());
    let evs = run("o.cab", &cab, &Limits::default());
    let f = files(&evs);
    assert_eq!(f["o.cab!a.log"], b"0123456789");
    assert!(!f.contains_key("o.cab!b.log"));
    assert!(error_for(&evs, "o.cab!b.log").contains("overlaps member a.log"), "{evs:?}");
}

/// A cab whose folder holds `data` (MSZIP) and whose file table lists it
/// `copies` times at offset 0, then `tail.log` in a folder of its own.
fn cab_with_copies(data: &[u8], copies: usize) -> Vec<u8> {
    let names: Vec<String> = (0..copies).map(|i| format!("copy{i}.log")).collect();
    let mut members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    members[0].1 = data;
    let mut cab =
        build_cab(&[(cab::CompressionType::MsZip, &members), (cab::CompressionType::None, &[("tail.log", b"tail")])]);
    let size = (data.len() as u32).to_le_bytes();
    for (k, at) in cffile_entries(&cab).into_iter().enumerate().take(copies) {
        cab[at..at + 4].copy_from_slice(&size);
        if k > 0 {
            // Offset 0 in folder 0: the same bytes as copy0.log.
            cab[at + 4..at + 8].copy_from_slice(&0u32.to_le_bytes());
        }
    }
    cab
}

#[test]
fn cab_entries_at_one_offset_are_decoded_once() {
    let data = log_text("same", 20_000);
    let cab = cab_with_copies(&data, 20);
    let evs = run("same.cab", &cab, &Limits::default());
    let f = files(&evs);
    assert_eq!(f["same.cab!copy0.log"], data);
    assert_eq!(f["same.cab!tail.log"], b"tail");
    for i in 1..20 {
        let msg = error_for(&evs, &format!("same.cab!copy{i}.log"));
        assert!(msg.contains("overlaps member copy0.log"), "{msg}");
    }
    assert_eq!(f.len(), 2, "{:?}", f.keys());
}

#[test]
fn cab_folders_sharing_data_blocks_are_refused() {
    let a = log_text("a", 3000);
    let mut cab = build_cab(&[
        (cab::CompressionType::MsZip, &[("a.log", &a)]),
        (cab::CompressionType::MsZip, &[("b.log", &a)]),
        (cab::CompressionType::None, &[("c.log", b"c")]),
    ]);
    // Folder 1 (CFFOLDER at 36 + 8) now starts at folder 0's first block.
    let first = cab[36..40].to_vec();
    cab[44..48].copy_from_slice(&first);
    let evs = run("f.cab", &cab, &Limits::default());
    let f = files(&evs);
    assert_eq!(f["f.cab!a.log"], a);
    assert_eq!(f["f.cab!c.log"], b"c");
    assert!(error_for(&evs, "f.cab!b.log").contains("overlap folder 0"), "{evs:?}");
}

#[test]
fn bytes_skipped_in_a_cab_folder_count_against_the_whole_archive() {
    // a.log claims 1 byte of 8 MiB of zeros: reaching b.log behind them
    // decodes all of them, far past what the small cabinet may produce.
    let zeros = vec![0u8; 8 << 20];
    let mut cab = build_cab(&[
        (cab::CompressionType::MsZip, &[("a.log", &zeros), ("b.log", b"b")]),
        (cab::CompressionType::None, &[("c.log", b"c")]),
    ]);
    assert!(cab.len() < 64 << 10, "{}", cab.len());
    let e = cffile_entries(&cab);
    cab[e[0]..e[0] + 4].copy_from_slice(&1u32.to_le_bytes());
    let evs = run("skip.cab", &cab, &Limits { max_ratio: 20, ..Limits::default() });
    assert_eq!(files(&evs)["skip.cab!a.log"], b"\0");
    let msg = error_for(&evs, "skip.cab!b.log");
    assert!(msg.contains("over the whole archive"), "{msg}");
    assert!(error_for(&evs, "skip.cab").contains("1 member(s) not read"), "{evs:?}");
}

#[test]
fn quantum_folder_built_here_is_unsupported() {
    let mut cab = build_cab(&[
        (cab::CompressionType::None, &[("q.log", b"quantum?")]),
        (cab::CompressionType::MsZip, &[("ok.log", b"fine")]),
    ]);
    // First CFFOLDER (at 36, no reserve): typeCompress = Quantum level 7, window 21.
    cab[36 + 6..36 + 8].copy_from_slice(&0x1572u16.to_le_bytes());
    let evs = run("q.cab", &cab, &Limits::default());
    assert!(error_for(&evs, "q.cab!q.log").contains("Quantum compression is not supported"));
    assert_eq!(files(&evs)["q.cab!ok.log"], b"fine");
    let ins = inspect("q.cab", Cursor::new(&cab), &Limits::default());
    assert_eq!(ins.members[0].method, "quantum");
    assert_eq!(ins.members[0].path, "q.log");
}

#[test]
fn truncated_cab_is_an_error_not_a_panic() {
    let data = log_text("t", 5000);
    let cab = build_cab(&[(cab::CompressionType::MsZip, &[("t.log", &data)])]);
    for cut in [10, 40, 60, 100, cab.len() / 2, cab.len() - 1] {
        let evs = run("t.cab", &cab[..cut], &Limits::default());
        assert!(!errors(&evs).is_empty(), "cut at {cut}: {evs:?}");
    }
    // Garbage in the compressed data.
    let mut bad = cab.clone();
    let n = bad.len();
    for b in &mut bad[n - 300..n - 200] {
        *b = 0xff;
    }
    let evs = run("g.cab", &bad, &Limits::default());
    assert!(!errors(&evs).is_empty());
}

// ---------------------------------------------------------------------------
// WIM payloads
// ---------------------------------------------------------------------------

fn fake_wim() -> Vec<u8> {
    let mut w = b"MSWIM\0\0\0".to_vec();
    w.extend_from_slice(&208u32.to_le_bytes());
    w.resize(4096, 0xab);
    w
}

#[test]
fn wim_payload_is_reported_unsupported() {
    let wim = fake_wim();
    assert_eq!(sniff(&wim), Some(ArchiveKind::Wim));
    let zip = build_zip(&[
        ("Windows10.0-KB5031356-x64.wim", &wim, deflated()),
        ("Windows10.0-KB5031356-x64.psf", b"PSTREAM", stored()),
        ("Windows10.0-KB5031356-x64-pkgProperties.txt", b"KB Article Number=\"5031356\"\r\n", stored()),
    ]);
    let evs = run("u.zip", &zip, &Limits::default());
    assert!(archives(&evs).contains(&("u.zip!Windows10.0-KB5031356-x64.wim".to_string(), ArchiveKind::Wim)));
    let m = error_for(&evs, "u.zip!Windows10.0-KB5031356-x64.wim");
    assert!(m.contains("WIM") && m.contains("not supported"), "{m}");
    assert_eq!(files(&evs).len(), 2);

    // In a cab (an .msu), too.
    let msu = build_cab(&[(
        cab::CompressionType::MsZip,
        &[
            ("Windows11.0-KB5031354-x64.wim", &wim),
            ("Windows11.0-KB5031354-x64-pkgProperties.txt", b"Package Type=\"Update\"\r\n"),
        ],
    )]);
    let evs = run("k.msu", &msu, &Limits::default());
    assert!(error_for(&evs, "k.msu!Windows11.0-KB5031354-x64.wim").contains("not supported"));
    assert_eq!(files(&evs).len(), 1);

    // A WIM given directly.
    let evs = run("x.wim", &wim, &Limits::default());
    assert_eq!(archives(&evs), vec![("x.wim".to_string(), ArchiveKind::Wim)]);
    assert!(error_for(&evs, "x.wim").contains("not supported"));
    let ins = inspect("x.wim", Cursor::new(&wim), &Limits::default());
    assert_eq!(ins.kind, "wim");
    assert_eq!(ins.errors.len(), 1);
}

// ---------------------------------------------------------------------------
// Real Microsoft cabinets and cabextract's regression cabs
// ---------------------------------------------------------------------------

fn cab_dir() -> Option<PathBuf> {
    match std::env::var_os("SERVICING_DOCTOR_SHARED") {
        Some(s) => Some(PathBuf::from(s).join("corpus/artifacts/cab")),
        None => {
            eprintln!("skipped: SERVICING_DOCTOR_SHARED is not set");
            None
        }
    }
}

fn walk_file(path: &Path) -> Vec<Got> {
    let bytes = std::fs::read(path).unwrap();
    run(path.file_name().unwrap().to_str().unwrap(), &bytes, &Limits::default())
}

/// Every leaf file cabextract pulls out of `cab`, nested cabs opened too,
/// keyed like our display paths.
fn cabextract_tree(cab: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("cabextract").arg("-q").arg("-d").arg(dir.path()).arg(cab).output().unwrap();
    assert!(o.status.success(), "cabextract {}: {:?}", cab.display(), o);
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir.path()).unwrap().to_str().unwrap().replace('\\', "/");
            let key = format!("{prefix}!{rel}");
            let bytes = std::fs::read(&p).unwrap();
            if bytes.starts_with(b"MSCF") {
                cabextract_tree(&p, &key, out);
            } else {
                out.insert(key, bytes);
            }
        }
    }
}

#[test]
fn real_cabinets_decode_byte_exact() {
    let Some(dir) = cab_dir() else { return };
    let derived = dir.join("derived_from_KB2999226_msu");
    let cabs = [
        dir.join("Windows6.1-KB2999226-x64.msu"),
        dir.join("Windows6.1-KB3118401-x64.msu"),
        dir.join("authrootstl.cab"),
        derived.join("WSUSSCAN.cab"),
        derived.join("Windows6.1-KB2999226-x64.cab"),
    ];
    let cabextract = has_tool("cabextract");
    if !cabextract {
        eprintln!("cabextract is not installed: byte comparison against it skipped (apt-get install cabextract)");
    }
    let mut decoded = BTreeMap::new();
    for cab in &cabs {
        let name = cab.file_name().unwrap().to_str().unwrap();
        let evs = walk_file(cab);
        assert!(errors(&evs).is_empty(), "{name}: {:?}", errors(&evs));
        let ours = files(&evs);
        assert!(!ours.is_empty(), "{name}");
        for e in &evs {
            if let Got::File { path, size, data, err } = e {
                assert!(err.is_none(), "{path}: {err:?}");
                assert_eq!(*size, Some(data.len() as u64), "{path}");
            }
        }
        if cabextract {
            let mut theirs = BTreeMap::new();
            cabextract_tree(cab, name, &mut theirs);
            assert_eq!(
                ours.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>(),
                "{name}: member lists differ"
            );
            for (k, v) in &theirs {
                assert!(ours[k] == *v, "{k}: bytes differ from cabextract");
            }
            eprintln!("{name}: {} members byte-identical to cabextract", ours.len());
        }
        decoded.extend(ours);
    }
    // The members pulled out with cabextract and kept in the corpus.
    let msu = "Windows6.1-KB2999226-x64.msu";
    for (member, file) in [
        ("Windows6.1-KB2999226-x64-pkgProperties.txt", "Windows6.1-KB2999226-x64-pkgProperties.txt"),
        ("Windows6.1-KB2999226-x64.xml", "Windows6.1-KB2999226-x64.xml"),
        ("Windows6.1-KB2999226-x64.cab!update.mum", "update.mum"),
        (
            "Windows6.1-KB2999226-x64.cab!package_1_for_kb2999226~31bf3856ad364e35~amd64~~6.1.1.6.mum",
            "package_1_for_kb2999226~31bf3856ad364e35~amd64~~6.1.1.6.mum",
        ),
    ] {
        let key = format!("{msu}!{member}");
        let expected = std::fs::read(derived.join(file)).unwrap();
        assert!(decoded.get(&key) == Some(&expected), "{key}");
    }
    // Both msus: nested cabs entered, LZX inner cab of 73 files for KB3118401.
    let evs = walk_file(&cabs[1]);
    let inner = files(&evs)
        .keys()
        .filter(|k| k.starts_with("Windows6.1-KB3118401-x64.msu!Windows6.1-KB3118401-x64.cab!"))
        .count();
    assert_eq!(inner, 73);
    assert!(archives(&evs)
        .contains(&("Windows6.1-KB3118401-x64.msu!WSUSSCAN.cab!package.cab".to_string(), ArchiveKind::Cab)));
}

#[test]
fn real_msus_inspect_gives_the_package_identity() {
    let Some(dir) = cab_dir() else { return };
    for kb in ["2999226", "3118401"] {
        let name = format!("Windows6.1-KB{kb}-x64.msu");
        let f = std::fs::File::open(dir.join(&name)).unwrap();
        let ins = inspect(&name, std::io::BufReader::new(f), &Limits::default());
        assert_eq!(ins.kind, "cab");
        assert!(ins.errors.is_empty(), "{:?}", ins.errors);
        let pkg = ins
            .packages
            .iter()
            .find(|p| p.name == format!("Package_for_KB{kb}"))
            .unwrap_or_else(|| panic!("{name}: {:#?}", ins.packages));
        assert_eq!(pkg.arch, "amd64");
        assert_eq!(pkg.public_key_token, "31bf3856ad364e35");
        assert_eq!(pkg.kb.as_deref(), Some(format!("KB{kb}").as_str()));
        assert!(!pkg.is_servicing_stack);
        assert_eq!(pkg.source, format!("Windows6.1-KB{kb}-x64.cab!update.mum"));
        assert!(!pkg.version.is_empty());
        assert_eq!(ins.properties.get("KB Article Number").map(String::as_str), Some(kb));
        assert_eq!(ins.properties.get("Package Type").map(String::as_str), Some("Update"));
        assert!(ins.properties.contains_key("Applies to"));
        let top: Vec<&MemberInfo> = ins.members.iter().filter(|m| !m.path.contains('!')).collect();
        assert_eq!(top.len(), 4);
        assert!(top.iter().all(|m| m.method == "mszip"));
        assert!(ins
            .members
            .iter()
            .any(|m| m.path == format!("Windows6.1-KB{kb}-x64.cab!update.mum") && m.method == "lzx"));
        if kb == "2999226" {
            assert_eq!(pkg.version, "6.1.1.6");
        }
    }
}

#[test]
fn malformed_cabs_give_errors_quickly() {
    let Some(dir) = cab_dir() else { return };
    let t = Instant::now();
    let mut n = 0;
    for entry in std::fs::read_dir(dir.join("malformed")).unwrap() {
        let p = entry.unwrap().path();
        let evs = walk_file(&p);
        assert!(!errors(&evs).is_empty(), "{}: {evs:?}", p.display());
        let ins = inspect("m.cab", Cursor::new(std::fs::read(&p).unwrap()), &Limits::default());
        assert!(!ins.errors.is_empty());
        n += 1;
    }
    assert_eq!(n, 5);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn real_quantum_cab_is_unsupported() {
    let Some(dir) = cab_dir() else { return };
    let evs = walk_file(&dir.join("malformed/qtm-max-size-block.cab"));
    let errs = errors(&evs);
    assert!(!errs.is_empty());
    assert!(errs.iter().all(|(_, m)| m.contains("Quantum compression is not supported")), "{errs:?}");
    assert!(files(&evs).is_empty());
}

// ---------------------------------------------------------------------------
// Tar and gzip
// ---------------------------------------------------------------------------

/// One ustar header block (checksum filled in).
fn tar_header(name: &[u8], size: u64, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&c| u32::from(c)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar of (name, data, type) entries, ended by two zero blocks.
fn build_tar(entries: &[(&[u8], &[u8], u8)]) -> Vec<u8> {
    let mut t = Vec::new();
    for (name, data, kind) in entries {
        t.extend_from_slice(&tar_header(name, data.len() as u64, *kind));
        t.extend_from_slice(data);
        t.resize(t.len().div_ceil(512) * 512, 0);
    }
    t.extend_from_slice(&[0u8; 1024]);
    t
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn tar_and_tar_gz_members_are_delivered_byte_exact() {
    let a = log_text("a", 300);
    let b = noise(70_000);
    let tar = build_tar(&[
        (b"Windows/Logs/CBS", b"", b'5'),
        (b"Windows/Logs/CBS/CBS.log", &a, b'0'),
        (b"Windows/Logs/CBS/link.log", b"", b'2'),
        (b"bin/blob", &b, 0),
    ]);
    for (name, bytes) in [("b.tar", tar.clone()), ("b.tar.gz", gzip(&tar)), ("b.tgz", gzip(&tar))] {
        let evs = run(name, &bytes, &Limits::default());
        assert!(errors(&evs).is_empty(), "{name}: {:?}", errors(&evs));
        let got = files(&evs);
        assert_eq!(got.len(), 2, "{name}: folders and links are not members");
        assert_eq!(got[&format!("{name}!Windows/Logs/CBS/CBS.log")], a);
        assert_eq!(got[&format!("{name}!bin/blob")], b);
    }
    assert_eq!(sniff(&tar), Some(ArchiveKind::Tar));
    assert_eq!(sniff(&gzip(b"x")), Some(ArchiveKind::Gzip));
}

#[test]
fn a_gzip_of_a_log_is_one_member_named_without_gz() {
    let a = log_text("g", 50);
    let evs = run("CBS.log.gz", &gzip(&a), &Limits::default());
    assert_eq!(files(&evs)[&"CBS.log.gz!CBS.log".to_string()], a);
    // A tar inside a zip is entered like any nested archive.
    let zip = build_zip(&[("logs.tar", &build_tar(&[(b"x/setupact.log", &a, b'0')]), deflated())]);
    let evs = run("z.zip", &zip, &Limits::default());
    assert_eq!(files(&evs)[&"z.zip!logs.tar!x/setupact.log".to_string()], a);
}

#[test]
fn long_names_and_pax_headers_are_bounded() {
    let a = log_text("l", 20);
    // A GNU long name of 3 MiB: its first 4 KiB name the member, the rest is skipped.
    let long = vec![b'n'; 3 << 20];
    let pax = b"27 path=Windows/Logs/x.log\n";
    let tar = build_tar(&[
        (b"././@LongLink", &long, b'L'),
        (b"short", &a, b'0'),
        (b"PaxHeaders/x", pax, b'x'),
        (b"ignored-name", &a, b'0'),
    ]);
    let evs = run("t.tar", &tar, &Limits::default());
    assert!(errors(&evs).is_empty(), "{:?}", errors(&evs));
    let got = files(&evs);
    let names: Vec<&String> = got.keys().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(got.contains_key("t.tar!Windows/Logs/x.log"), "{names:?}");
    let cut = names.iter().find(|n| n.starts_with("t.tar!nnn")).unwrap();
    assert_eq!(cut.len(), "t.tar!".len() + 4096);
}

#[test]
fn damaged_truncated_and_bomb_tars_are_errors() {
    let a = log_text("d", 100);
    let mut bad = build_tar(&[(b"CBS.log", &a, b'0')]);
    bad[0] ^= 1; // the checksum no longer matches
    let evs = run("bad.tar", &bad, &Limits::default());
    assert!(error_for(&evs, "bad.tar").contains("bad header checksum"), "{evs:?}");

    let good = build_tar(&[(b"one.log", &a, b'0'), (b"two.log", &a, b'0')]);
    let cut = &good[..512 + 100];
    let evs = run("cut.tar", cut, &Limits::default());
    assert!(errors(&evs).iter().any(|(_, m)| m.contains("truncated") || m.contains("ends early")), "{evs:?}");

    // 40 MiB of one byte, gzipped: the ratio limit, not 40 MiB delivered.
    let evs = run("bomb.gz", &gzip(&vec![b'0'; 40 << 20]), &Limits::default());
    let errs = errors(&evs);
    assert!(errs.iter().any(|(_, m)| m.contains("ratio")), "{errs:?}");

    // Not gzip after all: an error, no panic.
    let mut junk = gzip(&a);
    let n = junk.len();
    junk[10..n - 8].iter_mut().for_each(|c| *c = 0xff);
    let evs = run("junk.gz", &junk, &Limits::default());
    assert!(!errors(&evs).is_empty(), "{evs:?}");
}
