//! A module's names as its symbol table lists them, read without decoding
//! the module.
//!
//! LLVM writes the symbol table (irsymtab, [`super::symtab`]) from the
//! module it writes: one symbol per global value (private ones only at
//! times), with its IR name as a reference into the same STRTAB the
//! module's records use and a flag for whether the module defines it for
//! the linker; the module's comdats; and its source file name. So the
//! table says which names a module carries and which it owns, and reading
//! it costs a walk over the file's top-level blocks, the module skipped by
//! its length. A plan made from it is only as good as the table, so when
//! the file is parsed in full to be rewritten, [`agrees`] checks the table
//! against the module's records. (In `rename`, a file whose table is
//! missing or unusual is summarised from its records; one whose table
//! disagrees sends the run back to plan from every name of the set.)

use super::codes::{self, block};
use super::module::{read_blob_block, BitcodeFile, Global, GlobalKind, Linkage, Module};
use super::symtab::{StrRef, Symtab, SymtabSymbol};
use crate::bitstream::reader::{top_level_blocks, Entry, Reader};
use crate::bitstream::wrapper;

/// irsymtab's `FB_undefined` flag bit: the symbol is a declaration or an
/// `available_externally` copy (LLVM's `isDeclarationForLinker`), so the
/// module does not own it.
pub const FLAG_UNDEFINED: u32 = 1 << 3;

/// The names of a file's one module, from its symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymtabNames<'d> {
    /// The module's source file name (never empty, see [`SymtabNames::read`]).
    pub source_filename: &'d [u8],
    /// Each symbol with an IR name (symbols of module asm have none): the
    /// name, and whether the module holds an owning definition of it.
    pub symbols: Vec<(&'d [u8], bool)>,
    /// Each comdat's name.
    pub comdats: Vec<&'d [u8]>,
}

impl<'d> SymtabNames<'d> {
    /// Every name: the symbols' IR names (with whether the module holds
    /// an owning definition), then the comdats' (which define nothing).
    pub fn names(&self) -> impl Iterator<Item = (&'d [u8], bool)> + '_ {
        let comdats = self.comdats.iter().map(|&c| (c, false));
        self.symbols.iter().copied().chain(comdats)
    }

    /// The names of the module in `data`, a whole file, if the file holds
    /// exactly one module, one STRTAB and one symbol table of the version
    /// bcrename reads, describing that one module with a non-empty source
    /// file name. `None` for anything else (a ThinLTO index, several
    /// modules, no table, a stream that does not walk): such a file is to
    /// be parsed, which reports what is wrong with it.
    pub fn read(data: &'d [u8]) -> Option<SymtabNames<'d>> {
        let (_, stream) = wrapper::locate(data).ok()?;
        let mut reader = Reader::new(data, stream.start, stream.end, 4, codes::block_name).ok()?;
        let (mut modules, mut strtab, mut symtab) = (0, None, None);
        while let Some(entry) = reader.next_entry().ok()? {
            match entry {
                Entry::SubBlock(h) if h.id == block::STRTAB || h.id == block::SYMTAB => {
                    reader.enter().ok()?;
                    let blob = read_blob_block(&mut reader, &h, "table").ok()?;
                    let slot = if h.id == block::STRTAB {
                        &mut strtab
                    } else {
                        &mut symtab
                    };
                    if slot.replace(blob).is_some() {
                        return None;
                    }
                }
                Entry::SubBlock(h) => {
                    modules += usize::from(h.id == block::MODULE);
                    reader.skip().ok()?;
                }
                Entry::BlockInfo(_) => {}
                _ => return None,
            }
        }
        let strtab = &data[strtab?];
        let symtab = symtab?;
        let table = Symtab::parse(&data[symtab.clone()], symtab.start as u64 * 8).ok()?;
        if modules != 1 || table.modules.len() != 1 {
            return None;
        }
        let text = |r: StrRef| r.get(strtab);
        let source_filename = text(table.header.source_file_name).filter(|s| !s.is_empty())?;
        // (Collected into lists made to size: a collect into `Option`
        // cannot tell how many it gets, and grows its list many times.)
        let mut symbols = Vec::with_capacity(table.symbols.len());
        for s in table.symbols.iter().filter(|s| s.ir_name.size > 0) {
            symbols.push((text(s.ir_name)?, owned(s)));
        }
        let mut comdats = Vec::with_capacity(table.comdats.len());
        for c in &table.comdats {
            comdats.push(text(c.name)?);
        }
        Some(SymtabNames {
            source_filename,
            symbols,
            comdats,
        })
    }
}

/// The bytes of a file that [`SymtabNames::read`] does not look at: the
/// body of its first module block, which it steps over by its length.
/// Found from the file's first bytes `head` (of `len` in all): `None`
/// when they do not show where that body is. A read for the names alone
/// may leave these bytes out; should [`SymtabNames::read`] give `None`,
/// the file is to be read whole to be parsed.
pub fn not_looked_at(head: &[u8], len: usize) -> Option<std::ops::Range<usize>> {
    let (_, stream) = wrapper::stream_range(head, len).ok()?;
    if head.get(stream.start..stream.start + 4)? != wrapper::RAW_MAGIC {
        return None;
    }
    top_level_blocks(head, stream)
        .find(|(id, _)| *id == block::MODULE)
        .map(|(_, body)| body)
}

/// The keys of `globals` in the order LLVM's symbol table lists them:
/// functions, variables, aliases, then ifuncs, each kind in record order
/// (one pass to count each kind, one to place each global).
fn in_llvm_order<'g, K: Copy + Default>(
    globals: impl Iterator<Item = &'g Global> + Clone,
    key: impl Fn(&Global) -> K,
) -> Vec<K> {
    let rank = |kind: GlobalKind| match kind {
        GlobalKind::Function => 0,
        GlobalKind::Variable => 1,
        GlobalKind::Alias => 2,
        GlobalKind::Ifunc => 3,
    };
    let mut next = [0usize; 4];
    for g in globals.clone() {
        next[rank(g.kind)] += 1;
    }
    let mut start = 0;
    for n in &mut next {
        (*n, start) = (start, start + *n);
    }
    let mut out = vec![K::default(); start];
    for g in globals {
        let at = &mut next[rank(g.kind)];
        out[*at] = key(g);
        *at += 1;
    }
    out
}

fn owned(s: &SymtabSymbol) -> bool {
    s.flags & FLAG_UNDEFINED == 0
}

/// True when the symbol table of `m` says what its records say, so that
/// [`SymtabNames::read`] of the same bytes gave the module's own names, as
/// far as `unlisted` cares: `m` is the one module of `file`, which has one
/// STRTAB and one decoded symbol table describing one module; the table's
/// source file name is the module's; its symbols with an IR name, leaving
/// out private globals, are exactly the module's named globals that are
/// not private, each by the same STRTAB reference, owned exactly where the
/// module holds an owning definition; its comdats are the module's; and
/// the name of each private global, which the table may or may not list
/// (LLVM lists some), is one `unlisted` accepts.
pub fn agrees(
    file: &BitcodeFile,
    data: &[u8],
    m: &Module,
    unlisted: impl Fn(&[u8]) -> bool,
) -> bool {
    if file.strtabs.len() != 1 {
        return false;
    }
    let table = match file.symtabs.as_slice() {
        [s] => match &s.table {
            Some(t) => t,
            None => return false,
        },
        _ => return false,
    };
    if file.modules.len() != 1 || m.is_index() || table.modules.len() != 1 {
        return false;
    }
    let source = table.header.source_file_name.get(file.strtab(data, m));
    if source != m.source_filename.as_deref() {
        return false;
    }
    let key = |r: StrRef, owned: bool| (r.offset, r.size, owned);
    let named = || m.globals.iter().filter(|g| g.name_ref.size > 0);
    let mut private: Vec<(u32, u32)> = Vec::new();
    for g in named().filter(|g| g.linkage == Linkage::Private) {
        if !unlisted(&g.name[..]) {
            return false;
        }
        private.push((g.name_ref.offset, g.name_ref.size));
    }
    private.sort_unstable();
    let listed = (table.symbols.iter())
        .filter(|s| s.ir_name.size > 0)
        .filter(|s| (private.binary_search(&(s.ir_name.offset, s.ir_name.size))).is_err())
        .map(|s| key(s.ir_name, owned(s)));
    let listable = || named().filter(|g| g.linkage != Linkage::Private);
    let record_key = |g: &Global| key(g.name_ref, g.is_owning_definition());
    // LLVM lists functions, variables, aliases and ifuncs, each in the
    // module's order; the module's records put variables first. Any other
    // order is compared sorted.
    let same_globals = listed.clone().eq(in_llvm_order(listable(), record_key)) || {
        let (mut a, mut b): (Vec<_>, Vec<_>) =
            (listable().map(record_key).collect(), listed.collect());
        a.sort_unstable();
        b.sort_unstable();
        a == b
    };
    // Comdats are listed in the order symbols first use them.
    let mut comdats: Vec<_> = m.comdats.iter().map(|c| c.name_ref).collect();
    let mut listed_comdats: Vec<_> = table.comdats.iter().map(|c| c.name).collect();
    for v in [&mut comdats, &mut listed_comdats] {
        v.sort_unstable_by_key(|r| (r.offset, r.size));
    }
    same_globals && comdats == listed_comdats
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On every file of the test data (clang 14, 16 and 19, raw and
    /// wrapped), the part [`not_looked_at`] finds from the first KiB is
    /// exactly the first module block's body, and [`SymtabNames::read`]
    /// gives the same with those bytes scrambled.
    #[test]
    fn the_names_are_read_without_the_module_body() {
        let mut found = 0;
        for path in crate::testing::testdata_paths() {
            let data = std::fs::read(&path).unwrap();
            let Ok(file) = BitcodeFile::parse(&data, Default::default()) else {
                continue;
            };
            let head = &data[..data.len().min(1024)];
            let body = not_looked_at(head, data.len());
            let Some(m) = file.modules.first() else {
                assert_eq!(body, None, "{}", path.display());
                continue;
            };
            let module_body = (m.block.body_start_bit / 8) as usize..(m.block.end_bit / 8) as usize;
            assert_eq!(body, Some(module_body.clone()), "{}", path.display());
            let mut scrambled = data.clone();
            for (i, b) in scrambled[module_body].iter_mut().enumerate() {
                *b = (i * 89 + 7) as u8;
            }
            assert_eq!(
                SymtabNames::read(&scrambled),
                SymtabNames::read(&data),
                "{}",
                path.display()
            );
            found += usize::from(SymtabNames::read(&data).is_some());
        }
        assert!(found > 50, "only {found} files with names");
    }

    /// Globals laid out in LLVM's symbol-table order are those of each
    /// kind in turn, in record order: on real modules with several kinds
    /// of global, and on those modules' globals given kinds at random.
    #[test]
    fn globals_are_laid_out_by_kind_in_record_order() {
        let by_kind = |globals: &[Global]| -> Vec<(u32, u32)> {
            [
                GlobalKind::Function,
                GlobalKind::Variable,
                GlobalKind::Alias,
                GlobalKind::Ifunc,
            ]
            .into_iter()
            .flat_map(|kind| globals.iter().filter(move |g| g.kind == kind))
            .map(|g| (g.name_ref.offset, g.name_ref.size))
            .collect()
        };
        let key = |g: &Global| (g.name_ref.offset, g.name_ref.size);
        let mut kinds_seen = 0;
        for rel in [
            "clang-16/prog/prelink/alias.o",
            "clang-14/cfi/distributed/main.bc",
        ] {
            let (_, file) = crate::testing::testdata_file(rel);
            let mut globals = file.modules[0].globals.clone();
            let kinds: std::collections::BTreeSet<_> =
                globals.iter().map(|g| g.kind as u8).collect();
            kinds_seen = kinds_seen.max(kinds.len());
            assert_eq!(
                in_llvm_order(globals.iter(), key),
                by_kind(&globals),
                "{rel}"
            );
            let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1d);
            let all = [
                GlobalKind::Variable,
                GlobalKind::Function,
                GlobalKind::Alias,
                GlobalKind::Ifunc,
            ];
            for _ in 0..50 {
                for g in &mut globals {
                    g.kind = all[(next() % 4) as usize];
                }
                assert_eq!(in_llvm_order(globals.iter(), key), by_kind(&globals));
            }
        }
        assert!(kinds_seen >= 2, "{kinds_seen} kinds in one module");
    }
}
