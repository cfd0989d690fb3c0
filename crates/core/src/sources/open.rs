//! The one way this crate opens a file it did not write: read-only,
//! never blocking on a FIFO or a device, and never reading past the size
//! the file had when it was opened.
//!
//! Why: a FIFO named `SOFTWARE` or `x.yaml` blocks `open(2)` forever, and a
//! link to `/proc/kmsg` is a "regular file" of size 0 whose reads block and
//! consume kernel messages. Opening with `O_NONBLOCK`, refusing anything
//! that is not a regular file, and reading at most the size seen at open
//! time closes all three, whatever the caller does with the bytes.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// A regular file, opened read-only, readable up to the length it had
/// when opened (a log that grows while read is read as it was).
///
/// Hand-written because `std::io::Take` is not `Seek`, and archives need
/// both.
#[derive(Debug)]
pub struct RegularFile {
    file: File,
    len: u64,
    pos: u64,
}

impl RegularFile {
    /// The length the file had when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Why a path could not be opened as a regular file.
#[derive(Debug)]
pub enum OpenError {
    Io(io::Error),
    /// A folder, FIFO, socket or device; the text says which.
    NotRegular(&'static str),
    /// Larger than the caller accepts.
    TooLarge {
        len: u64,
        max: u64,
    },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Io(e) => f.write_str(&super::describe_io(e)),
            OpenError::NotRegular(what) => write!(f, "not a regular file ({what})"),
            OpenError::TooLarge { len, max } => write!(f, "it is {len} bytes; the limit is {max}"),
        }
    }
}

impl std::error::Error for OpenError {}

fn file_kind(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a named pipe";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else {
        "not a file"
    }
}

/// Opens `path` (links followed) as a regular file without ever blocking.
pub fn open_regular(path: &Path) -> Result<RegularFile, OpenError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO with no writer returns at once; on a
        // regular file the flag has no effect.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    // Windows refuses to open a folder with "access denied"; say what it is.
    let file = opts.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::IsADirectory => OpenError::NotRegular("a folder"),
        _ if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) => OpenError::NotRegular("a folder"),
        _ => OpenError::Io(e),
    })?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular(file_kind(meta.file_type())));
    }
    Ok(RegularFile { file, len: meta.len(), pos: 0 })
}

/// Reads a whole regular file, refusing one larger than `max` bytes
/// before reading any of it.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, OpenError> {
    let mut f = open_regular(path)?;
    if f.len > max {
        return Err(OpenError::TooLarge { len: f.len, max });
    }
    let mut bytes = Vec::with_capacity(f.len as usize);
    f.read_to_end(&mut bytes).map_err(OpenError::Io)?;
    Ok(bytes)
}

impl Read for RegularFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RegularFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the file"))?;
        // Past the snapshot's end reads give nothing, as past a file's end.
        self.pos = self.file.seek(SeekFrom::Start(target))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_up_to_its_length_at_open() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"hello").unwrap();
        let mut f = open_regular(&p).unwrap();
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all_at_end(b" world");
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
        f.seek(SeekFrom::Start(1)).unwrap();
        s.clear();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ello");
        assert!(matches!(read_regular(&p, 3), Err(OpenError::TooLarge { len: 11, max: 3 })));
        assert!(matches!(open_regular(d.path()), Err(OpenError::NotRegular("a folder"))));
    }

    trait AppendExt {
        fn write_all_at_end(self, b: &[u8]);
    }
    impl AppendExt for File {
        fn write_all_at_end(mut self, b: &[u8]) {
            std::io::Write::write_all(&mut self, b).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("SOFTWARE");
        let status = std::process::Command::new("mkfifo").arg(&p).status().unwrap();
        assert!(status.success());
        let e = open_regular(&p).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a named pipe)");
        assert!(read_regular(&p, 10).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_proc_file_of_size_zero_is_never_read() {
        // /proc/self/status reports size 0 though reads return text: the
        // same shape as /proc/kmsg, whose reads block.
        let mut f = open_regular(Path::new("/proc/self/status")).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        assert!(v.is_empty());
    }
}
