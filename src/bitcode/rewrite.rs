//! Rewriting the names in a bitcode file.
//!
//! The rewriter is told *what* to rename by a [`Renamer`] and works out
//! *where*: it lays out a new STRTAB first, then streams the file once,
//! copying every block and record that does not carry a name bit for bit.
//! A module-level record whose STRTAB reference (or function offset)
//! moves is copied too, with only the operands that change spliced into
//! its bits; where their encoding cannot hold the new values, and for
//! records that hold a name's characters, the record is encoded anew with
//! the abbreviation it came with when that still fits. What moves with the
//! names is patched: VSTOFFSET, the module-level FNENTRY offsets, block
//! lengths, the module HASH, the wrapper size.
//!
//! The new STRTAB is built the way LLVM's writer builds it: strings are
//! appended in the order they were first added (their original offsets) and
//! identical strings are shared. So for LLVM-written input the output is what
//! LLVM writes when the same names are chosen at compile time. If the table
//! holds bytes no known reference accounts for (a producer that points into
//! STRTAB from records bcrename does not read), the original table is kept
//! whole and new names are appended, so no unknown reference breaks.
//!
//! Function-local symbol tables that have a renamed entry are written in a
//! canonical order (values by id, then blocks by id): LLVM writes them in
//! hash-table order, which depends on the names.

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};

use sha1::{Digest, Sha1};

use super::codes::{self, block, module as mod_code, vst};
use super::module::{BitcodeFile, FnEntrySites, Module};
use super::symtab::{StrField, StrRef, StrRole};
use crate::bitstream::reader::{
    record_operands, BlockHeader, Entry, Operands, Reader, Record, UNABBREV_RECORD,
};
use crate::bitstream::wrapper::{WRAPPER_HEADER_LEN, WRAPPER_MAGIC};
use crate::bitstream::writer::{encoded_size, unabbreviated_size, BitWriter};
use crate::bitstream::Abbrevs;
use crate::error::{Error, ErrorKind, Result};

/// Decides new names. Returning `None` keeps a name.
pub trait Renamer {
    /// A global value's (or comdat's) new name.
    fn global(&self, name: &[u8]) -> Option<Vec<u8>>;
    /// [`Renamer::global`], the new name appended to `out`: true when
    /// there is one. (For renamers that can spare the allocation.)
    fn global_into(&self, name: &[u8], out: &mut Vec<u8>) -> bool {
        match self.global(name) {
            Some(n) => {
                out.extend_from_slice(&n);
                true
            }
            None => false,
        }
    }
    /// A function-local value or block name's new name.
    fn local(&self, name: &[u8]) -> Option<Vec<u8>>;
    /// The module's new source file name.
    fn source_filename(&self, name: &[u8]) -> Option<Vec<u8>>;
}

pub use super::changes::{Change, ChangeKind, ChangeRef, Changes};

/// The result of [`rewrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The new file; `None` when nothing changed (the input stands as is).
    pub bytes: Option<Vec<u8>>,
    /// The renames, in the order of the file: one per global or comdat
    /// record renamed, one per local name renamed in a module (however
    /// many functions have it), one per source file name.
    pub changes: Changes,
    pub warnings: Vec<String>,
}

/// Where a STRTAB reference lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Global {
        module: usize,
        global: usize,
    },
    Partition {
        module: usize,
        global: usize,
    },
    Comdat {
        module: usize,
        comdat: usize,
    },
    /// A string field of a symbol table, by its byte position in the blob.
    Symtab {
        symtab: usize,
        at: usize,
    },
}

/// One reference into a STRTAB: what it pointed at, and the string it must
/// point at now.
struct StrUse<'a> {
    old: StrRef,
    new: Cow<'a, [u8]>,
    target: Target,
}

/// The new STRTAB references of a file, by what holds them (dense tables:
/// every module has one per global and comdat).
struct NewRefs {
    /// `[module][global]`.
    globals: Vec<Vec<StrRef>>,
    /// `[module][global]`, for globals with a partition.
    partitions: Vec<Vec<Option<StrRef>>>,
    /// `[module][comdat]`.
    comdats: Vec<Vec<StrRef>>,
    /// `[symtab]`: (byte position of a string field in the blob, its new
    /// reference); empty for a table no STRTAB covers.
    symtab_fields: Vec<Vec<(usize, StrRef)>>,
}

impl NewRefs {
    fn for_file(file: &BitcodeFile) -> NewRefs {
        NewRefs {
            globals: file
                .modules
                .iter()
                .map(|m| vec![StrRef::default(); m.globals.len()])
                .collect(),
            partitions: file
                .modules
                .iter()
                .map(|m| vec![None; m.globals.len()])
                .collect(),
            comdats: file
                .modules
                .iter()
                .map(|m| vec![StrRef::default(); m.comdats.len()])
                .collect(),
            symtab_fields: vec![Vec::new(); file.symtabs.len()],
        }
    }

    fn set(&mut self, t: Target, r: StrRef) {
        match t {
            Target::Global { module, global } => self.globals[module][global] = r,
            Target::Partition { module, global } => self.partitions[module][global] = Some(r),
            Target::Comdat { module, comdat } => self.comdats[module][comdat] = r,
            Target::Symtab { symtab, at } => self.symtab_fields[symtab].push((at, r)),
        }
    }
}

/// A new string table and where each use (in the order given) now points.
struct BuiltStrtab {
    bytes: Vec<u8>,
    refs: Vec<StrRef>,
    appended: bool,
}

/// Lays out a string table: replaying the original insertion order when the
/// known references account for every byte, else appending to the original.
fn build_strtab(old: &[u8], uses: &[StrUse<'_>]) -> BuiltStrtab {
    let (order, repeats) = layout_order(uses);
    let mut built = lay_out(old, uses, &order);
    for (i, first) in repeats {
        built.refs[i] = built.refs[first];
    }
    built
}

/// Lays out the uses in `order` (by old reference: see [`layout_order`]);
/// a use not in `order` is given no place (its reference is left at the
/// default for the caller to set).
fn lay_out(old: &[u8], uses: &[StrUse<'_>], order: &[usize]) -> BuiltStrtab {
    let mut covered = 0usize;
    let mut exact = true;
    for &i in order {
        let u = &uses[i];
        let (start, end) = (
            u.old.offset as usize,
            u.old.offset as usize + u.old.size as usize,
        );
        if start > covered || (start < covered && end > covered) {
            exact = false;
        }
        covered = covered.max(end);
    }
    exact &= covered == old.len();

    let mut bytes = Vec::with_capacity(old.len() + 64);
    if !exact {
        bytes.extend_from_slice(old);
    }
    // Identical strings are shared, at the place of the first.
    let mut index: FxHashMap<&[u8], u32> = FxHashMap::default();
    index.reserve(order.len());
    let mut refs = vec![StrRef::default(); uses.len()];
    for &i in order {
        let u = &uses[i];
        let new: &[u8] = &u.new;
        if !exact && u.old.get(old) == Some(new) {
            refs[i] = u.old;
            continue;
        }
        let offset = *index.entry(new).or_insert_with(|| {
            let at = bytes.len() as u32;
            bytes.extend_from_slice(new);
            at
        });
        refs[i] = StrRef {
            offset,
            size: new.len() as u32,
        };
    }
    BuiltStrtab {
        bytes,
        refs,
        appended: !exact,
    }
}

fn old_key(u: &StrUse<'_>) -> u64 {
    ref_key(u.old)
}

/// The order in which to lay out `uses`: by old reference (offset, then
/// size), the uses of one reference in the order given, as a stable sort
/// orders them; and the uses left out of it, each with the earlier use it
/// repeats (the same old reference and new string), whose place it takes.
///
/// LLVM appends each string to the table when it first meets it, so the
/// uses come mostly in increasing order, and most of those that do not
/// repeat an earlier one (a symbol table names each global again, a
/// function names its comdat's string). The increasing ones form the
/// sorted list as they come; a repeat is found in it (and so needs no
/// lookup of its string when laid out); only the others (few) are sorted
/// and merged in.
fn layout_order(uses: &[StrUse<'_>]) -> (Vec<usize>, Vec<(usize, usize)>) {
    let mut rising: Vec<(u64, usize)> = Vec::with_capacity(uses.len());
    let mut others: Vec<(u64, usize)> = Vec::new();
    // Most uses past the globals' repeat one (see above).
    let mut repeats = Vec::with_capacity(uses.len());
    let mut hint = 0;
    for (i, u) in uses.iter().enumerate() {
        let key = old_key(u);
        if rising.last().is_none_or(|&(last, _)| key > last) {
            rising.push((key, i));
            continue;
        }
        // Repeats come in runs too (a symbol table lists the globals in
        // about their order): the one after the last found is tried first.
        let found = match rising.get(hint..hint + 2) {
            Some([a, _]) if a.0 == key => Ok(hint),
            Some([_, b]) if b.0 == key => Ok(hint + 1),
            _ => rising.binary_search_by_key(&key, |&(k, _)| k),
        };
        match found {
            Ok(j) if uses[rising[j].1].new == u.new => {
                repeats.push((i, rising[j].1));
                hint = j;
            }
            _ => others.push((key, i)),
        }
    }
    others.sort_by_key(|&(k, _)| k);
    // A use of `others` with the key of one in `rising` came after it
    // (else it would have joined `rising`): on equal keys, `rising` first.
    let mut order = Vec::with_capacity(rising.len() + others.len());
    let mut others = others.into_iter().peekable();
    for (key, i) in rising {
        while let Some(&(k, o)) = others.peek() {
            if k >= key {
                break;
            }
            order.push(o);
            others.next();
        }
        order.push(i);
    }
    order.extend(others.map(|(_, o)| o));
    (order, repeats)
}

/// The indices of `uses` sorted by their old reference (offset, then
/// size); uses of one old string keep the order they were given: what
/// [`layout_order`] must agree with.
#[cfg(test)]
fn order_by_old_ref(uses: &[StrUse<'_>]) -> Vec<usize> {
    let mut order: Vec<(u64, usize)> = uses.iter().map(old_key).zip(0..).collect();
    order.sort_by_key(|&(k, _)| k);
    order.into_iter().map(|(_, i)| i).collect()
}

/// The new names of one module.
#[derive(Default)]
struct ModulePlan {
    /// The renamed globals' and comdats' entries in the file's (unsorted)
    /// change list, which holds their new names.
    globals: Vec<Option<usize>>,
    comdats: Vec<Option<usize>>,
    source_filename: Option<Vec<u8>>,
    /// Function bodies (by index) whose local names change.
    bodies: Vec<bool>,
}

/// Every rename `renamer` makes in `file`, without writing anything, in
/// the order [`rewrite`] reports them: engines report these, so they agree
/// on what was renamed.
pub fn planned_changes(file: &BitcodeFile, renamer: &dyn Renamer) -> Changes {
    module_plans(file, renamer).1
}

/// The new names of each module, and every change, each once, in the order
/// they were found (the plans point into it).
fn module_plans(file: &BitcodeFile, renamer: &dyn Renamer) -> (Vec<ModulePlan>, Changes) {
    let globals: usize = file.modules.iter().map(|m| m.globals.len()).sum();
    // Room for every global renamed, the names about 32 bytes each.
    let mut changes = Changes::with_capacity(globals + 1, 32);
    let mut plans = Vec::with_capacity(file.modules.len());
    for (mi, m) in file.modules.iter().enumerate() {
        let mut p = ModulePlan {
            globals: Vec::with_capacity(m.globals.len()),
            comdats: Vec::with_capacity(m.comdats.len()),
            source_filename: None,
            bodies: Vec::with_capacity(m.functions.len()),
        };
        for g in &m.globals {
            let kind = match g.kind {
                super::GlobalKind::Function => ChangeKind::Function,
                super::GlobalKind::Variable => ChangeKind::Variable,
                super::GlobalKind::Alias => ChangeKind::Alias,
                super::GlobalKind::Ifunc => ChangeKind::Ifunc,
            };
            p.globals.push(
                changes.push_with(mi, kind, &g.name, |out| renamer.global_into(&g.name, out)),
            );
        }
        for c in &m.comdats {
            p.comdats
                .push(changes.push_with(mi, ChangeKind::Comdat, &c.name, |out| {
                    renamer.global_into(&c.name, out)
                }));
        }
        if let Some(sf) = &m.source_filename {
            p.source_filename = renamer.source_filename(sf).filter(|n| n != sf);
            if let Some(n) = &p.source_filename {
                changes.push(mi, ChangeKind::SourceFilename, sf, n);
            }
        }
        // A local name renamed in several functions is one change.
        let mut locals: FxHashSet<&[u8]> = FxHashSet::default();
        for body in &m.functions {
            let mut any = false;
            for l in &body.local_names {
                if let Some(n) = renamer.local(&l.name).filter(|n| *n != l.name) {
                    if locals.insert(&l.name) {
                        changes.push(mi, ChangeKind::Local, &l.name, &n);
                    }
                    any = true;
                }
            }
            p.bodies.push(any);
        }
        plans.push(p);
    }
    (plans, changes)
}

/// Rewrites `data` (parsed as `file`) with the names `renamer` chooses.
///
/// `file` must have been parsed with a local-name filter that keeps every
/// name `renamer.local` may rename, and with its symbol tables decoded
/// (not [`skip_symbol_tables`](super::ParseOptions::skip_symbol_tables)).
///
/// # Panics
/// If a symbol table of known version was not decoded: the table would be
/// dropped or left pointing at old strings.
///
/// # Errors
/// Parse errors in parts only read now, and Unsupported for layouts the
/// rewriter cannot keep consistent (a VSTOFFSET not in LLVM's fixed form).
pub fn rewrite(data: &[u8], file: &BitcodeFile, renamer: &dyn Renamer) -> Result<Rewritten> {
    assert!(
        file.symtabs
            .iter()
            .all(|t| t.table.is_some() || !t.known_version()),
        "rewrite needs a parse that decoded the symbol tables"
    );
    let (plans, changes) = module_plans(file, renamer);
    if changes.is_empty() {
        return Ok(Rewritten {
            bytes: None,
            changes,
            warnings: Vec::new(),
        });
    }

    let mut warnings = Vec::new();
    let (strtabs, refs) = new_strtabs(data, file, &plans, &changes, renamer, &mut warnings);
    let mut out = FileWriter {
        data,
        file,
        plans: &plans,
        strtabs: &strtabs,
        refs: &refs,
        renamer,
        warnings: &mut warnings,
    };
    let bytes = out.write()?;
    Ok(Rewritten {
        bytes: Some(bytes),
        changes,
        warnings,
    })
}

/// The new STRTABs of a file (bytes, in file order) and every reference
/// into them.
fn new_strtabs(
    data: &[u8],
    file: &BitcodeFile,
    plans: &[ModulePlan],
    changes: &Changes,
    renamer: &dyn Renamer,
    warnings: &mut Vec<String>,
) -> (Vec<Vec<u8>>, NewRefs) {
    let new_name = |change: Option<usize>| change.map(|i| changes.get(i).new);
    let mut tables = Vec::with_capacity(file.strtabs.len());
    let mut refs = NewRefs::for_file(file);
    for (si, st) in file.strtabs.iter().enumerate() {
        let old = &data[st.blob.clone()];
        // A use per global and comdat, and a few more: most partition
        // names and symbol-table strings take the place of another use
        // (see below).
        let names: usize = (file.modules.iter())
            .filter(|m| m.strtab == Some(si))
            .map(|m| m.globals.len() + m.comdats.len())
            .sum();
        let mut uses: Vec<StrUse<'_>> = Vec::with_capacity(names + 16);
        // References that take the place of an earlier use of the same old
        // string with the same new one (that use), rather than being laid
        // out as uses of their own: partition names like the last one
        // (LLVM writes an empty one for every global), by module and
        // global, and symbol-table strings that are a global's name, by
        // table and position.
        let mut partitions_as: Vec<(usize, usize, usize)> = Vec::with_capacity(names);
        let mut symtab_as: Vec<Vec<(usize, usize)>> = vec![Vec::new(); file.symtabs.len()];
        let mut last_partition: Option<(u64, usize)> = None;
        let mut renamed = Renamed::default();
        let mut global_uses = GlobalUses::new(old.len());
        for (mi, m) in file
            .modules
            .iter()
            .enumerate()
            .filter(|(_, m)| m.strtab == Some(si))
        {
            let p = &plans[mi];
            for (ci, c) in m.comdats.iter().enumerate() {
                uses.push(StrUse {
                    old: c.name_ref,
                    new: Cow::Borrowed(new_name(p.comdats[ci]).unwrap_or(&c.name)),
                    target: Target::Comdat {
                        module: mi,
                        comdat: ci,
                    },
                });
            }
            for (gi, g) in m.globals.iter().enumerate() {
                let new = match new_name(p.globals[gi]) {
                    Some(n) => {
                        renamed.pairs.push((g.name.as_slice(), n));
                        n
                    }
                    None => g.name.as_slice(),
                };
                global_uses.add(g.name_ref, uses.len());
                uses.push(StrUse {
                    old: g.name_ref,
                    new: Cow::Borrowed(new),
                    target: Target::Global {
                        module: mi,
                        global: gi,
                    },
                });
                if let Some((_, r)) = g.partition {
                    // A partition name is never renamed: the same old
                    // string is the same new one.
                    match last_partition {
                        Some((key, j)) if key == ref_key(r) => partitions_as.push((mi, gi, j)),
                        _ => {
                            last_partition = Some((ref_key(r), uses.len()));
                            uses.push(StrUse {
                                old: r,
                                new: Cow::Borrowed(r.get(old).unwrap_or_default()),
                                target: Target::Partition {
                                    module: mi,
                                    global: gi,
                                },
                            });
                        }
                    }
                }
            }
        }
        for (ti, t) in file.symtabs.iter().enumerate() {
            let covers = file
                .modules
                .iter()
                .any(|m| m.symtab == Some(ti) && m.strtab == Some(si));
            let Some(table) = t.table.as_ref().filter(|_| covers) else {
                continue;
            };
            let source = file
                .modules
                .iter()
                .position(|m| m.symtab == Some(ti))
                .and_then(|mi| plans[mi].source_filename.as_deref());
            let before = uses.len();
            symtab_as[ti].reserve(2 * table.symbols.len());
            for f in table.str_fields() {
                if let Some(j) = same_as_global(&f, table, &global_uses, &uses) {
                    symtab_as[ti].push((f.at, j));
                    continue;
                }
                let old_bytes = f.value.get(old).unwrap_or_default();
                uses.push(StrUse {
                    old: f.value,
                    new: symtab_string(&f, old_bytes, table, old, &mut renamed, source, renamer),
                    target: Target::Symtab {
                        symtab: ti,
                        at: f.at,
                    },
                });
            }
            refs.symtab_fields[ti].reserve(uses.len() - before + 2 * table.symbols.len());
        }
        let built = build_strtab(old, &uses);
        if built.appended {
            warnings.push(format!(
                "STRTAB #{si} holds strings no known record refers to; kept it whole and appended the new names"
            ));
        }
        for (mi, gi, j) in partitions_as {
            refs.partitions[mi][gi] = Some(built.refs[j]);
        }
        for (ti, fields) in symtab_as.into_iter().enumerate() {
            let r = &built.refs;
            refs.symtab_fields[ti].extend(fields.into_iter().map(|(at, j)| (at, r[j])));
        }
        for (u, r) in uses.iter().zip(built.refs) {
            refs.set(u.target, r);
        }
        tables.push(built.bytes);
    }
    (tables, refs)
}

/// The key of an old reference: offset, then size.
fn ref_key(r: StrRef) -> u64 {
    (u64::from(r.offset) << 32) | u64::from(r.size)
}

/// The use of each global's old reference in a STRTAB's uses, found by
/// the reference's offset in a table as long as the STRTAB (no hashing).
/// Each offset keeps the first global's use that starts there: a global
/// named by another string at the same offset (an empty name and the name
/// after it) is not found, and its symbol-table strings go the usual way.
struct GlobalUses(Vec<u32>);

impl GlobalUses {
    fn new(strtab_len: usize) -> GlobalUses {
        GlobalUses(vec![0; strtab_len + 1])
    }

    /// `use_index` is a global's use of `r`.
    fn add(&mut self, r: StrRef, use_index: usize) {
        if let Some(slot) = self.0.get_mut(r.offset as usize) {
            if *slot == 0 {
                *slot = u32::try_from(use_index + 1).unwrap_or(0);
            }
        }
    }

    /// The global's use of exactly `r`, if one is known.
    fn get(&self, r: StrRef, uses: &[StrUse<'_>]) -> Option<usize> {
        let j = (*self.0.get(r.offset as usize)? as usize).checked_sub(1)?;
        (uses[j].old == r).then_some(j)
    }
}

/// The use of the global whose name a symbol-table string is, when the
/// string refers to the global's own old reference: a symbol's IR name,
/// or its name when that is the IR name unchanged (ELF, no prefix). Such a
/// string becomes exactly what [`symtab_string`] would make of it, the
/// global's new name, and shares its place as a repeat of it would.
fn same_as_global(
    f: &StrField,
    table: &super::symtab::Symtab,
    globals: &GlobalUses,
    uses: &[StrUse<'_>],
) -> Option<usize> {
    match f.role {
        StrRole::SymbolIrName(_) | StrRole::CoffWeakExternFallback(_) => {}
        StrRole::SymbolName(i) if table.symbols.get(i)?.ir_name == f.value => {}
        _ => return None,
    }
    globals.get(f.value, uses)
}

/// Each renamed global's name and new name, looked up by the old name once
/// a symbol-table string needs it (most take a global's place without).
#[derive(Default)]
struct Renamed<'a> {
    pairs: Vec<(&'a [u8], &'a [u8])>,
    by_old: Option<FxHashMap<&'a [u8], &'a [u8]>>,
}

impl<'a> Renamed<'a> {
    /// The new name of a renamed global named `old`.
    fn get(&mut self, old: &[u8]) -> Option<&'a [u8]> {
        let pairs = &self.pairs;
        let by_old = self
            .by_old
            .get_or_insert_with(|| pairs.iter().copied().collect());
        by_old.get(old).copied()
    }
}

/// The new value of a symbol-table string.
fn symtab_string<'a>(
    f: &StrField,
    old_bytes: &'a [u8],
    table: &super::symtab::Symtab,
    strtab: &'a [u8],
    renamed: &mut Renamed<'a>,
    new_source: Option<&'a [u8]>,
    renamer: &dyn Renamer,
) -> Cow<'a, [u8]> {
    match f.role {
        StrRole::SourceFileName => Cow::Borrowed(new_source.unwrap_or(old_bytes)),
        StrRole::SymbolIrName(_) | StrRole::CoffWeakExternFallback(_) => {
            Cow::Borrowed(renamed.get(old_bytes).unwrap_or(old_bytes))
        }
        StrRole::ComdatName(_) => match renamer.global(old_bytes) {
            Some(n) => Cow::Owned(n),
            None => Cow::Borrowed(old_bytes),
        },
        StrRole::SymbolName(i) => {
            // The mangled name is the IR name with a prefix (`_` on Mach-O,
            // nothing on ELF): keep the prefix, rename the rest.
            let ir = table.symbols[i].ir_name.get(strtab).unwrap_or_default();
            match renamed.get(ir) {
                Some(new_ir) if old_bytes == ir => Cow::Borrowed(new_ir),
                Some(new_ir) if old_bytes.ends_with(ir) => {
                    let mut n = old_bytes[..old_bytes.len() - ir.len()].to_vec();
                    n.extend_from_slice(new_ir);
                    Cow::Owned(n)
                }
                _ => Cow::Borrowed(old_bytes),
            }
        }
        _ => Cow::Borrowed(old_bytes),
    }
}

struct FileWriter<'a> {
    data: &'a [u8],
    file: &'a BitcodeFile,
    plans: &'a [ModulePlan],
    strtabs: &'a [Vec<u8>],
    refs: &'a NewRefs,
    renamer: &'a dyn Renamer,
    warnings: &'a mut Vec<String>,
}

/// Per-module state while it is written.
struct ModuleOut {
    index: usize,
    /// Output bit position of the IDENTIFICATION block (or module block).
    base_bit: u64,
    /// Input bit position of the same.
    old_base_bit: u64,
    body_start_byte: usize,
    vst_offset_at: Option<u64>,
    /// Old FNENTRY word offset -> new, of each function block written.
    fn_offsets: FnOffsets,
    global: usize,
    comdat: usize,
    body: usize,
}

/// The new word offset of each function block by its old one: the blocks
/// are written in the order of the file, so the old offsets come in
/// increasing order and are found by a binary search (in the order they
/// were given otherwise).
struct FnOffsets {
    pairs: Vec<(u64, u64)>,
    increasing: bool,
}

impl FnOffsets {
    fn with_capacity(n: usize) -> FnOffsets {
        FnOffsets {
            pairs: Vec::with_capacity(n),
            increasing: true,
        }
    }

    fn push(&mut self, old: u64, new: u64) {
        self.increasing &= self.pairs.last().is_none_or(|&(last, _)| last < old);
        self.pairs.push((old, new));
    }

    fn get(&self, old: u64) -> Option<u64> {
        let found = if self.increasing {
            let i = self.pairs.binary_search_by_key(&old, |&(o, _)| o).ok()?;
            &self.pairs[i]
        } else {
            self.pairs.iter().find(|&&(o, _)| o == old)?
        };
        Some(found.1)
    }
}

fn word_offset(bit: u64, base: u64) -> u64 {
    (bit - base) / 32 + 1
}

impl FileWriter<'_> {
    fn write(&mut self) -> Result<Vec<u8>> {
        let stream = self.file.stream.clone();
        // The output is about the size of the input: one allocation.
        let mut w = BitWriter::with_capacity(stream.len() + stream.len() / 8);
        // The stream starts with its magic; bit positions below are relative
        // to the stream start, as alignment is.
        w.emit_bytes(&self.data[stream.start..stream.start + 4]);
        let mut reader = Reader::new(self.data, stream.start, stream.end, 4, codes::block_name)?;
        let shift = stream.start as u64 * 8;
        let mut module_index = 0;
        let mut strtab_index = 0;
        let mut ident_out: Option<(u64, u64)> = None;
        while let Some(entry) = reader.next_entry()? {
            match entry {
                Entry::SubBlock(h) => match h.id {
                    block::IDENTIFICATION => {
                        ident_out = Some((w.position(), h.start_bit - shift));
                        w.copy_block(self.data, 2, &h);
                    }
                    block::MODULE => {
                        let (base_bit, old_base_bit) = ident_out
                            .take()
                            .unwrap_or((w.position(), h.start_bit - shift));
                        reader.enter()?;
                        let m = &self.file.modules[module_index];
                        let mut mo = ModuleOut {
                            index: module_index,
                            base_bit,
                            old_base_bit,
                            body_start_byte: 0,
                            vst_offset_at: None,
                            fn_offsets: FnOffsets::with_capacity(m.functions.len()),
                            global: 0,
                            comdat: 0,
                            body: 0,
                        };
                        self.write_module(&mut w, &mut reader, &h, m, &mut mo, shift)?;
                        module_index += 1;
                    }
                    block::STRTAB => {
                        reader.enter()?;
                        self.write_blob_block(
                            &mut w,
                            &mut reader,
                            &h,
                            &self.strtabs[strtab_index],
                        )?;
                        strtab_index += 1;
                    }
                    block::SYMTAB => {
                        let ti = self
                            .file
                            .symtabs
                            .iter()
                            .position(|s| s.block.start_bit == h.start_bit)
                            .expect("parsed");
                        match self.new_symtab(ti) {
                            Some(blob) => {
                                reader.enter()?;
                                self.write_blob_block(&mut w, &mut reader, &h, &blob)?;
                            }
                            None => {
                                reader.skip()?;
                                self.warnings.push(format!(
                                    "dropped the symbol table: version {} is unknown (the linker rebuilds it)",
                                    self.file.symtabs[ti].version.map_or("?".into(), |v| v.to_string())
                                ));
                            }
                        }
                    }
                    _ => {
                        w.copy_block(self.data, 2, &h);
                        reader.skip()?;
                    }
                },
                Entry::BlockInfo(h) => w.copy_block(self.data, 2, &h),
                other => {
                    return Err(reader.error(
                        reader.position(),
                        format!("unexpected {other:?} at top level"),
                    ))
                }
            }
        }
        // Whatever followed the last block inside the stream (zero padding).
        let tail_from = (reader.position() / 8) as usize;
        w.align32();
        let mut body = w.into_bytes();
        if tail_from < stream.end {
            body.extend_from_slice(&self.data[tail_from..stream.end]);
        }
        Ok(self.wrap(body))
    }

    /// Puts the new stream back into the wrapper, if the input had one.
    fn wrap(&self, stream: Vec<u8>) -> Vec<u8> {
        if self.file.wrapper.is_none() {
            return stream;
        }
        let old = &self.file.stream;
        let mut out = self.data[..old.start].to_vec();
        debug_assert!(out.starts_with(&WRAPPER_MAGIC) && out.len() >= WRAPPER_HEADER_LEN);
        out[12..16].copy_from_slice(&(stream.len() as u32).to_le_bytes());
        out.extend_from_slice(&stream);
        let trailer = &self.data[old.end..];
        let padded_to_16 =
            self.data.len() % 16 == 0 && trailer.len() < 16 && trailer.iter().all(|&b| b == 0);
        if padded_to_16 {
            // LLVM pads wrapped bitcode to a multiple of 16 bytes.
            out.resize(out.len().div_ceil(16) * 16, 0);
        } else {
            out.extend_from_slice(trailer);
        }
        out
    }

    /// Re-emits the block just entered with `h`: `change` writes the
    /// entries it rewrites and hands back the others, which are copied.
    fn write_block(
        &self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        h: &BlockHeader,
        parent: u32,
        mut change: impl FnMut(&mut BitWriter, &mut Reader<'_>, Entry) -> Result<Option<Entry>>,
    ) -> Result<()> {
        let open = w.enter_block(parent, h.id, h.abbrev_width);
        while let Some(entry) = reader.next_entry()? {
            if matches!(entry, Entry::EndBlock { .. }) {
                break;
            }
            if let Some(unchanged) = change(w, reader, entry)? {
                self.copy_entry(w, reader, h.abbrev_width, unchanged)?;
            }
        }
        w.end_block(open);
        Ok(())
    }

    fn write_blob_block(
        &self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        h: &BlockHeader,
        blob: &[u8],
    ) -> Result<()> {
        self.write_block(w, reader, h, 2, |w, reader, entry| match entry {
            Entry::Record(r) if r.code == codes::BLOB && r.blob.is_some() => {
                emit_record(
                    w,
                    h.abbrev_width,
                    reader.current_abbrevs(),
                    &r,
                    &r.ops,
                    Some(blob),
                )?;
                Ok(None)
            }
            other => Ok(Some(other)),
        })
    }

    /// Copies an entry that needs no change.
    fn copy_entry(
        &self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        width: u32,
        entry: Entry,
    ) -> Result<()> {
        match entry {
            Entry::Record(r) => w.copy_bits(self.data, r.start_bit, r.end_bit),
            Entry::DefineAbbrev {
                start_bit, end_bit, ..
            } => w.copy_bits(self.data, start_bit, end_bit),
            Entry::BlockInfo(h) => w.copy_block(self.data, width, &h),
            Entry::SubBlock(h) => {
                w.copy_block(self.data, width, &h);
                reader.skip()?;
            }
            Entry::EndBlock { .. } => unreachable!("handled by the caller"),
        }
        Ok(())
    }

    fn new_symtab(&self, ti: usize) -> Option<Vec<u8>> {
        let st = &self.file.symtabs[ti];
        // A table of unknown version is not rewritten (it is dropped).
        if !st.known_version() {
            return None;
        }
        let mut blob = self.data[st.blob.clone()].to_vec();
        for &(at, r) in &self.refs.symtab_fields[ti] {
            blob[at..at + 4].copy_from_slice(&r.offset.to_le_bytes());
            blob[at + 4..at + 8].copy_from_slice(&r.size.to_le_bytes());
        }
        Some(blob)
    }

    fn write_module(
        &mut self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        h: &BlockHeader,
        m: &Module,
        mo: &mut ModuleOut,
        shift: u64,
    ) -> Result<()> {
        let width = h.abbrev_width;
        let open = w.enter_block(2, h.id, width);
        mo.body_start_byte = (open.body_start_bit() / 8) as usize;
        let plan = &self.plans[mo.index];
        // Module records are copied, spliced or written from what the parse
        // knows: their operands are only stepped over. Sub-blocks that are
        // rewritten read theirs.
        const MODULE_OPERANDS: Operands = Operands::Of(&[]);
        reader.set_operands(MODULE_OPERANDS);
        while let Some(entry) = reader.next_entry()? {
            match entry {
                Entry::Record(r) => {
                    match r.code {
                        mod_code::GLOBALVAR
                        | mod_code::FUNCTION
                        | mod_code::ALIAS
                        | mod_code::IFUNC => {
                            let mut copied_to =
                                self.write_global(w, reader, width, mo, &r, r.start_bit)?;
                            // The global records that follow it, end to
                            // start (no abbreviation defined between), are
                            // where the parse found them: they are spliced
                            // without being read again, and the bits
                            // between their operands copied in one go.
                            let mut end = r.end_bit;
                            while let Some(g) = (m.globals.get(mo.global))
                                .filter(|g| g.record_bit == end && g.record_end_bit > end)
                            {
                                let next = g.record();
                                copied_to =
                                    self.write_global(w, reader, width, mo, &next, copied_to)?;
                                end = next.end_bit;
                            }
                            w.copy_bits(self.data, copied_to, end);
                            reader.skip_to(end)?;
                        }
                        mod_code::COMDAT => {
                            let ci = mo.comdat;
                            mo.comdat += 1;
                            let mut new = Replaced::default();
                            let old = m.comdats[ci].name_ref;
                            new.str_ref(0, old, self.refs.comdats[mo.index][ci]);
                            self.emit_replaced(w, reader, width, &r, new.as_slice())?;
                        }
                        mod_code::SOURCE_FILENAME if plan.source_filename.is_some() => {
                            let ops: Vec<u64> = plan
                                .source_filename
                                .as_ref()
                                .unwrap()
                                .iter()
                                .map(|&b| u64::from(b))
                                .collect();
                            emit_record(w, width, reader.current_abbrevs(), &r, &ops, None)?;
                        }
                        mod_code::VSTOFFSET => {
                            let abbrevs = reader.current_abbrevs();
                            let fixed = r.abbrev_id != UNABBREV_RECORD
                                && abbrevs.get((r.abbrev_id - 4) as usize).is_some_and(|a| {
                                    a.ops()
                                        == [
                                            crate::bitstream::AbbrevOp::Literal(u64::from(
                                                mod_code::VSTOFFSET,
                                            )),
                                            crate::bitstream::AbbrevOp::Fixed(32),
                                        ]
                                });
                            if !fixed {
                                return Err(Error::unsupported(
                                    r.start_bit,
                                    "VSTOFFSET record not in LLVM's fixed 32-bit form",
                                )
                                .with_path(|| reader.path()));
                            }
                            mo.vst_offset_at = Some(w.position() + u64::from(width));
                            w.copy_bits(self.data, r.start_bit, r.end_bit);
                        }
                        mod_code::HASH => {
                            let ops = self.module_hash(w, m, mo)?;
                            emit_record(w, width, reader.current_abbrevs(), &r, &ops, None)?;
                        }
                        _ => w.copy_bits(self.data, r.start_bit, r.end_bit),
                    }
                    reader.recycle(r.ops);
                }
                Entry::SubBlock(sub) if sub.id == block::FUNCTION => {
                    let bi = mo.body;
                    mo.body += 1;
                    let old_word = word_offset(sub.start_bit - shift, mo.old_base_bit);
                    let at = w.position();
                    if at % 32 != 0 {
                        return Err(Error::unsupported(
                            sub.start_bit,
                            "function block does not start on a 32-bit boundary",
                        ));
                    }
                    mo.fn_offsets.push(old_word, word_offset(at, mo.base_bit));
                    let rewritten = |bi: usize| plan.bodies.get(bi).copied().unwrap_or(false);
                    if rewritten(bi) {
                        reader.enter()?;
                        reader.set_operands(Operands::All);
                        self.write_function(w, reader, &sub, width)?;
                        reader.set_operands(MODULE_OPERANDS);
                    } else if (sub.start_bit - shift) % 32 == 0
                        && m.functions.get(bi).is_some_and(|b| b.block == sub)
                    {
                        // This body and the unchanged ones that follow it
                        // end to start are copied as they stand, as one
                        // range: each keeps its place relative to the first
                        // (as both start on a 32-bit boundary).
                        let mut end = sub.end_bit;
                        let mut next = bi + 1;
                        while let Some(b) = (m.functions.get(next))
                            .filter(|b| b.block.start_bit == end && !rewritten(next))
                        {
                            let old_word = word_offset(end - shift, mo.old_base_bit);
                            let new_at = at + (end - sub.start_bit);
                            mo.fn_offsets
                                .push(old_word, word_offset(new_at, mo.base_bit));
                            end = b.block.end_bit;
                            next += 1;
                        }
                        w.copy_bits(self.data, sub.start_bit, end);
                        reader.skip()?;
                        let more = next - bi - 1;
                        reader.skip_blocks_to(end, block::FUNCTION, more as u32)?;
                        mo.body += more;
                    } else {
                        w.copy_block(self.data, width, &sub);
                        reader.skip()?;
                    }
                }
                Entry::SubBlock(sub) if sub.id == block::VALUE_SYMTAB => {
                    if let Some(at) = mo.vst_offset_at {
                        let pos = w.position();
                        if pos % 32 != 0 {
                            return Err(Error::unsupported(
                                sub.start_bit,
                                "module symbol table does not start on a 32-bit boundary",
                            ));
                        }
                        w.patch_bits(at, word_offset(pos, mo.base_bit), 32);
                    }
                    let in_place = (m.fn_entry_sites.as_ref())
                        .filter(|s| s.block.start_bit == sub.start_bit)
                        .and_then(|s| Some((s, self.new_fn_offsets(m, s, mo)?)));
                    if let Some((sites, new)) = in_place {
                        reader.skip()?;
                        let open = w.enter_block(width, sub.id, sub.abbrev_width);
                        let mut at = sub.body_start_bit;
                        for (span, v) in sites.offsets.iter().zip(new) {
                            w.copy_bits(self.data, at, span.from);
                            w.emit_for(span, v);
                            at = span.to;
                        }
                        w.copy_bits(self.data, at, sites.end_block_bit);
                        w.end_block(open);
                    } else {
                        reader.enter()?;
                        reader.set_operands(Operands::All);
                        self.write_module_vst(w, reader, &sub, width, mo)?;
                        reader.set_operands(MODULE_OPERANDS);
                    }
                }
                Entry::EndBlock { .. } => break,
                other => self.copy_entry(w, reader, width, other)?,
            }
        }
        reader.set_operands(Operands::All);
        w.end_block(open);
        Ok(())
    }

    /// Writes the record of the module's next global (`mo.global`), `r`,
    /// with its new STRTAB references, from bit `copied_to` (see
    /// [`emit_replaced_from`]): returns where the bits left to copy start.
    fn write_global(
        &self,
        w: &mut BitWriter,
        reader: &Reader<'_>,
        width: u32,
        mo: &mut ModuleOut,
        r: &Record,
        copied_to: u64,
    ) -> Result<u64> {
        let gi = mo.global;
        mo.global += 1;
        let g = &self.file.modules[mo.index].globals[gi];
        let mut new = Replaced::default();
        new.str_ref(0, g.name_ref, self.refs.globals[mo.index][gi]);
        if let Some((at, old)) = g.partition {
            let p =
                self.refs.partitions[mo.index][gi].expect("every partition has a new reference");
            new.str_ref(at, old, p);
        }
        let abbrevs = reader.current_abbrevs();
        emit_replaced_from(w, self.data, copied_to, abbrevs, width, r, new.as_slice())
            .map_err(|e| e.with_path(|| reader.path()))
    }

    /// [`emit_replaced`] for a record just read by `reader`, in the block it
    /// is in; errors name the block path.
    fn emit_replaced(
        &self,
        w: &mut BitWriter,
        reader: &Reader<'_>,
        width: u32,
        r: &Record,
        new: &[(usize, u64)],
    ) -> Result<()> {
        emit_replaced(w, self.data, reader.current_abbrevs(), width, r, new)
            .map_err(|e| e.with_path(|| reader.path()))
    }

    /// The module HASH over the new bytes: SHA-1 of the module's part of the
    /// new STRTAB, then the module block body up to the HASH record.
    fn module_hash(&self, w: &mut BitWriter, m: &Module, mo: &ModuleOut) -> Result<Vec<u64>> {
        let mut hasher = Sha1::new();
        if let Some(si) = m.strtab {
            let end_of = |r: &StrRef| (r.offset + r.size) as usize;
            let mut end = 0usize;
            for (mi, _) in self
                .file
                .modules
                .iter()
                .enumerate()
                .take(mo.index + 1)
                .filter(|(_, mm)| mm.strtab == Some(si))
            {
                let r = &self.refs;
                let names = r.globals[mi].iter().chain(&r.comdats[mi]);
                let partitions = r.partitions[mi].iter().flatten();
                end = names.chain(partitions).map(end_of).fold(end, usize::max);
            }
            hasher.update(&self.strtabs[si][..end]);
        }
        hasher.update(&w.bytes()[mo.body_start_byte..]);
        let digest = hasher.finalize();
        Ok(digest
            .chunks(4)
            .map(|c| u64::from(u32::from_be_bytes(c.try_into().unwrap())))
            .collect())
    }

    /// The new offset of each FNENTRY record at `sites`, when every one
    /// names a function block written and its field holds the new value;
    /// else `None`, and the table is read again to be written (which
    /// reports an offset naming no block).
    fn new_fn_offsets(&self, m: &Module, sites: &FnEntrySites, mo: &ModuleOut) -> Option<Vec<u64>> {
        if sites.offsets.len() != m.fn_entries.len() {
            return None;
        }
        (m.fn_entries.iter().zip(&sites.offsets))
            .map(|(&(_, old), span)| mo.fn_offsets.get(old).filter(|&v| span.holds(v)))
            .collect()
    }

    fn write_module_vst(
        &self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        h: &BlockHeader,
        parent: u32,
        mo: &ModuleOut,
    ) -> Result<()> {
        self.write_block(w, reader, h, parent, |w, reader, entry| match entry {
            Entry::Record(r) if r.code == vst::FNENTRY && r.ops.len() >= 2 => {
                let Some(new) = mo.fn_offsets.get(r.ops[1]) else {
                    return Err(reader.error(
                        r.start_bit,
                        format!("FNENTRY offset {} names no function block", r.ops[1]),
                    ));
                };
                let moved = [(1, new)];
                let new = if new == r.ops[1] { &[][..] } else { &moved[..] };
                self.emit_replaced(w, reader, h.abbrev_width, &r, new)?;
                reader.recycle(r.ops);
                Ok(None)
            }
            other => Ok(Some(other)),
        })
    }

    fn write_function(
        &self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        h: &BlockHeader,
        parent: u32,
    ) -> Result<()> {
        // Everything but the symbol table is copied as it is: instructions
        // are only stepped over, and copied as bit ranges between the
        // sub-blocks that change. Both sides start the body on a 32-bit
        // boundary and each rewritten block ends on one, so nested blocks
        // in a copied range stay aligned.
        let open = w.enter_block(parent, h.id, h.abbrev_width);
        let mut copied_to = h.body_start_bit;
        while let Some(entry) = reader.next_block_boundary()? {
            match entry {
                Entry::SubBlock(sub) if sub.id == block::VALUE_SYMTAB => {
                    w.copy_bits(self.data, copied_to, sub.start_bit);
                    reader.enter()?;
                    self.write_function_vst(w, reader, &sub, h.abbrev_width)?;
                    copied_to = reader.position();
                }
                Entry::EndBlock { start_bit, .. } => {
                    w.copy_bits(self.data, copied_to, start_bit);
                    break;
                }
                _ => {}
            }
        }
        w.end_block(open);
        Ok(())
    }

    /// A function-level symbol table with renamed entries, in canonical order.
    fn write_function_vst(
        &self,
        w: &mut BitWriter,
        reader: &mut Reader<'_>,
        h: &BlockHeader,
        parent: u32,
    ) -> Result<()> {
        let width = h.abbrev_width;
        let open = w.enter_block(parent, h.id, width);
        let mut records = Vec::new();
        // The block's abbreviations, taken before END_BLOCK leaves the block.
        let mut abbrevs = reader.current_abbrevs().to_vec();
        while let Some(entry) = reader.next_entry()? {
            match entry {
                Entry::Record(r) => records.push(r),
                Entry::EndBlock { .. } => break,
                // Definitions first: ids stay as they were, and every record
                // can use any of them.
                other => {
                    self.copy_entry(w, reader, width, other)?;
                    abbrevs = reader.current_abbrevs().to_vec();
                }
            }
        }
        let mut out: Vec<(Record, Vec<u64>)> = Vec::with_capacity(records.len());
        let mut seen = FxHashSet::default();
        for r in records {
            let mut ops = r.ops.clone();
            if (r.code == vst::ENTRY || r.code == vst::BBENTRY) && !ops.is_empty() {
                let name: Vec<u8> = ops[1..].iter().map(|&c| c as u8).collect();
                if let Some(new) = self.renamer.local(&name) {
                    ops.truncate(1);
                    ops.extend(new.iter().map(|&b| u64::from(b)));
                }
                // Values and blocks share one symbol table per function.
                if !seen.insert(ops[1..].to_vec()) {
                    return Err(Error::new(
                        ErrorKind::Policy,
                        format!(
                            "two function-local names would both be {:?} in one function",
                            String::from_utf8_lossy(
                                &ops[1..].iter().map(|&c| c as u8).collect::<Vec<_>>()
                            )
                        ),
                    ));
                }
            }
            out.push((r, ops));
        }
        out.sort_by(|(a, ao), (b, bo)| (a.code, ao).cmp(&(b.code, bo)));
        for (r, ops) in &out {
            if *ops == r.ops {
                w.copy_bits(self.data, r.start_bit, r.end_bit);
            } else {
                emit_record(w, width, Abbrevs::from(&abbrevs[..]), r, ops, None)?;
            }
        }
        w.end_block(open);
        Ok(())
    }
}

/// The string table references a record gets anew: `(operand index, new
/// value)` for each operand that changes, by increasing index.
#[derive(Default)]
struct Replaced {
    ops: [(usize, u64); 4],
    len: usize,
}

impl Replaced {
    /// The reference at operands `at` (offset) and `at + 1` (size) moves
    /// from `old` to `new`.
    fn str_ref(&mut self, at: usize, old: StrRef, new: StrRef) {
        for (i, o, n) in [(at, old.offset, new.offset), (at + 1, old.size, new.size)] {
            if o != n {
                self.ops[self.len] = (i, u64::from(n));
                self.len += 1;
            }
        }
    }

    fn as_slice(&self) -> &[(usize, u64)] {
        &self.ops[..self.len]
    }
}

/// Writes record `r` of `data`, read with its operands stepped over in a
/// block with abbreviations `abbrevs` and id width `width`, with the
/// operands `new` lists replaced: spliced into its bits where their
/// encodings hold the new values, else decoded and encoded anew (see
/// [`emit_record`]).
fn emit_replaced(
    w: &mut BitWriter,
    data: &[u8],
    abbrevs: Abbrevs<'_>,
    width: u32,
    r: &Record,
    new: &[(usize, u64)],
) -> Result<()> {
    let copied_to = emit_replaced_from(w, data, r.start_bit, abbrevs, width, r, new)?;
    w.copy_bits(data, copied_to, r.end_bit);
    Ok(())
}

/// [`emit_replaced`] from bit `copied_to` of `data` (at most where the
/// record starts: the bits before it go in the same copy as its first
/// ones), leaving the bits from the returned position to the record's end
/// for the caller to copy (with what follows, in one copy).
fn emit_replaced_from(
    w: &mut BitWriter,
    data: &[u8],
    copied_to: u64,
    abbrevs: Abbrevs<'_>,
    width: u32,
    r: &Record,
    new: &[(usize, u64)],
) -> Result<u64> {
    if new.is_empty() {
        return Ok(copied_to);
    }
    let abbrev = (r.abbrev_id != UNABBREV_RECORD)
        .then(|| abbrevs.get((r.abbrev_id - 4) as usize).map(|a| &**a))
        .flatten();
    if let Some(tail) = w.splice_record_from(data, copied_to, width, abbrev, r, new)? {
        return Ok(tail);
    }
    w.copy_bits(data, copied_to, r.start_bit);
    let mut ops = record_operands(data, width, abbrev, r)?;
    for &(i, v) in new {
        let Some(op) = ops.get_mut(i) else {
            return Err(Error::parse(
                r.start_bit,
                format!("record has no operand {i}"),
            ));
        };
        *op = v;
    }
    emit_record(w, width, abbrevs, r, &ops, None)?;
    Ok(r.end_bit)
}

/// Writes `r` with new operands: with its own abbreviation when that can
/// encode them, else with the smallest abbreviation of the block that can
/// (as LLVM picks the narrowest character encoding for names), else
/// unabbreviated.
fn emit_record(
    w: &mut BitWriter,
    width: u32,
    abbrevs: Abbrevs<'_>,
    r: &Record,
    ops: &[u64],
    blob: Option<&[u8]>,
) -> Result<()> {
    let own = (r.abbrev_id != UNABBREV_RECORD)
        .then(|| abbrevs.get((r.abbrev_id - 4) as usize))
        .flatten()
        .filter(|a| encoded_size(a, r.code, ops, blob).is_some());
    if let Some(a) = own {
        w.emit_abbreviated(width, r.abbrev_id, a, r.code, ops, blob);
        return Ok(());
    }
    if r.abbrev_id == UNABBREV_RECORD && blob.is_none() {
        w.emit_unabbrev(width, r.code, ops);
        return Ok(());
    }
    let best = abbrevs
        .iter()
        .enumerate()
        .filter_map(|(i, a)| encoded_size(a, r.code, ops, blob).map(|s| (s, i)))
        .min();
    match best {
        Some((size, i)) if blob.is_some() || size <= unabbreviated_size(r.code, ops) => {
            let a = abbrevs.get(i).expect("found among them");
            w.emit_abbreviated(width, i as u32 + 4, a, r.code, ops, blob);
        }
        _ if blob.is_none() => w.emit_unabbrev(width, r.code, ops),
        _ => {
            return Err(Error::unsupported(
                r.start_bit,
                "no abbreviation can hold the new blob",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_(offset: u32, size: u32, new: &str, n: usize) -> StrUse<'_> {
        StrUse {
            old: StrRef { offset, size },
            new: Cow::Borrowed(new.as_bytes()),
            target: Target::Global {
                module: 0,
                global: n,
            },
        }
    }

    /// Function offsets are found whether they came in increasing order
    /// (binary search) or not (in the order given).
    #[test]
    fn function_offsets_are_found_in_either_order() {
        for olds in [[3u64, 9, 40, 41], [9, 3, 41, 40]] {
            let mut f = FnOffsets::with_capacity(4);
            for &o in &olds {
                f.push(o, o * 10);
            }
            for &o in &olds {
                assert_eq!(f.get(o), Some(o * 10), "{olds:?}");
            }
            for missing in [0, 4, 39, 42] {
                assert_eq!(f.get(missing), None, "{olds:?}");
            }
        }
    }

    /// A global's use is found by exactly its old reference: the first
    /// global at an offset is kept there, and a reference with the same
    /// offset and another size (an empty name, then the name after it),
    /// or past the table, is not found.
    #[test]
    fn global_uses_are_found_by_their_exact_reference() {
        let uses = [
            use_(3, 0, "", 0),
            use_(3, 5, "abcde", 1),
            use_(0, 3, "xyz", 2),
            use_(0, 3, "xyz", 3),
        ];
        let mut g = GlobalUses::new(8);
        for (i, u) in uses.iter().enumerate() {
            g.add(u.old, i);
        }
        g.add(
            StrRef {
                offset: 40,
                size: 1,
            },
            9,
        );
        let at = |offset, size| g.get(StrRef { offset, size }, &uses);
        assert_eq!(at(3, 0), Some(0));
        assert_eq!(at(3, 5), None);
        assert_eq!(at(0, 3), Some(2));
        assert_eq!(at(0, 2), None);
        assert_eq!(at(40, 1), None);
        assert_eq!(at(8, 0), None);
    }

    /// The layout order is the stable sort by old reference less the
    /// repeats, and the table laid out from it (each repeat in the place of
    /// the use it repeats) is the one laid out from the full sort: on
    /// runs of rising references with references back into them, equal,
    /// nested and large references, and new strings shared or not.
    #[test]
    fn layout_order_agrees_with_sorting_every_use() {
        let mut random = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: u64| random() % n;
        let strings = ["", "a", "bb", "a.llvm.1", "ccc"];
        let (mut repeated, mut exact) = (0, 0);
        for range in [1u64, 2, 40, 300, 70_000, 1 << 32] {
            for _ in 0..200 {
                let n = next(80) as usize;
                // A table LLVM wrote: each string after the last, and
                // references back to them (every byte accounted for).
                let tight = next(2) == 0;
                let mut uses: Vec<StrUse<'_>> = Vec::with_capacity(n);
                let mut at = 0;
                for i in 0..n {
                    let (offset, size) = match next(4) {
                        0 | 1 if tight => {
                            let size = next(range.min(20)) as u32;
                            at += size;
                            (at - size, size)
                        }
                        // A rising run, with gaps.
                        0 | 1 => {
                            at += next(range.min(20)) as u32;
                            (at, next(range.min(20)) as u32)
                        }
                        // Back to an earlier use.
                        _ if i > 0 && (tight || next(2) == 0) => {
                            let e = &uses[next(i as u64) as usize];
                            (e.old.offset, e.old.size)
                        }
                        _ if tight => (0, 0),
                        _ => (next(range) as u32, next(range.min(300)) as u32),
                    };
                    let new = strings[next(strings.len() as u64) as usize];
                    uses.push(use_(offset, size, new, i));
                }
                let (order, repeats) = layout_order(&uses);
                let mut want = order_by_old_ref(&uses);
                let left_out: Vec<usize> = repeats.iter().map(|&(i, _)| i).collect();
                want.retain(|i| !left_out.contains(i));
                assert_eq!(order, want, "references below {range}");
                repeated += repeats.len();
                let len = at as usize + if tight { 0 } else { 40 };
                let old: Vec<u8> = (0..len).map(|b| b as u8).collect();
                let got = build_strtab(&old, &uses);
                exact += usize::from(!got.appended);
                let full = lay_out(&old, &uses, &order_by_old_ref(&uses));
                assert_eq!(
                    (got.bytes, got.refs, got.appended),
                    (full.bytes, full.refs, full.appended),
                    "references below {range}"
                );
            }
        }
        assert!(
            repeated > 1000 && exact > 300,
            "{repeated} repeats, {exact} exact"
        );
    }

    /// `emit_replaced` writes what `emit_record` writes with the operands
    /// replaced, whether it splices or must encode the record anew.
    #[test]
    fn replaced_operands_are_spliced_or_encoded_anew() {
        use crate::bitstream::Abbrev;
        use crate::bitstream::AbbrevOp::{Fixed, Literal, Vbr};
        use std::rc::Rc;
        const WIDTH: u32 = 3;
        let abbrevs = [
            Rc::new(Abbrev::new(vec![Literal(7), Fixed(4), Vbr(6)])),
            Rc::new(Abbrev::new(vec![Literal(7), Vbr(6), Vbr(6)])),
        ];
        let bits = |f: &dyn Fn(&mut BitWriter)| {
            let mut w = BitWriter::new();
            w.emit(1, 5);
            f(&mut w);
            w.align32();
            w.into_bytes()
        };
        for abbrev_id in [4, UNABBREV_RECORD] {
            let mut src = BitWriter::new();
            src.emit(0, 11);
            let start_bit = src.position();
            match abbrev_id {
                UNABBREV_RECORD => src.emit_unabbrev(WIDTH, 7, &[3, 100]),
                _ => src.emit_abbreviated(WIDTH, 4, &abbrevs[0], 7, &[3, 100], None),
            }
            let r = Record {
                code: 7,
                abbrev_id,
                ops: Vec::new(),
                blob: None,
                start_bit,
                end_bit: src.position(),
            };
            src.align32();
            let data = src.into_bytes();
            // 20 does not fit the 4-bit field: the record is encoded anew.
            for (new, ops) in [(&[(1, 5)][..], [3, 5]), (&[(0, 20)][..], [20, 100])] {
                let got =
                    bits(&|w| emit_replaced(w, &data, abbrevs[..].into(), WIDTH, &r, new).unwrap());
                let want =
                    bits(&|w| emit_record(w, WIDTH, abbrevs[..].into(), &r, &ops, None).unwrap());
                assert_eq!(got, want, "abbreviation {abbrev_id}, {new:?}");
            }
            let mut w = BitWriter::new();
            assert!(
                emit_replaced(&mut w, &data, abbrevs[..].into(), WIDTH, &r, &[(2, 1)]).is_err()
            );
        }
    }

    #[test]
    fn strtab_is_replayed_in_insertion_order_with_sharing() {
        // "abc" at 0, "" at 3 (an empty partition name), "de" at 3, "abc" again.
        let old = b"abcde";
        let t = build_strtab(
            old,
            &[
                use_(3, 2, "de", 0),
                use_(0, 3, "XYZW", 1),
                use_(3, 0, "", 2),
                use_(0, 3, "XYZW", 3),
            ],
        );
        assert!(!t.appended);
        assert_eq!(t.bytes, b"XYZWde");
        assert_eq!(t.refs[1], StrRef { offset: 0, size: 4 });
        assert_eq!(t.refs[3], StrRef { offset: 0, size: 4 });
        assert_eq!(t.refs[2], StrRef { offset: 4, size: 0 });
        assert_eq!(t.refs[0], StrRef { offset: 4, size: 2 });
        // Two old strings renamed to one new string share it, at the first place.
        let t = build_strtab(b"abcd", &[use_(0, 2, "zz", 0), use_(2, 2, "zz", 1)]);
        assert_eq!((t.bytes.as_slice(), t.refs[1].offset), (&b"zz"[..], 0));
    }

    #[test]
    fn strtab_with_unaccounted_bytes_is_kept_and_appended_to() {
        // Bytes 3..6 are referenced by nothing bcrename knows.
        let t = build_strtab(b"abc???de", &[use_(0, 3, "abc", 0), use_(6, 2, "DEE", 1)]);
        assert!(t.appended);
        assert_eq!(t.bytes, b"abc???deDEE");
        assert_eq!(t.refs[0], StrRef { offset: 0, size: 3 });
        assert_eq!(t.refs[1], StrRef { offset: 8, size: 3 });
    }
}
