//! The library's error type.
//!
//! Every error has a [`ErrorKind`] so callers (the command line, a build
//! system) can tell bad input from a bad request. Errors about input bytes are
//! made only through [`Error::parse`] / [`Error::unsupported`], which require
//! the absolute bit offset; the reader adds the block path, so the message
//! always ends with `at bit offset N (byte 0x..)` and names where in the
//! block structure the problem was found. The file name is added at the
//! command-line edge.

use std::fmt;

/// What went wrong, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is not well-formed bitcode (truncated, corrupt, not bitcode).
    Parse,
    /// Well-formed, but uses something bcrename does not handle.
    Unsupported,
    /// The requested renames cannot be carried out (collision, unresolved owner).
    Policy,
    /// Reading or writing a file failed.
    Io,
    /// The request itself is malformed (bad manifest, bad option value).
    Usage,
}

/// An error with its kind, message and, for input errors, where it was found.
///
/// Boxed, so that `Result<T, Error>` stays two words: the bit reader returns
/// one for every field it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    message: String,
    location: Option<Location>,
    file: Option<String>,
    io_kind: Option<std::io::ErrorKind>,
}

/// Where in the input an error was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Absolute bit offset from the start of the file (wrapper included).
    pub bit: u64,
    /// The block path, outermost first, e.g. `MODULE_BLOCK > FUNCTION_BLOCK #12`.
    pub path: String,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Malformed input at `bit` (absolute bit offset in the file).
    pub fn parse(bit: u64, message: impl Into<String>) -> Self {
        Self::at(ErrorKind::Parse, bit, message)
    }

    /// Well-formed input that bcrename does not support, at `bit`.
    pub fn unsupported(bit: u64, message: impl Into<String>) -> Self {
        Self::at(ErrorKind::Unsupported, bit, message)
    }

    fn at(kind: ErrorKind, bit: u64, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                location: Some(Location {
                    bit,
                    path: String::new(),
                }),
                file: None,
                io_kind: None,
            }),
        }
    }

    /// An error that has no position in an input (policy, usage, I/O).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                location: None,
                file: None,
                io_kind: None,
            }),
        }
    }

    /// Sets the block path of a located error if it has none yet.
    pub(crate) fn with_path(mut self, path: impl FnOnce() -> String) -> Self {
        if let Some(loc) = &mut self.inner.location {
            if loc.path.is_empty() {
                loc.path = path();
            }
        }
        self
    }

    /// Names the file the error is about, if no file is named yet.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        if self.inner.file.is_none() {
            self.inner.file = Some(file.into());
        }
        self
    }

    /// The file the error is about, if known.
    pub fn file(&self) -> Option<&str> {
        self.inner.file.as_deref()
    }

    /// True for a write to a closed pipe (`bcrename scan ... | head`).
    pub fn is_broken_pipe(&self) -> bool {
        self.inner.io_kind == Some(std::io::ErrorKind::BrokenPipe)
    }

    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    pub fn message(&self) -> &str {
        &self.inner.message
    }

    pub fn location(&self) -> Option<&Location> {
        self.inner.location.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.inner.file {
            write!(f, "{file}: ")?;
        }
        f.write_str(&self.inner.message)?;
        if let Some(loc) = &self.inner.location {
            if !loc.path.is_empty() {
                write!(f, " in {}", loc.path)?;
            }
            write!(f, " at bit offset {} (byte 0x{:x})", loc.bit, loc.bit / 8)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let mut err = Error::new(ErrorKind::Io, e.to_string());
        err.inner.io_kind = Some(e.kind());
        err
    }
}
