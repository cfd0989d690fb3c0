//! Cabinets (`.cab`, `.msu`): the layout (header, folders, file table) is
//! parsed here by hand and checked before the `cab` crate decodes anything;
//! the crate then sees the cabinet through an [`Overlay`] that gives it one
//! made-up file per folder, so each folder is decoded once, front to back.

use super::walker::{
    handle_member, join, members_limit_message, stopped_message, Ctx, FailKind, Failure, Guard, Ranges, ReadSeek,
};
use super::{Ev, Meta, Sink};
use crate::panic_text;
use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

const CAB_FLAG_PREV: u16 = 0x1;
const CAB_FLAG_NEXT: u16 = 0x2;
const CAB_FLAG_RESERVE: u16 = 0x4;
const CAB_ATTR_NAME_IS_UTF: u16 = 0x80;
/// Largest uncompressed CFDATA block (MS-CAB: 32 KiB).
const CAB_BLOCK_MAX: u16 = 0x8000;
/// Largest compressed CFDATA block (as libmspack allows).
const CAB_INPUT_MAX: u16 = 0x8000 + 6144;
/// Longest name (the `cab` crate's limit for the prev/next cabinet names).
const CAB_STRING_MAX: usize = 255;
/// Our own limit for member names.
const CAB_NAME_MAX: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CabMethod {
    None,
    MsZip,
    Quantum,
    Lzx(u16),
    Invalid(u16),
}

impl CabMethod {
    fn from_bits(bits: u16) -> Self {
        match bits & 0x000f {
            0 => CabMethod::None,
            1 => CabMethod::MsZip,
            2 => CabMethod::Quantum,
            3 => {
                let window = (bits >> 8) & 0x1f;
                if (15..=21).contains(&window) {
                    CabMethod::Lzx(window)
                } else {
                    CabMethod::Invalid(bits)
                }
            }
            _ => CabMethod::Invalid(bits),
        }
    }

    fn name(self) -> String {
        match self {
            CabMethod::None => "none".into(),
            CabMethod::MsZip => "mszip".into(),
            CabMethod::Quantum => "quantum".into(),
            CabMethod::Lzx(_) => "lzx".into(),
            CabMethod::Invalid(bits) => format!("invalid (0x{bits:04x})"),
        }
    }

    /// Why this folder cannot be decoded, if so.
    fn unsupported(self) -> Option<String> {
        match self {
            CabMethod::Quantum => Some("Quantum compression is not supported".into()),
            CabMethod::Invalid(bits) => {
                Some(format!("invalid cabinet compression type 0x{bits:04x} (damaged cabinet)"))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct CabFolder {
    /// Where its CFFOLDER entry starts in the file.
    entry_at: usize,
    first_block: u32,
    blocks: u16,
    method: CabMethod,
}

#[derive(Debug, Clone)]
struct CabFile {
    name: String,
    size: u32,
    offset: u32,
    folder: u16,
}

#[derive(Debug, Clone)]
struct CabLayout {
    /// The file's bytes up to the end of the CFFOLDER table.
    header: Vec<u8>,
    data_reserve: u8,
    folders: Vec<CabFolder>,
    files: Vec<CabFile>,
    len: u64,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Read exactly `n` bytes into `out`, with a clear message on a short file.
fn read_exact_into(src: &mut dyn ReadSeek, out: &mut Vec<u8>, n: usize, what: &str) -> Result<(), String> {
    let start = out.len();
    out.resize(start + n, 0);
    src.read_exact(&mut out[start..]).map_err(|e| format!("cabinet header damaged: cannot read {what}: {e}"))
}

fn read_cstring(src: &mut dyn ReadSeek, out: &mut Vec<u8>, max: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut s = Vec::new();
    loop {
        let mut b = [0u8; 1];
        src.read_exact(&mut b).map_err(|e| format!("cabinet header damaged: cannot read {what}: {e}"))?;
        out.push(b[0]);
        if b[0] == 0 {
            return Ok(s);
        }
        if s.len() >= max {
            return Err(format!("cabinet header damaged: {what} longer than {max} bytes"));
        }
        s.push(b[0]);
    }
}

fn cab_name(raw: &[u8], utf: bool) -> String {
    if utf {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        // Names without the UTF flag are in the packer's code page; show
        // them as Latin-1, like cabextract.
        match std::str::from_utf8(raw) {
            Ok(s) if s.is_ascii() => s.to_string(),
            _ => raw.iter().map(|&b| b as char).collect(),
        }
    }
}

fn parse_cab(src: &mut dyn ReadSeek) -> Result<CabLayout, String> {
    let len = src.seek(SeekFrom::End(0)).map_err(|e| format!("cannot read cabinet: {e}"))?;
    if len > u64::from(u32::MAX) {
        return Err("cabinet larger than 4 GiB is not a valid cabinet".into());
    }
    src.seek(SeekFrom::Start(0)).map_err(|e| format!("cannot read cabinet: {e}"))?;
    let mut h = Vec::with_capacity(64);
    read_exact_into(src, &mut h, 36, "the header")?;
    if &h[0..4] != b"MSCF" {
        return Err("not a cabinet (no MSCF signature)".into());
    }
    let files_at = le32(&h, 16);
    let n_folders = le16(&h, 26) as usize;
    let n_files = le16(&h, 28) as usize;
    let flags = le16(&h, 30);
    let mut folder_reserve = 0usize;
    let mut data_reserve = 0u8;
    if flags & CAB_FLAG_RESERVE != 0 {
        read_exact_into(src, &mut h, 4, "the reserve sizes")?;
        let header_reserve = le16(&h, 36) as usize;
        folder_reserve = h[38] as usize;
        data_reserve = h[39];
        if header_reserve as u64 > len {
            return Err("cabinet header damaged: reserved area runs past the end of the file".into());
        }
        read_exact_into(src, &mut h, header_reserve, "the reserved area")?;
    }
    if flags & CAB_FLAG_PREV != 0 {
        read_cstring(src, &mut h, CAB_STRING_MAX, "the previous cabinet's name")?;
        read_cstring(src, &mut h, CAB_STRING_MAX, "the previous disk's name")?;
    }
    if flags & CAB_FLAG_NEXT != 0 {
        read_cstring(src, &mut h, CAB_STRING_MAX, "the next cabinet's name")?;
        read_cstring(src, &mut h, CAB_STRING_MAX, "the next disk's name")?;
    }
    let entry_len = 8 + folder_reserve;
    if (h.len() + n_folders * entry_len) as u64 > len {
        return Err(format!("cabinet header damaged: {n_folders} folder entries do not fit in the file"));
    }
    let mut folders = Vec::with_capacity(n_folders);
    for _ in 0..n_folders {
        let at = h.len();
        read_exact_into(src, &mut h, entry_len, "a folder entry")?;
        folders.push(CabFolder {
            entry_at: at,
            first_block: le32(&h, at),
            blocks: le16(&h, at + 4),
            method: CabMethod::from_bits(le16(&h, at + 6)),
        });
    }
    if u64::from(files_at) >= len && n_files > 0 {
        return Err("cabinet header damaged: file table offset is past the end of the file".into());
    }
    if (n_files as u64).saturating_mul(17) > len {
        return Err(format!("cabinet header damaged: {n_files} file entries do not fit in the file"));
    }
    src.seek(SeekFrom::Start(u64::from(files_at))).map_err(|e| format!("cannot read cabinet: {e}"))?;
    let mut files = Vec::with_capacity(n_files);
    let mut scratch = Vec::new();
    for i in 0..n_files {
        scratch.clear();
        read_exact_into(src, &mut scratch, 16, "a file entry").map_err(|e| format!("{e} (entry {i} of {n_files})"))?;
        let size = le32(&scratch, 0);
        let offset = le32(&scratch, 4);
        let folder = le16(&scratch, 8);
        let attrs = le16(&scratch, 14);
        let raw = read_cstring(src, &mut scratch, CAB_NAME_MAX, "a file name")?;
        files.push(CabFile { name: cab_name(&raw, attrs & CAB_ATTR_NAME_IS_UTF != 0), size, offset, folder });
    }
    Ok(CabLayout { header: h, data_reserve, folders, files, len })
}

/// Check a folder's CFDATA chain before decoding it: block sizes the
/// decoders can take, all inside the file.
/// Returns where the chain ends.
fn check_cab_blocks(src: &mut dyn ReadSeek, layout: &CabLayout, folder: &CabFolder) -> Result<u64, String> {
    let mut at = u64::from(folder.first_block);
    let hdr = 8 + layout.data_reserve as u64;
    let mut buf = [0u8; 8];
    for k in 0..folder.blocks {
        if at + hdr > layout.len {
            return Err(format!(
                "cabinet damaged: data block {k} starts past the end of the file (truncated cabinet?)"
            ));
        }
        src.seek(SeekFrom::Start(at))
            .and_then(|_| src.read_exact(&mut buf))
            .map_err(|e| format!("cannot read data block {k}: {e}"))?;
        let c = le16(&buf, 4);
        let u = le16(&buf, 6);
        if u == 0 || u > CAB_BLOCK_MAX {
            return Err(format!(
                "cabinet damaged: data block {k} claims {u} uncompressed bytes (must be 1..=32768; a block split across cabinets is not supported)"
            ));
        }
        if c > CAB_INPUT_MAX {
            return Err(format!(
                "cabinet damaged: data block {k} claims {c} compressed bytes (more than {CAB_INPUT_MAX})"
            ));
        }
        at += hdr + u64::from(c);
        if at > layout.len {
            return Err(format!("cabinet damaged: data block {k} runs past the end of the file (truncated cabinet?)"));
        }
    }
    Ok(at)
}

/// The cabinet as the `cab` crate sees it: the real bytes, with a patched
/// header (version 1.3, unsupported folders neutralised) and a made-up file
/// table appended that holds one file per folder spanning the whole folder,
/// named by the folder's index. Reading that file decodes the folder once,
/// front to back.
struct Overlay<'s> {
    src: &'s mut dyn ReadSeek,
    head: Vec<u8>,
    tail_at: u64,
    tail: Vec<u8>,
    pos: u64,
    src_pos: Option<u64>,
    consumed: Rc<Cell<u64>>,
}

impl<'s> Overlay<'s> {
    fn new(src: &'s mut dyn ReadSeek, layout: &CabLayout, consumed: Rc<Cell<u64>>) -> Self {
        let mut head = layout.header.clone();
        // cbCabinet: not used by us; keep the crate's sanity check quiet.
        head[8..12].copy_from_slice(&0u32.to_le_bytes());
        // coffFiles -> our table, after the real bytes.
        head[16..20].copy_from_slice(&(layout.len as u32).to_le_bytes());
        head[24] = 3;
        head[25] = 1;
        // cFiles -> one made-up file per folder.
        head[28..30].copy_from_slice(&(layout.folders.len() as u16).to_le_bytes());
        for f in &layout.folders {
            if f.method.unsupported().is_some() {
                // Neutralise: an empty uncompressed folder; its members are
                // reported without decoding.
                head[f.entry_at + 4..f.entry_at + 8].copy_from_slice(&[0, 0, 0, 0]);
            }
        }
        let mut tail = Vec::new();
        for i in 0..layout.folders.len() {
            tail.extend_from_slice(&u32::MAX.to_le_bytes()); // cbFile
            tail.extend_from_slice(&0u32.to_le_bytes()); // uoffFolderStart
            tail.extend_from_slice(&(i as u16).to_le_bytes()); // iFolder
            tail.extend_from_slice(&0x0021u16.to_le_bytes()); // date 1980-01-01
            tail.extend_from_slice(&0u16.to_le_bytes()); // time
            tail.extend_from_slice(&0u16.to_le_bytes()); // attribs
            tail.extend_from_slice(i.to_string().as_bytes());
            tail.push(0);
        }
        Overlay { src, head, tail_at: layout.len, tail, pos: 0, src_pos: None, consumed }
    }
}

impl Read for Overlay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head_len = self.head.len() as u64;
        let tail_end = self.tail_at + self.tail.len() as u64;
        let n = if self.pos < head_len {
            let from = self.pos as usize;
            let n = (self.head.len() - from).min(buf.len());
            buf[..n].copy_from_slice(&self.head[from..from + n]);
            n
        } else if self.pos < self.tail_at {
            if self.src_pos != Some(self.pos) {
                self.src_pos = None;
                self.src.seek(SeekFrom::Start(self.pos))?;
            }
            let room = (self.tail_at - self.pos).min(buf.len() as u64) as usize;
            let n = self.src.read(&mut buf[..room])?;
            self.src_pos = Some(self.pos + n as u64);
            self.consumed.set(self.consumed.get().saturating_add(n as u64));
            n
        } else if self.pos < tail_end {
            let from = (self.pos - self.tail_at) as usize;
            let n = (self.tail.len() - from).min(buf.len());
            buf[..n].copy_from_slice(&self.tail[from..from + n]);
            n
        } else {
            0
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Overlay<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let end = (self.tail_at + self.tail.len() as u64) as i128;
        let new = match pos {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => end + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 || new > u64::MAX as i128 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

pub(super) fn walk_cab(ctx: &mut Ctx, path: &str, src: &mut dyn ReadSeek, depth: usize, sink: &mut Sink<'_>) {
    let layout = match parse_cab(src) {
        Ok(l) => l,
        Err(message) => {
            sink(Ev::Error { path, message, meta: None });
            return;
        }
    };
    let count = layout.files.len();
    let take = count.min(ctx.limits.max_members);

    // Per folder: can it be decoded at all? (checked before the `cab` crate
    // sees the bytes, so it never decodes an impossible block).
    // Folders whose data blocks overlap an earlier folder's are refused:
    // decoding the same blocks again would multiply the cabinet's output.
    let mut folder_problem: Vec<Option<String>> = Vec::with_capacity(layout.folders.len());
    let mut spans = Ranges::default();
    for (fi, f) in layout.folders.iter().enumerate() {
        let problem = match f.method.unsupported() {
            Some(m) => Some(m),
            None => match check_cab_blocks(src, &layout, f) {
                Err(e) => Some(e),
                Ok(end) => spans.claim(u64::from(f.first_block), end, fi).err().map(|other| {
                    format!("cabinet damaged: folder {fi}'s data blocks overlap folder {other}'s: not decoded again")
                }),
            },
        };
        folder_problem.push(problem);
    }

    // Members in folder order (for normal cabinets, the table order).
    let mut order: Vec<usize> = (0..take).collect();
    order.sort_by_key(|&i| (layout.files[i].folder, layout.files[i].offset));

    let consumed = Rc::new(Cell::new(0u64));
    let overlay = Overlay::new(src, &layout, Rc::clone(&consumed));
    let opened = catch_unwind(AssertUnwindSafe(|| cab::Cabinet::new(overlay)));
    let mut cabinet = match opened {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            sink(Ev::Error { path, message: format!("cannot read cabinet: {e}"), meta: None });
            return;
        }
        Err(p) => {
            sink(Ev::Error {
                path,
                message: format!("cabinet reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: None,
            });
            return;
        }
    };

    let mut cur_folder: Option<u16> = None;
    let mut stream: Option<cab::FileReader<'_, Overlay<'_>>> = None;
    let mut pos = 0u64;
    let mut poisoned: Option<String> = None;
    // The end of the furthest member of this folder so far, and its index.
    let mut claimed: Option<(u64, usize)> = None;
    for (done, &i) in order.iter().enumerate() {
        if ctx.exhausted {
            sink(Ev::Error { path, message: stopped_message(ctx, take - done), meta: None });
            return;
        }
        let file = &layout.files[i];
        let member_path = join(path, &file.name);
        let fi = file.folder as usize;
        let method = layout.folders.get(fi).map(|f| f.method.name()).unwrap_or_else(|| "none".into());
        let meta = Meta { size: Some(u64::from(file.size)), compressed: None, method };
        if fi >= layout.folders.len() {
            let message = if file.folder >= 0xfffd {
                "member continues in another cabinet of a multi-part set, which is not supported".to_string()
            } else {
                format!(
                    "cabinet damaged: member refers to folder {} but the cabinet has {}",
                    file.folder,
                    layout.folders.len()
                )
            };
            sink(Ev::Error { path: &member_path, message, meta: Some(&meta) });
            continue;
        }
        if cur_folder != Some(file.folder) {
            cur_folder = Some(file.folder);
            stream = None;
            pos = 0;
            poisoned = None;
            claimed = None;
        }
        if let Some(problem) = &folder_problem[fi] {
            sink(Ev::Error { path: &member_path, message: problem.clone(), meta: Some(&meta) });
            continue;
        }
        if file.size == 0 {
            sink(Ev::File { path: &member_path, meta: &meta, reader: &mut io::empty() });
            continue;
        }
        // Members come in offset order: one starting before the end of the
        // one before shares its bytes, and is not decoded again.
        let end = u64::from(file.offset) + u64::from(file.size);
        match claimed {
            Some((prev_end, prev)) if u64::from(file.offset) < prev_end => {
                let other = join("", &layout.files[prev].name);
                sink(Ev::Error {
                    path: &member_path,
                    message: format!(
                        "overlaps member {} (bytes {}..{end} of folder {fi} are shared with that member): not read again",
                        other.trim_start_matches('!'),
                        file.offset
                    ),
                    meta: Some(&meta),
                });
                continue;
            }
            _ => claimed = Some((end, i)),
        }
        if let Some(p) = &poisoned {
            sink(Ev::Error {
                path: &member_path,
                message: format!("not read: its folder could not be decoded earlier ({p})"),
                meta: Some(&meta),
            });
            continue;
        }
        if u64::from(file.size) > ctx.limits.max_member_bytes {
            // Reported without decoding; the next member skips over it.
            sink(Ev::Error {
                path: &member_path,
                message: format!(
                    "member size limit exceeded (max_member_bytes = {}): member is {} bytes",
                    ctx.limits.max_member_bytes, file.size
                ),
                meta: Some(&meta),
            });
            continue;
        }
        let offset = u64::from(file.offset);
        if stream.is_none() || offset < pos {
            stream = None;
            pos = 0;
            let name = fi.to_string();
            let c = &mut cabinet;
            let opened = catch_unwind(AssertUnwindSafe(move || {
                let c = c;
                c.read_file(&name)
            }));
            match opened {
                Ok(Ok(s)) => stream = Some(s),
                Ok(Err(e)) => poisoned = Some(format!("cannot decode folder {fi}: {e}")),
                Err(p) => {
                    poisoned =
                        Some(format!("decoder crashed on malformed data in folder {fi} ({})", panic_text(p.as_ref())))
                }
            }
        }
        let Some(s) = stream.as_mut() else {
            let p = poisoned.clone().unwrap_or_default();
            sink(Ev::Error { path: &member_path, message: p, meta: Some(&meta) });
            continue;
        };
        if offset > pos {
            let gap = offset - pos;
            let mut limited = (&mut *s).take(gap);
            let mut guard = Guard::new(&mut limited, ctx, &consumed, Some(gap));
            guard.member_limits = false;
            let res = io::copy(&mut guard, &mut io::sink());
            let pulled = guard.pulled;
            let failure = guard.failure.take();
            drop(guard);
            pos += pulled;
            if res.is_err() {
                let f = failure.unwrap_or(Failure { kind: FailKind::Decode, message: "cannot decode".into() });
                if f.kind == FailKind::Decode {
                    poisoned = Some(f.message.clone());
                }
                sink(Ev::Error { path: &member_path, message: format!("not read: {}", f.message), meta: Some(&meta) });
                continue;
            }
        }
        let mut limited = (&mut *s).take(u64::from(file.size));
        let out = handle_member(ctx, &member_path, &meta, &mut limited, &consumed, depth, sink);
        pos += out.pulled;
        if let Some(e) = out.decode_error {
            poisoned = Some(e);
        }
    }
    if count > take {
        sink(Ev::Error { path, message: members_limit_message(&ctx.limits, count), meta: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cab_methods() {
        assert_eq!(CabMethod::from_bits(0x1503), CabMethod::Lzx(21));
        assert_eq!(CabMethod::from_bits(0x0001), CabMethod::MsZip);
        assert_eq!(CabMethod::from_bits(0x1572), CabMethod::Quantum);
        assert_eq!(CabMethod::from_bits(0x000f), CabMethod::Invalid(0x000f));
        assert_eq!(CabMethod::from_bits(0x1a03), CabMethod::Invalid(0x1a03));
        assert!(CabMethod::Quantum.unsupported().unwrap().contains("Quantum compression is not supported"));
    }
}
