//! Writing a batch of outputs all or nothing.
//!
//! Each output is written to a temporary file in its destination directory
//! ([`Batch::stage`], safe to call from several threads); only when every
//! output of the batch is staged are the temporaries renamed over their
//! destinations ([`Batch::commit`]), so no reader ever sees a partial file.
//! A failure before that removes every temporary and every directory the
//! batch created ([`Batch::abort`], also run when a batch is dropped
//! unfinished), so the destinations are either all replaced or all
//! untouched.
//!
//! A *durable* batch (`--in-place`, which replaces the inputs themselves)
//! also puts every temporary on disk before the first rename and syncs each
//! directory after the last, so a crash can never leave an input replaced
//! by a file whose content was not yet written. On Linux that is one
//! `syncfs` per filesystem rather than one `fsync` per file. Other outputs
//! are not synced, as a compiler or `cp` does not sync what it writes: they
//! are derived files that a rerun makes again.
//!
//! A destination that is a device or a pipe (`-o /dev/null`) is written
//! through at commit, before any file is replaced, and is never replaced
//! itself; a symbolic link is followed, so its target is rewritten and the
//! link stays. A file is given the permissions it is staged with. A file
//! with several hard links is replaced like any other: the path given gets
//! the new content, and the other links keep the old one (as `sed -i`
//! does; a ccache hard-linked into a build tree stays intact).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// An output ready to be put in place.
enum Staged {
    /// A temporary next to the destination, renamed over it on commit.
    Temp { temp: PathBuf, dest: PathBuf },
    /// A destination that is not a regular file: written on commit.
    Direct { dest: PathBuf, bytes: Vec<u8> },
    /// A file written in its place inside the staging copy of a new
    /// directory (see [`Batch::set_new_directory`]).
    InNewDirectory { file: PathBuf },
}

fn io_error(e: std::io::Error, p: &Path) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", p.display()))
}

/// The name a temporary for `dest` takes, next to it.
fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.bcrename-{}.tmp", std::process::id()))
}

/// Writes `bytes` to a new file `path`, with permissions `mode` if given;
/// `umask` is the process's, if known.
fn write_new(
    path: &Path,
    bytes: &[u8],
    mode: Option<&fs::Permissions>,
    umask: Option<u32>,
) -> std::io::Result<()> {
    // A file made with the mode it is to have needs no `chmod`, unless
    // the umask takes bits from it (or it was there already).
    let mut f = match mode.and_then(|m| create_with(path, m, umask?)) {
        Some(f) => f,
        None => {
            let f = fs::File::create(path)?;
            if let Some(m) = mode {
                f.set_permissions(m.clone())?;
            }
            f
        }
    };
    f.write_all(bytes)
}

/// A new file `path` with permissions `mode`, when creating it with that
/// mode is sure to give it (no bit of `umask` meets the mode, no special
/// bit); `None` to make it the usual way and set the mode after.
#[cfg(unix)]
fn create_with(path: &Path, mode: &fs::Permissions, umask: u32) -> Option<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let bits = mode.mode() & 0o7777;
    if bits & 0o7000 != 0 || bits & umask != 0 {
        return None;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(bits)
        .open(path)
        .ok()
}

#[cfg(not(unix))]
fn create_with(_: &Path, _: &fs::Permissions, _: u32) -> Option<fs::File> {
    None
}

/// The process's umask, as Linux reports it in `/proc/self/status` (since
/// 4.7); `None` where it does not. (Asking `umask(2)` would set it, for
/// every thread.)
fn process_umask() -> Option<u32> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// True for the temporaries this module writes (for tests and cleanup checks).
pub fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().contains(".bcrename-"))
}

/// The directories a batch made or found in place.
#[derive(Default)]
struct Directories {
    /// Directories this batch created (outermost of each chain).
    created: Vec<PathBuf>,
    /// Directories known to exist: checked or made once per batch.
    ready: BTreeSet<PathBuf>,
}

/// A directory that did not exist, built under another name and renamed
/// into place at commit.
struct NewDirectory {
    path: PathBuf,
    staging: PathBuf,
}

/// A set of outputs written together.
pub struct Batch {
    durable: bool,
    /// The process's umask when the batch was made, if known.
    umask: Option<u32>,
    new_directory: Option<NewDirectory>,
    dirs: Mutex<Directories>,
    /// Staged outputs with the order they are committed in.
    staged: Mutex<Vec<(usize, Staged)>>,
    done: bool,
}

/// What a batch leaves to undo when it does not complete.
struct Leftovers {
    staged: Vec<(usize, Staged)>,
    created: Vec<PathBuf>,
    staging: Option<PathBuf>,
}

impl Leftovers {
    /// Removes the temporaries from `from` on, and, when `everything`, the
    /// staging directory and the directories the batch made.
    fn remove(&self, from: usize, everything: bool) {
        for (_, s) in &self.staged[from..] {
            if let Staged::Temp { temp, .. } = s {
                let _ = fs::remove_file(temp);
            }
        }
        if everything {
            if let Some(staging) = &self.staging {
                let _ = fs::remove_dir_all(staging);
            }
            // Directories made for this batch held only its temporaries.
            for dir in self.created.iter().rev() {
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
}

impl Batch {
    /// A batch; a `durable` one has every new content on disk before it
    /// replaces anything (see the module documentation).
    pub fn new(durable: bool) -> Self {
        Batch {
            durable,
            umask: process_umask(),
            new_directory: None,
            dirs: Mutex::default(),
            staged: Mutex::default(),
            done: false,
        }
    }

    /// Outputs under `dir`, when it does not exist yet, are written straight
    /// into a staging directory next to it, which is renamed to `dir` at
    /// commit: the whole tree appears at once, with one rename instead of
    /// one per file. When `dir` exists this does nothing.
    pub fn set_new_directory(&mut self, dir: &Path) {
        let exists = fs::symlink_metadata(dir).is_ok();
        let Some(name) = dir.file_name().filter(|_| !exists) else {
            return;
        };
        let staging = dir.with_file_name(format!(
            ".{}.bcrename-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        self.new_directory = Some(NewDirectory {
            path: dir.to_path_buf(),
            staging,
        });
    }

    /// Makes sure `dir` exists, remembering what was made for [`Batch::abort`].
    fn ensure_dir(&self, dir: &Path) -> Result<()> {
        if dir.as_os_str().is_empty() {
            return Ok(());
        }
        let mut dirs = self.dirs.lock().unwrap();
        if dirs.ready.contains(dir) {
            return Ok(());
        }
        let mut outermost = None;
        let mut missing = dir;
        while !missing.as_os_str().is_empty() && !missing.exists() {
            outermost = Some(missing.to_path_buf());
            missing = missing.parent().unwrap_or(Path::new(""));
        }
        let made = fs::create_dir_all(dir);
        if let Some(o) = outermost.filter(|o| o.is_dir()) {
            dirs.created.push(o);
        }
        made.map_err(|e| io_error(e, dir))?;
        dirs.ready.insert(dir.to_path_buf());
        Ok(())
    }

    /// Stages `bytes` for `dest`; outputs are committed in `order` order.
    /// `mode` gives the permissions the output takes (else it gets those
    /// of a new file).
    ///
    /// # Errors
    /// I/O errors; nothing of this output is left behind.
    pub fn stage(
        &self,
        order: usize,
        dest: &Path,
        bytes: &[u8],
        mode: Option<&fs::Permissions>,
    ) -> Result<()> {
        if let Some(nd) = &self.new_directory {
            if let Ok(rel) = dest.strip_prefix(&nd.path) {
                let file = nd.staging.join(rel);
                self.ensure_dir(file.parent().unwrap_or(&nd.staging))?;
                if let Err(e) = write_new(&file, bytes, mode, self.umask) {
                    let _ = fs::remove_file(&file);
                    return Err(io_error(e, dest));
                }
                let s = Staged::InNewDirectory { file };
                self.staged.lock().unwrap().push((order, s));
                return Ok(());
            }
        }
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
        if let Some(dir) = dest.parent() {
            self.ensure_dir(dir)?;
        }
        let temp = temp_path(&dest);
        if let Err(e) = write_new(&temp, bytes, mode, self.umask) {
            let _ = fs::remove_file(&temp);
            return Err(io_error(e, &dest));
        }
        self.staged
            .lock()
            .unwrap()
            .push((order, Staged::Temp { temp, dest }));
        Ok(())
    }

    fn take(&mut self) -> Leftovers {
        self.done = true;
        Leftovers {
            staged: std::mem::take(&mut *self.staged.lock().unwrap()),
            created: std::mem::take(&mut self.dirs.lock().unwrap().created),
            staging: self.new_directory.as_ref().map(|nd| nd.staging.clone()),
        }
    }

    /// Removes everything staged and every directory the batch created.
    pub fn abort(mut self) {
        self.take().remove(0, true);
    }

    /// Puts every staged output in place, in order; a durable batch first
    /// puts the new content on disk and then syncs each directory once.
    ///
    /// # Errors
    /// I/O errors; temporaries not yet renamed are removed (and, when the
    /// failure came before the first rename, everything the batch made).
    pub fn commit(mut self) -> Result<()> {
        let durable = self.durable;
        let mut left = self.take();
        let new_directory = self.new_directory.take();
        // Devices and pipes first: a write to them can fail (`/dev/full`)
        // and cannot be undone, so it must happen before any file is
        // replaced. Then the new directory, then files replaced one by one.
        left.staged.sort_by_key(|(order, s)| {
            let rank = match s {
                Staged::Direct { .. } => 0,
                Staged::InNewDirectory { .. } => 1,
                Staged::Temp { .. } => 2,
            };
            (rank, *order)
        });
        if durable {
            let files: Vec<&Path> = left
                .staged
                .iter()
                .filter_map(|(_, s)| match s {
                    Staged::Temp { temp: f, .. } | Staged::InNewDirectory { file: f } => {
                        Some(f.as_path())
                    }
                    Staged::Direct { .. } => None,
                })
                .collect();
            if let Err(e) = sync_files(&files) {
                left.remove(0, true);
                return Err(e);
            }
        }
        let parent_of = |p: &Path| {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        };
        let mut dirs = BTreeSet::new();
        let mut renamed = false;
        let mut new_directory_moved = false;
        for i in 0..left.staged.len() {
            let result = match &left.staged[i].1 {
                Staged::Direct { dest, bytes } => fs::OpenOptions::new()
                    .write(true)
                    .open(dest)
                    .and_then(|mut f| f.write_all(bytes))
                    .map_err(|e| io_error(e, dest)),
                Staged::InNewDirectory { .. } if new_directory_moved => continue,
                Staged::InNewDirectory { .. } => {
                    let nd = new_directory.as_ref().expect("staged in a new directory");
                    dirs.insert(parent_of(&nd.path));
                    new_directory_moved = true;
                    fs::rename(&nd.staging, &nd.path).map_err(|e| io_error(e, &nd.path))
                }
                Staged::Temp { temp, dest } => {
                    dirs.insert(parent_of(dest));
                    fs::rename(temp, dest).map_err(|e| io_error(e, dest))
                }
            };
            match result {
                Ok(()) => renamed |= !matches!(left.staged[i].1, Staged::Direct { .. }),
                Err(e) => {
                    // Before the first rename nothing was replaced: undo it all.
                    left.remove(i + 1, !renamed);
                    return Err(e);
                }
            }
        }
        if durable {
            for dir in dirs {
                fs::File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io_error(e, &dir))?;
            }
        }
        Ok(())
    }
}

/// Puts the content of `files` on disk. On Linux, one `syncfs` per
/// filesystem they are on (what `sync -f` does): the writeback of many
/// files is then one request, not one `fsync` each.
#[cfg(target_os = "linux")]
fn sync_files(files: &[&Path]) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dirs: BTreeSet<&Path> = files
        .iter()
        .map(|f| {
            f.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        })
        .collect();
    let mut filesystems = BTreeSet::new();
    for dir in dirs {
        let handle = fs::File::open(dir).map_err(|e| io_error(e, dir))?;
        let dev = handle.metadata().map_err(|e| io_error(e, dir))?.dev();
        if filesystems.insert(dev) {
            rustix::fs::syncfs(&handle).map_err(|e| io_error(e.into(), dir))?;
        }
    }
    Ok(())
}

/// Puts the content of `files` on disk, one at a time.
#[cfg(not(target_os = "linux"))]
fn sync_files(files: &[&Path]) -> Result<()> {
    for &f in files {
        fs::OpenOptions::new()
            .write(true)
            .open(f)
            .and_then(|file| file.sync_all())
            .map_err(|e| io_error(e, f))?;
    }
    Ok(())
}

impl Drop for Batch {
    fn drop(&mut self) {
        if !self.done {
            self.take().remove(0, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if is_temporary(&p) {
                out.push(p.clone());
            }
            if p.is_dir() {
                out.extend(leftovers(&p));
            }
        }
        out
    }

    #[test]
    fn a_new_directory_appears_whole_at_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a/b/out");
        let mut batch = Batch::new(false);
        batch.set_new_directory(&out);
        batch.stage(0, &out.join("x.bc"), b"x", None).unwrap();
        batch.stage(1, &out.join("sub/y.bc"), b"y", None).unwrap();
        assert!(!out.exists(), "visible before commit");
        batch.commit().unwrap();
        assert_eq!(fs::read(out.join("x.bc")).unwrap(), b"x");
        assert_eq!(fs::read(out.join("sub/y.bc")).unwrap(), b"y");
        assert_eq!(leftovers(tmp.path()), Vec::<PathBuf>::new());
    }

    #[test]
    fn an_aborted_new_directory_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a/out");
        let mut batch = Batch::new(false);
        batch.set_new_directory(&out);
        batch.stage(0, &out.join("x.bc"), b"x", None).unwrap();
        batch.abort();
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_made_meanwhile_fails_the_commit_cleanly() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let mut batch = Batch::new(true);
        batch.set_new_directory(&out);
        batch.stage(0, &out.join("x.bc"), b"new", None).unwrap();
        // Someone else fills the directory before the commit.
        fs::create_dir(&out).unwrap();
        fs::write(out.join("x.bc"), b"theirs").unwrap();
        assert!(batch.commit().is_err());
        assert_eq!(fs::read(out.join("x.bc")).unwrap(), b"theirs");
        assert_eq!(leftovers(tmp.path()), Vec::<PathBuf>::new());
    }

    #[test]
    fn an_existing_directory_is_written_file_by_file_and_durably() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("keep.bc"), b"keep").unwrap();
        fs::write(out.join("x.bc"), b"old").unwrap();
        let mut batch = Batch::new(true);
        batch.set_new_directory(&out);
        batch.stage(0, &out.join("x.bc"), b"new", None).unwrap();
        assert_eq!(fs::read(out.join("x.bc")).unwrap(), b"old");
        batch.commit().unwrap();
        assert_eq!(fs::read(out.join("x.bc")).unwrap(), b"new");
        assert_eq!(fs::read(out.join("keep.bc")).unwrap(), b"keep");
        assert_eq!(leftovers(tmp.path()), Vec::<PathBuf>::new());
    }
}
