//! Finding input files: plain files, directories searched for bitcode, and
//! `@FILE` response files; `-` for standard input.
//!
//! Directories are walked in byte order of file names, so the result does not
//! depend on the file system's order. A file under a directory is kept when
//! its first bytes are bitcode or wrapper magic; other files are skipped and
//! counted. Symbolic links to files are followed; links to directories are
//! not (as `find` does by default), which also rules out cycles.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

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
    /// the size it has.
    ///
    /// # Errors
    /// I/O errors, naming the input.
    pub fn read_with_permissions(&self) -> Result<(Vec<u8>, Option<fs::Permissions>)> {
        let Source::File(p) = &self.source else {
            return Ok((self.read()?, None));
        };
        let read = || -> std::io::Result<_> {
            let mut f = fs::File::open(p)?;
            let meta = f.metadata()?;
            let data = if meta.is_file() {
                read_expecting(&mut f, meta.len() as usize)?
            } else {
                let mut buf = Vec::new();
                f.read_to_end(&mut buf)?;
                buf
            };
            Ok((data, Some(meta.permissions())))
        };
        read().map_err(|e| io_error(p, e))
    }

    /// Reads the whole input, a file expected to hold `len` bytes: one
    /// `read` when it does. (The caller checks what it gets.)
    ///
    /// # Errors
    /// I/O errors, naming the input.
    pub fn read_expecting(&self, len: usize) -> Result<Vec<u8>> {
        let Source::File(p) = &self.source else {
            return self.read();
        };
        fs::File::open(p)
            .and_then(|mut f| read_expecting(&mut f, len))
            .map_err(|e| io_error(p, e))
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

/// Reads `f` (a regular file) to its end, expecting `len` bytes. The read
/// asks for one byte more: a regular file gives all it has up to what is
/// asked, so getting exactly `len` is its end, and getting more means it
/// grew, when the rest is read as well.
fn read_expecting(f: &mut fs::File, len: usize) -> std::io::Result<Vec<u8>> {
    // A buffer handed back on this thread is read into as it is: only
    // room it never held is zeroed first.
    let mut buf = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
    buf.resize(len + 1, 0);
    let mut n = 0;
    // (An empty file is read once, to see that it still is.)
    while n < len.max(1) {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    if n > len {
        f.read_to_end(&mut buf)?;
    }
    Ok(buf)
}

/// The expanded input list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    /// Files under directory arguments that are not bitcode.
    pub skipped: Vec<PathBuf>,
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))
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
    let mut out = Inputs::default();
    let mut stack = Vec::new();
    for a in args {
        expand_one(a, &mut out, &mut stack, jobs)?;
    }
    Ok(out)
}

fn expand_one(arg: &str, out: &mut Inputs, stack: &mut Vec<PathBuf>, jobs: usize) -> Result<()> {
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
            expand_one(&w, out, stack, jobs)?;
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
        let bitcode = crate::parallel::map(&found, jobs, |(path, rel)| {
            if rel.is_none() {
                return Ok(false);
            }
            let mut magic = [0u8; 4];
            let n = fs::File::open(path)
                .and_then(|mut f| read_up_to(&mut f, &mut magic))
                .map_err(|err| io_error(path, err))?;
            Ok::<_, Error>(looks_like_bitcode(&magic[..n]))
        });
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
    /// size, grew or shrank, empty or not; each read's buffer handed back
    /// for the next (longer or shorter files) leaves none of its bytes.
    #[test]
    fn a_file_is_read_whole_whatever_size_was_expected() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        let input = InputFile {
            source: Source::File(p.clone()),
            display: "f".into(),
            relative: None,
        };
        for len in [0usize, 1, 7, 4096, 70_000, 5, 0, 4096] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            fs::write(&p, &data).unwrap();
            for expected in [0, len.saturating_sub(1), len, len + 1, 2 * len + 5] {
                let read = input.read_expecting(expected).unwrap();
                assert_eq!(read, data, "{len} {expected}");
                recycle(read);
            }
            let (read, mode) = input.read_with_permissions().unwrap();
            assert_eq!(read, data);
            assert_eq!(mode, Some(fs::metadata(&p).unwrap().permissions()));
            recycle(read);
        }
        fs::remove_file(&p).unwrap();
        let err = input.read_expecting(3).unwrap_err().to_string();
        assert!(err.contains("/f"), "{err}");
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
