//! LLVM's irsymtab (`llvm/Object/IRSymtab.h`): the linker's view of a bitcode
//! file, kept in SYMTAB_BLOCK as little-endian u32 words whose strings live in
//! STRTAB.

use crate::error::{Error, Result};

/// The irsymtab version LLVM 14 to 19 write.
pub const KNOWN_VERSION: u32 = 3;
/// Header size in bytes (version 3).
pub const HEADER_LEN: usize = 4 * 19;
const SYMBOL_LEN: usize = 24;
const COMDAT_LEN: usize = 12;
const UNCOMMON_LEN: usize = 24;
const MODULE_LEN: usize = 12;

/// A string in STRTAB: byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StrRef {
    pub offset: u32,
    pub size: u32,
}

impl StrRef {
    /// The bytes in `strtab`, if the reference lies inside it.
    pub fn get<'s>(&self, strtab: &'s [u8]) -> Option<&'s [u8]> {
        let start = self.offset as usize;
        strtab.get(start..start.checked_add(self.size as usize)?)
    }
}

/// A range of fixed-size entries in the symbol table blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryRange {
    pub offset: u32,
    pub count: u32,
}

/// The header of a version-3 table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub version: u32,
    pub producer: StrRef,
    pub modules: EntryRange,
    pub comdats: EntryRange,
    pub symbols: EntryRange,
    pub uncommons: EntryRange,
    pub target_triple: StrRef,
    pub source_file_name: StrRef,
    pub coff_linker_opts: StrRef,
    pub dependent_libraries: EntryRange,
}

/// A module's slice of the symbol list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymtabModule {
    pub begin: u32,
    pub end: u32,
    pub uncommon_begin: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymtabComdat {
    pub name: StrRef,
    pub selection_kind: u32,
}

/// A symbol: `name` as the linker sees it (mangled), `ir_name` as in the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymtabSymbol {
    pub name: StrRef,
    pub ir_name: StrRef,
    /// Index into the comdat list, or `u32::MAX` (-1) for none.
    pub comdat_index: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymtabUncommon {
    pub common_size: u32,
    pub common_align: u32,
    pub coff_weak_external_fallback_name: StrRef,
    pub section_name: StrRef,
}

/// A decoded symbol table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Symtab {
    pub header: Header,
    pub modules: Vec<SymtabModule>,
    pub comdats: Vec<SymtabComdat>,
    pub symbols: Vec<SymtabSymbol>,
    pub uncommons: Vec<SymtabUncommon>,
    pub dependent_libraries: Vec<StrRef>,
}

struct Words<'a> {
    blob: &'a [u8],
    bit: u64,
}

impl Words<'_> {
    fn word(&self, at: usize) -> Result<u32> {
        self.blob
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| Error::parse(self.bit + at as u64 * 8, "symbol table truncated"))
    }

    fn str_ref(&self, at: usize) -> Result<StrRef> {
        Ok(StrRef {
            offset: self.word(at)?,
            size: self.word(at + 4)?,
        })
    }

    fn range(&self, at: usize) -> Result<EntryRange> {
        Ok(EntryRange {
            offset: self.word(at)?,
            count: self.word(at + 4)?,
        })
    }

    /// The entries of `r`, `N` bytes each, checked against the blob size
    /// once (each entry's fields are then read without a check).
    fn entry_arrays<const N: usize>(
        &self,
        r: EntryRange,
        what: &str,
    ) -> Result<impl Iterator<Item = &[u8; N]>> {
        let start = r.offset as usize;
        let end = (r.count as usize)
            .checked_mul(N)
            .and_then(|n| n.checked_add(start));
        match end {
            Some(end) if end <= self.blob.len() => Ok(self.blob[start..end]
                .chunks_exact(N)
                .map(|e| <&[u8; N]>::try_from(e).expect("chunks of N bytes"))),
            _ => Err(Error::parse(
                self.bit,
                format!(
                    "symbol table {what} ({} entries at byte {}) run past its {} bytes",
                    r.count,
                    r.offset,
                    self.blob.len()
                ),
            )),
        }
    }
}

/// The little-endian word at `at` of an entry.
fn word_in<const N: usize>(e: &[u8; N], at: usize) -> u32 {
    u32::from_le_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]])
}

/// The string reference (offset, then size) at `at` of an entry.
fn str_ref_in<const N: usize>(e: &[u8; N], at: usize) -> StrRef {
    StrRef {
        offset: word_in(e, at),
        size: word_in(e, at + 4),
    }
}

/// Reads the version word of a symbol table blob.
pub fn version(blob: &[u8]) -> Option<u32> {
    blob.get(0..4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
}

impl Symtab {
    /// Decodes a version-3 symbol table. `bit` is the blob's position in the
    /// file, for error messages.
    ///
    /// # Errors
    /// Unsupported for another version; parse errors for tables that do not
    /// fit in the blob.
    pub fn parse(blob: &[u8], bit: u64) -> Result<Symtab> {
        let w = Words { blob, bit };
        let version = w.word(0)?;
        if version != KNOWN_VERSION {
            return Err(Error::unsupported(
                bit,
                format!("symbol table version {version} (bcrename knows {KNOWN_VERSION})"),
            ));
        }
        if blob.len() < HEADER_LEN {
            return Err(Error::parse(bit, "symbol table header truncated"));
        }
        let header = Header {
            version,
            producer: w.str_ref(4)?,
            modules: w.range(12)?,
            comdats: w.range(20)?,
            symbols: w.range(28)?,
            uncommons: w.range(36)?,
            target_triple: w.str_ref(44)?,
            source_file_name: w.str_ref(52)?,
            coff_linker_opts: w.str_ref(60)?,
            dependent_libraries: w.range(68)?,
        };
        let mut t = Symtab {
            header: header.clone(),
            ..Default::default()
        };
        for e in w.entry_arrays::<MODULE_LEN>(header.modules, "modules")? {
            t.modules.push(SymtabModule {
                begin: word_in(e, 0),
                end: word_in(e, 4),
                uncommon_begin: word_in(e, 8),
            });
        }
        // Counts are checked against the blob's size before anything is
        // reserved for them.
        let comdats = w.entry_arrays::<COMDAT_LEN>(header.comdats, "comdats")?;
        t.comdats.reserve(header.comdats.count as usize);
        for e in comdats {
            t.comdats.push(SymtabComdat {
                name: str_ref_in(e, 0),
                selection_kind: word_in(e, 8),
            });
        }
        let symbols = w.entry_arrays::<SYMBOL_LEN>(header.symbols, "symbols")?;
        t.symbols.reserve(header.symbols.count as usize);
        for e in symbols {
            t.symbols.push(SymtabSymbol {
                name: str_ref_in(e, 0),
                ir_name: str_ref_in(e, 8),
                comdat_index: word_in(e, 16),
                flags: word_in(e, 20),
            });
        }
        for e in w.entry_arrays::<UNCOMMON_LEN>(header.uncommons, "uncommons")? {
            t.uncommons.push(SymtabUncommon {
                common_size: word_in(e, 0),
                common_align: word_in(e, 4),
                coff_weak_external_fallback_name: str_ref_in(e, 8),
                section_name: str_ref_in(e, 16),
            });
        }
        for e in w.entry_arrays::<8>(header.dependent_libraries, "dependent libraries")? {
            t.dependent_libraries.push(str_ref_in(e, 0));
        }
        Ok(t)
    }

    /// Every string reference in the table, for range checks.
    pub fn str_refs(&self) -> impl Iterator<Item = StrRef> + '_ {
        self.str_fields().map(|f| f.value)
    }

    /// Every string field: where it is in the blob, what it is, its value
    /// (the header's, then the comdats', the symbols', the uncommons' and
    /// the dependent libraries').
    pub fn str_fields(&self) -> impl Iterator<Item = StrField> + '_ {
        let h = &self.header;
        let field = |at, role, value| StrField { at, role, value };
        let base = |r: EntryRange, i: usize, len: usize| r.offset as usize + i * len;
        let header = [
            field(4, StrRole::Producer, h.producer),
            field(44, StrRole::TargetTriple, h.target_triple),
            field(52, StrRole::SourceFileName, h.source_file_name),
            field(60, StrRole::CoffLinkerOpts, h.coff_linker_opts),
        ];
        let comdats = (self.comdats.iter().enumerate()).map(move |(i, c)| {
            field(
                base(h.comdats, i, COMDAT_LEN),
                StrRole::ComdatName(i),
                c.name,
            )
        });
        let symbols = self.symbols.iter().enumerate().flat_map(move |(i, s)| {
            let at = base(h.symbols, i, SYMBOL_LEN);
            [
                field(at, StrRole::SymbolName(i), s.name),
                field(at + 8, StrRole::SymbolIrName(i), s.ir_name),
            ]
        });
        let uncommons = self.uncommons.iter().enumerate().flat_map(move |(i, u)| {
            let at = base(h.uncommons, i, UNCOMMON_LEN);
            [
                field(
                    at + 8,
                    StrRole::CoffWeakExternFallback(i),
                    u.coff_weak_external_fallback_name,
                ),
                field(at + 16, StrRole::SectionName(i), u.section_name),
            ]
        });
        let libraries = self
            .dependent_libraries
            .iter()
            .enumerate()
            .map(move |(i, &d)| {
                field(
                    base(h.dependent_libraries, i, 8),
                    StrRole::DependentLibrary(i),
                    d,
                )
            });
        header
            .into_iter()
            .chain(comdats)
            .chain(symbols)
            .chain(uncommons)
            .chain(libraries)
    }
}

/// What a string field of the symbol table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrRole {
    Producer,
    TargetTriple,
    SourceFileName,
    CoffLinkerOpts,
    ComdatName(usize),
    /// The symbol's name as the linker sees it (mangled).
    SymbolName(usize),
    SymbolIrName(usize),
    CoffWeakExternFallback(usize),
    SectionName(usize),
    DependentLibrary(usize),
}

/// A string field of the symbol table and its byte offset in the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrField {
    pub at: usize,
    pub role: StrRole,
    pub value: StrRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(blob: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(blob[at..at + 4].try_into().unwrap())
    }

    /// The symbol table of a real module: each entry's fields are the words
    /// at their places; entries that would run past the blob (by their
    /// count, or a count whose size overflows) are an error, whatever the
    /// list.
    #[test]
    fn entries_are_read_at_their_places_and_checked_against_the_blob() {
        let (data, file) = crate::testing::testdata_file("clang-19/prog/distributed/main.bc");
        let blob = &data[file.symtabs[0].blob.clone()];
        let t = Symtab::parse(blob, 0).unwrap();
        assert!(t.symbols.len() > 2 && t.modules.len() == 1);
        let start = t.header.symbols.offset as usize;
        for (i, s) in t.symbols.iter().enumerate() {
            let at = start + i * SYMBOL_LEN;
            assert_eq!(
                (s.name.offset, s.name.size, s.ir_name.offset, s.ir_name.size),
                (
                    word(blob, at),
                    word(blob, at + 4),
                    word(blob, at + 8),
                    word(blob, at + 12)
                )
            );
            assert_eq!(
                (s.comdat_index, s.flags),
                (word(blob, at + 16), word(blob, at + 20))
            );
        }
        let m = &t.modules[0];
        let at = t.header.modules.offset as usize;
        assert_eq!(
            (m.begin, m.end, m.uncommon_begin),
            (word(blob, at), word(blob, at + 4), word(blob, at + 8))
        );
        // Each list's count (header bytes 16, 24, 32, 40 and 72) made too
        // large for the blob, and too large for any blob.
        for (count_at, what) in [
            (16, "modules"),
            (24, "comdats"),
            (32, "symbols"),
            (40, "uncommons"),
            (72, "dependent libraries"),
        ] {
            for count in [(blob.len() / 8) as u32 + 1, u32::MAX] {
                let mut bad = blob.to_vec();
                bad[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
                let err = Symtab::parse(&bad, 0).unwrap_err().to_string();
                assert!(err.contains(&format!("symbol table {what}")), "{err}");
                assert!(err.contains("run past"), "{err}");
            }
        }
    }
}
