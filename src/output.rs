//! Writing a batch of outputs all or nothing.
//!
//! Each output is written to a temporary file in its destination directory
//! and synced ([`Batch::stage`], safe to call from several threads); only
//! when every output of the batch is staged are the temporaries renamed over
//! their destinations and the directories synced ([`Batch::commit`]). A
//! failure before that removes every temporary and every directory the batch
//! created ([`Batch::abort`], also run when a batch is dropped unfinished),
//! so the destinations are either all replaced or all untouched.
//!
//! A destination that is a device or a pipe (`-o /dev/null`) is written
//! through at commit, before any file is replaced, and is never replaced
//! itself; a symbolic link is followed, so its target is rewritten and the
//! link stays. A replaced file keeps the mode of the file named as its mode
//! source. A file with several hard links is replaced like any other: the
//! path given gets the new content, and the other links keep the old one
//! (as `sed -i` does; a ccache hard-linked into a build tree stays intact).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// An output ready to be put in place.
enum Staged {
    /// A synced temporary next to the destination, renamed over it on commit.
    Temp { temp: PathBuf, dest: PathBuf },
    /// A destination that is not a regular file: written on commit.
    Direct { dest: PathBuf, bytes: Vec<u8> },
}

fn io_error(e: std::io::Error, p: &Path) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", p.display()))
}

fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.bcrename-{}.tmp", std::process::id()))
}

/// True for the temporaries this module writes (for tests and cleanup checks).
pub fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().contains(".bcrename-"))
}

/// A set of outputs written together.
#[derive(Default)]
pub struct Batch {
    /// Directories this batch created (outermost of each chain).
    created: Mutex<Vec<PathBuf>>,
    /// Staged outputs with the order they are committed in.
    staged: Mutex<Vec<(usize, Staged)>>,
    done: bool,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages `bytes` for `dest`; outputs are committed in `order` order.
    /// `mode_from` names a file whose permissions the output takes.
    ///
    /// # Errors
    /// I/O errors; nothing of this output is left behind.
    pub fn stage(
        &self,
        order: usize,
        dest: &Path,
        bytes: &[u8],
        mode_from: Option<&Path>,
    ) -> Result<()> {
        if let Ok(meta) = fs::metadata(dest) {
            if meta.is_dir() {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("{}: is a directory", dest.display()),
                ));
            }
            if !meta.is_file() {
                let s = Staged::Direct {
                    dest: dest.to_path_buf(),
                    bytes: bytes.to_vec(),
                };
                self.staged.lock().unwrap().push((order, s));
                return Ok(());
            }
        }
        let is_link = fs::symlink_metadata(dest)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        let dest = if is_link {
            fs::canonicalize(dest).map_err(|e| io_error(e, dest))?
        } else {
            dest.to_path_buf()
        };
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut created = self.created.lock().unwrap();
            let mut outermost = None;
            let mut missing = dir;
            while !missing.as_os_str().is_empty() && !missing.exists() {
                outermost = Some(missing.to_path_buf());
                missing = missing.parent().unwrap_or(Path::new(""));
            }
            let made = fs::create_dir_all(dir);
            if let Some(o) = outermost.filter(|o| o.is_dir()) {
                created.push(o);
            }
            made.map_err(|e| io_error(e, dir))?;
        }
        let temp = temp_path(&dest);
        let written = (|| {
            let mut f = fs::File::create(&temp)?;
            f.write_all(bytes)?;
            if let Some(src) = mode_from {
                f.set_permissions(fs::metadata(src)?.permissions())?;
            }
            f.sync_data()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(io_error(e, &dest));
        }
        self.staged
            .lock()
            .unwrap()
            .push((order, Staged::Temp { temp, dest }));
        Ok(())
    }

    fn take(&mut self) -> (Vec<(usize, Staged)>, Vec<PathBuf>) {
        self.done = true;
        (
            std::mem::take(&mut *self.staged.lock().unwrap()),
            std::mem::take(&mut *self.created.lock().unwrap()),
        )
    }

    fn remove(staged: &[(usize, Staged)], created: &[PathBuf]) {
        for (_, s) in staged {
            if let Staged::Temp { temp, .. } = s {
                let _ = fs::remove_file(temp);
            }
        }
        // Directories made for this batch held only its temporaries.
        for dir in created.iter().rev() {
            let _ = fs::remove_dir_all(dir);
        }
    }

    /// Removes everything staged and every directory the batch created.
    pub fn abort(mut self) {
        let (staged, created) = self.take();
        Self::remove(&staged, &created);
    }

    /// Puts every staged output in place, in order, then syncs each
    /// directory once.
    ///
    /// # Errors
    /// I/O errors; temporaries not yet renamed are removed (and, when the
    /// failure came before the first rename, the directories the batch made).
    pub fn commit(mut self) -> Result<()> {
        let (mut staged, created) = self.take();
        // Devices and pipes first: a write to them can fail (`/dev/full`)
        // and cannot be undone, so it must happen before any file is replaced.
        staged.sort_by_key(|(order, s)| (matches!(s, Staged::Temp { .. }), *order));
        let mut dirs = BTreeSet::new();
        for (i, (_, s)) in staged.iter().enumerate() {
            let result = match s {
                Staged::Temp { temp, dest } => {
                    dirs.insert(
                        dest.parent()
                            .filter(|d| !d.as_os_str().is_empty())
                            .unwrap_or(Path::new("."))
                            .to_path_buf(),
                    );
                    fs::rename(temp, dest).map_err(|e| io_error(e, dest))
                }
                Staged::Direct { dest, bytes } => fs::OpenOptions::new()
                    .write(true)
                    .open(dest)
                    .and_then(|mut f| f.write_all(bytes))
                    .map_err(|e| io_error(e, dest)),
            };
            if let Err(e) = result {
                // Before the first rename nothing was replaced: undo it all.
                let none_renamed = staged[..i]
                    .iter()
                    .all(|(_, s)| matches!(s, Staged::Direct { .. }));
                Self::remove(&staged[i + 1..], if none_renamed { &created } else { &[] });
                return Err(e);
            }
        }
        for dir in dirs {
            fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(e, &dir))?;
        }
        Ok(())
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if !self.done {
            let (staged, created) = self.take();
            Self::remove(&staged, &created);
        }
    }
}
