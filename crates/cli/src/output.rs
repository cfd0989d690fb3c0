//! Where a report or plan is written: standard output, or a file written
//! beside its final name and renamed, never over or into the evidence.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write to `--output`, or to standard output.
pub(crate) fn write_output(output: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match output {
        Some(path) => {
            let mut file = OutputFile::create(path)?;
            file.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
            file.commit()?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// An `--output` file. A new or regular file is written under a temporary
/// name beside it and then renamed into place: an existing name that is a
/// link (symbolic or hard) to a log is replaced, never written through, and
/// a run that fails leaves no half-written report. Anything else (a pipe,
/// a device, `/dev/stdout`) is written to directly.
pub(crate) enum OutputFile {
    Renamed { tmp: std::io::BufWriter<tempfile::NamedTempFile>, path: PathBuf },
    Direct(std::io::BufWriter<std::fs::File>),
}

impl OutputFile {
    pub(crate) fn create(path: &Path) -> Result<OutputFile> {
        let cannot = || format!("cannot write {}", path.display());
        let existing = std::fs::metadata(path).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            let f = std::fs::OpenOptions::new().write(true).open(path).with_context(cannot)?;
            return Ok(OutputFile::Direct(std::io::BufWriter::new(f)));
        }
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new().prefix(".servicing-doctor-").tempfile_in(dir).with_context(cannot)?;
        // The report keeps the mode of the file it replaces, else the usual one.
        let perms = match existing {
            Some(m) => Some(m.permissions()),
            #[cfg(unix)]
            None => Some(std::os::unix::fs::PermissionsExt::from_mode(0o644)),
            #[cfg(not(unix))]
            None => None,
        };
        if let Some(perms) = perms {
            tmp.as_file().set_permissions(perms).with_context(cannot)?;
        }
        Ok(OutputFile::Renamed { tmp: std::io::BufWriter::new(tmp), path: path.to_path_buf() })
    }

    pub(crate) fn commit(self) -> Result<()> {
        match self {
            OutputFile::Direct(mut f) => f.flush().context("cannot write the report")?,
            OutputFile::Renamed { tmp, path } => {
                let cannot = || format!("cannot write {}", path.display());
                let tmp = tmp.into_inner().map_err(|e| e.into_error()).with_context(cannot)?;
                tmp.persist(&path).map_err(|e| e.error).with_context(cannot)?;
            }
        }
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            OutputFile::Renamed { tmp, .. } => tmp.write(buf),
            OutputFile::Direct(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            OutputFile::Renamed { tmp, .. } => tmp.flush(),
            OutputFile::Direct(f) => f.flush(),
        }
    }
}

/// The report never goes over, or into, the evidence.
pub(crate) fn refuse_overwriting_inputs(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(dir) = parent.canonicalize() else {
        bail!("cannot write {}: its folder does not exist", out.display());
    };
    // The name itself, and what it links to when it is a symbolic link.
    let mut targets = vec![dir.join(out.file_name().unwrap_or_default())];
    targets.extend(out.canonicalize().ok());
    for input in inputs {
        let Ok(inp) = input.canonicalize() else {
            continue;
        };
        if targets.iter().any(|t| *t == inp || (inp.is_dir() && t.starts_with(&inp))) {
            bail!(
                "refusing to write to {}: it is (inside, or links into) the input {}",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}
