//! Finding input files: plain files, directories searched for bitcode, and
//! `@FILE` response files; `-` for standard input.
//!
//! Directories are walked in byte order of file names, so the result does not
//! depend on the file system's order. A file under a directory is kept when
//! its first bytes are bitcode or wrapper magic; other files are skipped and
//! counted. ([`list`] leaves that to the first read of each file,
//! [`InputFile::read_first`], which saves opening each file once more.)
//! Symbolic links to files are followed; links to directories are
//! not (as `find` does by default), which also rules out cycles.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::bitstream::wrapper::looks_like_bitcode;
use crate::error::{Error, ErrorKind, Result};

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

/// One input module file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub source: Source,
    /// The path as given on the command line or found under a directory
    /// argument (`-` for standard input); used in reports.
    pub display: String,
    /// For files found under a directory argument: the path relative to it.
    pub relative: Option<PathBuf>,
}

impl InputFile {
    /// Reads the whole input.
    ///
    /// # Errors
    /// I/O errors, naming the input.
    pub fn read(&self) -> Result<Vec<u8>> {
        match &self.source {
            Source::File(p) => fs::read(p).map_err(|e| io_error(p, e)),
            Source::Stdin => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::new(ErrorKind::Io, format!("standard input: {e}")))?;
                Ok(buf)
            }
        }
    }

    /// Reads the whole input and the permissions of its file (`None` for
    /// standard input): one `fstat`, and one `read` for a file that keeps
    /// the size it has (with a part left out, [`Reading::leave_out`]: one
    /// for its first bytes and one for the rest after that part); `None`
    /// for a file skipped as not bitcode (see [`Reading`]).
    ///
    /// # Errors
    /// I/O errors, naming the input.
    pub fn read_first(&self, how: Reading) -> Result<Option<FirstRead>> {
        let Reading {
            sniff,
            keep_open,
            leave_out,
        } = how;
        let Source::File(p) = &self.source else {
            return Ok(Some(FirstRead {
                data: self.read()?,
                permissions: None,
                file: None,
                unread: None,
            }));
        };
        let sniff = sniff && self.relative.is_some();
        let read = || -> std::io::Result<_> {
            let mut f = fs::File::open(p)?;
            let meta = f.metadata()?;
            let len = meta.len() as usize;
            let (data, gap) = if meta.is_file() {
                match read_sniffing(&mut f, len, sniff, leave_out)? {
                    Some(read) => read,
                    None => return Ok(None),
                }
            } else {
                let mut buf = Vec::new();
                f.read_to_end(&mut buf)?;
                (buf, None)
            };
            let (file, own) = match keep_open && meta.is_file() {
                true => match OpenInput::keep(f) {
                    Ok(kept) => (Some(kept), None),
                    Err(f) => (None, Some(f)),
                },
                false => (None, Some(f)),
            };
            let unread = gap.map(|range| Unread {
                range,
                modified: meta.modified().ok(),
                file: own,
            });
            Ok(Some(FirstRead {
                data,
                permissions: Some(meta.permissions()),
                file,
                unread,
            }))
        };
        read().map_err(|e| io_error(p, e))
    }

    /// Reads the whole input again, a file expected to hold `len` bytes:
    /// through `open`, the file left open by its first read, if there is
    /// one (which closes it), else opened again by path; one `read` when
    /// it holds `len`. (The caller checks what it gets.)
    ///
    /// # Errors
    /// I/O errors, naming the input.
    pub fn read_again(&self, open: Option<OpenInput>, len: usize) -> Result<Vec<u8>> {
        self.read_again_dated(open, len, false)
            .map(|(data, _)| data)
    }

    /// [`InputFile::read_again`], with the modification time of the file
    /// read (one `fstat` of it) when `dated`: `None` where it cannot be had
    /// (standard input among them).
    ///
    /// # Errors
    /// As [`InputFile::read_again`].
    pub fn read_again_dated(
        &self,
        open: Option<OpenInput>,
        len: usize,
        dated: bool,
    ) -> Result<(Vec<u8>, Option<std::time::SystemTime>)> {
        let Source::File(p) = &self.source else {
            return self.read().map(|data| (data, None));
        };
        let read = || {
            let mut kept = open;
            let mut by_path;
            // (A file kept open is read from its start wherever its
            // position is: see read_sniffing.)
            let f = match &mut kept {
                Some(o) => &mut o.file,
                None => {
                    by_path = fs::File::open(p)?;
                    &mut by_path
                }
            };
            // (The time of the very file read, even if the path names
            // another by now.)
            let modified = dated.then(|| f.metadata().and_then(|m| m.modified()).ok());
            Ok((read_expecting(f, len)?, modified.flatten()))
        };
        read().map_err(|e| io_error(p, e))
    }

    /// `e`, met reading this input, naming it.
    pub fn read_error(&self, e: std::io::Error) -> Error {
        Error::from(e).in_file(&self.display)
    }
}

/// Given the first bytes of a file and its length, a byte range of it a
/// first read may leave unread ([`Reading::leave_out`]).
pub type LeaveOut = fn(&[u8], usize) -> Option<Range<usize>>;

/// How an input is read the first time ([`InputFile::read_first`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// The files found under directory arguments were listed without
    /// being looked at ([`list`]): one is read whole only if it starts
    /// with bitcode or wrapper magic, else skipped, with no more than its
    /// first 64 KiB read.
    pub sniff: bool,
    /// Leave the file open to be read again through it
    /// ([`FirstRead::file`]), as many files as the process may keep open
    /// leaving room for the rest (see [`OpenInput`]).
    pub keep_open: bool,
    /// A part of a regular file the first read may leave out, found from
    /// its first [`HEAD_READ`] bytes, and left out when it is worth a read
    /// of its own (at least [`LEAVE_OUT_MIN`] bytes): the bytes before it
    /// and after it are read, each in one read ([`FirstRead::unread`]).
    pub leave_out: Option<LeaveOut>,
}

/// What the first read of an input gives.
#[derive(Debug)]
pub struct FirstRead {
    pub data: Vec<u8>,
    /// The file's permissions (`None` for standard input).
    pub permissions: Option<fs::Permissions>,
    /// The file, still open, when it was to be kept open and could be.
    pub file: Option<OpenInput>,
    /// The part of the file left out of `data` ([`Reading::leave_out`]).
    pub unread: Option<Unread>,
}

/// The part of a file a first read left out, and what it takes to read
/// it.
#[derive(Debug)]
pub struct Unread {
    /// Its byte range: those bytes of [`FirstRead::data`] hold anything.
    pub range: Range<usize>,
    /// The file's modification time when it was first read.
    pub modified: Option<std::time::SystemTime>,
    /// The file, when not kept open in [`FirstRead::file`].
    file: Option<fs::File>,
}

impl FirstRead {
    /// The file's bytes, the part left unread ([`FirstRead::unread`])
    /// read now if there is one.
    ///
    /// # Errors
    /// I/O errors (a file that no longer holds that part among them).
    pub fn whole(&mut self) -> std::io::Result<&[u8]> {
        if let Some(u) = &self.unread {
            let Some(file) = u
                .file
                .as_ref()
                .or(self.file.as_ref().map(|kept| &kept.file))
            else {
                return Err(std::io::Error::other(
                    "the file read first is no longer open",
                ));
            };
            let part = &mut self.data[u.range.clone()];
            if read_at(file, part, u.range.start, part.len())? < part.len() {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.unread = None;
        }
        Ok(&self.data)
    }
}

/// Reads from `file` at byte `offset` into `buf` until `enough` bytes or
/// more are in, or the file ends: how many bytes it read. (Each read asks
/// for all the room left. On Unix the file's own position stays where it
/// was; elsewhere it moves.)
fn read_at(
    file: &fs::File,
    buf: &mut [u8],
    offset: usize,
    enough: usize,
) -> std::io::Result<usize> {
    let mut n = 0;
    while n < enough.min(buf.len()) {
        #[cfg(unix)]
        let got = {
            use std::os::unix::fs::FileExt;
            file.read_at(&mut buf[n..], (offset + n) as u64)
        };
        #[cfg(not(unix))]
        let got = {
            let mut f = file;
            f.seek(SeekFrom::Start((offset + n) as u64))
                .and_then(|_| f.read(&mut buf[n..]))
        };
        match got {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How many files are kept open between two reads, and how many may be.
static KEPT_OPEN: AtomicUsize = AtomicUsize::new(0);

/// Half the open files the process may have (the other half for outputs,
/// threads, the standard streams and whatever else); none where that is
/// not known.
fn keep_open_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
            limit.current.map_or(0, |n| (n / 2) as usize)
        }
        #[cfg(not(target_os = "linux"))]
        0
    })
}

/// Grows the process's table of open files to hold `n` more files kept
/// open (as many as may be, see [`OpenInput`]): to be called while the
/// process has one thread. On Linux a table grown while other threads run
/// waits, at each doubling, for them all to pass a quiescent point (an RCU
/// grace period: milliseconds); grown first, it is not grown while the
/// files are read.
pub fn make_room_to_keep_open(n: usize) {
    #[cfg(target_os = "linux")]
    {
        let n = n.min(keep_open_limit());
        // The table starts with room for 64.
        if n < 48 {
            return;
        }
        // A descriptor made at or above the number wanted grows the table
        // to hold it; closed at once, it leaves the table grown.
        if let Ok(root) = fs::File::open("/") {
            let _ = rustix::io::fcntl_dupfd_cloexec(&root, (n + 16) as i32);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = n;
}

/// An input file left open after its first read, to be read again through
/// it rather than opened again by path: the same file, even if its path
/// is given another file in between. At most half the process's limit on
/// open files are kept open at once (the other half for outputs, threads
/// and the rest); where the limit is not known, none.
#[derive(Debug)]
pub struct OpenInput {
    file: fs::File,
}

impl OpenInput {
    /// `file`, kept if the limit allows (else given back).
    fn keep(file: fs::File) -> std::result::Result<OpenInput, fs::File> {
        let limit = keep_open_limit();
        match KEPT_OPEN.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < limit).then_some(n + 1)
        }) {
            Ok(_) => Ok(OpenInput { file }),
            Err(_) => Err(file),
        }
    }
}

impl Drop for OpenInput {
    fn drop(&mut self) {
        KEPT_OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

thread_local! {
    /// The largest buffer handed back on this thread, for the next read.
    static SPARE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Hands back the bytes of a read that are no longer needed: the next read
/// on this thread fills the same memory (overwriting it, without zeroing
/// it first) instead of a new allocation.
pub fn recycle(buf: Vec<u8>) {
    SPARE.with(|s| {
        let mut spare = s.borrow_mut();
        if buf.capacity() > spare.capacity() {
            *spare = buf;
        }
    });
}

/// Reads `f` (a regular file) from its start to its end, wherever its
/// position is (each read is at an offset), expecting `len` bytes. The read
/// asks for one byte more: a regular file gives all it has up to what is
/// asked, so getting exactly `len` is its end, and getting more means it
/// grew, when the rest is read as well. With `sniff`, the first read asks
/// for no more than [`SNIFF_READ`] bytes, and a file whose first bytes
/// are not bitcode or wrapper magic is read no further: `None`. With
/// `leave_out`, the part it names is left unread when that is worth it
/// (see [`Reading::leave_out`]), and given with the bytes.
fn read_sniffing(
    f: &mut fs::File,
    len: usize,
    sniff: bool,
    leave_out: Option<LeaveOut>,
) -> std::io::Result<Option<Bytes>> {
    // A buffer handed back on this thread is read into as it is: only
    // room it never held is zeroed first.
    let mut buf = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
    buf.resize(len + 1, 0);
    let mut n = 0;
    let mut sniffing = sniff;
    // The first bytes are read first where they may show a part to leave
    // out (a file too short to have one is read in one go).
    let mut heading = leave_out.filter(|_| len >= HEAD_READ + LEAVE_OUT_MIN);
    // (An empty file is read once, to see that it still is.)
    while n < len.max(1) {
        let room = if heading.is_some() {
            HEAD_READ
        } else if sniffing {
            SNIFF_READ.min(buf.len())
        } else {
            buf.len()
        };
        // (At the offset, not the file's position: a file read again
        // through the descriptor its first read left open needs no seek.)
        match read_at(f, &mut buf[n..room], n, 1)? {
            0 => break,
            k => n += k,
        }
        if sniffing && n >= MAGIC_LEN {
            sniffing = false;
            if !looks_like_bitcode(&buf[..MAGIC_LEN]) {
                break;
            }
        }
        if let Some(find) = heading.filter(|_| n == HEAD_READ) {
            heading = None;
            let gap = find(&buf[..n], len)
                .map(|r| r.start.max(n)..r.end)
                .filter(|r| r.end <= len && r.len() >= LEAVE_OUT_MIN);
            if let Some(gap) = gap {
                // The bytes before the part left out that the first read
                // did not reach, and those after it to the file's end (one
                // byte more asked for, to see that it is the end).
                let before = read_at(f, &mut buf[n..gap.start], n, gap.start - n)?;
                let tail = read_at(f, &mut buf[gap.end..], gap.end, len - gap.end)?;
                if n + before == gap.start && gap.end + tail == len {
                    buf.truncate(len);
                    return Ok(Some((buf, Some(gap))));
                }
                // The file is not the size it was: read on from where
                // the first bytes end, all of it.
            }
        }
    }
    if sniff && !looks_like_bitcode(&buf[..n.min(MAGIC_LEN)]) {
        recycle(buf);
        return Ok(None);
    }
    buf.truncate(n);
    if n > len {
        f.seek(SeekFrom::Start(n as u64))?;
        f.read_to_end(&mut buf)?;
    }
    Ok(Some((buf, None)))
}

/// A file's bytes, and the part of them left unread (which holds anything).
type Bytes = (Vec<u8>, Option<Range<usize>>);

/// [`read_sniffing`] without a sniff: the whole file.
fn read_expecting(f: &mut fs::File, len: usize) -> std::io::Result<Vec<u8>> {
    read_sniffing(f, len, false, None).map(|data| data.expect("only a sniff skips a file").0)
}

/// Bytes a file's bitcode or wrapper magic takes.
const MAGIC_LEN: usize = 4;

/// The most the first read of a file that may not be bitcode asks for.
const SNIFF_READ: usize = 64 * 1024;

/// The first bytes read of a file that may have a part to leave out
/// ([`Reading::leave_out`]).
pub const HEAD_READ: usize = 1024;

/// The fewest bytes left out of a first read: fewer are read with the
/// rest (one read costs less than two below that).
pub const LEAVE_OUT_MIN: usize = 8 * 1024;

/// The expanded input list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    /// Files under directory arguments that are not bitcode.
    pub skipped: Vec<PathBuf>,
}

/// `e`, about the file at `path` (named once, however often a caller
/// names the file again: see [`Error::in_file`]).
fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::from(e).in_file(path.display().to_string())
}

/// Expands command-line inputs. Directories are searched recursively;
/// `@FILE` arguments are replaced by the arguments the file lists (GNU
/// quoting, nested `@` allowed).
///
/// # Errors
/// A missing or unreadable path, a malformed or recursive response file.
pub fn expand(args: &[String]) -> Result<Inputs> {
    expand_with_jobs(args, crate::parallel::default_jobs())
}

/// [`expand`], looking at the first bytes of the files found under
/// directories on up to `jobs` threads (a walk is checked once it is
/// complete: an unreadable directory is reported before an unreadable
/// file).
///
/// # Errors
/// As [`expand`].
pub fn expand_with_jobs(args: &[String], jobs: usize) -> Result<Inputs> {
    expand_with(args, Some(jobs))
}

/// [`expand`], but the files found under directories are not looked at:
/// each is listed, to be read with a sniff ([`InputFile::read_first`]),
/// which skips those that are not bitcode. Only what is not a file (or a
/// link to one) is listed as skipped.
///
/// # Errors
/// As [`expand`].
pub fn list(args: &[String]) -> Result<Inputs> {
    expand_with(args, None)
}

/// [`expand`], with the first bytes of the files under directories read
/// on up to `jobs` threads, or (`None`) not read.
fn expand_with(args: &[String], sniff: Option<usize>) -> Result<Inputs> {
    let mut out = Inputs::default();
    let mut stack = Vec::new();
    for a in args {
        expand_one(a, &mut out, &mut stack, sniff)?;
    }
    Ok(out)
}

fn expand_one(
    arg: &str,
    out: &mut Inputs,
    stack: &mut Vec<PathBuf>,
    sniff: Option<usize>,
) -> Result<()> {
    if let Some(file) = arg.strip_prefix('@') {
        let path = PathBuf::from(file);
        if stack.contains(&path) || stack.len() > 32 {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("response file {file} includes itself"),
            ));
        }
        let text = fs::read(&path).map_err(|e| io_error(&path, e))?;
        let words = split_response_file(&text)
            .map_err(|m| Error::new(ErrorKind::Usage, format!("{file}: {m}")))?;
        stack.push(path);
        for w in words {
            expand_one(&w, out, stack, sniff)?;
        }
        stack.pop();
        return Ok(());
    }
    if arg == "-" {
        out.files.push(InputFile {
            source: Source::Stdin,
            display: "-".into(),
            relative: None,
        });
        return Ok(());
    }
    let path = PathBuf::from(arg);
    let meta = fs::metadata(&path).map_err(|e| io_error(&path, e))?;
    if meta.is_dir() {
        let mut found = Vec::new();
        walk(&path, Path::new(""), &mut found)?;
        // (Unsniffed, every file is kept, to be looked at when read.)
        let bitcode: Vec<Result<bool>> = match sniff {
            None => found.iter().map(|(_, rel)| Ok(rel.is_some())).collect(),
            Some(jobs) => crate::parallel::map(&found, jobs, |(path, rel)| {
                if rel.is_none() {
                    return Ok(false);
                }
                let mut magic = [0u8; 4];
                let n = fs::File::open(path)
                    .and_then(|mut f| read_up_to(&mut f, &mut magic))
                    .map_err(|err| io_error(path, err))?;
                Ok(looks_like_bitcode(&magic[..n]))
            }),
        };
        for ((path, rel), bitcode) in found.into_iter().zip(bitcode) {
            match rel {
                Some(rel) if bitcode? => out.files.push(InputFile {
                    display: path.to_string_lossy().into_owned(),
                    source: Source::File(path),
                    relative: Some(rel),
                }),
                _ => out.skipped.push(path),
            }
        }
    } else {
        out.files.push(InputFile {
            source: Source::File(path),
            display: arg.to_string(),
            relative: None,
        });
    }
    Ok(())
}

/// What is under `root/rel`, in order: each file with its path relative
/// to `root`, and what is neither a file nor a link to one (no relative
/// path: it is skipped).
fn walk(root: &Path, rel: &Path, found: &mut Vec<(PathBuf, Option<PathBuf>)>) -> Result<()> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| io_error(&dir, e))?
        .map(|e| e.map_err(|e| io_error(&dir, e)))
        .collect::<Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let rel_path = rel.join(e.file_name());
        let path = root.join(&rel_path);
        let ft = e.file_type().map_err(|err| io_error(&path, err))?;
        if ft.is_dir() {
            walk(root, &rel_path, found)?;
            continue;
        }
        // Follow links to files; skip links to directories and dangling ones.
        let is_file = ft.is_file()
            || (ft.is_symlink() && fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false));
        if !is_file {
            if !ft.is_symlink() {
                found.push((path, None));
            }
            continue;
        }
        found.push((path, Some(rel_path)));
    }
    Ok(())
}

fn read_up_to(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Splits a response file GNU-style: words separated by white space; single
/// quotes keep everything literally; double quotes keep white space, with
/// backslash escaping the next character; outside single quotes a backslash
/// escapes the next character.
///
/// # Errors
/// An unterminated quote.
pub fn split_response_file(text: &[u8]) -> std::result::Result<Vec<String>, String> {
    let text = String::from_utf8_lossy(text);
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("backslash at end of file".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file read expecting its size gives its bytes whether it kept that
    /// size, grew or shrank, empty or not, read again by path or through
    /// the file kept open by a first read (from its start, wherever that
    /// read left its position); each read's buffer handed back for the
    /// next (longer or shorter files) leaves none of its bytes.
    #[test]
    fn a_file_is_read_whole_whatever_size_was_expected() {
        let (_tmp, p, input) = crate::testing::temp_input("f");
        let keep = Reading {
            keep_open: true,
            ..Reading::default()
        };
        for len in [0usize, 1, 7, 4096, 70_000, 5, 0, 4096] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            fs::write(&p, &data).unwrap();
            for expected in [0, len.saturating_sub(1), len, len + 1, 2 * len + 5] {
                let read = input.read_again(None, expected).unwrap();
                assert_eq!(read, data, "{len} {expected}");
                recycle(read);
                let first = input.read_first(keep).unwrap().unwrap();
                let open = first.file.expect("kept open");
                let read = input.read_again(Some(open), expected).unwrap();
                assert_eq!(read, data, "kept open: {len} {expected}");
                recycle(read);
            }
            let first = input.read_first(Reading::default()).unwrap().unwrap();
            assert_eq!(first.data, data);
            assert_eq!(
                first.permissions,
                Some(fs::metadata(&p).unwrap().permissions())
            );
            recycle(first.data);
        }
        fs::remove_file(&p).unwrap();
        let err = input.read_again(None, 3).unwrap_err().to_string();
        assert!(err.contains("/f"), "{err}");
    }

    /// A part left out of a first read is read by [`FirstRead::whole`]
    /// through the file read first, kept open or not (another file put in
    /// its place is not read); a file cut short before is an error; a part
    /// too small to be worth it, or a file too short, is read at once.
    #[test]
    fn a_part_left_out_is_read_through_the_same_file() {
        let (tmp, p, input) = crate::testing::temp_input("f");
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
        for keep_open in [false, true] {
            for cut in [false, true] {
                fs::write(&p, &data).unwrap();
                let how = Reading {
                    sniff: false,
                    keep_open,
                    leave_out: Some(|_, len| Some(2000..len - 100)),
                };
                let mut first = input.read_first(how).unwrap().unwrap();
                assert_eq!(first.unread.as_ref().unwrap().range, 2000..49_900);
                assert!(first.data[..2000] == data[..2000]);
                assert!(first.data[49_900..] == data[49_900..]);
                if cut {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&p)
                        .unwrap()
                        .set_len(30_000)
                        .unwrap();
                    assert!(first.whole().is_err());
                } else {
                    let other = tmp.path().join("other");
                    fs::write(&other, vec![7u8; 50_000]).unwrap();
                    fs::rename(&other, &p).unwrap();
                    assert!(first.whole().unwrap() == &data[..]);
                    assert!(first.unread.is_none());
                }
            }
        }
        // Too small a part to leave out, and too short a file.
        fn small_part(_: &[u8], _: usize) -> Option<Range<usize>> {
            Some(2000..9000)
        }
        fn short_file(_: &[u8], _: usize) -> Option<Range<usize>> {
            Some(1024..8900)
        }
        for (len, leave_out) in [(50_000usize, small_part as LeaveOut), (9000, short_file)] {
            fs::write(&p, &data[..len]).unwrap();
            let how = Reading {
                leave_out: Some(leave_out),
                ..Reading::default()
            };
            let first = input.read_first(how).unwrap().unwrap();
            assert!(first.unread.is_none() && first.data == data[..len]);
        }
    }

    /// A file that cannot be read is named once in the error, also when
    /// the caller names it again (as the readers of a set do).
    #[test]
    fn an_unreadable_file_is_named_once() {
        let (_tmp, _, input) = crate::testing::temp_input("gone.bc");
        let errors = [
            input.read_first(Reading::default()).unwrap_err(),
            input.read_again(None, 3).unwrap_err(),
            input.read().unwrap_err(),
        ];
        for e in errors {
            let shown = e.in_file(&input.display).to_string();
            assert_eq!(shown.matches("gone.bc").count(), 1, "{shown}");
            assert!(shown.starts_with(&input.display), "{shown}");
        }
    }

    /// With a sniff, a file found under a directory is read only when it
    /// starts with bitcode or wrapper magic (whatever its size); a file
    /// given by name, or read without a sniff, is read whatever it holds.
    #[test]
    fn only_bitcode_found_under_a_directory_is_read_when_sniffed() {
        let tmp = tempfile::tempdir().unwrap();
        let long = |head: &[u8]| {
            let mut v = head.to_vec();
            v.extend((0..100_000u32).map(|i| (i % 253) as u8));
            v
        };
        let cases: [(&str, Vec<u8>, bool); 7] = [
            ("raw", long(b"BC\xc0\xde"), true),
            ("raw-short", b"BC\xc0\xde".to_vec(), true),
            ("wrapper", long(b"\xde\xc0\x17\x0b"), true),
            ("text", long(b"text"), false),
            ("two", b"BC".to_vec(), false),
            ("empty", Vec::new(), false),
            ("late-magic", long(b"\0BC\xc0\xde"), false),
        ];
        for (name, bytes, bitcode) in cases {
            let p = tmp.path().join(name);
            fs::write(&p, &bytes).unwrap();
            for relative in [None, Some(PathBuf::from(name))] {
                let found = relative.is_some();
                let input = InputFile {
                    source: Source::File(p.clone()),
                    display: name.into(),
                    relative,
                };
                for sniff in [false, true] {
                    let how = Reading {
                        sniff,
                        keep_open: false,
                        leave_out: None,
                    };
                    let read = input.read_first(how).unwrap().map(|r| r.data);
                    if sniff && found && !bitcode {
                        assert_eq!(read, None, "{name}");
                    } else {
                        assert_eq!(read.as_deref(), Some(&bytes[..]), "{name} {sniff} {found}");
                    }
                }
            }
        }
    }

    /// A tree is walked in name order: bitcode files kept with their
    /// relative paths, other files and special files skipped in walk
    /// order, links to files followed; the same for any number of jobs.
    #[cfg(unix)]
    #[test]
    fn directories_are_walked_in_order_whatever_the_jobs() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("b.bc"), b"BC\xc0\xde rest").unwrap();
        fs::write(d.join("a.txt"), b"text").unwrap();
        fs::write(d.join("sub/c.bc"), b"BC\xc0\xde").unwrap();
        fs::write(d.join("sub/d.o"), b"\x7fELF").unwrap();
        fs::write(d.join("e"), b"").unwrap();
        std::os::unix::fs::symlink(d.join("b.bc"), d.join("link.bc")).unwrap();
        std::os::unix::fs::symlink(d.join("sub"), d.join("linkdir")).unwrap();
        let fifo = d.join("f.pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let arg = [d.to_string_lossy().into_owned()];
        let want = expand_with_jobs(&arg, 1).unwrap();
        let rel: Vec<_> = want
            .files
            .iter()
            .map(|f| f.relative.clone().unwrap())
            .collect();
        assert_eq!(
            rel,
            [
                Path::new("b.bc"),
                Path::new("link.bc"),
                Path::new("sub/c.bc")
            ]
        );
        let skipped: Vec<_> = want
            .skipped
            .iter()
            .map(|p| p.strip_prefix(d).unwrap())
            .collect();
        assert_eq!(
            skipped,
            [
                Path::new("a.txt"),
                Path::new("e"),
                Path::new("f.pipe"),
                Path::new("sub/d.o")
            ]
        );
        for jobs in [2, 3, 8] {
            assert_eq!(expand_with_jobs(&arg, jobs).unwrap(), want, "{jobs} jobs");
        }
        // Listed without a look inside: every file (or link to one) is
        // kept, in the same order; only the pipe is skipped.
        let listed = list(&arg).unwrap();
        let rel: Vec<_> = (listed.files.iter())
            .map(|f| f.relative.clone().unwrap())
            .collect();
        let all = ["a.txt", "b.bc", "e", "link.bc", "sub/c.bc", "sub/d.o"];
        assert_eq!(rel, all.map(PathBuf::from));
        assert_eq!(listed.skipped, [fifo]);
    }

    #[test]
    fn gnu_quoting() {
        let w = split_response_file(b"a 'b c' \"d \\\"e\\\"\" f\\ g\n\t h''").unwrap();
        assert_eq!(w, ["a", "b c", "d \"e\"", "f g", "h"]);
        assert_eq!(split_response_file(b"''").unwrap(), [""]);
        assert!(split_response_file(b"'open").is_err());
        assert!(split_response_file(b"\"open").is_err());
    }
}
