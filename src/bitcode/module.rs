//! Reading a bitcode file: its modules, their named globals, function-local
//! names, STRTAB, SYMTAB and ThinLTO index tables.
//!
//! Only what carries names or positions is parsed: IDENTIFICATION, the
//! module-level records, the module-level VALUE_SYMTAB, function-level
//! VALUE_SYMTABs (when asked for), MODULE_STRTAB, STRTAB and SYMTAB. Every
//! other block is skipped by its length, so bitcode from LLVM versions newer
//! than any installed LLVM still reads.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use super::codes::{
    self, block, identification as ident_code, module as mod_code, module_strtab, vst,
};
use super::symtab::{self, StrRef, Symtab};
use crate::bitstream::reader::{BlockHeader, Entry, OperandSpan, Reader, Record, Watch};
use crate::bitstream::wrapper::{self, Wrapper};
use crate::error::{Error, Result};

/// What kind of global value a record defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GlobalKind {
    Variable,
    Function,
    Alias,
    Ifunc,
}

impl GlobalKind {
    /// The code of the module record that defines a global of this kind.
    pub fn record_code(self) -> u32 {
        match self {
            GlobalKind::Variable => mod_code::GLOBALVAR,
            GlobalKind::Function => mod_code::FUNCTION,
            GlobalKind::Alias => mod_code::ALIAS,
            GlobalKind::Ifunc => mod_code::IFUNC,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GlobalKind::Variable => "variable",
            GlobalKind::Function => "function",
            GlobalKind::Alias => "alias",
            GlobalKind::Ifunc => "ifunc",
        }
    }
}

/// Linkage, decoded as LLVM's reader does (obsolete values mapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    External,
    Weak,
    Appending,
    Internal,
    Linkonce,
    ExternWeak,
    Common,
    Private,
    WeakOdr,
    LinkonceOdr,
    AvailableExternally,
}

impl Linkage {
    /// Decodes the record value (`getDecodedLinkage` in LLVM's reader).
    pub fn decode(v: u64) -> Linkage {
        match v {
            2 => Linkage::Appending,
            3 => Linkage::Internal,
            7 => Linkage::ExternWeak,
            8 => Linkage::Common,
            9 | 13 | 14 => Linkage::Private,
            12 => Linkage::AvailableExternally,
            1 | 16 => Linkage::Weak,
            10 | 17 => Linkage::WeakOdr,
            4 | 18 => Linkage::Linkonce,
            11 | 19 => Linkage::LinkonceOdr,
            _ => Linkage::External,
        }
    }

    /// The keyword `llvm-dis` prints (`external` for the default).
    pub fn as_str(self) -> &'static str {
        match self {
            Linkage::External => "external",
            Linkage::Weak => "weak",
            Linkage::Appending => "appending",
            Linkage::Internal => "internal",
            Linkage::Linkonce => "linkonce",
            Linkage::ExternWeak => "extern_weak",
            Linkage::Common => "common",
            Linkage::Private => "private",
            Linkage::WeakOdr => "weak_odr",
            Linkage::LinkonceOdr => "linkonce_odr",
            Linkage::AvailableExternally => "available_externally",
        }
    }

    /// Internal or private.
    pub fn is_local(self) -> bool {
        matches!(self, Linkage::Internal | Linkage::Private)
    }
}

/// Symbol visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Default,
    Hidden,
    Protected,
}

impl Visibility {
    fn decode(v: u64) -> Visibility {
        match v {
            1 => Visibility::Hidden,
            2 => Visibility::Protected,
            _ => Visibility::Default,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Default => "default",
            Visibility::Hidden => "hidden",
            Visibility::Protected => "protected",
        }
    }
}

/// A global's or comdat's name: its bytes in a copy of the module's
/// STRTAB that the module's names share, so they cost one allocation
/// between them. Reads as a byte slice.
#[derive(Clone, Default)]
pub struct Name {
    table: Arc<[u8]>,
    start: u32,
    len: u32,
}

impl Name {
    /// The name in `table` at `r`, if `r` lies inside it.
    fn in_table(table: &Arc<[u8]>, r: StrRef) -> Option<Name> {
        r.get(table)?;
        Some(Name {
            table: Arc::clone(table),
            start: r.offset,
            len: r.size,
        })
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.table[self.start as usize..][..self.len as usize]
    }
}

impl Deref for Name {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Name {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Name {}

impl PartialEq<[u8]> for Name {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<u8>> for Name {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<&[u8]> for Name {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Name {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Name> for Vec<u8> {
    fn eq(&self, other: &Name) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// A global variable, function, alias or ifunc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub kind: GlobalKind,
    pub name: Name,
    pub name_ref: StrRef,
    pub linkage: Linkage,
    pub visibility: Visibility,
    /// Has a body or initializer (true for aliases and ifuncs); an
    /// `available_externally` copy counts as defined here, as in `llvm-dis`.
    pub defined: bool,
    /// Index into [`Module::comdats`].
    pub comdat: Option<usize>,
    /// The symbol partition's name in STRTAB (`-fsymbol-partition`), and
    /// the index of its offset operand in the record.
    pub partition: Option<(usize, StrRef)>,
    /// Bit position of the record.
    pub record_bit: u64,
    /// Where the record ends, and the abbreviation it was written with.
    pub record_end_bit: u64,
    pub abbrev_id: u32,
}

impl Global {
    /// A definition that owns the symbol: defined and not an
    /// `available_externally` copy.
    pub fn is_owning_definition(&self) -> bool {
        self.defined && self.linkage != Linkage::AvailableExternally
    }

    /// The record that defines the global, where the parse found it, with
    /// its operands left out (they are read again from its bits if needed).
    pub fn record(&self) -> Record {
        Record {
            code: self.kind.record_code(),
            abbrev_id: self.abbrev_id,
            ops: Vec::new(),
            blob: None,
            start_bit: self.record_bit,
            end_bit: self.record_end_bit,
        }
    }
}

/// A comdat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comdat {
    pub name: Name,
    pub name_ref: StrRef,
    pub selection_kind: u64,
    pub record_bit: u64,
}

/// Whether a function-local name names a value or a basic block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    Value,
    Block,
}

/// A name from a function-level VALUE_SYMTAB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalName {
    pub kind: LocalKind,
    /// Value id (relative to the function) or basic block index.
    pub id: u64,
    pub name: Vec<u8>,
    pub record_bit: u64,
}

/// A FUNCTION_BLOCK and what was read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionBody {
    /// Index into [`Module::globals`] of the function, when known.
    pub function: Option<usize>,
    pub block: BlockHeader,
    /// Local names kept by the [`ParseOptions::local_names`] filter.
    pub local_names: Vec<LocalName>,
    /// The text of every inline asm the function uses (read when local
    /// names are).
    pub inline_asm: Vec<Vec<u8>>,
}

/// A module path and hash from a ThinLTO index's MODULE_STRTAB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub module_id: u64,
    pub path: Vec<u8>,
    pub hash: Option<[u32; 5]>,
}

/// The IDENTIFICATION block before a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    pub producer: Vec<u8>,
    pub epoch: Option<u64>,
    pub block: BlockHeader,
}

/// Where the function offsets of a module symbol table stand: the
/// rewrite writes new offsets in their place and copies every other bit of
/// the block, without reading it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnEntrySites {
    /// The symbol table's block.
    pub block: BlockHeader,
    /// Where its END_BLOCK starts.
    pub end_block_bit: u64,
    /// The offset operand of each FNENTRY record, in order.
    pub offsets: Vec<OperandSpan>,
}

/// One MODULE_BLOCK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub identification: Option<Identification>,
    pub block: BlockHeader,
    pub version: u64,
    pub triple: Option<Vec<u8>>,
    pub source_filename: Option<Vec<u8>>,
    pub hash: Option<[u32; 5]>,
    pub vst_offset: Option<u64>,
    pub globals: Vec<Global>,
    pub comdats: Vec<Comdat>,
    /// Module-level inline asm (all ASM records, joined).
    pub asm: Vec<u8>,
    pub functions: Vec<FunctionBody>,
    /// Module-level VALUE_SYMTAB FNENTRY records: (value id, word offset).
    pub fn_entries: Vec<(u64, u64)>,
    /// Where the offsets of [`Module::fn_entries`] stand, when the module
    /// has one symbol table and each offset is a Fixed or VBR field.
    pub fn_entry_sites: Option<FnEntrySites>,
    /// Has a ThinLTO or full-LTO summary block.
    pub has_summary: bool,
    /// MODULE_STRTAB entries: present only in ThinLTO index files.
    pub index_entries: Vec<IndexEntry>,
    /// Index into [`BitcodeFile::strtabs`].
    pub strtab: Option<usize>,
    /// Index into [`BitcodeFile::symtabs`].
    pub symtab: Option<usize>,
}

impl Module {
    /// True for a ThinLTO index (a MODULE_BLOCK holding MODULE_STRTAB), which
    /// has no IR of its own.
    pub fn is_index(&self) -> bool {
        !self.index_entries.is_empty()
    }

    /// Every asm text of the module, with where it is: the module-level asm
    /// (`"module asm"`) and each function's inline asm (`"inline asm in
    /// FUNCTION"`). Inline asm is known only when function bodies were read.
    pub fn asm_texts(&self) -> Vec<(String, &[u8])> {
        let mut out = Vec::new();
        if !self.asm.is_empty() {
            out.push(("module asm".to_string(), self.asm.as_slice()));
        }
        out.extend(self.inline_asm_texts());
        out
    }

    /// Each function's inline asm, with where it is (see [`Module::asm_texts`]).
    fn inline_asm_texts(&self) -> Vec<(String, &[u8])> {
        let mut out = Vec::new();
        for f in self.functions.iter().filter(|f| !f.inline_asm.is_empty()) {
            let name = f
                .function
                .map(|g| String::from_utf8_lossy(&self.globals[g].name).into_owned());
            for text in &f.inline_asm {
                out.push((
                    format!("inline asm in {}", name.as_deref().unwrap_or("a function")),
                    text.as_slice(),
                ));
            }
        }
        out
    }

    /// The producer string, e.g. `LLVM19.1.7`.
    pub fn producer(&self) -> Option<&[u8]> {
        self.identification.as_ref().map(|i| i.producer.as_slice())
    }
}

/// A SYMTAB_BLOCK blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymtabBlob {
    pub block: BlockHeader,
    /// Byte range of the blob in the file.
    pub blob: Range<usize>,
    pub version: Option<u32>,
    /// The decoded table, when its version is known (and the parse was not
    /// told to skip it, see [`ParseOptions::skip_symbol_tables`]).
    pub table: Option<Symtab>,
}

impl SymtabBlob {
    /// True if the table's version is the one bcrename reads (whether or
    /// not this parse decoded it).
    pub fn known_version(&self) -> bool {
        self.version == Some(symtab::KNOWN_VERSION)
    }
}

/// A STRTAB_BLOCK blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrtabBlob {
    pub block: BlockHeader,
    /// Byte range of the blob in the file.
    pub blob: Range<usize>,
}

/// A parsed bitcode file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitcodeFile {
    pub wrapper: Option<Wrapper>,
    /// Byte range of the bitstream in the file.
    pub stream: Range<usize>,
    pub modules: Vec<Module>,
    pub strtabs: Vec<StrtabBlob>,
    pub symtabs: Vec<SymtabBlob>,
}

/// Which function-local names a parse keeps.
#[derive(Clone, Copy)]
pub struct LocalNames {
    /// Keeps a name this accepts.
    pub keep: fn(&[u8]) -> bool,
    /// Bytes every name `keep` accepts contains: a name whose encoding
    /// shows it lacks them may be stepped over unread.
    pub containing: &'static [u8],
}

/// What to read beyond the module-level records.
#[derive(Clone, Copy, Default)]
pub struct ParseOptions {
    /// Read function-level VALUE_SYMTABs and keep the names these accept.
    /// `None` skips function bodies entirely.
    pub local_names: Option<LocalNames>,
    /// Locate SYMTAB blobs and read their version, but leave the tables
    /// unparsed (`table` is `None`), for readers that need the modules only.
    pub skip_symbol_tables: bool,
    /// Read every function body the usual way, never the quick way
    /// ([`Reader::skim`]): for checks that both read the same.
    #[doc(hidden)]
    pub usual_bodies: bool,
}

fn chars(r: &Record, from: usize, reader: &Reader<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    chars_into(r, from, reader, &mut out)?;
    Ok(out)
}

/// The operands from `from` on as bytes, into `out` (cleared first).
fn chars_into(r: &Record, from: usize, reader: &Reader<'_>, out: &mut Vec<u8>) -> Result<()> {
    bytes_into(r.ops.get(from..).unwrap_or(&[]), out).map_err(|c| char_error(r, c, reader))
}

/// `ops` as bytes, into `out` (cleared first); errs with the first value
/// that is not a byte.
fn bytes_into(ops: &[u64], out: &mut Vec<u8>) -> std::result::Result<(), u64> {
    out.clear();
    // (Checked first, then copied: both loops run many values at a time.)
    if ops.iter().fold(0, |all, &c| all | c) > 0xff {
        return Err(ops.iter().copied().find(|&c| c > 0xff).expect("one is"));
    }
    out.extend(ops.iter().map(|&c| c as u8));
    Ok(())
}

fn char_error(r: &Record, c: u64, reader: &Reader<'_>) -> Error {
    reader.error(r.start_bit, format!("character value {c} out of range"))
}

fn op(r: &Record, i: usize) -> u64 {
    r.ops.get(i).copied().unwrap_or(0)
}

fn need(r: &Record, n: usize, what: &str, reader: &Reader<'_>) -> Result<()> {
    if r.ops.len() < n {
        return Err(reader.error(
            r.start_bit,
            format!(
                "{what} record has {} operands, expected at least {n}",
                r.ops.len()
            ),
        ));
    }
    Ok(())
}

fn hash5(r: &Record, reader: &Reader<'_>) -> Result<[u32; 5]> {
    if r.ops.len() != 5 || r.ops.iter().any(|&v| v > u64::from(u32::MAX)) {
        return Err(reader.error(r.start_bit, "HASH record is not five 32-bit words"));
    }
    Ok([
        r.ops[0] as u32,
        r.ops[1] as u32,
        r.ops[2] as u32,
        r.ops[3] as u32,
        r.ops[4] as u32,
    ])
}

fn str_ref(r: &Record, reader: &Reader<'_>) -> Result<StrRef> {
    let (o, s) = (op(r, 0), op(r, 1));
    if o > u64::from(u32::MAX) || s > u64::from(u32::MAX) {
        return Err(reader.error(r.start_bit, "string table reference out of range"));
    }
    Ok(StrRef {
        offset: o as u32,
        size: s as u32,
    })
}

impl BitcodeFile {
    /// Parses `data` (a whole file).
    ///
    /// # Errors
    /// Parse errors with bit offset and block path; Unsupported for bitcode
    /// without a string table (LLVM before 5).
    pub fn parse(data: &[u8], options: ParseOptions) -> Result<BitcodeFile> {
        let (wrapper, stream) = wrapper::locate(data)?;
        let mut reader = Reader::new(data, stream.start, stream.end, 4, codes::block_name)?;
        let mut file = BitcodeFile {
            wrapper,
            stream,
            modules: Vec::new(),
            strtabs: Vec::new(),
            symtabs: Vec::new(),
        };
        let mut identification = None;
        while let Some(entry) = reader.next_entry()? {
            match entry {
                Entry::SubBlock(h) => match h.id {
                    block::IDENTIFICATION => {
                        reader.enter()?;
                        identification = Some(read_identification(&mut reader, h)?);
                    }
                    block::MODULE => {
                        reader.enter()?;
                        let m = read_module(&mut reader, h, identification.take(), options)?;
                        file.modules.push(m);
                    }
                    block::STRTAB => {
                        reader.enter()?;
                        let blob = read_blob_block(&mut reader, &h, "STRTAB")?;
                        let i = file.strtabs.len();
                        file.strtabs.push(StrtabBlob { block: h, blob });
                        for m in file.modules.iter_mut().filter(|m| m.strtab.is_none()) {
                            m.strtab = Some(i);
                        }
                    }
                    block::SYMTAB => {
                        reader.enter()?;
                        let blob = read_blob_block(&mut reader, &h, "SYMTAB")?;
                        let bytes = &data[blob.clone()];
                        let version = symtab::version(bytes);
                        let table = match version {
                            Some(symtab::KNOWN_VERSION) if !options.skip_symbol_tables => {
                                Some(Symtab::parse(bytes, blob.start as u64 * 8)?)
                            }
                            _ => None,
                        };
                        let i = file.symtabs.len();
                        file.symtabs.push(SymtabBlob {
                            block: h,
                            blob,
                            version,
                            table,
                        });
                        for m in file.modules.iter_mut().filter(|m| m.symtab.is_none()) {
                            m.symtab = Some(i);
                        }
                    }
                    _ => reader.skip()?,
                },
                Entry::BlockInfo(_) => {}
                other => {
                    return Err(reader.error(
                        reader.position(),
                        format!("unexpected {other:?} at top level"),
                    ));
                }
            }
        }
        if file.modules.is_empty() {
            return Err(Error::parse(
                file.stream.end as u64 * 8,
                "no MODULE_BLOCK in the bitcode",
            ));
        }
        file.resolve_names(data)?;
        Ok(file)
    }

    /// The STRTAB bytes of module `m`.
    pub fn strtab<'d>(&self, data: &'d [u8], m: &Module) -> &'d [u8] {
        m.strtab
            .map(|i| &data[self.strtabs[i].blob.clone()])
            .unwrap_or(&[])
    }

    fn resolve_names(&mut self, data: &[u8]) -> Result<()> {
        // One copy of each STRTAB, shared by the names of its modules.
        let mut copies: Vec<Option<Arc<[u8]>>> = vec![None; self.strtabs.len()];
        for mi in 0..self.modules.len() {
            let strtab = self.strtab(data, &self.modules[mi]);
            let table: Arc<[u8]> = match self.modules[mi].strtab {
                Some(si) => Arc::clone(copies[si].get_or_insert_with(|| Arc::from(strtab))),
                None => Arc::default(),
            };
            let m = &mut self.modules[mi];
            let lookup = |r: StrRef, bit: u64| -> Result<Name> {
                Name::in_table(&table, r).ok_or_else(|| {
                    Error::parse(
                        bit,
                        format!(
                            "name at STRTAB offset {} size {} lies outside the {}-byte string table",
                            r.offset,
                            r.size,
                            strtab.len()
                        ),
                    )
                    .with_path(|| "MODULE_BLOCK".into())
                })
            };
            for g in &mut m.globals {
                g.name = lookup(g.name_ref, g.record_bit)?;
                if let Some((_, p)) = g.partition {
                    lookup(p, g.record_bit)?;
                }
            }
            for c in &mut m.comdats {
                c.name = lookup(c.name_ref, c.record_bit)?;
            }
            if let Some(si) = m.symtab {
                if let Some(t) = &self.symtabs[si].table {
                    if let Some(bad) = t.str_refs().find(|r| r.get(strtab).is_none()) {
                        return Err(Error::parse(
                            self.symtabs[si].blob.start as u64 * 8,
                            format!(
                                "symbol table string at offset {} size {} lies outside STRTAB",
                                bad.offset, bad.size
                            ),
                        )
                        .with_path(|| "SYMTAB_BLOCK".into()));
                    }
                }
            }
            let ident_bit = m
                .identification
                .as_ref()
                .map(|i| i.block.start_bit)
                .unwrap_or(m.block.start_bit);
            let words: Vec<u64> = (m.functions.iter())
                .map(|body| (body.block.start_bit - ident_bit) / 32 + 1)
                .collect();
            let owners = body_functions(&m.globals, &m.fn_entries, &words);
            for (body, function) in m.functions.iter_mut().zip(owners) {
                body.function = function;
            }
        }
        Ok(())
    }
}

/// The function (index into `globals`) of each function body, the bodies
/// given by their word offsets (as FNENTRY counts them). Bodies belong to
/// the functions with bodies, in record order; the module-level VST's
/// FNENTRY records (value id, offset), when present, say the same thing
/// and are preferred: for each offset, its first entry, if it names a
/// global.
fn body_functions(
    globals: &[Global],
    fn_entries: &[(u64, u64)],
    words: &[u64],
) -> Vec<Option<usize>> {
    let mut with_bodies = (0..globals.len())
        .filter(|&i| globals[i].kind == GlobalKind::Function && globals[i].defined);
    // By offset, in record order within one offset: a binary search per
    // body, not a pass over the entries (a module can have thousands).
    let mut by_offset: Vec<(u64, u64)> = fn_entries.iter().map(|&(vid, off)| (off, vid)).collect();
    by_offset.sort_by_key(|&(off, _)| off);
    words
        .iter()
        .map(|&word| {
            let in_order = with_bodies.next();
            let first = by_offset.partition_point(|&(off, _)| off < word);
            by_offset
                .get(first)
                .filter(|&&(off, _)| off == word)
                .and_then(|&(_, vid)| usize::try_from(vid).ok())
                .filter(|&vid| vid < globals.len())
                .or(in_order)
        })
        .collect()
}

pub(super) fn read_blob_block(
    reader: &mut Reader<'_>,
    h: &BlockHeader,
    what: &str,
) -> Result<Range<usize>> {
    let mut blob = None;
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Entry::Record(r) if r.code == codes::BLOB => match r.blob {
                Some(b) if blob.is_none() => blob = Some(b),
                Some(_) => {
                    return Err(reader.error(r.start_bit, format!("{what} has more than one blob")))
                }
                None => {
                    return Err(
                        reader.error(r.start_bit, format!("{what} record without a blob operand"))
                    );
                }
            },
            Entry::EndBlock { .. } => break,
            Entry::SubBlock(_) => reader.skip()?,
            _ => {}
        }
    }
    blob.ok_or_else(|| reader.error(h.start_bit, format!("{what} block without a blob")))
}

fn read_identification(reader: &mut Reader<'_>, h: BlockHeader) -> Result<Identification> {
    let mut id = Identification {
        producer: Vec::new(),
        epoch: None,
        block: h,
    };
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Entry::Record(r) if r.code == ident_code::STRING => id.producer = chars(&r, 0, reader)?,
            Entry::Record(r) if r.code == ident_code::EPOCH => id.epoch = r.ops.first().copied(),
            Entry::EndBlock { .. } => break,
            Entry::SubBlock(_) => reader.skip()?,
            _ => {}
        }
    }
    Ok(id)
}

fn read_module(
    reader: &mut Reader<'_>,
    h: BlockHeader,
    identification: Option<Identification>,
    options: ParseOptions,
) -> Result<Module> {
    // Room for about as many globals and bodies as the block's size allows
    // (a global's record takes a few words, a body more), so that the lists
    // rarely grow: each growth copies every entry so far.
    let room = |words_per: u64| (h.len_words / words_per).min(1 << 12) as usize;
    let mut m = Module {
        globals: Vec::with_capacity(room(16)),
        functions: Vec::with_capacity(room(32)),
        fn_entries: Vec::with_capacity(room(32)),
        fn_entry_sites: None,
        identification,
        block: h,
        version: 0,
        triple: None,
        source_filename: None,
        hash: None,
        vst_offset: None,
        comdats: Vec::new(),
        asm: Vec::new(),
        has_summary: false,
        index_entries: Vec::new(),
        strtab: None,
        symtab: None,
    };
    let mut saw_version = false;
    let mut vst_bit = None;
    // Local names are built here, one at a time, and copied when kept.
    let mut name_buffer = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Entry::Record(r) => {
                if !saw_version && r.code != mod_code::VERSION {
                    // LLVM writes VERSION first; without it the layout of
                    // every other record is unknown.
                    return Err(
                        reader.error(r.start_bit, "module records before MODULE_CODE_VERSION")
                    );
                }
                let ops = read_module_record(reader, &mut m, r, &mut saw_version)?;
                reader.recycle(ops);
            }
            Entry::SubBlock(sub) => match sub.id {
                block::FUNCTION if options.local_names.is_some() => {
                    let (local_names, inline_asm) = read_function_block(
                        reader,
                        &options.local_names.unwrap(),
                        &mut name_buffer,
                        !options.usual_bodies,
                    )?;
                    m.functions.push(FunctionBody {
                        function: None,
                        block: sub,
                        local_names,
                        inline_asm,
                    });
                }
                block::FUNCTION => {
                    reader.skip()?;
                    m.functions.push(FunctionBody {
                        function: None,
                        block: sub,
                        local_names: Vec::new(),
                        inline_asm: Vec::new(),
                    });
                }
                block::VALUE_SYMTAB => {
                    let first = vst_bit.is_none();
                    vst_bit = Some(sub.start_bit);
                    reader.enter()?;
                    let sites = read_module_vst(reader, &mut m, sub)?;
                    // With two tables, which offset is whose is not kept.
                    m.fn_entry_sites = sites.filter(|_| first);
                }
                block::MODULE_STRTAB => {
                    reader.enter()?;
                    read_module_strtab(reader, &mut m)?;
                }
                block::MODULE | block::IDENTIFICATION => {
                    return Err(reader.error(
                        sub.start_bit,
                        "a module or identification block nested in a module",
                    ));
                }
                block::GLOBALVAL_SUMMARY | block::FULL_LTO_GLOBALVAL_SUMMARY => {
                    m.has_summary = true;
                    reader.skip()?;
                }
                _ => reader.skip()?,
            },
            Entry::EndBlock { .. } => break,
            Entry::BlockInfo(_) | Entry::DefineAbbrev { .. } => {}
        }
    }
    // LLVM jumps to the module symbol table through VSTOFFSET (in words,
    // counted from one word before the IDENTIFICATION block).
    if let Some(offset) = m.vst_offset {
        let base = m
            .identification
            .as_ref()
            .map_or(m.block.start_bit, |i| i.block.start_bit);
        let points_at = base + offset.saturating_sub(1) * 32;
        if vst_bit != Some(points_at) {
            return Err(Error::parse(
                m.block.start_bit,
                format!(
                    "VSTOFFSET points to bit {points_at}, but the module symbol table {}",
                    vst_bit.map_or("is missing".to_string(), |b| format!("starts at bit {b}"))
                ),
            )
            .with_path(|| "MODULE_BLOCK".into()));
        }
    }
    Ok(m)
}

/// Reads one module-level record; hands back its operand buffer.
fn read_module_record(
    reader: &Reader<'_>,
    m: &mut Module,
    r: Record,
    saw_version: &mut bool,
) -> Result<Vec<u64>> {
    match r.code {
        mod_code::VERSION => {
            need(&r, 1, "VERSION", reader)?;
            m.version = r.ops[0];
            *saw_version = true;
            if m.version < 2 {
                return Err(Error::unsupported(
                    r.start_bit,
                    format!(
                        "module version {} has no string table (LLVM before 5.0); bcrename reads LLVM 5 and later",
                        m.version
                    ),
                )
                .with_path(|| reader.path()));
            }
        }
        mod_code::TRIPLE => m.triple = Some(chars(&r, 0, reader)?),
        mod_code::SOURCE_FILENAME => m.source_filename = Some(chars(&r, 0, reader)?),
        mod_code::ASM => {
            if !m.asm.is_empty() {
                m.asm.push(b'\n');
            }
            m.asm.extend(chars(&r, 0, reader)?);
        }
        mod_code::HASH => m.hash = Some(hash5(&r, reader)?),
        mod_code::VSTOFFSET => {
            need(&r, 1, "VSTOFFSET", reader)?;
            m.vst_offset = Some(r.ops[0]);
        }
        mod_code::COMDAT => {
            need(&r, 3, "COMDAT", reader)?;
            m.comdats.push(Comdat {
                name: Name::default(),
                name_ref: str_ref(&r, reader)?,
                selection_kind: r.ops[2],
                record_bit: r.start_bit,
            });
        }
        mod_code::GLOBALVAR => {
            need(&r, 8, "GLOBALVAR", reader)?;
            let linkage = Linkage::decode(r.ops[5]);
            m.globals.push(Global {
                kind: GlobalKind::Variable,
                name: Name::default(),
                name_ref: str_ref(&r, reader)?,
                linkage,
                visibility: if linkage.is_local() {
                    Visibility::Default
                } else {
                    Visibility::decode(op(&r, 8))
                },
                defined: r.ops[4] != 0,
                comdat: comdat_index(&r, 13, m, reader)?,
                partition: partition(&r, 16, reader)?,
                record_bit: r.start_bit,
                record_end_bit: r.end_bit,
                abbrev_id: r.abbrev_id,
            });
        }
        mod_code::FUNCTION => {
            need(&r, 10, "FUNCTION", reader)?;
            let linkage = Linkage::decode(r.ops[5]);
            m.globals.push(Global {
                kind: GlobalKind::Function,
                name: Name::default(),
                name_ref: str_ref(&r, reader)?,
                linkage,
                visibility: if linkage.is_local() {
                    Visibility::Default
                } else {
                    Visibility::decode(op(&r, 9))
                },
                defined: r.ops[4] == 0,
                comdat: comdat_index(&r, 14, m, reader)?,
                partition: partition(&r, 19, reader)?,
                record_bit: r.start_bit,
                record_end_bit: r.end_bit,
                abbrev_id: r.abbrev_id,
            });
        }
        mod_code::ALIAS | mod_code::IFUNC => {
            need(
                &r,
                6,
                if r.code == mod_code::ALIAS {
                    "ALIAS"
                } else {
                    "IFUNC"
                },
                reader,
            )?;
            let linkage = Linkage::decode(r.ops[5]);
            m.globals.push(Global {
                kind: if r.code == mod_code::ALIAS {
                    GlobalKind::Alias
                } else {
                    GlobalKind::Ifunc
                },
                name: Name::default(),
                name_ref: str_ref(&r, reader)?,
                linkage,
                visibility: if linkage.is_local() {
                    Visibility::Default
                } else {
                    Visibility::decode(op(&r, 6))
                },
                defined: true,
                comdat: None,
                partition: partition(&r, if r.code == mod_code::ALIAS { 11 } else { 8 }, reader)?,
                record_bit: r.start_bit,
                record_end_bit: r.end_bit,
                abbrev_id: r.abbrev_id,
            });
        }
        _ => {}
    }
    Ok(r.ops)
}

/// The comdat operand at `at` (1-based, 0 = none). Old linkage values with
/// an implicit comdat have none in the record; LLVM invents one named after
/// the global, which bcrename does not need to track.
fn comdat_index(r: &Record, at: usize, m: &Module, reader: &Reader<'_>) -> Result<Option<usize>> {
    match r.ops.get(at).copied() {
        None | Some(0) => Ok(None),
        Some(c) => {
            let i = (c - 1) as usize;
            if i >= m.comdats.len() {
                return Err(reader.error(
                    r.start_bit,
                    format!(
                        "comdat #{c} referenced but only {} defined",
                        m.comdats.len()
                    ),
                ));
            }
            Ok(Some(i))
        }
    }
}

/// The partition name reference at operands `at`, `at + 1`, when present
/// (LLVM 9 and later write it, possibly empty).
fn partition(r: &Record, at: usize, reader: &Reader<'_>) -> Result<Option<(usize, StrRef)>> {
    match (r.ops.get(at), r.ops.get(at + 1)) {
        (Some(&o), Some(&s)) if o <= u64::from(u32::MAX) && s <= u64::from(u32::MAX) => Ok(Some((
            at,
            StrRef {
                offset: o as u32,
                size: s as u32,
            },
        ))),
        (Some(_), Some(_)) => {
            Err(reader.error(r.start_bit, "partition name reference out of range"))
        }
        _ => Ok(None),
    }
}

/// The CONSTANTS_BLOCK record codes that carry inline asm text.
const INLINE_ASM_CODES: [u32; 4] = [
    codes::constants::INLINEASM,
    codes::constants::INLINEASM_OLD,
    codes::constants::INLINEASM_OLD2,
    codes::constants::INLINEASM_OLD3,
];

/// The asm text of an inline asm constant: `CST_CODE_INLINEASM` (30) has the
/// function type first; the older forms (18, 23, 28) start with the flags.
fn inline_asm_text(r: &Record) -> Option<Vec<u8>> {
    let at = match r.code {
        codes::constants::INLINEASM => 2,
        codes::constants::INLINEASM_OLD
        | codes::constants::INLINEASM_OLD2
        | codes::constants::INLINEASM_OLD3 => 1,
        _ => return None,
    };
    let len = usize::try_from(*r.ops.get(at)?).ok()?;
    let text = r.ops.get(at + 1..at + 1 + len)?;
    Some(text.iter().map(|&c| c as u8).collect())
}

/// What a function block holds that a parse keeps: the local names a
/// filter accepts, and the text of its inline asm.
#[derive(Default)]
struct BodyFinds {
    names: Vec<LocalName>,
    asm: Vec<Vec<u8>>,
}

impl BodyFinds {
    /// Takes in a VST_ENTRY or VST_BBENTRY record (at least one operand)
    /// if `keep` accepts its name, which is built in `name` first (most
    /// are not kept). Errs with a character value out of range.
    fn local_name(
        &mut self,
        r: &Record,
        keep: fn(&[u8]) -> bool,
        name: &mut Vec<u8>,
    ) -> std::result::Result<(), u64> {
        bytes_into(&r.ops[1..], name)?;
        if keep(name) {
            self.names.push(LocalName {
                kind: if r.code == vst::ENTRY {
                    LocalKind::Value
                } else {
                    LocalKind::Block
                },
                id: r.ops[0],
                name: name.clone(),
                record_bit: r.start_bit,
            });
        }
        Ok(())
    }
}

/// Reads the function block just announced: the local names `wanted`
/// keeps, and the text of its inline asm. Each name is built in `name`
/// first. The block is skimmed if `quickly` and it can be.
fn read_function_block(
    reader: &mut Reader<'_>,
    wanted: &LocalNames,
    name: &mut Vec<u8>,
    quickly: bool,
) -> Result<(Vec<LocalName>, Vec<Vec<u8>>)> {
    // Instruction records are only stepped over, and the sub-blocks that
    // hold no names (metadata attachments, use lists) skipped; among the
    // constants, only inline asm is read.
    const NAMES: [u32; 2] = [vst::ENTRY, vst::BBENTRY];
    let keep = wanted.keep;
    let watch = [
        Watch {
            block: block::CONSTANTS,
            codes: &INLINE_ASM_CODES,
            needle: None,
        },
        // Names that cannot be kept are stepped over where they can be.
        Watch {
            block: block::VALUE_SYMTAB,
            codes: &NAMES,
            needle: Some(wanted.containing),
        },
    ];
    let mut finds = BodyFinds::default();
    let skimmed = quickly
        && reader.skim(&watch, &mut |block, r| match block {
            block::CONSTANTS => {
                finds.asm.extend(inline_asm_text(r));
                true
            }
            _ => !r.ops.is_empty() && finds.local_name(r, keep, name).is_ok(),
        });
    if skimmed {
        return Ok((finds.names, finds.asm));
    }
    // The usual way, which reads what the quick way does not know, and
    // reports what is malformed.
    let mut finds = BodyFinds::default();
    reader.enter()?;
    const NAMED: [u32; 2] = [block::CONSTANTS, block::VALUE_SYMTAB];
    while let Some(entry) = reader.next_of(&[], &NAMED)? {
        match entry {
            Entry::SubBlock(h) if h.id == block::CONSTANTS => {
                reader.enter()?;
                while let Some(e) = reader.next_of(&INLINE_ASM_CODES, &[])? {
                    match e {
                        Entry::Record(r) => {
                            finds.asm.extend(inline_asm_text(&r));
                            reader.recycle(r.ops);
                        }
                        Entry::EndBlock { .. } => break,
                        _ => {}
                    }
                }
            }
            Entry::SubBlock(h) if h.id == block::VALUE_SYMTAB => {
                reader.enter()?;
                // (Every record is read: nearly all are names.)
                while let Some(e) = reader.next_entry()? {
                    match e {
                        Entry::Record(r) if NAMES.contains(&r.code) => {
                            need(&r, 1, "VST_ENTRY", reader)?;
                            finds
                                .local_name(&r, keep, name)
                                .map_err(|c| char_error(&r, c, reader))?;
                            reader.recycle(r.ops);
                        }
                        Entry::EndBlock { .. } => break,
                        Entry::SubBlock(_) => reader.skip()?,
                        _ => {}
                    }
                }
            }
            Entry::EndBlock { .. } => break,
            _ => {}
        }
    }
    Ok((finds.names, finds.asm))
}

/// Reads the module symbol table just entered (`block`); gives where its
/// function offsets stand, when each is a Fixed or VBR field.
fn read_module_vst(
    reader: &mut Reader<'_>,
    m: &mut Module,
    block: BlockHeader,
) -> Result<Option<FnEntrySites>> {
    let mut offsets = Some(Vec::with_capacity(m.functions.len()));
    while let Some(e) = reader.next_entry()? {
        match e {
            Entry::Record(r) if r.code == vst::FNENTRY => {
                need(&r, 2, "VST_FNENTRY", reader)?;
                m.fn_entries.push((r.ops[0], r.ops[1]));
                if let Some(list) = offsets.as_mut() {
                    match reader.operand_span(&r, 1)? {
                        Some(span) => list.push(span),
                        None => offsets = None,
                    }
                }
                reader.recycle(r.ops);
            }
            Entry::EndBlock { start_bit, .. } => {
                return Ok(offsets.map(|offsets| FnEntrySites {
                    block,
                    end_block_bit: start_bit,
                    offsets,
                }));
            }
            Entry::SubBlock(_) => reader.skip()?,
            _ => {}
        }
    }
    Ok(None)
}

fn read_module_strtab(reader: &mut Reader<'_>, m: &mut Module) -> Result<()> {
    while let Some(e) = reader.next_entry()? {
        match e {
            Entry::Record(r) if r.code == module_strtab::ENTRY => {
                need(&r, 1, "MST_ENTRY", reader)?;
                m.index_entries.push(IndexEntry {
                    module_id: r.ops[0],
                    path: chars(&r, 1, reader)?,
                    hash: None,
                });
            }
            Entry::Record(r) if r.code == module_strtab::HASH => {
                let hash = hash5(&r, reader)?;
                match m.index_entries.last_mut() {
                    Some(last) => last.hash = Some(hash),
                    None => return Err(reader.error(r.start_bit, "MST_HASH before any MST_ENTRY")),
                }
            }
            Entry::EndBlock { .. } => break,
            Entry::SubBlock(_) => reader.skip()?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Operands become bytes while all are bytes; else the first that is
    /// not is the error, wherever it stands.
    #[test]
    fn operands_are_bytes_or_the_first_that_is_not() {
        let mut out = vec![9];
        bytes_into(&[0, 0x41, 0xff], &mut out).unwrap();
        assert_eq!(out, [0, 0x41, 0xff]);
        bytes_into(&[], &mut out).unwrap();
        assert!(out.is_empty());
        for at in 0..20 {
            let mut ops: Vec<u64> = (0..20).map(|i| i * 12).collect();
            ops[at] = 0x100 + at as u64;
            if at < 19 {
                ops[19] = 1 << 40;
            }
            assert_eq!(bytes_into(&ops, &mut out), Err(0x100 + at as u64));
        }
    }

    /// Bodies go to the functions FNENTRY names at their offsets (the first
    /// entry at an offset, in record order), else to the functions with
    /// bodies in record order.
    #[test]
    fn bodies_go_to_the_functions_fnentry_names() {
        let global = |kind, defined| Global {
            kind,
            name: Name::default(),
            name_ref: StrRef::default(),
            linkage: Linkage::External,
            visibility: Visibility::Default,
            defined,
            comdat: None,
            partition: None,
            record_bit: 0,
            record_end_bit: 0,
            abbrev_id: 0,
        };
        // 0 and 2 have bodies; 1 is a declaration, 3 a variable.
        let globals = [
            global(GlobalKind::Function, true),
            global(GlobalKind::Function, false),
            global(GlobalKind::Function, true),
            global(GlobalKind::Variable, true),
        ];
        let words = [10, 20];
        // Without FNENTRY, in record order.
        assert_eq!(body_functions(&globals, &[], &words), [Some(0), Some(2)]);
        // FNENTRY (value id, offset) in another order than the bodies.
        let entries = [(2, 10), (0, 20)];
        assert_eq!(
            body_functions(&globals, &entries, &words),
            [Some(2), Some(0)]
        );
        // Two entries at one offset: the first counts.
        let entries = [(3, 20), (1, 20), (2, 10)];
        assert_eq!(
            body_functions(&globals, &entries, &words),
            [Some(2), Some(3)]
        );
        // An entry naming no global, or no entry at a body's offset: the
        // body in record order.
        let entries = [(9, 10), (2, 30)];
        assert_eq!(
            body_functions(&globals, &entries, &words),
            [Some(0), Some(2)]
        );
        // More bodies than functions with bodies.
        assert_eq!(
            body_functions(&globals, &[], &[10, 20, 30]),
            [Some(0), Some(2), None]
        );
    }

    /// A name reads as its bytes of the shared table and compares by
    /// content, whatever table or place it comes from; a reference past
    /// the table's end names nothing.
    #[test]
    fn names_are_their_bytes_of_the_shared_table() {
        let table: Arc<[u8]> = Arc::from(&b"mainhelper.llvm.42main"[..]);
        let at = |offset, size| Name::in_table(&table, StrRef { offset, size });
        let main = at(0, 4).unwrap();
        let helper = at(4, 14).unwrap();
        assert_eq!(main.as_slice(), b"main");
        assert_eq!(&*helper, b"helper.llvm.42");
        assert_eq!(main, at(18, 4).unwrap());
        assert_ne!(main, helper);
        assert!(main == b"main" && main == b"main".to_vec() && b"main".to_vec() == main);
        assert_eq!(format!("{helper:?}"), "\"helper.llvm.42\"");
        let other: Arc<[u8]> = Arc::from(&b"xxmain"[..]);
        assert_eq!(
            Name::in_table(&other, StrRef { offset: 2, size: 4 }).unwrap(),
            main
        );
        assert!(at(20, 3).is_none() && at(23, 0).is_none());
        assert_eq!(at(22, 0).unwrap().as_slice(), b"");
        assert!(Name::default().is_empty());
    }
}
