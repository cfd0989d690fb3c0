//! Inputs → the files to read. A path is a log file or a folder (walked
//! recursively, in name order, without following directory links).
//! [`classify`] then says what each file is.

pub mod archive;
pub mod classify;
pub mod open;
pub mod winroot;

use std::path::{Path, PathBuf};

/// Folders holding more files than this are cut short (and say so).
pub const MAX_FILES: usize = 100_000;

/// One thing found under the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A regular file to read; `input` is the index of the user's path it
    /// came from (logs under one path are one machine's bundle).
    File { path: PathBuf, input: usize },
    /// A folder that holds a Windows installation: read its standard log
    /// places and check its servicing stack, instead of walking it.
    Root { root: winroot::WindowsRoot, input: usize },
    /// An input or folder entry that could not be used, and why.
    Problem { path: PathBuf, message: String },
}

/// Expand the user's paths into files, keeping their order; folders are
/// walked in name order so reports are the same on every run.
pub fn discover(inputs: &[PathBuf]) -> Vec<Found> {
    let mut out = Vec::new();
    for (idx, input) in inputs.iter().enumerate() {
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                out.push(Found::Problem { path: input.clone(), message: describe_io(&e) });
                continue;
            }
        };
        if meta.is_file() {
            out.push(Found::File { path: input.clone(), input: idx });
        } else if meta.is_dir() {
            match winroot::detect(input) {
                Some(root) => out.push(Found::Root { root, input: idx }),
                None => walk(input, idx, &mut out),
            }
        } else {
            out.push(Found::Problem { path: input.clone(), message: "not a regular file or folder".into() });
        }
    }
    out
}

fn walk(root: &Path, input: usize, out: &mut Vec<Found>) {
    let mut files = 0usize;
    let walker = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name();
    for entry in walker {
        match entry {
            Err(e) => {
                let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| root.to_path_buf());
                let message = match e.io_error() {
                    Some(io) => describe_io(io),
                    None => e.to_string(),
                };
                out.push(Found::Problem { path, message });
            }
            Ok(entry) => {
                let ft = entry.file_type();
                // A link to a file is read; a link to a folder is not followed (loops).
                let is_file =
                    ft.is_file() || (ft.is_symlink() && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()));
                if !is_file {
                    continue;
                }
                files += 1;
                if files > MAX_FILES {
                    out.push(Found::Problem {
                        path: root.to_path_buf(),
                        message: format!("more than {MAX_FILES} files; the rest of this folder was not read"),
                    });
                    return;
                }
                out.push(Found::File { path: entry.into_path(), input });
            }
        }
    }
}

/// A short reason for an I/O error, without the OS error number noise.
pub fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or folder".into(),
        PermissionDenied => "permission denied".into(),
        IsADirectory => "is a folder".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_name_order_and_reports_missing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b/c")).unwrap();
        std::fs::write(d.path().join("b/c/z.log"), "x").unwrap();
        std::fs::write(d.path().join("a.log"), "x").unwrap();
        std::fs::write(d.path().join("b/y.log"), "x").unwrap();
        let missing = d.path().join("nope");
        let found = discover(&[d.path().to_path_buf(), missing.clone()]);
        let names: Vec<String> = found
            .iter()
            .map(|f| match f {
                Found::File { path, .. } => {
                    path.strip_prefix(d.path()).unwrap().display().to_string().replace('\\', "/")
                }
                Found::Problem { path, message } => format!("{}: {message}", path.display()),
                Found::Root { root, .. } => format!("root {}", root.root.display()),
            })
            .collect();
        assert_eq!(names[..3], ["a.log", "b/c/z.log", "b/y.log"]);
        assert_eq!(names[3], format!("{}: no such file or folder", missing.display()));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loop_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("x")).unwrap();
        std::os::unix::fs::symlink(d.path(), d.path().join("x/loop")).unwrap();
        std::fs::write(d.path().join("x/CBS.log"), "x").unwrap();
        let found = discover(&[d.path().to_path_buf()]);
        assert_eq!(found.len(), 1);
    }
}
