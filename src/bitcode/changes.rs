//! The renames made in a file.
//!
//! A file of a ThinLTO set renames hundreds of names; [`Changes`] keeps
//! their old and new names in one buffer, so recording a rename costs no
//! allocation of its own. [`Change`] is the owned form, for reports.

use std::cmp::Ordering;
use std::fmt;

/// What a rename applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Function,
    Variable,
    Alias,
    Ifunc,
    Comdat,
    Local,
    SourceFilename,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Function => "function",
            ChangeKind::Variable => "variable",
            ChangeKind::Alias => "alias",
            ChangeKind::Ifunc => "ifunc",
            ChangeKind::Comdat => "comdat",
            ChangeKind::Local => "local",
            ChangeKind::SourceFilename => "source_filename",
        }
    }
}

/// One rename carried out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change {
    /// Index of the module in the file.
    pub module: usize,
    pub kind: ChangeKind,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

/// A rename of a [`Changes`] list, borrowed. Orders as [`Change`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeRef<'a> {
    pub module: usize,
    pub kind: ChangeKind,
    pub old: &'a [u8],
    pub new: &'a [u8],
}

impl ChangeRef<'_> {
    pub fn to_change(self) -> Change {
        Change {
            module: self.module,
            kind: self.kind,
            old: self.old.to_vec(),
            new: self.new.to_vec(),
        }
    }
}

/// A list of renames; the names live in one buffer.
#[derive(Clone, Default)]
pub struct Changes {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

/// A rename: its names as ranges of the buffer.
#[derive(Debug, Clone, Copy)]
struct Item {
    module: usize,
    kind: ChangeKind,
    old: (usize, usize),
    new: (usize, usize),
}

impl Changes {
    pub fn new() -> Changes {
        Changes::default()
    }

    /// An empty list with room for `n` renames of names about `name_len`
    /// bytes long.
    pub fn with_capacity(n: usize, name_len: usize) -> Changes {
        Changes {
            bytes: Vec::with_capacity(n * 2 * name_len),
            items: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn view(&self, it: &Item) -> ChangeRef<'_> {
        ChangeRef {
            module: it.module,
            kind: it.kind,
            old: &self.bytes[it.old.0..it.old.1],
            new: &self.bytes[it.new.0..it.new.1],
        }
    }

    /// The `i`th rename.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn get(&self, i: usize) -> ChangeRef<'_> {
        self.view(&self.items[i])
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = ChangeRef<'_>> + '_ {
        self.items.iter().map(|it| self.view(it))
    }

    /// Adds a rename; gives its index.
    pub fn push(&mut self, module: usize, kind: ChangeKind, old: &[u8], new: &[u8]) -> usize {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(old);
        self.bytes.extend_from_slice(new);
        self.items.push(Item {
            module,
            kind,
            old: (start, start + old.len()),
            new: (start + old.len(), self.bytes.len()),
        });
        self.items.len() - 1
    }

    /// Adds a rename of `old` when `new_name` appends a new name to the
    /// buffer it is given and says so (returns true), and that name is not
    /// `old`; gives its index. Nothing is added otherwise.
    pub fn push_with(
        &mut self,
        module: usize,
        kind: ChangeKind,
        old: &[u8],
        new_name: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Option<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(old);
        let mid = self.bytes.len();
        let named = new_name(&mut self.bytes);
        if !named || self.bytes[mid..] == *old {
            self.bytes.truncate(start);
            return None;
        }
        self.items.push(Item {
            module,
            kind,
            old: (start, mid),
            new: (mid, self.bytes.len()),
        });
        Some(self.items.len() - 1)
    }

    /// The renames, owned.
    pub fn to_vec(&self) -> Vec<Change> {
        self.iter().map(ChangeRef::to_change).collect()
    }
}

impl<'a> FromIterator<ChangeRef<'a>> for Changes {
    fn from_iter<I: IntoIterator<Item = ChangeRef<'a>>>(iter: I) -> Changes {
        let mut c = Changes::new();
        for r in iter {
            c.push(r.module, r.kind, r.old, r.new);
        }
        c
    }
}

impl PartialEq for Changes {
    fn eq(&self, other: &Changes) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Changes {}

impl PartialOrd for Changes {
    fn partial_cmp(&self, other: &Changes) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Changes {
    fn cmp(&self, other: &Changes) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl fmt::Debug for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_is_kept_only_when_a_new_name_differs() {
        let mut c = Changes::new();
        let declined = c.push_with(0, ChangeKind::Function, b"f", |_| false);
        let same = c.push_with(0, ChangeKind::Function, b"g", |out| {
            out.extend_from_slice(b"g");
            true
        });
        let renamed = c.push_with(1, ChangeKind::Variable, b"h", |out| {
            out.extend_from_slice(b"h2");
            true
        });
        assert_eq!((declined, same, renamed), (None, None, Some(0)));
        let i = c.push(1, ChangeKind::SourceFilename, b"a.c", b"b.c");
        assert_eq!(i, 1);
        assert_eq!(c.len(), 2);
        // Nothing of the names that were not renamed is left behind.
        assert_eq!(c.bytes, b"hh2a.cb.c");
        assert_eq!(
            c.to_vec(),
            [
                Change {
                    module: 1,
                    kind: ChangeKind::Variable,
                    old: b"h".to_vec(),
                    new: b"h2".to_vec()
                },
                Change {
                    module: 1,
                    kind: ChangeKind::SourceFilename,
                    old: b"a.c".to_vec(),
                    new: b"b.c".to_vec()
                },
            ]
        );
        assert_eq!(c.get(0).new, b"h2");
    }

    #[test]
    fn lists_are_equal_by_their_renames_not_their_buffers() {
        let mut a = Changes::new();
        a.push_with(0, ChangeKind::Function, b"x", |_| false);
        a.push(0, ChangeKind::Function, b"f", b"g");
        let mut b = Changes::with_capacity(4, 8);
        b.push(0, ChangeKind::Function, b"f", b"g");
        assert_eq!(a, b);
        assert_eq!(a.iter().collect::<Changes>(), b);
        b.push(0, ChangeKind::Local, b"f", b"g");
        assert_ne!(a, b);
        assert!(a < b);
        assert_eq!(format!("{a:?}").matches("ChangeRef").count(), 1);
    }
}
