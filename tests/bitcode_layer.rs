//! The bitcode layer on real files: the symbol table, the index tables, two
//! modules in one file, and the wrapper.

mod common;

use bcrename::bitcode::{BitcodeFile, GlobalKind, Linkage, ParseOptions};
use common::*;

fn read(rel: &str) -> (Vec<u8>, BitcodeFile) {
    let data = std::fs::read(testdata().join(rel)).unwrap();
    let file = BitcodeFile::parse(&data, ParseOptions::default()).unwrap();
    (data, file)
}

/// The irsymtab agrees with the module: producer, triple, source file, and
/// one symbol per non-private global, with the same IR names.
#[test]
fn symbol_table_matches_the_module() {
    for v in VERSIONS {
        for rel in [
            format!("clang-{v}/prog/prelink/util.o"),
            format!("clang-{v}/cfi/prelink/shapes.o"),
        ] {
            let (data, file) = read(&rel);
            let m = &file.modules[0];
            let strtab = file.strtab(&data, m);
            let table = file.symtabs[m.symtab.unwrap()]
                .table
                .as_ref()
                .expect("version 3");
            let s = |r: bcrename::bitcode::symtab::StrRef| {
                String::from_utf8(r.get(strtab).unwrap().to_vec()).unwrap()
            };
            let producer = String::from_utf8(m.producer().unwrap().to_vec()).unwrap();
            assert_eq!(
                format!("LLVM{}", s(table.header.producer)),
                producer,
                "{rel}"
            );
            assert_eq!(
                s(table.header.target_triple).as_bytes(),
                m.triple.as_deref().unwrap()
            );
            assert_eq!(
                s(table.header.source_file_name).as_bytes(),
                m.source_filename.as_deref().unwrap()
            );
            assert_eq!(table.modules.len(), file.modules.len(), "{rel}");
            let mut ir_names: Vec<String> =
                table.symbols.iter().map(|sym| s(sym.ir_name)).collect();
            ir_names.sort();
            let mut globals: Vec<String> = file
                .modules
                .iter()
                .flat_map(|m| &m.globals)
                .filter(|g| g.linkage != Linkage::Private)
                .map(|g| String::from_utf8(g.name.to_vec()).unwrap())
                .collect();
            globals.sort();
            globals.dedup();
            ir_names.dedup();
            assert_eq!(ir_names, globals, "{rel}");
        }
    }
}

/// A CFI object holds two modules sharing one STRTAB and SYMTAB.
/// Skipping the symbol tables leaves the modules as a full parse reads
/// them, and the blobs located with their version, only not decoded.
#[test]
fn skipped_symbol_tables_leave_the_modules_alone() {
    for v in VERSIONS {
        let rel = format!("clang-{v}/prog/prelink/util.o");
        let (data, full) = read(&rel);
        let options = ParseOptions {
            skip_symbol_tables: true,
            ..ParseOptions::default()
        };
        let skipped = BitcodeFile::parse(&data, options).unwrap();
        assert_eq!(skipped.modules, full.modules, "{rel}");
        assert_eq!(skipped.symtabs.len(), 1, "{rel}");
        let (s, f) = (&skipped.symtabs[0], &full.symtabs[0]);
        assert_eq!((&s.blob, s.version), (&f.blob, f.version), "{rel}");
        assert!(f.table.is_some() && s.table.is_none(), "{rel}");
    }
}

/// The rewriter refuses a parse whose symbol table of known version was
/// skipped, rather than dropping the table or leaving it stale.
#[test]
#[should_panic(expected = "decoded the symbol tables")]
fn rewriting_a_parse_without_its_symbol_table_is_refused() {
    use bcrename::bitcode::rewrite::rewrite;
    let data = std::fs::read(testdata().join("clang-19/prog/prelink/util.o")).unwrap();
    let options = ParseOptions {
        skip_symbol_tables: true,
        ..ParseOptions::default()
    };
    let file = BitcodeFile::parse(&data, options).unwrap();
    let _ = rewrite(&data, &file, &EveryGlobalDotX);
}

#[test]
fn split_lto_unit_has_two_modules() {
    let (_, file) = read("clang-19/cfi/prelink/main.o");
    assert_eq!(file.modules.len(), 2);
    assert_eq!(file.strtabs.len(), 1);
    assert!(file
        .modules
        .iter()
        .all(|m| m.strtab == Some(0) && m.symtab == Some(0)));
    assert!(file.modules[0].hash.is_some() && file.modules[0].has_summary);
    assert_eq!(
        file.modules[0].source_filename,
        file.modules[1].source_filename
    );
}

/// A distributed backend's index names itself and the modules it imports
/// from, with the same hashes their pre-link objects carry.
#[test]
fn thinlto_index_lists_modules_and_hashes() {
    for v in VERSIONS {
        let (_, index) = read(&format!("clang-{v}/prog/distributed/main.o.thinlto.bc"));
        let entries: Vec<_> = index
            .modules
            .iter()
            .flat_map(|m| &m.index_entries)
            .collect();
        assert!(entries.len() >= 4, "clang-{v}: {entries:?}");
        assert!(index.modules[0].is_index() && index.modules[0].globals.is_empty());
        for e in entries {
            let path = String::from_utf8(e.path.clone()).unwrap();
            let (_, pre) = read(&format!("clang-{v}/prog/distributed/{path}"));
            assert_eq!(e.hash, pre.modules[0].hash, "clang-{v}: {path}");
        }
    }
}

#[test]
fn wrapped_bitcode_is_located() {
    let (data, file) = read("clang-19/darwin/helper.o");
    let w = file.wrapper.unwrap();
    assert_eq!(file.stream, w.offset as usize..(w.offset + w.size) as usize);
    assert!(file.stream.end <= data.len());
    let m = &file.modules[0];
    assert!(m
        .triple
        .as_deref()
        .unwrap()
        .starts_with(b"x86_64-apple-macosx"));
    assert!(m
        .globals
        .iter()
        .any(|g| g.name == b"helper_a" && g.kind == GlobalKind::Function && g.defined));
}

/// Function bodies are matched to their functions, local names kept.
#[test]
fn function_bodies_and_local_names() {
    let data = std::fs::read(testdata().join("clang-19/prog/distributed/main.bc")).unwrap();
    let file = BitcodeFile::parse(&data, bcrename::scan::scan_parse_options()).unwrap();
    let m = &file.modules[0];
    let bodies: Vec<_> = m
        .functions
        .iter()
        .map(|f| m.globals[f.function.unwrap()].name.clone())
        .collect();
    assert_eq!(bodies, [b"main".to_vec()]);
    let local: Vec<_> = m.functions[0]
        .local_names
        .iter()
        .map(|l| String::from_utf8(l.name.clone()).unwrap())
        .collect();
    assert_eq!(local.len(), 1);
    assert!(
        local[0].starts_with("mix.llvm.") && local[0].ends_with(".exit"),
        "{local:?}"
    );
    // Available-externally copies appear in the import stage.
    let (_, imp) = read("clang-19/prog/inprocess/main.o.3.import.bc");
    assert!(imp.modules[0]
        .globals
        .iter()
        .any(|g| g.linkage == Linkage::AvailableExternally && g.name.starts_with(b"mix.llvm.")));
}

/// Function bodies skimmed (the quick way) read as they read the usual
/// way, in every file of the test data: names kept, inline asm, bodies
/// matched to functions. The local names and the inline asm read are
/// checked to be there, so that both ways are put to the test.
#[test]
fn bodies_read_quickly_read_as_the_usual_way() {
    let quick = bcrename::scan::scan_parse_options();
    let usual = ParseOptions {
        usual_bodies: true,
        ..quick
    };
    let (mut files, mut names, mut asm) = (0, 0, 0);
    for p in files_under(&testdata()) {
        let data = std::fs::read(&p).unwrap();
        let Ok(file) = BitcodeFile::parse(&data, quick) else {
            continue;
        };
        assert_eq!(
            file,
            BitcodeFile::parse(&data, usual).unwrap(),
            "{}",
            p.display()
        );
        files += 1;
        for f in file.modules.iter().flat_map(|m| &m.functions) {
            names += f.local_names.len();
            asm += f.inline_asm.len();
        }
    }
    assert!(
        files > 100 && names >= 3 && asm >= 3,
        "{files} files, {names} names, {asm} asm"
    );
}

/// A module's summary lists each promotion suffix its names carry once, in
/// order, owned when a name with it is an owning definition there: on every
/// module of every set, against the names read one by one.
#[test]
fn module_summaries_list_each_suffix_once() {
    use bcrename::plan::names::PromotedName;
    use bcrename::plan::ModuleSummary;
    use std::collections::BTreeMap;
    let mut several = 0;
    for (_, name, files) in module_sets() {
        for path in files {
            let data = std::fs::read(&path).unwrap();
            let file = BitcodeFile::parse(&data, bcrename::scan::scan_parse_options()).unwrap();
            for m in file.modules.iter().filter(|m| !m.is_index()) {
                let mut expected: BTreeMap<String, bool> = BTreeMap::new();
                let mut mention = |n: &[u8], owning: bool| {
                    if let Some(p) = PromotedName::parse(n) {
                        *expected.entry(p.suffix_str().to_string()).or_default() |= owning;
                    }
                };
                for g in &m.globals {
                    mention(&g.name, g.is_owning_definition());
                }
                for c in &m.comdats {
                    mention(&c.name, false);
                }
                for l in m.functions.iter().flat_map(|f| &f.local_names) {
                    mention(&l.name, false);
                }
                let summary = ModuleSummary::of("x.bc", m);
                let got: Vec<(String, bool)> = summary
                    .suffixes()
                    .map(|(s, o)| (s.to_string(), o))
                    .collect();
                let want: Vec<(String, bool)> = expected.into_iter().collect();
                assert_eq!(got, want, "{name}: {}", path.display());
                several += usize::from(got.len() > 1);
            }
        }
    }
    assert!(several > 0, "no module carries two suffixes");
}

/// What the symbol table says of a module's names is what its records say:
/// on every single-module file of the test data (clang 14, 16 and 19;
/// pre-link objects, every ThinLTO stage, distributed backends, Darwin),
/// the table is read without the module, agrees with the records, and
/// gives the summary the records give; a file with a table that cannot
/// be used that way (none here but indexes) is read from its records.
#[test]
fn symbol_table_names_are_the_module_records_names() {
    use bcrename::bitcode::symtab_names::{agrees, SymtabNames};
    use bcrename::plan::{ModuleSummary, PromotedName};
    let names_only = ParseOptions {
        local_names: None,
        ..ParseOptions::default()
    };
    let mut from_table = std::collections::BTreeMap::<u32, usize>::new();
    let mut files = 0;
    for p in files_under(&testdata()) {
        let data = std::fs::read(&p).unwrap();
        let Ok(file) = BitcodeFile::parse(&data, names_only) else {
            continue;
        };
        files += 1;
        let rel = p.strip_prefix(testdata()).unwrap().display().to_string();
        let usable = file.modules.len() == 1
            && !file.modules[0].is_index()
            && file.symtabs.len() == 1
            && file.symtabs[0].table.is_some()
            && file.modules[0]
                .source_filename
                .as_ref()
                .is_some_and(|s| !s.is_empty());
        let Some(names) = SymtabNames::read(&data) else {
            assert!(!usable, "{rel}: its symbol table was not read");
            continue;
        };
        assert!(usable, "{rel}: read from an unusable table");
        let m = &file.modules[0];
        let no_suffix = |n: &[u8]| PromotedName::parse(n).is_none();
        assert!(agrees(&file, &data, m, no_suffix), "{rel}");
        assert_eq!(
            ModuleSummary::of_symtab(&rel, &names),
            ModuleSummary::of(&rel, m),
            "{rel}"
        );
        let version = rel[6..8].parse().unwrap();
        *from_table.entry(version).or_default() += 1;
    }
    assert!(files > 100, "{files} files");
    for v in VERSIONS {
        assert!(
            from_table.get(&v).is_some_and(|&n| n >= 20),
            "clang-{v}: {from_table:?}"
        );
    }
}

/// A symbol table that does not list what its module holds is caught:
/// an ownership flag flipped, and a private name (which the table leaves
/// out) that the caller does not accept.
#[test]
fn a_symbol_table_that_disagrees_with_its_module_is_caught() {
    use bcrename::bitcode::symtab_names::{agrees, SymtabNames, FLAG_UNDEFINED};
    // main.bc has private string constants.
    let (data, file) = read("clang-19/prog/distributed/main.bc");
    let m = &file.modules[0];
    assert!(agrees(&file, &data, m, |_: &[u8]| true));
    assert!(m.globals.iter().any(|g| g.linkage == Linkage::Private));
    assert!(!agrees(&file, &data, m, |_: &[u8]| false));

    let (data, file) = read("clang-19/prog/distributed/util.bc");
    assert!(agrees(&file, &data, &file.modules[0], |_: &[u8]| true));

    let mut flipped = data.clone();
    let owned = |flags: u32| flags & FLAG_UNDEFINED == 0;
    let name = flip_symtab_flag(&mut flipped, FLAG_UNDEFINED, owned);
    let (before, after) = (SymtabNames::read(&data), SymtabNames::read(&flipped));
    let owner = |n: &SymtabNames<'_>| n.symbols.iter().find(|s| s.0 == name.as_bytes()).unwrap().1;
    assert!(owner(before.as_ref().unwrap()), "{name}");
    assert!(!owner(after.as_ref().unwrap()), "{name}");
    let file = BitcodeFile::parse(&flipped, ParseOptions::default()).unwrap();
    assert!(!agrees(&file, &flipped, &file.modules[0], |_: &[u8]| true));

    // Symbols in another order than LLVM's still agree, and are still
    // caught when they do not.
    let (data, file) = read("clang-19/prog/distributed/util.bc");
    let table = file.symtabs[0].table.as_ref().unwrap();
    assert!(table.symbols.len() >= 2);
    let first = file.symtabs[0].blob.start + table.header.symbols.offset as usize;
    let mut swapped = data.clone();
    let (a, b) = swapped[first..first + 48].split_at_mut(24);
    a.swap_with_slice(b);
    let file = BitcodeFile::parse(&swapped, ParseOptions::default()).unwrap();
    assert_ne!(
        file.symtabs[0].table.as_ref().unwrap().symbols[0],
        table.symbols[0]
    );
    assert!(agrees(&file, &swapped, &file.modules[0], |_: &[u8]| true));
    let owned = |flags: u32| flags & FLAG_UNDEFINED == 0;
    flip_symtab_flag(&mut swapped, FLAG_UNDEFINED, owned);
    let file = BitcodeFile::parse(&swapped, ParseOptions::default()).unwrap();
    assert!(!agrees(&file, &swapped, &file.modules[0], |_: &[u8]| true));
}

/// A rename is reported once per global record and once per local name of
/// a module, however many functions carry that local name; the native
/// rewrite reports what the plan of renames lists.
#[test]
fn a_local_name_in_two_functions_is_one_change() {
    use bcrename::bitcode::rewrite::{planned_changes, rewrite, ChangeKind, Renamer};
    struct Suffixed;
    impl Renamer for Suffixed {
        fn global(&self, name: &[u8]) -> Option<Vec<u8>> {
            name.starts_with(b"mix.llvm.")
                .then(|| b"mix.llvm.X".to_vec())
        }
        fn local(&self, name: &[u8]) -> Option<Vec<u8>> {
            name.starts_with(b"mix.llvm.")
                .then(|| b"mix.llvm.X.exit".to_vec())
        }
        fn source_filename(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
    }
    let data = std::fs::read(testdata().join("clang-19/prog/distributed/main.bc")).unwrap();
    let file = BitcodeFile::parse(&data, bcrename::scan::scan_parse_options()).unwrap();
    let rewritten = rewrite(&data, &file, &Suffixed).unwrap();
    let kinds =
        |c: &bcrename::bitcode::rewrite::Changes| c.iter().map(|c| c.kind).collect::<Vec<_>>();
    assert_eq!(rewritten.changes, planned_changes(&file, &Suffixed));
    let once = kinds(&rewritten.changes);
    assert_eq!(once.iter().filter(|&&k| k == ChangeKind::Local).count(), 1);
    // The same body twice: its local name is still one change.
    let mut twice = file.clone();
    let body = twice.modules[0].functions[0].clone();
    twice.modules[0].functions.push(body);
    assert_eq!(kinds(&planned_changes(&twice, &Suffixed)), once);
}

/// The module symbol table's function offsets written in place (where the
/// parse found them) give the bytes the table read again and written
/// record by record gives, on every file of the test data, with names
/// renamed to longer and shorter ones so that the function blocks move.
#[test]
fn function_offsets_written_in_place_equal_the_table_written_anew() {
    use bcrename::bitcode::rewrite::{rewrite, Renamer};
    struct Resized(bool);
    impl Renamer for Resized {
        fn global(&self, name: &[u8]) -> Option<Vec<u8>> {
            Some(if self.0 {
                [name, b".longer.by.far".as_slice()].concat()
            } else {
                name[..name.len() / 2].to_vec()
            })
        }
        fn local(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn source_filename(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
    }
    let mut in_place = 0;
    for path in files_under(&testdata()) {
        let data = std::fs::read(&path).unwrap();
        let Ok(file) = BitcodeFile::parse(&data, bcrename::scan::scan_parse_options()) else {
            continue;
        };
        let mut anew = file.clone();
        for m in &mut anew.modules {
            in_place += usize::from(m.fn_entry_sites.take().is_some());
        }
        for renamer in [Resized(true), Resized(false)] {
            let (Ok(a), Ok(b)) = (
                rewrite(&data, &file, &renamer),
                rewrite(&data, &anew, &renamer),
            ) else {
                continue;
            };
            assert_eq!(a.bytes, b.bytes, "{}", path.display());
        }
    }
    assert!(in_place > 20, "{in_place} tables written in place");
}

/// Renames every global to its name and `.x` (so that every string of
/// the table moves), nothing else.
struct EveryGlobalDotX;

impl bcrename::bitcode::rewrite::Renamer for EveryGlobalDotX {
    fn global(&self, name: &[u8]) -> Option<Vec<u8>> {
        Some([name, b".x"].concat())
    }
    fn local(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn source_filename(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// Every symbol of a rewritten symbol table names its global by the new
/// name: the IR name is the global's new name, and the symbol name is
/// the new name behind the old one's prefix (none on ELF, `_` on
/// Mach-O), on every file of the test data that has a table.
#[test]
fn symbol_names_follow_their_globals_with_their_prefix() {
    use bcrename::bitcode::rewrite::rewrite;
    let (mut symbols, mut prefixed) = (0, 0);
    for path in files_under(&testdata()) {
        let data = std::fs::read(&path).unwrap();
        let Ok(file) = BitcodeFile::parse(&data, bcrename::scan::scan_parse_options()) else {
            continue;
        };
        let Ok(rewritten) = rewrite(&data, &file, &EveryGlobalDotX) else {
            continue;
        };
        let Some(new_data) = rewritten.bytes else {
            continue;
        };
        let new_file = BitcodeFile::parse(&new_data, ParseOptions::default()).unwrap();
        for (ti, table) in file.symtabs.iter().enumerate() {
            // The table names the globals of every module it covers.
            let covered = || file.modules.iter().filter(|m| m.symtab == Some(ti));
            let Some(mi) = file.modules.iter().position(|m| m.symtab == Some(ti)) else {
                continue;
            };
            let (m, new_m) = (&file.modules[mi], &new_file.modules[mi]);
            let (Some(old), Some(new)) = (
                table.table.as_ref(),
                new_file.symtabs[new_m.symtab.unwrap()].table.as_ref(),
            ) else {
                continue;
            };
            let (old_strtab, new_strtab) =
                (file.strtab(&data, m), new_file.strtab(&new_data, new_m));
            let globals: Vec<&[u8]> = covered()
                .flat_map(|m| m.globals.iter().map(|g| g.name.as_slice()))
                .collect();
            assert_eq!(old.symbols.len(), new.symbols.len(), "{}", path.display());
            for (o, n) in old.symbols.iter().zip(&new.symbols) {
                let (o_ir, o_name) = (
                    o.ir_name.get(old_strtab).unwrap(),
                    o.name.get(old_strtab).unwrap(),
                );
                let (n_ir, n_name) = (
                    n.ir_name.get(new_strtab).unwrap(),
                    n.name.get(new_strtab).unwrap(),
                );
                if o_ir.is_empty() || !globals.contains(&o_ir) {
                    assert_eq!((n_ir, n_name), (o_ir, o_name), "{}", path.display());
                    continue;
                }
                let new_ir = [o_ir, b".x"].concat();
                let prefix = &o_name[..o_name.len() - o_ir.len()];
                assert!(o_name.ends_with(o_ir), "{}", path.display());
                assert_eq!(n_ir, new_ir.as_slice(), "{}", path.display());
                assert_eq!(
                    n_name,
                    [prefix, &new_ir].concat().as_slice(),
                    "{}",
                    path.display()
                );
                symbols += 1;
                prefixed += usize::from(!prefix.is_empty());
            }
        }
    }
    assert!(
        symbols > 100 && prefixed > 0,
        "{symbols} symbols, {prefixed} with a prefix"
    );
}

/// Partition names keep their strings when the table is laid out anew:
/// in a module whose globals are in two symbol partitions (and runs of
/// each), every global names the same partition after a rewrite that
/// renames every global (so that every string moves).
#[test]
fn partition_names_keep_their_strings() {
    use bcrename::bitcode::rewrite::rewrite;
    let partitions = |data: &[u8], file: &BitcodeFile| -> Vec<Vec<u8>> {
        let strtab = file.strtab(data, &file.modules[0]);
        (file.modules[0].globals.iter())
            .map(|g| g.partition.unwrap().1.get(strtab).unwrap().to_vec())
            .collect()
    };
    for v in VERSIONS {
        let (data, file) = read(&format!("clang-{v}/partition/merged.bc"));
        let before = partitions(&data, &file);
        let changes = before.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(changes >= 2, "clang-{v}: {before:?}");
        let out = rewrite(&data, &file, &EveryGlobalDotX)
            .unwrap()
            .bytes
            .unwrap();
        let new = BitcodeFile::parse(&out, ParseOptions::default()).unwrap();
        assert_eq!(partitions(&out, &new), before, "clang-{v}");
    }
}
