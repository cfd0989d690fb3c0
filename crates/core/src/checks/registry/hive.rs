//! A bounded reader of offline registry hive files (REGF) and their `.LOG1`/`.LOG2`
//! transaction logs, for the handful of keys servicing-doctor needs.
//!
//! Hand-written because the general-purpose reader used before (notatin) recurses through
//! index roots (`ri`): a list that points at itself overflowed the stack, which aborts the
//! process and cannot be caught. It also read the hive and its logs whole and walked every
//! key while replaying a log. Here nothing recurses, every count and size read from the file
//! is capped before it is used, every list is followed at most once (a visited set), and the
//! files are read on demand: memory stays a few MiB whatever the hive holds.
//!
//! Format: <https://github.com/msuhanov/regf> (Windows registry file format specification).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};

use crate::sources::open::RegularFile;

/// The base block of a hive is 4096 bytes; its checksummed part is the first 512.
pub(crate) const BASE_BLOCK_LEN: usize = 4096;
/// Transaction logs replace hive bins in pages of this size.
const PAGE: u32 = 4096;
/// A key with more subkeys is refused: no key on the paths read here has more than a few
/// hundred on a real system, and each subkey costs a read.
pub(crate) const MAX_SUBKEYS: u32 = 65_536;
/// A key with more values is refused: the keys read here hold at most a few dozen values.
pub(crate) const MAX_VALUES: u32 = 1024;
/// Bytes of a value's data read: the values read here are short strings and numbers; a longer
/// one is cut (the caller shows at most 1 KiB of text, which 4 KiB of UTF-16 always covers).
pub(crate) const MAX_DATA_READ: usize = 4096;
/// Bytes of a name read. A key name is at most 255 characters (510 bytes) in the format; a
/// value name may be longer, and is cut.
const MAX_NAME_READ: usize = 2048;
/// Data bytes in one segment of a big-data (`db`) value.
const BIG_DATA_SEGMENT: u64 = 16344;

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The base block checksum: XOR-32 of the first 508 bytes (0 and 0xFFFFFFFF are avoided).
pub(crate) fn base_block_checksum(b: &[u8]) -> u32 {
    let x = (0..508).step_by(4).fold(0u32, |x, at| x ^ le32(b, at));
    match x {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        x => x,
    }
}

/// The seed of the Marvin32 hashes that protect log entries.
pub(crate) const LOG_HASH_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

/// Marvin32 (the 64-bit hash of .NET, used by Windows to protect log entries), fed in pieces
/// so that a log entry is hashed while it streams past.
pub(crate) struct Marvin32 {
    a: u32,
    b: u32,
}

impl Marvin32 {
    pub(crate) fn new(seed: u64) -> Self {
        Marvin32 { a: seed as u32, b: (seed >> 32) as u32 }
    }

    fn mix(&mut self) {
        self.b ^= self.a;
        self.a = self.a.rotate_left(20).wrapping_add(self.b);
        self.b = self.b.rotate_left(9) ^ self.a;
        self.a = self.a.rotate_left(27).wrapping_add(self.b);
        self.b = self.b.rotate_left(19);
    }

    /// Hashes `words`, whose length must be a multiple of 4 (all but the last piece).
    pub(crate) fn update(&mut self, words: &[u8]) {
        debug_assert!(words.len().is_multiple_of(4));
        for w in words.chunks_exact(4) {
            self.a = self.a.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            self.mix();
        }
    }

    /// Hashes the last piece (any length) and gives the hash.
    pub(crate) fn finish(mut self, last: &[u8]) -> u64 {
        let words = last.len() / 4 * 4;
        self.update(&last[..words]);
        let rest = &last[words..];
        let mut tail = 0x80u32 << (8 * rest.len());
        for (i, &byte) in rest.iter().enumerate() {
            tail |= u32::from(byte) << (8 * i);
        }
        self.a = self.a.wrapping_add(tail);
        self.mix();
        self.mix();
        u64::from(self.a) | (u64::from(self.b) << 32)
    }
}

/// Marvin32 of `data` in one piece.
pub(crate) fn marvin32(seed: u64, data: &[u8]) -> u64 {
    Marvin32::new(seed).finish(data)
}

fn read_exact_at(f: &mut RegularFile, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

fn io_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the file ends in the middle of a structure".into()
    } else {
        format!("cannot read it: {}", crate::sources::describe_io(e))
    }
}

/// A key (`nk` cell) as far as this reader needs it.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) name: String,
    subkeys: u32,
    subkey_list: u32,
    values: u32,
    value_list: u32,
}

/// A value: its name, type, declared data length and the first [`MAX_DATA_READ`] bytes.
#[derive(Debug, Clone)]
pub(crate) struct RawValue {
    pub(crate) name: String,
    pub(crate) kind: u32,
    pub(crate) data: Vec<u8>,
}

/// A transaction log opened for replay: its name and the file.
pub(crate) struct Log {
    pub(crate) name: String,
    pub(crate) file: RegularFile,
}

/// What a replay did.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// The sequence number of the last entry applied, if any was.
    pub(crate) applied_up_to: Option<u32>,
    /// Why replay stopped early, or other things worth saying.
    pub(crate) warnings: Vec<String>,
}

/// The hive as it reads after replaying its logs: the hive file, plus pages taken from logs.
pub(crate) struct Image {
    hive: RegularFile,
    hbins_len: u32,
    root: u32,
    /// Minor format version: big-data (`db`) cells exist from 1.4 on.
    minor: u32,
    logs: Vec<Log>,
    /// Page number within the hive bins -> (log, offset in that log) of its newest copy.
    overlay: HashMap<u32, (usize, u64)>,
}

impl Image {
    /// A hive file whose base block says: bins of `hbins_len` bytes, root key at `root`.
    pub(crate) fn new(hive: RegularFile, hbins_len: u32, root: u32, minor: u32) -> Self {
        Image { hive, hbins_len, root, minor, logs: Vec::new(), overlay: HashMap::new() }
    }

    /// Whether pages from a log are in use.
    pub(crate) fn replayed(&self) -> bool {
        !self.overlay.is_empty()
    }

    /// Forgets what replay did: the hive file as it is.
    pub(crate) fn drop_replay(&mut self, hbins_len: u32, root: u32, minor: u32) {
        self.overlay.clear();
        self.logs.clear();
        (self.hbins_len, self.root, self.minor) = (hbins_len, root, minor);
    }

    /// Replays the entries of `logs` (oldest log first) whose sequence numbers start at
    /// `from_seq`, taking the base block fields from `base` (the hive's, or a log's when the
    /// hive's is damaged). Only an index of pages is kept; the pages are read when needed.
    pub(crate) fn replay(&mut self, logs: Vec<Log>, from_seq: u32, base: &[u8]) -> Replay {
        let mut r = Replay::default();
        (self.root, self.minor) = (le32(base, 0x24), le32(base, 0x18));
        let base_len = le32(base, 0x28);
        if base_len > 0 && base_len.is_multiple_of(PAGE) {
            self.hbins_len = base_len;
        }
        let mut last: Option<u32> = None;
        for (index, mut log) in logs.into_iter().enumerate() {
            let len = log.file.len();
            let mut pos = 512u64;
            let mut header = [0u8; 40];
            while pos + 40 <= len {
                if let Err(e) = read_exact_at(&mut log.file, pos, &mut header) {
                    r.warnings.push(format!("{}: {}", log.name, io_error(&e)));
                    break;
                }
                if &header[0..4] != b"HvLE" {
                    break; // the end of the entries (the rest of the file is old or empty)
                }
                match self.entry(&mut log.file, pos, &header, from_seq, last, index) {
                    Ok(Some(seq)) => last = Some(seq),
                    Ok(None) => {}
                    Err(why) => {
                        r.warnings.push(format!("{}: stopped at the log entry at offset {pos}: {why}", log.name));
                        break;
                    }
                }
                pos += u64::from(le32(&header, 4));
            }
            self.logs.push(log);
        }
        r.applied_up_to = last;
        r
    }

    /// Checks one log entry and, when it is the next one due, records its pages. Ok(None): an
    /// entry already in the hive, skipped.
    fn entry(
        &mut self,
        log: &mut RegularFile,
        pos: u64,
        header: &[u8; 40],
        from_seq: u32,
        last: Option<u32>,
        index: usize,
    ) -> Result<Option<u32>, String> {
        let size = u64::from(le32(header, 4));
        let seq = le32(header, 12);
        let hbins_len = le32(header, 16);
        let pages = u64::from(le32(header, 20));
        if size < 40 || !size.is_multiple_of(512) || pos + size > log.len() {
            return Err(format!("its size ({size} bytes) is not a multiple of 512 inside the file"));
        }
        // The hashes first: a damaged entry says nothing reliable.
        let mut hash = Marvin32::new(LOG_HASH_SEED);
        let mut buf = vec![0u8; 64 << 10];
        let mut at = pos + 40;
        while at < pos + size {
            let n = (pos + size - at).min(buf.len() as u64) as usize;
            read_exact_at(log, at, &mut buf[..n]).map_err(|e| io_error(&e))?;
            hash.update(&buf[..n]);
            at += n as u64;
        }
        if hash.finish(&[]) != u64::from_le_bytes(header[24..32].try_into().expect("8 bytes"))
            || marvin32(LOG_HASH_SEED, &header[..32]) != u64::from_le_bytes(header[32..40].try_into().expect("8 bytes"))
        {
            return Err(format!("hash mismatch (log entry with sequence number {seq})"));
        }
        if seq < from_seq || last.is_some_and(|l| seq <= l) {
            return Ok(None);
        }
        if let Some(l) = last {
            if seq != l.wrapping_add(1) {
                return Err(format!("its sequence number {seq} does not follow {l}"));
            }
        }
        if hbins_len == 0 || !hbins_len.is_multiple_of(PAGE) || hbins_len > super::MAX_BINS_LEN {
            return Err(format!("it gives a hive bins size of {hbins_len} bytes"));
        }
        // Every dirty page takes at least 8 bytes of reference and 4096 of data.
        if pages * (8 + u64::from(PAGE)) > size - 40 {
            return Err(format!("its {pages} dirty pages cannot fit in its {size} bytes"));
        }
        let mut refs = vec![0u8; pages as usize * 8];
        read_exact_at(log, pos + 40, &mut refs).map_err(|e| io_error(&e))?;
        let mut data = pos + 40 + pages * 8;
        let mut found = Vec::new();
        for r in refs.chunks_exact(8) {
            let (offset, len) = (le32(r, 0), le32(r, 4));
            if !offset.is_multiple_of(PAGE)
                || !len.is_multiple_of(PAGE)
                || u64::from(offset) + u64::from(len) > u64::from(hbins_len)
            {
                return Err(format!(
                    "a dirty page (offset {offset}, {len} bytes) is not whole pages inside the hive bins"
                ));
            }
            if data + u64::from(len) > pos + size {
                return Err("its dirty pages run past its end".into());
            }
            for k in 0..len / PAGE {
                found.push((offset / PAGE + k, data + u64::from(k * PAGE)));
            }
            data += u64::from(len);
        }
        for (page, at) in found {
            self.overlay.insert(page, (index, at));
        }
        self.hbins_len = hbins_len;
        Ok(Some(seq))
    }

    /// Reads `buf.len()` bytes at `offset` in the hive bins, pages from logs taking precedence.
    pub(crate) fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), String> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset as u64 + done as u64;
            let page = (at / u64::from(PAGE)) as u32;
            let in_page = at % u64::from(PAGE);
            let n = if self.overlay.is_empty() {
                buf.len() - done
            } else {
                (buf.len() - done).min((u64::from(PAGE) - in_page) as usize)
            };
            let part = &mut buf[done..done + n];
            match self.overlay.get(&page) {
                Some(&(log, from)) => {
                    read_exact_at(&mut self.logs[log].file, from + in_page, part).map_err(|e| io_error(&e))?
                }
                None => {
                    let file_at = BASE_BLOCK_LEN as u64 + at;
                    // Bins a log added beyond the end of the file read as zeros until a page
                    // from the log fills them.
                    let have = self.hive.len().saturating_sub(file_at).min(n as u64) as usize;
                    if have > 0 {
                        read_exact_at(&mut self.hive, file_at, &mut part[..have]).map_err(|e| io_error(&e))?;
                    }
                    part[have..].fill(0);
                }
            }
            done += n;
        }
        Ok(())
    }

    /// The payload length of the allocated cell at `offset` (checked to lie in the bins).
    fn cell_len(&mut self, offset: u32, what: &str) -> Result<usize, String> {
        if !offset.is_multiple_of(8) || u64::from(offset) + 8 > u64::from(self.hbins_len) {
            return Err(format!(
                "the {what} offset 0x{offset:x} lies outside the hive bins ({} bytes)",
                self.hbins_len
            ));
        }
        let mut size = [0u8; 4];
        self.read(offset, &mut size)?;
        let size = i32::from_le_bytes(size);
        if size >= 0 {
            return Err(format!("the {what} at offset 0x{offset:x} is in a free cell"));
        }
        let len = size.unsigned_abs();
        if len < 8 || u64::from(offset) + u64::from(len) > u64::from(self.hbins_len) {
            return Err(format!(
                "the {what} at offset 0x{offset:x} has a cell size of {len} bytes, past the hive bins"
            ));
        }
        Ok(len as usize - 4)
    }

    /// The first `take` bytes of the payload of the cell at `offset`, which must hold at
    /// least `need` bytes.
    fn cell(&mut self, offset: u32, need: usize, take: usize, what: &str) -> Result<Vec<u8>, String> {
        let len = self.cell_len(offset, what)?;
        if len < need {
            return Err(format!("the {what} at offset 0x{offset:x} needs {need} bytes, its cell holds {len}"));
        }
        let mut buf = vec![0u8; take.max(need).min(len)];
        self.read(offset + 4, &mut buf)?;
        Ok(buf)
    }

    /// The root key.
    pub(crate) fn root(&mut self) -> Result<Key, String> {
        let root = self.root;
        self.key(root).map_err(|e| format!("the root key cannot be read ({e})"))
    }

    /// The key (`nk` cell) at `offset`.
    fn key(&mut self, offset: u32) -> Result<Key, String> {
        let nk = self.cell(offset, 76, 76 + MAX_NAME_READ, "key")?;
        if &nk[0..2] != b"nk" {
            return Err(format!("the key at offset 0x{offset:x} has no nk signature"));
        }
        let name_len = usize::from(le16(&nk, 72));
        if name_len > MAX_NAME_READ || 76 + name_len > nk.len() {
            return Err(format!("the name of the key at offset 0x{offset:x} ({name_len} bytes) does not fit"));
        }
        let compressed = le16(&nk, 2) & 0x20 != 0;
        Ok(Key {
            name: decode_name(&nk[76..76 + name_len], compressed),
            subkeys: le32(&nk, 20),
            subkey_list: le32(&nk, 28),
            values: le32(&nk, 36),
            value_list: le32(&nk, 40),
        })
    }

    /// The subkey of `parent` named `name` (case-insensitively). Ok(None): not there, and all
    /// of `parent`'s subkeys could be read; Err: some could not, so it may be missing only
    /// because of damage. Every list is read once; an index root (`ri`) may only point at
    /// leaf lists (`li`, `lf`, `lh`), each once, as the format allows.
    pub(crate) fn subkey(&mut self, parent: &Key, name: &str) -> Result<Option<Key>, String> {
        if parent.subkeys == 0 {
            return Ok(None);
        }
        if parent.subkeys > MAX_SUBKEYS {
            return Err(format!(
                "the key declares {} subkeys, more than the {MAX_SUBKEYS} this reader accepts",
                parent.subkeys
            ));
        }
        let top = parent.subkey_list;
        let head = self.cell(top, 4, 4, "subkey list")?;
        let count = usize::from(le16(&head, 2));
        let leaves: Vec<u32> = match &head[0..2] {
            b"ri" => {
                let items = self.cell(top, 4 + 4 * count, 4 + 4 * count, "index root (ri)")?;
                (0..count).map(|i| le32(&items, 4 + 4 * i)).collect()
            }
            b"li" | b"lf" | b"lh" => vec![top],
            sig => {
                return Err(format!(
                    "the subkey list at offset 0x{top:x} has signature {:?}, not ri, li, lf or lh",
                    String::from_utf8_lossy(sig)
                ))
            }
        };
        let wanted = name.to_lowercase();
        let mut seen = HashSet::new();
        let mut total = 0u64;
        let mut damage: Option<String> = None;
        for leaf in leaves {
            if leaf == top {
                if head[0..2] == *b"ri" {
                    return Err(format!("the index root (ri) at offset 0x{top:x} lists itself (a loop)"));
                }
            } else if !seen.insert(leaf) {
                return Err(format!("the index root (ri) at offset 0x{top:x} lists the list at 0x{leaf:x} twice"));
            }
            let lhead = self.cell(leaf, 4, 4, "subkey list")?;
            let stride = match &lhead[0..2] {
                b"li" => 4,
                b"lf" | b"lh" => 8,
                b"ri" => {
                    return Err(format!(
                        "the index root (ri) at offset 0x{top:x} points at another index root (at 0x{leaf:x}); index roots do not nest"
                    ))
                }
                sig => {
                    return Err(format!(
                        "the subkey list at offset 0x{leaf:x} has signature {:?}, not li, lf or lh",
                        String::from_utf8_lossy(sig)
                    ))
                }
            };
            let n = usize::from(le16(&lhead, 2));
            total += n as u64;
            if total > u64::from(parent.subkeys) {
                return Err(format!(
                    "the subkey lists of the key hold more entries than the {} subkeys it declares",
                    parent.subkeys
                ));
            }
            let entries = self.cell(leaf, 4 + stride * n, 4 + stride * n, "subkey list")?;
            for i in 0..n {
                let child = le32(&entries, 4 + stride * i);
                match self.key(child) {
                    Ok(k) if k.name.to_lowercase() == wanted => return Ok(Some(k)),
                    Ok(_) => {}
                    Err(e) => {
                        damage.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = damage {
            return Err(e);
        }
        if total < u64::from(parent.subkeys) {
            return Err(format!("its subkey lists hold {total} entries, not the {} it declares", parent.subkeys));
        }
        Ok(None)
    }

    /// The values of `key` whose names `want` accepts, in stored order, each with at most
    /// [`MAX_DATA_READ`] bytes of data.
    pub(crate) fn values(&mut self, key: &Key, want: impl Fn(&str) -> bool) -> Result<Vec<RawValue>, String> {
        if key.values == 0 {
            return Ok(Vec::new());
        }
        if key.values > MAX_VALUES {
            return Err(format!(
                "the key declares {} values, more than the {MAX_VALUES} this reader accepts",
                key.values
            ));
        }
        let n = key.values as usize;
        let list = self.cell(key.value_list, 4 * n, 4 * n, "value list")?;
        let mut out = Vec::new();
        for i in 0..n {
            let at = le32(&list, 4 * i);
            let vk = self.cell(at, 20, 20 + MAX_NAME_READ, "value")?;
            if &vk[0..2] != b"vk" {
                return Err(format!("the value at offset 0x{at:x} has no vk signature"));
            }
            let name_len = usize::from(le16(&vk, 2)).min(MAX_NAME_READ);
            if 20 + name_len > vk.len() {
                return Err(format!("the name of the value at offset 0x{at:x} runs past its cell"));
            }
            let name = decode_name(&vk[20..20 + name_len], le16(&vk, 16) & 1 != 0);
            if !want(&name) {
                continue;
            }
            let (len, data_at) = (le32(&vk, 4), le32(&vk, 8));
            let data = if len & 0x8000_0000 != 0 {
                // Data of up to 4 bytes is kept in the offset field itself.
                vk[8..8 + (len & 0x7FFF_FFFF).min(4) as usize].to_vec()
            } else {
                self.data(at, len, data_at)?
            };
            out.push(RawValue { name, kind: le32(&vk, 12), data });
        }
        Ok(out)
    }

    /// The first [`MAX_DATA_READ`] bytes of a value's data of `len` bytes at `data_at`.
    fn data(&mut self, vk: u32, len: u32, data_at: u32) -> Result<Vec<u8>, String> {
        let take = (len as usize).min(MAX_DATA_READ);
        if len == 0 {
            return Ok(Vec::new());
        }
        if u64::from(len) <= BIG_DATA_SEGMENT || self.minor < 4 {
            return self.cell(data_at, take, take, "value data");
        }
        // Big data: a `db` cell listing segments of 16344 bytes; only the first is needed.
        let db = self.cell(data_at, 8, 8, "big data")?;
        if &db[0..2] != b"db" {
            return Err(format!("the data of the value at offset 0x{vk:x} ({len} bytes) is not a big-data (db) cell"));
        }
        let segments = u64::from(le16(&db, 2));
        let needed = u64::from(len).div_ceil(BIG_DATA_SEGMENT);
        if segments != needed {
            return Err(format!(
                "the big-data cell at offset 0x{data_at:x} has {segments} segments, not the {needed} its {len} bytes take"
            ));
        }
        let list = self.cell(le32(&db, 4), 4, 4, "big-data segment list")?;
        self.cell(le32(&list, 0), take, take, "big-data segment")
    }
}

/// A name as stored: Latin-1 when `compressed`, else UTF-16LE.
fn decode_name(bytes: &[u8], compressed: bool) -> String {
    if compressed {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marvin32_matches_published_vectors() {
        // Test vectors of .NET's Marvin implementation.
        let seed = 0x004F_B61A_001B_DBCC;
        assert_eq!(marvin32(seed, &[]), 0x30ED_35C1_00CD_3C7D);
        assert_eq!(marvin32(seed, &[0xAF]), 0x48E7_3FC7_7D75_DDC1);
        assert_eq!(marvin32(seed, &[0xE7, 0x0F]), 0xB5F6_E1FC_485D_BFF8);
        assert_eq!(marvin32(seed, &[0x37, 0xF4, 0x95]), 0xF0B0_7C78_9B8C_F7E8);
        assert_eq!(marvin32(seed, &[0x86, 0x42, 0xDC, 0x59]), 0x7008_F2E8_7E9C_F556);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(marvin32(seed, &all), 0x7DFC_AB33_FCEA_D72C);
        // In pieces, as log entries are hashed.
        let mut h = Marvin32::new(seed);
        h.update(&all[..128]);
        h.update(&all[128..252]);
        assert_eq!(h.finish(&all[252..]), 0x7DFC_AB33_FCEA_D72C);
    }

    #[test]
    fn names_decode() {
        assert_eq!(decode_name(b"Caf\xe9", true), "Café");
        assert_eq!(decode_name(&[0x41, 0, 0x00, 0x04], false), "AЀ");
    }
}
