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

    /// Byte offsets of the entries of `r`, checked against the blob size.
    fn entries(
        &self,
        r: EntryRange,
        entry_len: usize,
        what: &str,
    ) -> Result<impl Iterator<Item = usize>> {
        let start = r.offset as usize;
        let end = (r.count as usize)
            .checked_mul(entry_len)
            .and_then(|n| n.checked_add(start));
        match end {
            Some(end) if end <= self.blob.len() => {
                Ok((0..r.count as usize).map(move |i| start + i * entry_len))
            }
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
        for at in w.entries(header.modules, MODULE_LEN, "modules")? {
            t.modules.push(SymtabModule {
                begin: w.word(at)?,
                end: w.word(at + 4)?,
                uncommon_begin: w.word(at + 8)?,
            });
        }
        // Counts are checked against the blob's size before anything is
        // reserved for them.
        let comdats = w.entries(header.comdats, COMDAT_LEN, "comdats")?;
        t.comdats.reserve(header.comdats.count as usize);
        for at in comdats {
            t.comdats.push(SymtabComdat {
                name: w.str_ref(at)?,
                selection_kind: w.word(at + 8)?,
            });
        }
        let symbols = w.entries(header.symbols, SYMBOL_LEN, "symbols")?;
        t.symbols.reserve(header.symbols.count as usize);
        for at in symbols {
            t.symbols.push(SymtabSymbol {
                name: w.str_ref(at)?,
                ir_name: w.str_ref(at + 8)?,
                comdat_index: w.word(at + 16)?,
                flags: w.word(at + 20)?,
            });
        }
        for at in w.entries(header.uncommons, UNCOMMON_LEN, "uncommons")? {
            t.uncommons.push(SymtabUncommon {
                common_size: w.word(at)?,
                common_align: w.word(at + 4)?,
                coff_weak_external_fallback_name: w.str_ref(at + 8)?,
                section_name: w.str_ref(at + 16)?,
            });
        }
        for at in w.entries(header.dependent_libraries, 8, "dependent libraries")? {
            t.dependent_libraries.push(w.str_ref(at)?);
        }
        Ok(t)
    }

    /// Every string reference in the table, for range checks.
    pub fn str_refs(&self) -> impl Iterator<Item = StrRef> + '_ {
        self.str_fields().into_iter().map(|f| f.value)
    }

    /// Every string field: where it is in the blob, what it is, its value.
    pub fn str_fields(&self) -> Vec<StrField> {
        let h = &self.header;
        let mut out = vec![
            StrField {
                at: 4,
                role: StrRole::Producer,
                value: h.producer,
            },
            StrField {
                at: 44,
                role: StrRole::TargetTriple,
                value: h.target_triple,
            },
            StrField {
                at: 52,
                role: StrRole::SourceFileName,
                value: h.source_file_name,
            },
            StrField {
                at: 60,
                role: StrRole::CoffLinkerOpts,
                value: h.coff_linker_opts,
            },
        ];
        out.reserve(
            self.comdats.len()
                + 2 * self.symbols.len()
                + 2 * self.uncommons.len()
                + self.dependent_libraries.len(),
        );
        let base = |r: EntryRange, i: usize, len: usize| r.offset as usize + i * len;
        for (i, c) in self.comdats.iter().enumerate() {
            out.push(StrField {
                at: base(h.comdats, i, COMDAT_LEN),
                role: StrRole::ComdatName(i),
                value: c.name,
            });
        }
        for (i, s) in self.symbols.iter().enumerate() {
            let at = base(h.symbols, i, SYMBOL_LEN);
            out.push(StrField {
                at,
                role: StrRole::SymbolName(i),
                value: s.name,
            });
            out.push(StrField {
                at: at + 8,
                role: StrRole::SymbolIrName(i),
                value: s.ir_name,
            });
        }
        for (i, u) in self.uncommons.iter().enumerate() {
            let at = base(h.uncommons, i, UNCOMMON_LEN);
            out.push(StrField {
                at: at + 8,
                role: StrRole::CoffWeakExternFallback(i),
                value: u.coff_weak_external_fallback_name,
            });
            out.push(StrField {
                at: at + 16,
                role: StrRole::SectionName(i),
                value: u.section_name,
            });
        }
        for (i, d) in self.dependent_libraries.iter().enumerate() {
            out.push(StrField {
                at: base(h.dependent_libraries, i, 8),
                role: StrRole::DependentLibrary(i),
                value: *d,
            });
        }
        out
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
