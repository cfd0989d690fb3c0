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
//!
//! Here: the public API ([`sniff`], [`Limits`], [`Event`], [`walk`]) and the
//! walker's own events; the walk and its limits are in `walker`, the formats
//! in `zip`, `cab` and `tar`. What an update package holds is
//! [`crate::package`].

use std::io::{self, Read, Seek};

mod cab;
mod tar;
mod walker;
mod zip;

use walker::{walk_archive, Ctx};

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
    /// Lower-case name, as used by [`crate::package::Inspection::kind`].
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
    let mut sink = |ev: Ev<'_>| match ev {
        Ev::File { path, meta, reader, .. } => on(Event::File { path, size: meta.size, reader }),
        Ev::Error { path, message, .. } => on(Event::Error { path, message }),
        Ev::Archive { path, kind, .. } => on(Event::Archive { path, kind }),
    };
    walk_listed(display, archive, limits, &mut sink);
}

/// [`walk`], reporting the walker's own events: each member's listing facts
/// too, for [`crate::package::inspect`].
pub(crate) fn walk_listed<R: Read + Seek>(display: &str, archive: R, limits: &Limits, sink: &mut Sink<'_>) {
    let mut archive = io::BufReader::with_capacity(BUF_CAPACITY, archive);
    let mut ctx = Ctx::for_archive(*limits, &mut archive);
    walk_archive(&mut ctx, display, &mut archive, 0, None, sink);
}

/// One member as listed by [`crate::package::inspect`].
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

/// Per-member facts for listing.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) size: Option<u64>,
    pub(crate) compressed: Option<u64>,
    pub(crate) method: String,
}

impl Meta {
    pub(crate) fn info(&self, path: String) -> MemberInfo {
        MemberInfo { path, size: self.size, compressed: self.compressed, method: self.method.clone() }
    }
}

/// The walker's own events: [`Event`] plus what [`crate::package::inspect`]
/// lists.
pub(crate) enum Ev<'a> {
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

pub(crate) type Sink<'s> = dyn FnMut(Ev<'_>) + 's;

/// Text from bytes: UTF-8 / UTF-16 (LE or BE) by BOM, else UTF-16 guessed
/// from NUL bytes, else UTF-8 (lossy). For member names (tar) and update
/// package manifests ([`crate::package`]).
pub(crate) fn decode_text(bytes: &[u8]) -> String {
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
}
