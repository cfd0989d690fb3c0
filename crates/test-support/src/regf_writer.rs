//! A small writer of valid Windows registry hive files (REGF), for tests only.
//!
//! Committed tests must not depend on hives from outside the repository, so they build their
//! own: [`HiveBuilder`] collects keys and values in memory and [`HiveBuilder::build`] lays them
//! out as a REGF file, format 1.5 as Windows 8+ writes it: a 4096-byte base block with a correct
//! XOR-32 checksum, then hive bins of 4096 bytes (or a multiple, for a cell that does not fit in
//! one) holding `nk` (key), `vk` (value), `lh` (subkey list), value-list, data and one shared
//! `sk` (security) cell; each bin's unused tail is one free cell. Subkeys are sorted by their
//! upper-cased names as Windows keeps them. Data over 16344 bytes goes in a `db` big-data cell
//! and segments of 16344 bytes, as Windows writes it (format 1.4 and later).
//!
//! For the hostile-input tests it can also damage a hive on purpose, in ways a reader must
//! survive: [`HiveBuilder::ri_loop`] (an index root that lists itself),
//! [`HiveBuilder::ri_fan_out`] (an index root listing one huge leaf list many times) and
//! [`HiveBuilder::big_data_repeated`] (a big-data value whose segments are all one cell).
//!
//! [`HiveBuilder::manifest`] lists every key and value the way `hivexget` (from Debian's
//! `libhivex-bin`) prints them, so an independent reader can check the output
//! (`.ci/verify-hives.sh`).

/// `REG_SZ`.
pub const REG_SZ: u32 = 1;
/// `REG_EXPAND_SZ`.
pub const REG_EXPAND_SZ: u32 = 2;
/// `REG_BINARY`.
pub const REG_BINARY: u32 = 3;
/// `REG_DWORD`.
pub const REG_DWORD: u32 = 4;
/// `REG_MULTI_SZ`.
pub const REG_MULTI_SZ: u32 = 7;
/// `REG_QWORD`.
pub const REG_QWORD: u32 = 11;

const BASE_BLOCK_LEN: usize = 4096;
const HBIN_LEN: usize = 4096;
const HBIN_HEADER_LEN: usize = 32;
const NONE: u32 = 0xFFFF_FFFF;
/// Largest value data a plain data cell may hold; more needs a `db` cell and segments of
/// this size.
const MAX_DATA: usize = 16344;
/// 2024-08-13 00:00:00 UTC as a FILETIME, so the output does not depend on the clock.
const FILETIME: u64 = 133_679_808_000_000_000;

const KEY_HIVE_ENTRY: u16 = 0x0004;
const KEY_NO_DELETE: u16 = 0x0008;
const KEY_COMP_NAME: u16 = 0x0020;
const VALUE_COMP_NAME: u16 = 0x0001;

/// The seed of the Marvin32 hashes that protect log entries.
const LOG_HASH_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

/// Marvin32 (the 64-bit hash of .NET, used by Windows to protect log entries) of `data`.
///
/// Written here, not taken from the reader in servicing-doctor-core: this crate must not
/// depend on core (core's own unit tests use it), and a log hashed independently of the
/// reader checks the reader's hash instead of agreeing with it by construction.
fn marvin32(seed: u64, data: &[u8]) -> u64 {
    fn mix(a: &mut u32, b: &mut u32) {
        *b ^= *a;
        *a = a.rotate_left(20).wrapping_add(*b);
        *b = b.rotate_left(9) ^ *a;
        *a = a.rotate_left(27).wrapping_add(*b);
        *b = b.rotate_left(19);
    }
    let (mut a, mut b) = (seed as u32, (seed >> 32) as u32);
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        a = a.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        mix(&mut a, &mut b);
    }
    // The last 0..=3 bytes, then a 0x80 byte to end the data.
    let rest = words.remainder();
    let mut tail = 0x80u32 << (8 * rest.len());
    for (i, &byte) in rest.iter().enumerate() {
        tail |= u32::from(byte) << (8 * i);
    }
    a = a.wrapping_add(tail);
    mix(&mut a, &mut b);
    mix(&mut a, &mut b);
    u64::from(a) | (u64::from(b) << 32)
}

#[derive(Debug, Clone)]
struct Value {
    name: String,
    kind: u32,
    data: Vec<u8>,
    /// Hostile: a big-data value declaring this many segments, all the same cell.
    repeated_segments: Option<u16>,
}

/// How a key's subkey list is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ListShape {
    /// One `lh` list, as Windows writes small lists.
    #[default]
    Lh,
    /// Hostile: an `ri` whose one entry is the `ri` itself.
    RiLoop,
    /// Hostile: an `ri` of `lists` entries, all the same `lh` list of `entries` entries, which
    /// cycle through the real subkeys; the key declares `lists * entries` subkeys.
    RiFanOut { lists: u16, entries: u16 },
}

#[derive(Debug, Clone, Default)]
struct Key {
    name: String,
    children: Vec<Key>,
    values: Vec<Value>,
    shape: ListShape,
}

impl Key {
    fn child_mut(&mut self, name: &str) -> &mut Key {
        let upper = upcase(name);
        let i = match self.children.iter().position(|k| upcase(&k.name) == upper) {
            Some(i) => i,
            None => {
                self.children.push(Key { name: name.to_string(), ..Key::default() });
                self.children.sort_by_key(|k| upcase(&k.name));
                self.children.iter().position(|k| upcase(&k.name) == upper).expect("just inserted")
            }
        };
        &mut self.children[i]
    }
}

/// Builds a REGF hive in memory. Paths are relative to the root key and use `\` between
/// names, e.g. `Microsoft\Windows NT\CurrentVersion`; names match case-insensitively, as in
/// the registry.
#[derive(Debug, Clone)]
pub struct HiveBuilder {
    root: Key,
    primary_seq: u32,
    secondary_seq: u32,
    file_name: String,
}

impl Default for HiveBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HiveBuilder {
    /// An empty hive: a root key named `ROOT`, clean (sequence numbers 1/1).
    pub fn new() -> Self {
        HiveBuilder {
            root: Key { name: "ROOT".to_string(), ..Key::default() },
            primary_seq: 1,
            secondary_seq: 1,
            file_name: String::new(),
        }
    }

    fn key_mut(&mut self, path: &str) -> &mut Key {
        let mut key = &mut self.root;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            key = key.child_mut(part);
        }
        key
    }

    /// Creates the key at `path`, and any missing keys above it.
    pub fn key(&mut self, path: &str) -> &mut Self {
        self.key_mut(path);
        self
    }

    /// Sets a value of any type with raw data (creates the key if needed; replaces a value
    /// of the same name).
    pub fn value_raw(&mut self, key: &str, name: &str, kind: u32, data: &[u8]) -> &mut Self {
        self.put_value(key, Value { name: name.to_string(), kind, data: data.to_vec(), repeated_segments: None })
    }

    /// Hostile: a `REG_SZ` value whose big-data cell declares `segments` segments of 16344
    /// bytes (so a data length of `segments * 16344`), every one of them the same cell of
    /// `fill` repeated. Not for [`HiveBuilder::manifest`]: hivex reads the one segment many
    /// times too.
    pub fn big_data_repeated(&mut self, key: &str, name: &str, fill: char, segments: u16) -> &mut Self {
        assert!(segments >= 2, "regf_writer: big data has at least 2 segments");
        let data: Vec<u8> = std::iter::repeat_n(fill, MAX_DATA / 2)
            .collect::<String>()
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        self.put_value(key, Value { name: name.to_string(), kind: REG_SZ, data, repeated_segments: Some(segments) })
    }

    /// Hostile: the subkey list of the key at `path` becomes an index root (`ri`) whose one
    /// entry is itself: a reader that follows it without care never ends.
    pub fn ri_loop(&mut self, path: &str) -> &mut Self {
        self.key_mut(path).shape = ListShape::RiLoop;
        self
    }

    /// Hostile: the subkey list of the key at `path` (which needs a subkey) becomes an index
    /// root of `lists` entries, all the same `lh` list of `entries` entries: `lists * entries`
    /// subkeys declared in a few hundred KiB.
    pub fn ri_fan_out(&mut self, path: &str, lists: u16, entries: u16) -> &mut Self {
        self.key_mut(path).shape = ListShape::RiFanOut { lists, entries };
        self
    }

    fn put_value(&mut self, key: &str, value: Value) -> &mut Self {
        let k = self.key_mut(key);
        let upper = upcase(&value.name);
        match k.values.iter_mut().find(|v| upcase(&v.name) == upper) {
            Some(v) => *v = value,
            None => k.values.push(value),
        }
        self
    }

    /// Sets a `REG_SZ` (or, with `expand`, `REG_EXPAND_SZ`) value: UTF-16LE with its NUL.
    pub fn value_sz(&mut self, key: &str, name: &str, data: &str, expand: bool) -> &mut Self {
        let mut bytes: Vec<u8> = data.encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.extend_from_slice(&[0, 0]);
        let kind = if expand { REG_EXPAND_SZ } else { REG_SZ };
        self.value_raw(key, name, kind, &bytes)
    }

    /// Sets a `REG_DWORD` value.
    pub fn value_dword(&mut self, key: &str, name: &str, v: u32) -> &mut Self {
        self.value_raw(key, name, REG_DWORD, &v.to_le_bytes())
    }

    /// Sets the base block's sequence numbers; different numbers make a dirty hive.
    pub fn sequence_numbers(&mut self, primary: u32, secondary: u32) -> &mut Self {
        self.primary_seq = primary;
        self.secondary_seq = secondary;
        self
    }

    /// Sets the file name kept in the base block (at most its last 31 UTF-16 units are kept).
    pub fn file_name(&mut self, name: &str) -> &mut Self {
        self.file_name = name.to_string();
        self
    }

    /// The hive file's bytes.
    pub fn build(&self) -> Vec<u8> {
        // Pass 1: give every cell its place.
        // The root key comes first, at offset 0x20, as in hives Windows writes (some readers
        // expect it there), then the one security cell.
        let mut alloc = Alloc::default();
        let root_nk = alloc.cell(nk_payload_len(&self.root));
        let sk = alloc.cell(sk_payload_len());
        let mut layout = Vec::new();
        plan(&self.root, Some(root_nk), &mut alloc, &mut layout);
        let mut bins = alloc.finish();
        let nkeys = layout.len() as u32;

        // Pass 2: write the cells.
        write_sk(&mut bins, sk, nkeys);
        let mut next = 0;
        write_key(&self.root, None, sk, &layout, &mut next, &mut bins);

        let mut out = vec![0u8; BASE_BLOCK_LEN];
        out[0..4].copy_from_slice(b"regf");
        put32(&mut out, 4, self.primary_seq);
        put32(&mut out, 8, self.secondary_seq);
        put64(&mut out, 12, FILETIME);
        put32(&mut out, 0x14, 1); // major version
        put32(&mut out, 0x18, 5); // minor version
        put32(&mut out, 0x1C, 0); // primary file
        put32(&mut out, 0x20, 1); // direct memory load
        put32(&mut out, 0x24, layout[0].nk as u32); // root cell
        put32(&mut out, 0x28, bins.len() as u32);
        put32(&mut out, 0x2C, 1); // clustering factor
        let name: Vec<u16> = self.file_name.encode_utf16().collect();
        let name = &name[name.len().saturating_sub(31)..];
        for (i, u) in name.iter().enumerate() {
            out[0x30 + 2 * i..0x32 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        let sum = checksum(&out);
        put32(&mut out, 0x1FC, sum);
        out.extend_from_slice(&bins);
        out
    }

    /// A transaction log in the format Windows 8.1 and later write to `.LOG1`/`.LOG2`: a
    /// 512-byte base block (file type 6) and one `HvLE` log entry, with Marvin32 hashes, that
    /// carries every page of this hive's bins under sequence number `sequence`. Put it beside
    /// an older hive built with `sequence_numbers(sequence + 1, sequence)`: replaying the log
    /// turns that dirty hive into this one.
    pub fn build_log(&self, sequence: u32) -> Vec<u8> {
        let hive = self.build();
        let bins = &hive[BASE_BLOCK_LEN..];
        let mut out = hive[..512].to_vec();
        put32(&mut out, 4, sequence);
        put32(&mut out, 8, sequence);
        put32(&mut out, 0x1C, 6); // new-format transaction log
        let sum = checksum(&out);
        put32(&mut out, 0x1FC, sum);

        let pages = bins.len() / HBIN_LEN;
        let mut entry = vec![0u8; 40];
        entry[0..4].copy_from_slice(b"HvLE");
        put32(&mut entry, 12, sequence);
        put32(&mut entry, 16, bins.len() as u32);
        put32(&mut entry, 20, pages as u32);
        for page in 0..pages {
            entry.extend_from_slice(&((page * HBIN_LEN) as u32).to_le_bytes());
            entry.extend_from_slice(&(HBIN_LEN as u32).to_le_bytes());
        }
        entry.extend_from_slice(bins);
        entry.resize(entry.len().next_multiple_of(512), 0);
        let size = entry.len() as u32;
        put32(&mut entry, 4, size);
        let hash1 = marvin32(LOG_HASH_SEED, &entry[40..]);
        put64(&mut entry, 24, hash1);
        let hash2 = marvin32(LOG_HASH_SEED, &entry[..32]);
        put64(&mut entry, 32, hash2);
        out.extend_from_slice(&entry);
        out
    }

    /// Every key (depth first, subkeys in stored order) with its values as `hivexget` prints
    /// them: a `[path]` line (the root is `[\]`), then a `subkeys: a|b` line, then one line per
    /// value (`"name"="text"`, `"name"=str(2):"text"`, `"name"=dword:0000002a`, `"@"=...` for
    /// the default value, `"name"=hex(3):01,02` for other types, with the type in decimal).
    pub fn manifest(&self) -> String {
        let mut out = String::new();
        manifest_key(&self.root, "", &mut out);
        out
    }
}

fn manifest_key(key: &Key, path: &str, out: &mut String) {
    out.push_str(&format!("[{}]\n", if path.is_empty() { "\\" } else { path }));
    let names: Vec<&str> = key.children.iter().map(|k| k.name.as_str()).collect();
    out.push_str(&format!("subkeys: {}\n", names.join("|")));
    for v in &key.values {
        // hivexget prints the default value's name as "@" too.
        let name = if v.name.is_empty() { "\"@\"".to_string() } else { format!("\"{}\"", escape(&v.name)) };
        let text = || {
            let units: Vec<u16> =
                v.data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
            escape(&String::from_utf16_lossy(&units))
        };
        let data = match v.kind {
            REG_SZ => format!("\"{}\"", text()),
            REG_DWORD if v.data.len() == 4 => {
                format!("dword:{:08x}", u32::from_le_bytes([v.data[0], v.data[1], v.data[2], v.data[3]]))
            }
            REG_EXPAND_SZ => format!("str(2):\"{}\"", text()),
            _ => {
                let hex: Vec<String> = v.data.iter().map(|b| format!("{b:02x}")).collect();
                format!("hex({}):{}", v.kind, hex.join(","))
            }
        };
        out.push_str(&format!("{name}={data}\n"));
    }
    for child in &key.children {
        let p = if path.is_empty() { child.name.clone() } else { format!("{path}\\{}", child.name) };
        manifest_key(child, &p, out);
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Where one key's cells go (offsets relative to the first hive bin).
#[derive(Debug)]
struct KeyCells {
    nk: usize,
    subkeys: Option<usize>,
    /// The `lh` leaf an `ri` fan-out points at.
    leaf: Option<usize>,
    values: Option<usize>,
    /// Per value: its `vk` cell and where its data goes.
    vks: Vec<(usize, DataCells)>,
}

/// Where a value's data goes.
#[derive(Debug)]
enum DataCells {
    /// In the `vk` cell itself (4 bytes or less).
    Inline,
    /// In one data cell.
    Cell(usize),
    /// A `db` cell, its segment list and the segments.
    Big { db: usize, list: usize, segments: Vec<usize> },
}

fn nk_payload_len(key: &Key) -> usize {
    76 + name_bytes(&key.name).0.len()
}

/// Pre-order: a key, then its subkeys; `write_key` walks in the same order.
fn plan(key: &Key, nk: Option<usize>, alloc: &mut Alloc, layout: &mut Vec<KeyCells>) {
    let nk = nk.unwrap_or_else(|| alloc.cell(nk_payload_len(key)));
    let (subkeys, leaf) = match key.shape {
        _ if key.children.is_empty() => (None, None),
        ListShape::Lh => (Some(alloc.cell(4 + 8 * key.children.len())), None),
        ListShape::RiLoop => (Some(alloc.cell(8)), None),
        ListShape::RiFanOut { lists, entries } => {
            (Some(alloc.cell(4 + 4 * usize::from(lists))), Some(alloc.cell(4 + 8 * usize::from(entries))))
        }
    };
    let values = (!key.values.is_empty()).then(|| alloc.cell(4 * key.values.len()));
    let vks = key
        .values
        .iter()
        .map(|v| {
            let vk = alloc.cell(20 + name_bytes(&v.name).0.len());
            let data = match v.repeated_segments {
                Some(n) => {
                    let db = alloc.cell(8);
                    let list = alloc.cell(4 * usize::from(n));
                    DataCells::Big { db, list, segments: vec![alloc.cell(v.data.len())] }
                }
                None if v.data.len() <= 4 => DataCells::Inline,
                None if v.data.len() <= MAX_DATA => DataCells::Cell(alloc.cell(v.data.len())),
                None => {
                    let n = v.data.len().div_ceil(MAX_DATA);
                    let db = alloc.cell(8);
                    let list = alloc.cell(4 * n);
                    let segments = v.data.chunks(MAX_DATA).map(|c| alloc.cell(c.len())).collect();
                    DataCells::Big { db, list, segments }
                }
            };
            (vk, data)
        })
        .collect();
    layout.push(KeyCells { nk, subkeys, leaf, values, vks });
    for child in &key.children {
        plan(child, None, alloc, layout);
    }
}

fn write_key(
    key: &Key,
    parent: Option<usize>,
    sk: usize,
    layout: &[KeyCells],
    next: &mut usize,
    bins: &mut [u8],
) -> usize {
    let me = *next;
    *next += 1;
    let cells = &layout[me];
    let mut child_nks = Vec::new();
    for child in &key.children {
        let index = write_key(child, Some(cells.nk), sk, layout, next, bins);
        child_nks.push((layout[index].nk, child));
    }

    let (name, ascii) = name_bytes(&key.name);
    let mut flags = if ascii { KEY_COMP_NAME } else { 0 };
    if parent.is_none() {
        flags |= KEY_HIVE_ENTRY | KEY_NO_DELETE;
    }
    let max_subkey_name = key.children.iter().map(|k| 2 * k.name.encode_utf16().count()).max().unwrap_or(0);
    let max_value_name = key.values.iter().map(|v| 2 * v.name.encode_utf16().count()).max().unwrap_or(0);
    let max_value_data = key.values.iter().map(|v| v.data.len()).max().unwrap_or(0);

    let p = cells.nk + 4;
    bins[p..p + 2].copy_from_slice(b"nk");
    put16(bins, p + 2, flags);
    put64(bins, p + 4, FILETIME);
    put32(bins, p + 12, 0); // access bits
    put32(bins, p + 16, parent.map_or(NONE, |o| o as u32));
    let declared = match key.shape {
        ListShape::RiFanOut { lists, entries } if !key.children.is_empty() => u32::from(lists) * u32::from(entries),
        _ => key.children.len() as u32,
    };
    put32(bins, p + 20, declared);
    put32(bins, p + 24, 0); // volatile subkeys
    put32(bins, p + 28, cells.subkeys.map_or(NONE, |o| o as u32));
    put32(bins, p + 32, NONE); // volatile subkey list
    put32(bins, p + 36, key.values.len() as u32);
    put32(bins, p + 40, cells.values.map_or(NONE, |o| o as u32));
    put32(bins, p + 44, sk as u32);
    put32(bins, p + 48, NONE); // class name
    put32(bins, p + 52, max_subkey_name as u32);
    put32(bins, p + 56, 0); // largest subkey class name
    put32(bins, p + 60, max_value_name as u32);
    put32(bins, p + 64, max_value_data as u32);
    put32(bins, p + 68, 0); // work var
    put16(bins, p + 72, name.len() as u16);
    put16(bins, p + 74, 0); // class name length
    bins[p + 76..p + 76 + name.len()].copy_from_slice(&name);

    let write_lh = |bins: &mut [u8], at: usize, entries: usize| {
        let p = at + 4;
        bins[p..p + 2].copy_from_slice(b"lh");
        put16(bins, p + 2, entries as u16);
        for i in 0..entries {
            let (nk, child) = child_nks[i % child_nks.len()];
            put32(bins, p + 4 + 8 * i, nk as u32);
            put32(bins, p + 8 + 8 * i, lh_hash(&child.name));
        }
    };
    if let Some(list) = cells.subkeys {
        match key.shape {
            ListShape::Lh => write_lh(bins, list, child_nks.len()),
            ListShape::RiLoop => {
                bins[list + 4..list + 6].copy_from_slice(b"ri");
                put16(bins, list + 6, 1);
                put32(bins, list + 8, list as u32);
            }
            ListShape::RiFanOut { lists, entries } => {
                let leaf = cells.leaf.expect("planned with the ri");
                write_lh(bins, leaf, usize::from(entries));
                bins[list + 4..list + 6].copy_from_slice(b"ri");
                put16(bins, list + 6, lists);
                for i in 0..usize::from(lists) {
                    put32(bins, list + 8 + 4 * i, leaf as u32);
                }
            }
        }
    }
    if let Some(list) = cells.values {
        for (i, (vk, _)) in cells.vks.iter().enumerate() {
            put32(bins, list + 4 + 4 * i, *vk as u32);
        }
    }
    for (v, (vk, data_cell)) in key.values.iter().zip(&cells.vks) {
        let (name, ascii) = name_bytes(&v.name);
        let p = vk + 4;
        bins[p..p + 2].copy_from_slice(b"vk");
        put16(bins, p + 2, name.len() as u16);
        match data_cell {
            DataCells::Cell(d) => {
                put32(bins, p + 4, v.data.len() as u32);
                put32(bins, p + 8, *d as u32);
                bins[d + 4..d + 4 + v.data.len()].copy_from_slice(&v.data);
            }
            DataCells::Inline => {
                put32(bins, p + 4, v.data.len() as u32 | 0x8000_0000);
                bins[p + 8..p + 8 + v.data.len()].copy_from_slice(&v.data);
            }
            DataCells::Big { db, list, segments } => {
                let count = v.repeated_segments.map_or(segments.len(), usize::from);
                let len = v.repeated_segments.map_or(v.data.len(), |n| usize::from(n) * MAX_DATA);
                put32(bins, p + 4, len as u32);
                put32(bins, p + 8, *db as u32);
                bins[db + 4..db + 6].copy_from_slice(b"db");
                put16(bins, db + 6, count as u16);
                put32(bins, db + 8, *list as u32);
                for i in 0..count {
                    put32(bins, list + 4 + 4 * i, segments[i % segments.len()] as u32);
                }
                for (seg, chunk) in segments.iter().zip(v.data.chunks(MAX_DATA)) {
                    bins[seg + 4..seg + 4 + chunk.len()].copy_from_slice(chunk);
                }
            }
        }
        put32(bins, p + 12, v.kind);
        put16(bins, p + 16, if ascii { VALUE_COMP_NAME } else { 0 });
        put16(bins, p + 18, 0);
        bins[p + 20..p + 20 + name.len()].copy_from_slice(&name);
    }
    me
}

/// A self-relative security descriptor: owner Administrators, group SYSTEM, and a DACL
/// giving full control to SYSTEM and Administrators and read to Users, inherited by subkeys.
fn security_descriptor() -> Vec<u8> {
    fn sid(sub: &[u32]) -> Vec<u8> {
        let mut s = vec![1, sub.len() as u8, 0, 0, 0, 0, 0, 5];
        for a in sub {
            s.extend_from_slice(&a.to_le_bytes());
        }
        s
    }
    let admins = sid(&[32, 544]);
    let system = sid(&[18]);
    let users = sid(&[32, 545]);
    let aces: Vec<(u32, &Vec<u8>)> = vec![(0x000F_003F, &system), (0x000F_003F, &admins), (0x0002_0019, &users)];
    let mut acl_body = Vec::new();
    for (mask, who) in &aces {
        acl_body.push(0); // ACCESS_ALLOWED_ACE_TYPE
        acl_body.push(0x03); // OBJECT_INHERIT | CONTAINER_INHERIT
        acl_body.extend_from_slice(&((8 + who.len()) as u16).to_le_bytes());
        acl_body.extend_from_slice(&mask.to_le_bytes());
        acl_body.extend_from_slice(who);
    }
    let mut acl = vec![2, 0];
    acl.extend_from_slice(&((8 + acl_body.len()) as u16).to_le_bytes());
    acl.extend_from_slice(&(aces.len() as u16).to_le_bytes());
    acl.extend_from_slice(&[0, 0]);
    acl.extend_from_slice(&acl_body);

    let dacl_at = 20u32;
    let owner_at = dacl_at + acl.len() as u32;
    let group_at = owner_at + admins.len() as u32;
    let mut sd = vec![1, 0];
    sd.extend_from_slice(&(0x8004u16).to_le_bytes()); // SE_SELF_RELATIVE | SE_DACL_PRESENT
    sd.extend_from_slice(&owner_at.to_le_bytes());
    sd.extend_from_slice(&group_at.to_le_bytes());
    sd.extend_from_slice(&0u32.to_le_bytes()); // no SACL
    sd.extend_from_slice(&dacl_at.to_le_bytes());
    sd.extend_from_slice(&acl);
    sd.extend_from_slice(&admins);
    sd.extend_from_slice(&system);
    sd
}

fn sk_payload_len() -> usize {
    20 + security_descriptor().len()
}

fn write_sk(bins: &mut [u8], sk: usize, refs: u32) {
    let sd = security_descriptor();
    let p = sk + 4;
    bins[p..p + 2].copy_from_slice(b"sk");
    put16(bins, p + 2, 0);
    put32(bins, p + 4, sk as u32); // the only sk: its list links point to itself
    put32(bins, p + 8, sk as u32);
    put32(bins, p + 12, refs);
    put32(bins, p + 16, sd.len() as u32);
    bins[p + 20..p + 20 + sd.len()].copy_from_slice(&sd);
}

/// Hands out cells in hive bins; a cell that does not fit in what is left of the current bin
/// starts a new bin, and the left-over space becomes a free cell.
#[derive(Default)]
struct Alloc {
    bins: Vec<u8>,
    bin_start: usize,
    pos: usize,
}

impl Alloc {
    /// Allocates a cell for `payload` bytes; returns its offset (where its size field is).
    fn cell(&mut self, payload: usize) -> usize {
        let size = (4 + payload).next_multiple_of(8);
        if self.bins.is_empty() || self.pos + size > self.bins.len() {
            self.close_bin();
            let len = (HBIN_HEADER_LEN + size).next_multiple_of(HBIN_LEN);
            self.bin_start = self.bins.len();
            self.bins.resize(self.bin_start + len, 0);
            let b = self.bin_start;
            self.bins[b..b + 4].copy_from_slice(b"hbin");
            put32(&mut self.bins, b + 4, b as u32);
            put32(&mut self.bins, b + 8, len as u32);
            if b == 0 {
                put64(&mut self.bins, b + 20, FILETIME);
            }
            self.pos = b + HBIN_HEADER_LEN;
        }
        let at = self.pos;
        put32(&mut self.bins, at, (-(size as i32)) as u32);
        self.pos += size;
        at
    }

    fn close_bin(&mut self) {
        let left = self.bins.len() - self.pos;
        if left > 0 {
            let at = self.pos;
            put32(&mut self.bins, at, left as u32);
            self.pos = self.bins.len();
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.close_bin();
        self.bins
    }
}

/// A name as stored: Latin-1 ("compressed") when it is all ASCII, UTF-16LE otherwise.
fn name_bytes(name: &str) -> (Vec<u8>, bool) {
    if name.is_ascii() {
        (name.as_bytes().to_vec(), true)
    } else {
        (name.encode_utf16().flat_map(u16::to_le_bytes).collect(), false)
    }
}

fn upcase(name: &str) -> Vec<u16> {
    name.to_uppercase().encode_utf16().collect()
}

/// The `lh` list hash: hash = hash * 37 + each upper-cased UTF-16 unit.
fn lh_hash(name: &str) -> u32 {
    upcase(name).iter().fold(0u32, |h, &u| h.wrapping_mul(37).wrapping_add(u32::from(u)))
}

/// XOR-32 of the base block's first 508 bytes, with 0 and 0xFFFFFFFF avoided as Windows does.
fn checksum(base: &[u8]) -> u32 {
    let x = base[..508].chunks_exact(4).fold(0u32, |x, c| x ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    match x {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        x => x,
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hive_layout() {
        let hive = HiveBuilder::new().build();
        assert_eq!(hive.len(), 8192);
        assert_eq!(&hive[0..4], b"regf");
        assert_eq!(&hive[4096..4100], b"hbin");
        assert_eq!(checksum(&hive), u32::from_le_bytes(hive[508..512].try_into().unwrap()));
    }

    #[test]
    fn cells_fill_each_bin_exactly() {
        let mut b = HiveBuilder::new();
        for i in 0..200 {
            b.value_sz("Many", &format!("v{i}"), &"x".repeat(i * 3), i % 2 == 0);
        }
        b.value_raw("Big", "blob", REG_BINARY, &[7u8; 9000]);
        let hive = b.build();
        let bins = &hive[BASE_BLOCK_LEN..];
        let mut at = 0;
        let mut nbins = 0;
        while at < bins.len() {
            assert_eq!(&bins[at..at + 4], b"hbin");
            assert_eq!(u32::from_le_bytes(bins[at + 4..at + 8].try_into().unwrap()) as usize, at);
            let len = u32::from_le_bytes(bins[at + 8..at + 12].try_into().unwrap()) as usize;
            assert_eq!(len % HBIN_LEN, 0);
            let mut c = at + HBIN_HEADER_LEN;
            while c < at + len {
                let size = i32::from_le_bytes(bins[c..c + 4].try_into().unwrap()).unsigned_abs();
                assert!(size >= 8 && size % 8 == 0, "cell at {c} has size {size}");
                c += size as usize;
            }
            assert_eq!(c, at + len, "cells must end exactly at the bin's end");
            at += len;
            nbins += 1;
        }
        assert!(nbins > 2, "expected several bins, got {nbins}");
    }

    #[test]
    fn subkeys_sorted_case_insensitively_and_reused() {
        let mut b = HiveBuilder::new();
        b.key("b\\x").key("A").key("B\\y").key("c");
        let names: Vec<&str> = b.root.children.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["A", "b", "c"]);
        assert_eq!(b.root.children[1].children.len(), 2);
        assert!(b.manifest().starts_with("[\\]\nsubkeys: A|b|c\n"));
    }

    #[test]
    fn log_layout() {
        let log = HiveBuilder::new().build_log(7);
        assert_eq!(&log[0..4], b"regf");
        assert_eq!(u32::from_le_bytes(log[0x1C..0x20].try_into().unwrap()), 6);
        assert_eq!(checksum(&log), u32::from_le_bytes(log[508..512].try_into().unwrap()));
        assert_eq!(&log[512..516], b"HvLE");
        assert_eq!((log.len() - 512) % 512, 0);
    }

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
    }

    #[test]
    fn lh_hash_matches_known_value() {
        // "Software" upper-cased: S O F T W A R E.
        let expected = "SOFTWARE".bytes().fold(0u32, |h, c| h.wrapping_mul(37).wrapping_add(c as u32));
        assert_eq!(lh_hash("Software"), expected);
    }
}
