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
    use bcrename::bitcode::rewrite::{rewrite, Renamer};
    struct Everything;
    impl Renamer for Everything {
        fn global(&self, name: &[u8]) -> Option<Vec<u8>> {
            Some([name, b"_x"].concat())
        }
        fn local(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn source_filename(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
    }
    let data = std::fs::read(testdata().join("clang-19/prog/prelink/util.o")).unwrap();
    let options = ParseOptions {
        skip_symbol_tables: true,
        ..ParseOptions::default()
    };
    let file = BitcodeFile::parse(&data, options).unwrap();
    let _ = rewrite(&data, &file, &Everything);
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
