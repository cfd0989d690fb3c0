//! Tar (`.tar`) and gzip (`.gz`, `.tar.gz`, `.tgz`) bundles, read as
//! streams: how Linux rescue systems and support tools collect logs.
//!
//! The tar reader is hand-written because the `tar` crate reads a GNU
//! long-name or PAX header entry whole, whatever size it declares: a small
//! `.tar.gz` could inflate one into gigabytes of memory. Here every header
//! is 512 bytes, a long name keeps its first 4 KiB and a PAX header its
//! first 64 KiB, everything else is skipped through the walk's limits.
//! Format: POSIX.1-2001 `ustar`/`pax`, and the GNU `L`/`K` extensions.

use super::walker::{handle_member, join, read_full, Counting, Ctx, FailKind, Guard, ReadSeek};
use super::{decode_text, Ev, Meta, Sink};
use std::cell::Cell;
use std::io::{self, Read, SeekFrom};
use std::rc::Rc;

const BLOCK: usize = 512;
/// Bytes of a GNU long name kept (a path longer than this is cut).
const MAX_LONG_NAME: u64 = 4096;
/// Bytes of a PAX extended header parsed.
const MAX_PAX: u64 = 64 << 10;

/// True for a tar header block: `ustar` at offset 257 (POSIX and GNU).
pub(super) fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// Counts the bytes read through it into `count` (a plain tar's own bytes).
struct CountRead<'a> {
    inner: &'a mut dyn Read,
    count: &'a Cell<u64>,
}

impl Read for CountRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Walk a tar archive that starts at the current position of `src`.
pub(super) fn walk_plain_tar(ctx: &mut Ctx, path: &str, src: &mut dyn ReadSeek, depth: usize, sink: &mut Sink<'_>) {
    let count = Cell::new(0u64);
    if let Err(e) = src.seek(SeekFrom::Start(0)) {
        sink(Ev::Error { path, message: format!("cannot read archive: {e}"), meta: None });
        return;
    }
    let mut counted = CountRead { inner: src, count: &count };
    walk_tar(ctx, path, &mut counted, &count, depth, sink);
}

/// Walk a gzip stream: a tar inside is walked as this archive's members
/// (`x.tar.gz!Windows/Logs/CBS/CBS.log`); anything else is one member named
/// after the file without `.gz`.
pub(super) fn walk_gzip(ctx: &mut Ctx, path: &str, src: &mut dyn ReadSeek, depth: usize, sink: &mut Sink<'_>) {
    let counter = Rc::new(Cell::new(0u64));
    if let Err(e) = src.seek(SeekFrom::Start(0)) {
        sink(Ev::Error { path, message: format!("cannot read archive: {e}"), meta: None });
        return;
    }
    let reader = Counting { inner: src, count: Rc::clone(&counter) };
    let mut gz = flate2::read::MultiGzDecoder::new(io::BufReader::new(reader));
    // The first block tells a tar from anything else; it is read again.
    let mut head = vec![0u8; BLOCK];
    let got = {
        let mut g = Guard::new(&mut gz, ctx, &counter, None);
        g.member_limits = false;
        let r = read_full(&mut g, &mut head);
        let failure = g.failure.take();
        match (r, failure) {
            (Ok(n), None) => n,
            (_, f) => {
                let message = f.map_or_else(|| "cannot read".to_string(), |f| f.message);
                sink(Ev::Error { path, message: format!("gzip stream not read: {message}"), meta: None });
                return;
            }
        }
    };
    head.truncate(got);
    // The head was counted once; the member reads it again.
    ctx.total = ctx.total.saturating_sub(got as u64);
    let mut stream = io::Cursor::new(head).chain(gz);
    if is_tar(stream.get_ref().0.get_ref()) {
        walk_tar(ctx, path, &mut stream, &counter, depth, sink);
        return;
    }
    let last = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    let lower = last.to_ascii_lowercase();
    let inner = if lower.ends_with(".tgz") {
        format!("{}.tar", &last[..last.len() - 4])
    } else if lower.ends_with(".gz") && last.len() > 3 {
        last[..last.len() - 3].to_string()
    } else {
        format!("{last}.ungz")
    };
    let member = join(path, &inner);
    let meta = Meta { size: None, compressed: None, method: "gzip".into() };
    let out = handle_member(ctx, &member, &meta, &mut stream, &counter, depth, sink);
    let _ = out;
}

/// The fields of one header block that matter here.
struct Header {
    name: String,
    size: u64,
    kind: u8,
}

fn field_str(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// An octal number, or GNU base-256 when the top bit of the first byte is set.
fn number(b: &[u8]) -> Option<u64> {
    if b.first().is_some_and(|c| c & 0x80 != 0) {
        let mut v: u64 = u64::from(b[0] & 0x7f);
        for &c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(c))?;
        }
        return Some(v);
    }
    let t = field_str(b);
    let t: Vec<u8> = t.iter().copied().filter(|c| *c != b' ').collect();
    if t.is_empty() {
        return Some(0);
    }
    let mut v: u64 = 0;
    for c in t {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

fn parse_header(b: &[u8; BLOCK]) -> Result<Header, String> {
    let want = number(&b[148..156]).ok_or("its checksum field is not a number")?;
    let sum: u64 = b.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { u64::from(c) }).sum();
    if sum != want {
        return Err(format!("bad header checksum ({sum}, the header says {want})"));
    }
    let size = number(&b[124..136]).ok_or("its size field is not a number")?;
    let mut name = Vec::from(field_str(&b[0..100]));
    // POSIX ustar: a prefix joined with a slash (GNU headers use the space otherwise).
    if &b[257..263] == b"ustar\0" {
        let prefix = field_str(&b[345..500]);
        if !prefix.is_empty() {
            let mut p = prefix.to_vec();
            p.push(b'/');
            p.extend_from_slice(&name);
            name = p;
        }
    }
    Ok(Header { name: decode_text(&name), size, kind: b[156] })
}

/// Where one tar stream stands: the members given so far and what a
/// preceding long-name or PAX entry says of the next member.
struct TarState {
    members: usize,
    next_name: Option<String>,
    next_size: Option<u64>,
}

/// Walk tar entries from `src` (already counted into `consumed`).
fn walk_tar(ctx: &mut Ctx, path: &str, src: &mut dyn Read, consumed: &Cell<u64>, depth: usize, sink: &mut Sink<'_>) {
    let mut st = TarState { members: 0, next_name: None, next_size: None };
    loop {
        if ctx.exhausted {
            sink(Ev::Error {
                path,
                message: format!("stopped: {}; the rest was not read", ctx.total_message()),
                meta: None,
            });
            return;
        }
        let mut block = [0u8; BLOCK];
        let got = {
            let mut g = Guard::new(src, ctx, consumed, None);
            g.member_limits = false;
            match read_full(&mut g, &mut block) {
                Ok(n) => n,
                Err(_) => {
                    let message = g.failure.take().map_or_else(|| "cannot read".to_string(), |f| f.message);
                    sink(Ev::Error { path, message: format!("tar header not read: {message}"), meta: None });
                    return;
                }
            }
        };
        if got == 0 || block.iter().all(|&c| c == 0) {
            return; // the end (two zero blocks, or none at all)
        }
        if got < BLOCK {
            sink(Ev::Error { path, message: format!("truncated tar header ({got} of {BLOCK} bytes)"), meta: None });
            return;
        }
        let h = match parse_header(&block) {
            Ok(h) => h,
            Err(e) => {
                sink(Ev::Error { path, message: format!("damaged tar archive: {e}"), meta: None });
                return;
            }
        };
        let size = st.next_size.take().filter(|_| matches!(h.kind, b'0' | 0 | b'7')).unwrap_or(h.size);
        let padded = size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64);
        let result = match h.kind {
            b'L' => read_meta(ctx, src, consumed, padded, size.min(MAX_LONG_NAME)).map(|b| {
                st.next_name = Some(decode_text(field_str(&b)));
            }),
            b'x' => read_meta(ctx, src, consumed, padded, size.min(MAX_PAX)).map(|b| {
                let (name, sz) = pax(&b);
                st.next_name = name.or(st.next_name.take());
                st.next_size = sz;
            }),
            b'0' | 0 | b'7' => {
                let name = st.next_name.take().unwrap_or(h.name);
                if st.members >= ctx.limits.max_members {
                    sink(Ev::Error {
                        path,
                        message: format!(
                            "member count limit exceeded (max_members = {}): the rest of the archive was not read",
                            ctx.limits.max_members
                        ),
                        meta: None,
                    });
                    return;
                }
                st.members += 1;
                let member = join(path, &name);
                let meta = Meta { size: Some(size), compressed: Some(size), method: "stored".into() };
                let mut take = (&mut *src).take(size);
                let out = handle_member(ctx, &member, &meta, &mut take, consumed, depth, sink);
                if let Some(e) = out.decode_error {
                    sink(Ev::Error { path, message: format!("stopped: {e}"), meta: None });
                    return;
                }
                skip(ctx, src, consumed, padded.saturating_sub(out.pulled))
            }
            _ => {
                // Folders, links (never followed), devices, global headers.
                st.next_name = None;
                skip(ctx, src, consumed, padded)
            }
        };
        if let Err(message) = result {
            sink(Ev::Error { path, message, meta: None });
            return;
        }
    }
}

/// Read an entry's first `keep` bytes and skip the rest of its `padded` bytes.
fn read_meta(
    ctx: &mut Ctx,
    src: &mut dyn Read,
    consumed: &Cell<u64>,
    padded: u64,
    keep: u64,
) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    {
        let mut g = Guard::new(src, ctx, consumed, None);
        g.member_limits = false;
        if (&mut g).take(keep).read_to_end(&mut buf).is_err() {
            return Err(g.failure.take().map_or_else(|| "cannot read".to_string(), |f| f.message));
        }
    }
    if (buf.len() as u64) < keep {
        return Err("truncated tar archive".into());
    }
    skip(ctx, src, consumed, padded - keep)?;
    Ok(buf)
}

/// Skip `n` bytes through the walk's limits (a skip decodes, too).
fn skip(ctx: &mut Ctx, src: &mut dyn Read, consumed: &Cell<u64>, n: u64) -> Result<(), String> {
    let mut g = Guard::new(src, ctx, consumed, None);
    g.member_limits = false;
    match io::copy(&mut (&mut g).take(n), &mut io::sink()) {
        Ok(done) if done == n => Ok(()),
        Ok(_) => Err("truncated tar archive".into()),
        Err(_) => Err(match g.failure.take() {
            Some(f) if f.kind == FailKind::Limit => f.message,
            Some(f) => format!("cannot read: {}", f.message),
            None => "cannot read".into(),
        }),
    }
}

/// `path` and `size` from PAX records (`<len> <key>=<value>\n`).
fn pax(b: &[u8]) -> (Option<String>, Option<u64>) {
    let (mut name, mut size) = (None, None);
    let mut rest = b;
    while let Some(sp) = rest.iter().position(|&c| c == b' ') {
        let Some(len) = std::str::from_utf8(&rest[..sp]).ok().and_then(|s| s.parse::<usize>().ok()) else { break };
        if len <= sp || len > rest.len() {
            break;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|&c| c == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => name = Some(decode_text(v)),
                b"size" => size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
    (name, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_octal_and_base_256() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"   12 \0"), Some(0o12));
        assert_eq!(number(b"\0\0\0\0"), Some(0));
        assert_eq!(number(b"89\0"), None);
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(&[0xff; 12]), None, "overflow is refused");
    }

    #[test]
    fn pax_records() {
        let b = b"31 path=Windows/Logs/CBS/x.log\n12 size=100\n9 bad rec\n";
        assert_eq!(pax(b), (Some("Windows/Logs/CBS/x.log".into()), Some(100)));
        assert_eq!(pax(b"999999 path=x\n"), (None, None));
        assert_eq!(pax(b"x"), (None, None));
    }
}
