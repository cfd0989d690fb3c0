//! Log bundles read straight from archives: `.zip`, `.cab` (CbsPersist
//! cabinets, MSZIP and LZX folders) and `.msu` (a cabinet), recognised by
//! their magic bytes, with nested archives entered to a bounded depth.
//!
//! Nothing is ever written to disk: member names are labels only (a name
//! like `../../x` is just shown), and members are handed out as [`Read`]
//! streams so memory stays bounded whatever their size. Nested archives are
//! the exception: zip and cab need `Seek`, so a nested one is buffered in
//! memory, within the [`Limits`].
//!
//! Every limit hit, unsupported format or damaged member becomes an
//! [`Event::Error`] naming that member (and the limit), and the walk goes on
//! with the rest. Cabinet decoding (the `cab` crate, with `lzxd` for LZX) runs
//! under [`std::panic::catch_unwind`], because that crate panics on some
//! malformed cabinets; each cab folder is decoded once, front to back, with
//! the members handed out in folder order.
//!
//! Display paths join levels with `!`, and member names get `\` turned into
//! `/`: `bundle.zip!Windows/Logs/CBS/CbsPersist_20251014031205.cab!CbsPersist_20251014031205.log`.

use crate::panic_text;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod tar;
use std::rc::Rc;

/// What a blob of bytes is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// A zip file (`PK\x03\x04`, or `PK\x05\x06` for an empty one).
    Zip,
    /// A Microsoft cabinet (`MSCF`); `.msu` files are cabinets.
    Cab,
    /// A Windows imaging file (`MSWIM\0\0\0`), as carried by newer `.msu`
    /// files next to a `.psf` delta: recognised, but not readable here.
    Wim,
    /// A tar archive (`ustar` at byte 257), read as a stream.
    Tar,
    /// A gzip stream (`.gz`, `.tar.gz`, `.tgz`): a tar inside is walked.
    Gzip,
}

impl ArchiveKind {
    /// Lower-case name, as used by [`Inspection::kind`].
    pub fn name(self) -> &'static str {
        match self {
            ArchiveKind::Zip => "zip",
            ArchiveKind::Cab => "cab",
            ArchiveKind::Wim => "wim",
            ArchiveKind::Tar => "tar",
            ArchiveKind::Gzip => "gzip",
        }
    }
}

/// Bytes [`sniff`] needs to see every kind (a tar's mark is at 257).
pub const SNIFF_LEN: usize = 512;

/// Sniff the first bytes (up to [`SNIFF_LEN`]; 8 tell all but a tar).
pub fn sniff(head: &[u8]) -> Option<ArchiveKind> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(ArchiveKind::Zip)
    } else if head.starts_with(b"MSCF") {
        Some(ArchiveKind::Cab)
    } else if head.starts_with(b"MSWIM\0\0\0") {
        Some(ArchiveKind::Wim)
    } else if head.starts_with(b"\x1f\x8b\x08") {
        Some(ArchiveKind::Gzip)
    } else if tar::is_tar(head) {
        Some(ArchiveKind::Tar)
    } else {
        None
    }
}

/// Limits against hostile archives. Each one hit is reported as an error on
/// the member or archive concerned, naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes per top-level walk, all nesting levels counted
    /// (bytes decoded to skip to a member inside a cab folder count too).
    pub max_total_bytes: u64,
    /// Decompressed : compressed bytes, per member and for the whole walk
    /// (all decoded bytes against the top-level archive's size); each only
    /// enforced past 1 MiB. Members whose compressed bytes overlap another's
    /// (zip entries, cab folders and members) are refused, not re-read.
    pub max_ratio: u64,
    /// Members per archive; the first `max_members` are read.
    pub max_members: usize,
    /// How many archive levels may sit below the top-level one: with 3,
    /// `a.zip!b.zip!c.zip!d.zip` is entered but an archive inside `d.zip`
    /// is not.
    pub max_depth: usize,
    /// Decompressed bytes of one member.
    pub max_member_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 4 << 30,
            max_ratio: 1000,
            max_members: 100_000,
            max_depth: 3,
            max_member_bytes: 2 << 30,
        }
    }
}

/// Buffer put in front of the caller's reader (headers are read in small
/// pieces).
const BUF_CAPACITY: usize = 64 * 1024;

/// The ratio limit applies once a member has produced more than this.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// What the walker reports, in archive order (depth-first into nested archives).
pub enum Event<'a> {
    /// A member that is not itself an archive: read it (up to its limit) or skip it.
    File { path: &'a str, size: Option<u64>, reader: &'a mut dyn Read },
    /// A member (or the archive itself) that could not be read; `path` names it, `message` says why (incl. the limit hit).
    Error { path: &'a str, message: String },
    /// An archive was entered (for listing): its display path and kind.
    Archive { path: &'a str, kind: ArchiveKind },
}

/// Walk an archive given as a seekable reader (read from its start).
/// `display` is the archive's own display path.
///
/// The callback decides what to do with each [`Event::File`] (it may read
/// none, part or all of `reader`). The reader enforces the limits while the
/// callback reads (an `Err` from `read()` whose message names the limit);
/// the walker then emits an [`Event::Error`] for that member (also for a
/// damaged member) and continues with the next.
pub fn walk<R: Read + Seek>(display: &str, archive: R, limits: &Limits, on: &mut dyn FnMut(Event<'_>)) {
    let mut archive = io::BufReader::with_capacity(BUF_CAPACITY, archive);
    let mut ctx = Ctx::for_archive(*limits, &mut archive);
    let mut sink = |ev: Ev<'_>| match ev {
        Ev::File { path, meta, reader, .. } => on(Event::File { path, size: meta.size, reader }),
        Ev::Error { path, message, .. } => on(Event::Error { path, message }),
        Ev::Archive { path, kind, .. } => on(Event::Archive { path, kind }),
    };
    walk_archive(&mut ctx, display, &mut archive, 0, None, &mut sink);
}

/// One member as listed by [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberInfo {
    /// Path below the inspected archive, nested levels joined with `!`.
    pub path: String,
    pub size: Option<u64>,
    /// Compressed size where the format has one per member (zip); cab
    /// members share a compressed folder, so `None` there.
    pub compressed: Option<u64>,
    /// "stored", "deflate", "deflate64", "mszip", "lzx", "quantum", "none",
    /// or a description of an unsupported method.
    pub method: String,
}

/// An update package's identity, from a `.mum` manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageIdentity {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub public_key_token: String,
    /// `KB1234567`, from `<package identifier=…>`, the name, or the
    /// properties' "KB Article Number".
    pub kb: Option<String>,
    pub is_servicing_stack: bool,
    /// The member it was read from (path below the inspected archive).
    pub source: String,
}

/// What `servicing-doctor inspect` shows about an archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    pub path: String,
    /// "zip", "cab", "wim" or "unknown".
    pub kind: String,
    pub members: Vec<MemberInfo>,
    pub packages: Vec<PackageIdentity>,
    /// From `*-pkgProperties.txt` (`Key="Value"` lines): "Applies to",
    /// "Build Date", "Installation Type", "KB Article Number", "Package
    /// Type", "Support Link", …; the first file seen wins for a key.
    pub properties: BTreeMap<String, String>,
    /// `path: message` for each member or archive that could not be read.
    pub errors: Vec<String>,
    /// The servicing stack component folders the package's cabinets hold
    /// (what a restore copies into WinSxS), in the order first seen.
    pub stack_folders: Vec<PackageFolder>,
    /// Other component folders (`<arch>_<name>_<token>_<version>_...`),
    /// counted: in a combined SSU+LCU package, the cumulative update's.
    pub other_component_folders: u64,
}

/// A WinSxS component folder inside an update package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageFolder {
    /// The name of the cabinet holding it (the innermost one, at most 255
    /// characters); empty for the inspected archive itself.
    pub archive: String,
    /// The folder name as stored.
    pub name: String,
    /// Lowercase, as [`crate::checks::winsxs::ComponentName`].
    pub arch: String,
    /// `servicingstack`, `servicingstack-onecore`, ...
    pub family: String,
    pub version: String,
}

/// Distinct component folders [`inspect`] tells apart; a package has a few
/// thousand at most, so past this each member of a folder counts as one.
const MAX_FOLDERS_TRACKED: usize = 200_000;

/// Largest `.mum` or `pkgProperties.txt` that [`inspect`] parses.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// List an archive's members (nested ones too) and, for an update package,
/// its identity from `*.mum` manifests and `*-pkgProperties.txt`.
pub fn inspect<R: Read + Seek>(display: &str, archive: R, limits: &Limits) -> Inspection {
    let mut archive = io::BufReader::with_capacity(BUF_CAPACITY, archive);
    let mut ins = Inspection {
        path: display.to_string(),
        kind: "unknown".to_string(),
        members: Vec::new(),
        packages: Vec::new(),
        properties: BTreeMap::new(),
        errors: Vec::new(),
        stack_folders: Vec::new(),
        other_component_folders: 0,
    };
    let mut folders_seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let prefix = format!("{display}!");
    let rel = |p: &str| p.strip_prefix(prefix.as_str()).unwrap_or(p).to_string();
    let mut ctx = Ctx::for_archive(*limits, &mut archive);
    let mut sink = |ev: Ev<'_>| match ev {
        Ev::Archive { path, kind, meta } => match meta {
            None => ins.kind = kind.name().to_string(),
            Some(meta) => ins.members.push(meta.info(rel(path))),
        },
        Ev::Error { path, message, meta } => {
            if let Some(meta) = meta {
                ins.members.push(meta.info(rel(path)));
            }
            ins.errors.push(format!("{path}: {message}"));
        }
        Ev::File { path, meta, reader } => {
            let rel_path = rel(path);
            ins.members.push(meta.info(rel_path.clone()));
            note_folder(&rel_path, &mut folders_seen, &mut ins);
            let leaf = rel_path.rsplit(['/', '!']).next().unwrap_or("").to_ascii_lowercase();
            let is_mum = leaf.ends_with(".mum");
            let is_props = leaf.ends_with("pkgproperties.txt");
            if !is_mum && !is_props {
                return;
            }
            let mut bytes = Vec::new();
            // A failed read is reported by the walker itself.
            if reader.take(MAX_MANIFEST_BYTES).read_to_end(&mut bytes).is_err() {
                return;
            }
            if is_mum {
                match parse_mum(&bytes, &rel_path) {
                    Ok(Some(pkg)) => ins.packages.push(pkg),
                    Ok(None) => {}
                    Err(e) => ins.errors.push(format!("{path}: {e}")),
                }
            } else {
                for (k, v) in parse_properties(&bytes) {
                    ins.properties.entry(k).or_insert(v);
                }
            }
        }
    };
    walk_archive(&mut ctx, display, &mut archive, 0, None, &mut sink);

    let props_ssu = ["Package Type", "Installation Type", "Product Name"]
        .iter()
        .filter_map(|k| ins.properties.get(*k))
        .any(|v| mentions_servicing_stack(v));
    let props_kb = ins
        .properties
        .get("KB Article Number")
        .map(|v| v.trim().trim_start_matches(['K', 'B', 'k', 'b']).to_string())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .map(|v| format!("KB{v}"));
    for pkg in &mut ins.packages {
        pkg.is_servicing_stack |= props_ssu;
        if pkg.kb.is_none() {
            pkg.kb.clone_from(&props_kb);
        }
    }
    ins
}

/// Remember the component folder a member lies in (`cab!folder/file`).
/// Bounded: each name is short (a component name is at most 1 KiB and the
/// cabinet's own name is cut), at most [`MAX_STACK_FOLDERS`] stack folders
/// are listed, and the set of folders seen holds hashes, not paths.
fn note_folder(rel_path: &str, seen: &mut std::collections::HashSet<u64>, ins: &mut Inspection) {
    use std::hash::{Hash, Hasher};
    let (archive, inner) = rel_path.rsplit_once('!').unwrap_or(("", rel_path));
    let Some((folder, _)) = inner.split_once(['/', '\\']) else { return };
    let Some(component) = crate::checks::winsxs::parse_component_name(folder) else { return };
    // The innermost cabinet's own name: what tells an SSU-*.cab apart.
    let leaf = archive.rsplit('!').next().unwrap_or(archive);
    let leaf: String = leaf.chars().take(255).collect();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&leaf, folder).hash(&mut h);
    if seen.len() >= MAX_FOLDERS_TRACKED {
        ins.other_component_folders += 1;
        return;
    }
    if !seen.insert(h.finish()) {
        return;
    }
    match crate::checks::winsxs::stack_family(&component.name) {
        Some(family) if ins.stack_folders.len() < MAX_STACK_FOLDERS => ins.stack_folders.push(PackageFolder {
            archive: leaf,
            name: folder.to_string(),
            arch: component.arch,
            family,
            version: component.version,
        }),
        _ => ins.other_component_folders += 1,
    }
}

/// Servicing stack folders [`inspect`] lists (a real SSU has about ten).
const MAX_STACK_FOLDERS: usize = 1_000;

// ---------------------------------------------------------------------------
// Walker internals
// ---------------------------------------------------------------------------

trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// Per-member facts for listing.
#[derive(Debug, Clone)]
struct Meta {
    size: Option<u64>,
    compressed: Option<u64>,
    method: String,
}

impl Meta {
    fn info(&self, path: String) -> MemberInfo {
        MemberInfo { path, size: self.size, compressed: self.compressed, method: self.method.clone() }
    }
}

/// The walker's own events: [`Event`] plus what [`inspect`] lists.
enum Ev<'a> {
    File {
        path: &'a str,
        meta: &'a Meta,
        reader: &'a mut dyn Read,
    },
    /// `meta` is set when the member was not listed by an earlier event.
    Error {
        path: &'a str,
        message: String,
        meta: Option<&'a Meta>,
    },
    /// `meta` is `None` for the top-level archive.
    Archive {
        path: &'a str,
        kind: ArchiveKind,
        meta: Option<&'a Meta>,
    },
}

type Sink<'s> = dyn FnMut(Ev<'_>) + 's;

/// State shared by one top-level walk.
struct Ctx {
    limits: Limits,
    /// Bytes decoded so far, every level and every skip counted.
    total: u64,
    /// Size of the top-level archive: the ratio limit also holds for the
    /// whole walk, so members that share (or re-read) compressed bytes
    /// cannot multiply them past it.
    archive_len: u64,
    exhausted: bool,
}

impl Ctx {
    fn new(limits: Limits) -> Self {
        Ctx { limits, total: 0, archive_len: u64::MAX, exhausted: false }
    }

    /// For a walk of `archive`, whose size bounds the walk's output.
    fn for_archive(limits: Limits, archive: &mut dyn Seek) -> Self {
        let len = archive.seek(SeekFrom::End(0)).unwrap_or(u64::MAX);
        Ctx { archive_len: len, ..Ctx::new(limits) }
    }

    /// Decoded bytes the whole walk may produce under the ratio limit.
    fn ratio_allowance(&self) -> u64 {
        self.limits.max_ratio.saturating_mul(self.archive_len).max(RATIO_FLOOR)
    }

    /// The walk-wide budget: `max_total_bytes`, or less for a small archive.
    fn budget(&self) -> u64 {
        self.limits.max_total_bytes.min(self.ratio_allowance())
    }

    fn total_message(&self) -> String {
        if self.ratio_allowance() < self.limits.max_total_bytes {
            format!(
                "archive compression ratio limit reached (max_ratio = {}:1 over the whole archive): {} bytes decoded from a {}-byte archive",
                self.limits.max_ratio, self.total, self.archive_len
            )
        } else {
            format!("total decompressed bytes limit reached (max_total_bytes = {})", self.limits.max_total_bytes)
        }
    }
}

/// Byte ranges of an archive already handed out (zip entries, cab folder
/// data), so a member whose bytes overlap another's is refused instead of
/// decoded again: overlapping members multiply a small archive's output.
#[derive(Default)]
struct Ranges {
    /// start -> (end, owner index); the ranges kept never overlap.
    by_start: BTreeMap<u64, (u64, usize)>,
}

impl Ranges {
    /// Claim `start..end` for `owner`; on overlap, the owner already there.
    fn claim(&mut self, start: u64, end: u64, owner: usize) -> Result<(), usize> {
        if start >= end {
            return Ok(());
        }
        if let Some((_, &(e, o))) = self.by_start.range(..=start).next_back() {
            if e > start {
                return Err(o);
            }
        }
        if let Some((&s, &(_, o))) = self.by_start.range(start..).next() {
            if s < end {
                return Err(o);
            }
        }
        self.by_start.insert(start, (end, owner));
        Ok(())
    }
}

fn walk_archive(
    ctx: &mut Ctx,
    path: &str,
    src: &mut dyn ReadSeek,
    depth: usize,
    meta: Option<&Meta>,
    sink: &mut Sink<'_>,
) {
    let mut head = [0u8; SNIFF_LEN];
    let got = src.seek(SeekFrom::Start(0)).and_then(|_| read_full(src, &mut head));
    let got = match got {
        Ok(n) => n,
        Err(e) => {
            sink(Ev::Error { path, message: format!("cannot read archive: {e}"), meta });
            return;
        }
    };
    let Some(kind) = sniff(&head[..got]) else {
        sink(Ev::Error { path, message: "not a zip, cab, tar or gzip archive (unrecognised signature)".into(), meta });
        return;
    };
    sink(Ev::Archive { path, kind, meta });
    match kind {
        ArchiveKind::Zip => walk_zip(ctx, path, src, depth, sink),
        ArchiveKind::Cab => walk_cab(ctx, path, src, depth, sink),
        ArchiveKind::Wim => sink(Ev::Error { path, message: WIM_UNSUPPORTED.into(), meta: None }),
        ArchiveKind::Tar => tar::walk_plain_tar(ctx, path, src, depth, sink),
        ArchiveKind::Gzip => tar::walk_gzip(ctx, path, src, depth, sink),
    }
}

const WIM_UNSUPPORTED: &str = "WIM container (MSWIM) is not supported: newer .msu files carry \
     their payload as .wim + .psf deltas, which need DISM to apply; read the logs from the \
     machine instead";

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `parent!name`, with `\` turned into `/` and control characters escaped.
fn join(parent: &str, name: &str) -> String {
    let mut out = String::with_capacity(parent.len() + name.len() + 1);
    out.push_str(parent);
    out.push('!');
    for c in name.chars() {
        if c == '\\' {
            out.push('/');
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Largest read [`Counting`] passes on: decoders read ahead into their own
/// buffers (32 KiB for the zip crate's inflater), which would make the
/// compressed bytes counted for a member too high and its ratio too low;
/// short reads keep the read-ahead, and so the error, small.
const COUNTING_MAX_READ: usize = 2048;

/// Counts bytes pulled from an archive's own bytes (compressed input).
struct Counting<'s> {
    inner: &'s mut dyn ReadSeek,
    count: Rc<Cell<u64>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(COUNTING_MAX_READ);
        let n = self.inner.read(&mut buf[..len])?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

impl Seek for Counting<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailKind {
    /// One of the [`Limits`].
    Limit,
    /// The data could not be decoded (damaged, truncated, decoder panic).
    Decode,
}

#[derive(Debug, Clone)]
struct Failure {
    kind: FailKind,
    message: String,
}

/// The reader handed out for a member: replays the sniffed head, enforces
/// the limits, catches decoder panics and remembers the first failure.
struct Guard<'g> {
    inner: &'g mut dyn Read,
    ctx: &'g mut Ctx,
    /// Compressed bytes pulled from the archive so far, and at member start.
    consumed: &'g Cell<u64>,
    consumed_start: u64,
    declared: Option<u64>,
    /// Apply the per-member limits (size, ratio); off for skipping.
    member_limits: bool,
    head: [u8; SNIFF_LEN],
    head_len: usize,
    head_pos: usize,
    /// Bytes accepted from `inner`.
    produced: u64,
    /// Bytes taken from `inner`, accepted or not.
    pulled: u64,
    failure: Option<Failure>,
}

impl<'g> Guard<'g> {
    fn new(inner: &'g mut dyn Read, ctx: &'g mut Ctx, consumed: &'g Cell<u64>, declared: Option<u64>) -> Self {
        let consumed_start = consumed.get();
        Guard {
            inner,
            ctx,
            consumed,
            consumed_start,
            declared,
            member_limits: true,
            head: [0; SNIFF_LEN],
            head_len: 0,
            head_pos: 0,
            produced: 0,
            pulled: 0,
            failure: None,
        }
    }

    fn fail(&mut self, kind: FailKind, message: String) -> io::Error {
        let err = io::Error::other(message.clone());
        self.failure = Some(Failure { kind, message });
        err
    }

    /// Read the first bytes (up to [`SNIFF_LEN`]) for sniffing; they are replayed.
    fn peek(&mut self) -> io::Result<&[u8]> {
        let mut head = [0u8; SNIFF_LEN];
        let mut n = 0;
        while n < head.len() {
            match self.pull(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.head = head;
        self.head_len = n;
        self.head_pos = 0;
        Ok(&self.head[..n])
    }

    fn pull(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.failure {
            return Err(io::Error::other(f.message.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let limits = self.ctx.limits;
        let total_room = self.ctx.budget().saturating_sub(self.ctx.total);
        let member_room =
            if self.member_limits { limits.max_member_bytes.saturating_sub(self.produced) } else { u64::MAX };
        let room = total_room.min(member_room);
        // At a limit, a one-byte probe tells the end of the data from more
        // data past the limit; otherwise never read past a limit.
        let mut probe = [0u8; 1];
        let target: &mut [u8] = if room == 0 {
            &mut probe
        } else {
            let want = (buf.len() as u64).min(room) as usize;
            &mut buf[..want]
        };
        let inner = &mut *self.inner;
        let got = catch_unwind(AssertUnwindSafe(|| inner.read(target)));
        let n = match got {
            Err(p) => {
                let msg = format!("decoder crashed on malformed data ({})", panic_text(p.as_ref()));
                return Err(self.fail(FailKind::Decode, msg));
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Ok(Err(e)) => {
                let msg = format!("cannot decode: {e}");
                return Err(self.fail(FailKind::Decode, msg));
            }
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            if let Some(d) = self.declared {
                if self.produced < d {
                    let msg = format!("data ends early: got {} of {} bytes (truncated or damaged)", self.produced, d);
                    return Err(self.fail(FailKind::Decode, msg));
                }
            }
            return Ok(0);
        }
        let n64 = n as u64;
        self.pulled = self.pulled.saturating_add(n64);
        if room == 0 {
            let msg = if member_room == 0 {
                format!("member size limit exceeded (max_member_bytes = {})", limits.max_member_bytes)
            } else {
                // The walk stops after this member.
                self.ctx.exhausted = true;
                self.ctx.total_message()
            };
            return Err(self.fail(FailKind::Limit, msg));
        }
        let produced = self.produced + n64;
        if let Some(d) = self.declared {
            if produced > d {
                let msg = format!("member data is longer than its declared size ({d} bytes)");
                return Err(self.fail(FailKind::Decode, msg));
            }
        }
        self.produced = produced;
        self.ctx.total += n64;
        if self.member_limits && produced > RATIO_FLOOR {
            let consumed = self.consumed.get().saturating_sub(self.consumed_start).max(1);
            if produced > limits.max_ratio.saturating_mul(consumed) {
                // No byte counts: where a read stops depends on the reader's
                // buffer sizes, and the report must not.
                let msg = format!(
                    "compression ratio limit exceeded (max_ratio = {0}:1): the member inflates to more than {0} times its compressed size (checked past its first {1} MiB)",
                    limits.max_ratio,
                    RATIO_FLOOR >> 20
                );
                return Err(self.fail(FailKind::Limit, msg));
            }
        }
        Ok(n)
    }
}

impl Read for Guard<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.head_pos < self.head_len {
            if buf.is_empty() {
                return Ok(0);
            }
            let n = (self.head_len - self.head_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
            self.head_pos += n;
            return Ok(n);
        }
        self.pull(buf)
    }
}

/// What became of one member.
struct Outcome {
    /// Bytes taken from the member stream.
    pulled: u64,
    /// A decode failure (the stream behind it is unreliable from here).
    decode_error: Option<String>,
}

/// Deliver one member: sniff it, enter it if it is an archive, otherwise
/// hand it to the callback; report what went wrong.
#[allow(clippy::too_many_arguments)]
fn handle_member(
    ctx: &mut Ctx,
    path: &str,
    meta: &Meta,
    stream: &mut dyn Read,
    consumed: &Cell<u64>,
    depth: usize,
    sink: &mut Sink<'_>,
) -> Outcome {
    let limits = ctx.limits;
    if let Some(size) = meta.size {
        if size > limits.max_member_bytes {
            sink(Ev::Error {
                path,
                message: format!(
                    "member size limit exceeded (max_member_bytes = {}): member is {} bytes",
                    limits.max_member_bytes, size
                ),
                meta: Some(meta),
            });
            return Outcome { pulled: 0, decode_error: None };
        }
    }
    let mut guard = Guard::new(stream, ctx, consumed, meta.size);
    let kind = match guard.peek() {
        Ok(head) => sniff(head),
        Err(_) => {
            let f = guard.failure.clone();
            let pulled = guard.pulled;
            let (message, decode_error) = match f {
                Some(f) => {
                    let d = (f.kind == FailKind::Decode).then(|| f.message.clone());
                    (f.message, d)
                }
                None => ("cannot read".to_string(), None),
            };
            sink(Ev::Error { path, message, meta: Some(meta) });
            return Outcome { pulled, decode_error };
        }
    };
    match kind {
        Some(ArchiveKind::Wim) => {
            let pulled = guard.pulled;
            sink(Ev::Archive { path, kind: ArchiveKind::Wim, meta: Some(meta) });
            sink(Ev::Error { path, message: WIM_UNSUPPORTED.into(), meta: None });
            Outcome { pulled, decode_error: None }
        }
        Some(kind) => {
            if depth + 1 > limits.max_depth {
                let pulled = guard.pulled;
                sink(Ev::Error {
                    path,
                    message: format!(
                        "nested {} archive not entered: nesting depth limit reached (max_depth = {})",
                        kind.name(),
                        limits.max_depth
                    ),
                    meta: Some(meta),
                });
                return Outcome { pulled, decode_error: None };
            }
            let mut buf = Vec::new();
            let res = guard.read_to_end(&mut buf);
            let pulled = guard.pulled;
            let failure = guard.failure.take();
            drop(guard);
            if let Err(e) = res {
                let (message, decode_error) = match failure {
                    Some(f) => {
                        let d = (f.kind == FailKind::Decode).then(|| f.message.clone());
                        (f.message, d)
                    }
                    None => (format!("cannot read: {e}"), None),
                };
                sink(Ev::Error {
                    path,
                    message: format!("nested {} archive not read: {message}", kind.name()),
                    meta: Some(meta),
                });
                return Outcome { pulled, decode_error };
            }
            walk_archive(ctx, path, &mut Cursor::new(buf), depth + 1, Some(meta), sink);
            Outcome { pulled, decode_error: None }
        }
        None => {
            sink(Ev::File { path, meta, reader: &mut guard });
            let pulled = guard.pulled;
            match guard.failure.take() {
                Some(f) => {
                    let decode_error = (f.kind == FailKind::Decode).then(|| f.message.clone());
                    sink(Ev::Error { path, message: f.message, meta: None });
                    Outcome { pulled, decode_error }
                }
                None => Outcome { pulled, decode_error: None },
            }
        }
    }
}

fn members_limit_message(limits: &Limits, total: usize) -> String {
    format!(
        "member count limit exceeded (max_members = {}): the archive lists {} members; the last {} were not read",
        limits.max_members,
        total,
        total - limits.max_members
    )
}

fn stopped_message(ctx: &Ctx, left: usize) -> String {
    format!("stopped: {}; {left} member(s) not read", ctx.total_message())
}

// ---------------------------------------------------------------------------
// Zip
// ---------------------------------------------------------------------------

fn zip_error(e: &zip::result::ZipError) -> String {
    match e {
        zip::result::ZipError::Io(io) => format!("i/o error: {io}"),
        other => other.to_string(),
    }
}

#[allow(deprecated)]
fn zip_method(m: zip::CompressionMethod) -> (String, bool) {
    use zip::CompressionMethod as M;
    match m {
        M::Stored => ("stored".into(), true),
        M::Deflated => ("deflate".into(), true),
        M::Deflate64 => ("deflate64".into(), true),
        M::Unsupported(n) => {
            let name = match n {
                1 => "shrink",
                2..=5 => "reduce",
                6 => "implode",
                12 => "bzip2",
                14 => "lzma",
                93 => "zstd",
                95 => "xz",
                98 => "ppmd",
                99 => "aes",
                _ => "unknown",
            };
            (format!("{name} (method {n})"), false)
        }
        other => (format!("{other:?}").to_ascii_lowercase(), false),
    }
}

fn walk_zip(ctx: &mut Ctx, path: &str, src: &mut dyn ReadSeek, depth: usize, sink: &mut Sink<'_>) {
    let counter = Rc::new(Cell::new(0u64));
    let reader = Counting { inner: src, count: Rc::clone(&counter) };
    let opened = catch_unwind(AssertUnwindSafe(|| zip::ZipArchive::new(reader)));
    let mut archive = match opened {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            sink(Ev::Error { path, message: format!("cannot read zip directory: {}", zip_error(&e)), meta: None });
            return;
        }
        Err(p) => {
            sink(Ev::Error {
                path,
                message: format!("zip reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: None,
            });
            return;
        }
    };
    let count = archive.len();
    let take = count.min(ctx.limits.max_members);
    let mut ranges = Ranges::default();
    for i in 0..take {
        if ctx.exhausted {
            sink(Ev::Error { path, message: stopped_message(ctx, take - i), meta: None });
            return;
        }
        zip_member(ctx, path, &mut archive, i, &counter, &mut ranges, depth, sink);
    }
    if count > take {
        sink(Ev::Error { path, message: members_limit_message(&ctx.limits, count), meta: None });
    }
}

#[allow(clippy::too_many_arguments)]
fn zip_member<R: Read + Seek>(
    ctx: &mut Ctx,
    path: &str,
    archive: &mut zip::ZipArchive<R>,
    i: usize,
    counter: &Cell<u64>,
    ranges: &mut Ranges,
    depth: usize,
    sink: &mut Sink<'_>,
) {
    let fallback_name = archive.name_for_index(i).map(str::to_string).unwrap_or_else(|| format!("#{i}"));
    // Metadata first, without decompressing.
    let raw = catch_unwind(AssertUnwindSafe(|| {
        archive.by_index_raw(i).map(|f| {
            let span = (f.header_start(), f.data_start().saturating_add(f.compressed_size()));
            (f.name().to_string(), f.is_dir(), f.encrypted(), f.compression(), f.size(), f.compressed_size(), span)
        })
    }));
    let (name, is_dir, encrypted, method, size, compressed, span) = match raw {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let p = join(path, &fallback_name);
            sink(Ev::Error { path: &p, message: format!("cannot read zip entry: {}", zip_error(&e)), meta: None });
            return;
        }
        Err(p) => {
            let p2 = join(path, &fallback_name);
            sink(Ev::Error {
                path: &p2,
                message: format!("zip reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: None,
            });
            return;
        }
    };
    if is_dir {
        return;
    }
    let member_path = join(path, &name);
    let (method_name, supported) = zip_method(method);
    let meta = Meta { size: Some(size), compressed: Some(compressed), method: method_name.clone() };
    if encrypted {
        sink(Ev::Error {
            path: &member_path,
            message: "encrypted member: password-protected zip entries are not supported".into(),
            meta: Some(&meta),
        });
        return;
    }
    if !supported {
        sink(Ev::Error {
            path: &member_path,
            message: format!(
                "unsupported zip compression method {method_name} (only stored, deflate and deflate64 are read)"
            ),
            meta: Some(&meta),
        });
        return;
    }
    // Its local header and data, from the central directory: a second
    // entry pointing into them would decode the same bytes again.
    if let Err(other) = ranges.claim(span.0, span.1, i) {
        let other = archive.name_for_index(other).map(|n| join("", n)).unwrap_or_default();
        sink(Ev::Error {
            path: &member_path,
            message: format!(
                "overlaps member {} (its data at bytes {}..{} is shared with that member): not read again",
                other.trim_start_matches('!'),
                span.0,
                span.1
            ),
            meta: Some(&meta),
        });
        return;
    }
    let a = &mut *archive;
    let opened = catch_unwind(AssertUnwindSafe(move || {
        let a = a;
        a.by_index(i)
    }));
    let mut file = match opened {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            sink(Ev::Error {
                path: &member_path,
                message: format!("cannot open zip entry: {}", zip_error(&e)),
                meta: Some(&meta),
            });
            return;
        }
        Err(p) => {
            sink(Ev::Error {
                path: &member_path,
                message: format!("zip reader crashed on malformed data ({})", panic_text(p.as_ref())),
                meta: Some(&meta),
            });
            return;
        }
    };
    handle_member(ctx, &member_path, &meta, &mut file, counter, depth, sink);
}

// ---------------------------------------------------------------------------
// Cab
// ---------------------------------------------------------------------------

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

fn walk_cab(ctx: &mut Ctx, path: &str, src: &mut dyn ReadSeek, depth: usize, sink: &mut Sink<'_>) {
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

// ---------------------------------------------------------------------------
// Package manifests and properties
// ---------------------------------------------------------------------------

/// Text from bytes: UTF-8 / UTF-16 (LE or BE) by BOM, else UTF-16 guessed
/// from NUL bytes, else UTF-8 (lossy).
fn decode_text(bytes: &[u8]) -> String {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text.into_owned();
    }
    if bytes.len() >= 2 {
        let sample = &bytes[..bytes.len().min(512) & !1];
        let odd_nuls = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let even_nuls = sample.iter().step_by(2).filter(|&&b| b == 0).count();
        let pairs = sample.len() / 2;
        if pairs > 0 && odd_nuls * 2 > pairs && even_nuls * 4 < pairs {
            let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(bytes);
            return text.into_owned();
        }
        if pairs > 0 && even_nuls * 2 > pairs && odd_nuls * 4 < pairs {
            let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(bytes);
            return text.into_owned();
        }
    }
    String::from_utf8_lossy(bytes).into_owned()
}

fn mentions_servicing_stack(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("servicing stack") || l.contains("servicingstack")
}

/// `KB1234567` from a name such as `Package_for_KB2999226`.
fn kb_in(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i].eq_ignore_ascii_case(&b'K') && b[i + 1].eq_ignore_ascii_case(&b'B') {
            let digits = b[i + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits >= 4 {
                return Some(format!("KB{}", &s[i + 2..i + 2 + digits]));
            }
        }
        i += 1;
    }
    None
}

/// The package identity in a `.mum` manifest; `Ok(None)` when it is XML but
/// not a package manifest.
fn parse_mum(bytes: &[u8], source: &str) -> Result<Option<PackageIdentity>, String> {
    let text = decode_text(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("cannot parse manifest: {e}"))?;
    let root = doc.root_element();
    if !root.tag_name().name().eq_ignore_ascii_case("assembly") {
        return Ok(None);
    }
    let child = |name: &str| root.children().find(|n| n.is_element() && n.tag_name().name() == name);
    let Some(identity) = child("assemblyIdentity") else {
        return Ok(None);
    };
    let attr = |n: roxmltree::Node<'_, '_>, a: &str| n.attribute(a).unwrap_or("").to_string();
    let package = child("package");
    let name = attr(identity, "name");
    let release_type = package.and_then(|p| p.attribute("releaseType")).unwrap_or("");
    let kb = package.and_then(|p| p.attribute("identifier")).and_then(kb_in).or_else(|| kb_in(&name));
    let is_servicing_stack = mentions_servicing_stack(release_type)
        || mentions_servicing_stack(&name)
        || ["description", "displayName"].iter().filter_map(|a| root.attribute(*a)).any(mentions_servicing_stack);
    Ok(Some(PackageIdentity {
        version: attr(identity, "version"),
        arch: attr(identity, "processorArchitecture"),
        public_key_token: attr(identity, "publicKeyToken"),
        name,
        kb,
        is_servicing_stack,
        source: source.to_string(),
    }))
}

/// `Key="Value"` lines of a `*-pkgProperties.txt`.
fn parse_properties(bytes: &[u8]) -> Vec<(String, String)> {
    decode_text(bytes)
        .lines()
        .filter_map(|line| {
            let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
            let (k, v) = line.split_once('=')?;
            let k = k.trim();
            if k.is_empty() {
                return None;
            }
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_magic() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(ArchiveKind::Zip));
        assert_eq!(sniff(b"PK\x05\x06\0\0\0\0"), Some(ArchiveKind::Zip));
        assert_eq!(sniff(b"MSCF\0\0\0\0"), Some(ArchiveKind::Cab));
        assert_eq!(sniff(b"MSWIM\0\0\0\xd0"), Some(ArchiveKind::Wim));
        assert_eq!(sniff(b"MSWIM"), None);
        assert_eq!(sniff(b"PK"), None);
        assert_eq!(sniff(b"PK\x07\x08"), None);
        assert_eq!(sniff(b"2025-10-14 03:12:05, Info CBS"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn default_limits() {
        let l = Limits::default();
        assert_eq!(l.max_total_bytes, 4 * 1024 * 1024 * 1024);
        assert_eq!(l.max_ratio, 1000);
        assert_eq!(l.max_members, 100_000);
        assert_eq!(l.max_depth, 3);
        assert_eq!(l.max_member_bytes, 2 * 1024 * 1024 * 1024);
    }

    fn drain(g: &mut Guard<'_>) -> (u64, Option<String>) {
        let mut buf = [0u8; 7000];
        let mut n = 0u64;
        loop {
            match g.read(&mut buf) {
                Ok(0) => return (n, None),
                Ok(k) => n += k as u64,
                Err(e) => return (n, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn member_size_limit_is_exact() {
        let mut ctx = Ctx::new(Limits { max_member_bytes: 10_000, ..Limits::default() });
        let consumed = Cell::new(u64::MAX / 2);
        let mut src = io::repeat(b'a').take(10_000);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, None);
        assert_eq!(drain(&mut g), (10_000, None));
        assert_eq!(ctx.total, 10_000);

        let mut src = io::repeat(b'a').take(10_001);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, None);
        let (n, err) = drain(&mut g);
        assert_eq!(n, 10_000);
        assert!(err.unwrap().contains("max_member_bytes"));
        assert!(!ctx.exhausted);
    }

    #[test]
    fn total_limit_spans_members() {
        let mut ctx = Ctx::new(Limits { max_total_bytes: 25_000, ..Limits::default() });
        let consumed = Cell::new(u64::MAX / 2);
        for _ in 0..2 {
            let mut src = io::repeat(0).take(10_000);
            let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(10_000));
            assert_eq!(drain(&mut g), (10_000, None));
        }
        let mut src = io::repeat(0).take(10_000);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(10_000));
        let (n, err) = drain(&mut g);
        assert_eq!(n, 5_000);
        assert!(err.unwrap().contains("max_total_bytes"));
        assert!(ctx.exhausted);
        assert_eq!(ctx.total, 25_000);
    }

    /// A reader that "consumes" one compressed byte per `ratio` bytes out.
    struct Expanding<'c> {
        counter: &'c Cell<u64>,
        ratio: u64,
        left: u64,
    }

    impl Read for Expanding<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (buf.len() as u64).min(self.left).min(4096) as usize;
            buf[..n].fill(0);
            self.left -= n as u64;
            self.counter.set(self.counter.get() + (n as u64).div_ceil(self.ratio));
            Ok(n)
        }
    }

    #[test]
    fn ratio_only_after_floor() {
        let counter = Cell::new(0);
        let mut ctx = Ctx::new(Limits::default());
        // 4000:1 but under 1 MiB: fine.
        let mut src = Expanding { counter: &counter, ratio: 4000, left: RATIO_FLOOR };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        assert_eq!(drain(&mut g), (RATIO_FLOOR, None));

        // 4000:1 past 1 MiB: stopped just past the floor.
        let mut src = Expanding { counter: &counter, ratio: 4000, left: 8 * RATIO_FLOOR };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        let (n, err) = drain(&mut g);
        assert!(n <= RATIO_FLOOR + 8192, "{n}");
        assert!(err.unwrap().contains("max_ratio"));

        // 100:1 is fine at any size.
        let mut src = Expanding { counter: &counter, ratio: 100, left: 8 * RATIO_FLOOR };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        assert_eq!(drain(&mut g), (8 * RATIO_FLOOR, None));
    }

    #[test]
    fn ratio_holds_over_the_whole_archive() {
        // A 10,000-byte archive at 200:1 may give 2,000,000 bytes in all,
        // however the members share them out (each member's own ratio is 1).
        let limits = Limits { max_ratio: 200, ..Limits::default() };
        let mut ctx = Ctx { archive_len: 10_000, ..Ctx::new(limits) };
        let counter = Cell::new(0);
        let mut src = Expanding { counter: &counter, ratio: 1, left: 1_500_000 };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        assert_eq!(drain(&mut g), (1_500_000, None));
        let mut src = Expanding { counter: &counter, ratio: 1, left: 1_500_000 };
        let mut g = Guard::new(&mut src, &mut ctx, &counter, None);
        let (n, err) = drain(&mut g);
        assert_eq!(n, 500_000);
        assert!(err.unwrap().contains("max_ratio = 200:1 over the whole archive"));
        assert!(ctx.exhausted);
        assert_eq!(ctx.total, 2_000_000);
        // Under the floor, a tiny archive still gives 1 MiB.
        let ctx = Ctx { archive_len: 10, ..Ctx::new(limits) };
        assert_eq!(ctx.budget(), RATIO_FLOOR);
    }

    #[test]
    fn ranges_refuse_overlaps_only() {
        let mut r = Ranges::default();
        assert_eq!(r.claim(100, 200, 0), Ok(()));
        assert_eq!(r.claim(200, 300, 1), Ok(()));
        assert_eq!(r.claim(0, 100, 2), Ok(()));
        assert_eq!(r.claim(150, 160, 3), Err(0));
        assert_eq!(r.claim(50, 101, 4), Err(2));
        assert_eq!(r.claim(299, 400, 5), Err(1));
        assert_eq!(r.claim(0, 1000, 6), Err(2));
        assert_eq!(r.claim(5, 5, 7), Ok(()), "an empty range overlaps nothing");
        assert_eq!(r.claim(300, 301, 8), Ok(()));
    }

    #[test]
    fn truncated_and_overlong_members() {
        let mut ctx = Ctx::new(Limits::default());
        let consumed = Cell::new(0);
        let mut src = io::repeat(1).take(10);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(20));
        let (n, err) = drain(&mut g);
        assert_eq!(n, 10);
        assert!(err.unwrap().contains("ends early"));
        assert_eq!(g.failure.as_ref().unwrap().kind, FailKind::Decode);

        let mut src = io::repeat(1).take(30);
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(20));
        let (_, err) = drain(&mut g);
        assert!(err.unwrap().contains("longer than its declared size"));
    }

    struct Panicky;
    impl Read for Panicky {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("index out of bounds");
        }
    }

    #[test]
    fn decoder_panic_becomes_error() {
        let mut ctx = Ctx::new(Limits::default());
        let consumed = Cell::new(0);
        let mut src = Panicky;
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, None);
        let (_, err) = drain(&mut g);
        assert!(err.unwrap().contains("decoder crashed"));
        // Later reads keep failing the same way.
        assert!(g.read(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn peeked_head_is_replayed() {
        let mut ctx = Ctx::new(Limits::default());
        let consumed = Cell::new(0);
        let mut src: &[u8] = b"MSCF and more bytes";
        let mut g = Guard::new(&mut src, &mut ctx, &consumed, Some(19));
        assert_eq!(sniff(g.peek().unwrap()), Some(ArchiveKind::Cab));
        let mut out = Vec::new();
        g.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"MSCF and more bytes");
        assert_eq!(ctx.total, 19);
    }

    #[test]
    fn display_paths() {
        assert_eq!(join("bundle.zip", "Windows\\Logs\\CBS\\x.cab"), "bundle.zip!Windows/Logs/CBS/x.cab");
        assert_eq!(join("a", "../../etc/passwd"), "a!../../etc/passwd");
        assert_eq!(join("a", "bad\u{1b}[31mname\n"), "a!bad\\u{1b}[31mname\\n");
    }

    #[test]
    fn properties_and_text() {
        let utf16: Vec<u8> = "\u{feff}Package Type=\"Update\"\r\nKB Article Number=\"2999226\"\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let props = parse_properties(&utf16);
        assert_eq!(
            props,
            vec![
                ("Package Type".to_string(), "Update".to_string()),
                ("KB Article Number".to_string(), "2999226".to_string())
            ]
        );
        let no_bom: Vec<u8> = "A=\"b\"".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_text(&no_bom), "A=\"b\"");
        assert_eq!(kb_in("Package_for_KB2999226_RTM"), Some("KB2999226".into()));
        assert_eq!(kb_in("Package_for_RollupFix"), None);
    }

    #[test]
    fn mum_identity() {
        let mum = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\
            <assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\">\
            <assemblyIdentity name=\"Package_for_ServicingStack_1049\" version=\"19041.1049.1.1\" \
             processorArchitecture=\"amd64\" publicKeyToken=\"31bf3856ad364e35\"/>\
            <package identifier=\"KB5003791\" releaseType=\"Update\"/></assembly>";
        let pkg = parse_mum(mum.as_bytes(), "x.cab!update.mum").unwrap().unwrap();
        assert_eq!(pkg.name, "Package_for_ServicingStack_1049");
        assert_eq!(pkg.kb.as_deref(), Some("KB5003791"));
        assert!(pkg.is_servicing_stack);
        assert!(parse_mum(b"<notassembly/>", "x").unwrap().is_none());
        assert!(parse_mum(b"<assembly", "x").is_err());
    }

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
